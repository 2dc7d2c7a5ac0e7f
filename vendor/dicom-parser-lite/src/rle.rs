//! RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
//! segment per byte plane, most significant byte first within each sample. Offsets and
//! lengths come from the file, so every one is checked before use.

use crate::Error;

/// The header holds 16 little-endian u32: the segment count, then up to 15 offsets.
const HEADER_LEN: usize = 64;
const MAX_SEGMENTS: usize = 15;
/// The best PackBits can do: 2 bytes (a repeat run) expand to 128.
const MAX_EXPANSION: usize = 64;

/// Decodes one frame into its byte planes: `segments` planes of `plane_len` bytes each, in
/// file order (sample 0's most significant byte first).
pub(crate) fn decode_planes(data: &[u8], segments: usize, plane_len: usize) -> Result<Vec<Vec<u8>>, Error> {
    let bad = |what: String| Error::InvalidCompressedData(format!("RLE {what}"));
    if data.len() < HEADER_LEN {
        return Err(bad(format!("frame of {} bytes is shorter than its header", data.len())));
    }
    let word = |i: usize| -> usize {
        let b = data.get(i * 4..i * 4 + 4).unwrap_or(&[0, 0, 0, 0]);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let count = word(0);
    if count != segments || count > MAX_SEGMENTS {
        return Err(bad(format!("header declares {count} segments, the image needs {segments}")));
    }
    let offsets: Vec<usize> = (1..=count).map(word).collect();
    let mut planes = Vec::with_capacity(count);
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(data.len());
        if start < HEADER_LEN || start > end || end > data.len() {
            return Err(bad(format!("segment {} has an invalid offset {start}", i + 1)));
        }
        let segment = data.get(start..end).unwrap_or_default();
        // Check before allocating: a segment this short cannot fill the plane.
        if plane_len > segment.len().saturating_mul(MAX_EXPANSION).saturating_add(2 * MAX_EXPANSION) {
            return Err(bad(format!("segment {} is too short ({} bytes for {plane_len} pixels)", i + 1, segment.len())));
        }
        let plane = unpack_bits(segment, plane_len);
        if plane.len() < plane_len {
            return Err(bad(format!("segment {} decodes to {} bytes, {plane_len} expected", i + 1, plane.len())));
        }
        planes.push(plane);
    }
    Ok(planes)
}

/// PackBits, stopping at `len` output bytes (encoders pad segments to an even length, so input
/// may remain).
fn unpack_bits(src: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let Some(&header) = src.get(i) else { break };
        i += 1;
        let n = header as i8;
        if n >= 0 {
            let run = usize::from(header) + 1;
            let take = run.min(len - out.len());
            let Some(literal) = src.get(i..i.saturating_add(take).min(src.len())) else { break };
            out.extend_from_slice(literal);
            i = i.saturating_add(run);
        } else if n != -128 {
            let run = (1 - isize::from(n)) as usize; // 2..=128
            let Some(&b) = src.get(i) else { break };
            out.resize(out.len() + run.min(len - out.len()), b);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_runs_literals_and_noop() {
        assert_eq!(unpack_bits(&[2, 1, 2, 3, 0xFE, 9, 0x80, 0, 7], 7), vec![1, 2, 3, 9, 9, 9, 7]);
        // Output stops at the plane length; excess input is padding.
        assert_eq!(unpack_bits(&[0x81, 5, 0], 4), vec![5; 4]);
        // A literal run cut short yields what is there.
        assert_eq!(unpack_bits(&[5, 1, 2], 6), vec![1, 2]);
    }
}
