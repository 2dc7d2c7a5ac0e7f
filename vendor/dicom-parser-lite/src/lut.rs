//! Lookup tables: the Modality and VOI LUT Sequences (PS3.3 C.11.1, C.11.2) and Palette Color
//! LUTs, plain or segmented (C.7.6.3.1.5-6, C.7.9). Descriptors and data are read from raw
//! bytes in the data set's byte order, since implicit-VR files leave their VR (US or SS,
//! US or OW) unknown.

use crate::{tags, DataSet, Error, Tag};

/// Segmented palette LUTs may not expand beyond the largest table a descriptor can declare.
const MAX_ENTRIES: usize = 65536;
/// Work cap for segmented expansion: indirect segments could otherwise copy copies of copies.
const MAX_SEGMENT_STEPS: usize = 1 << 20;

/// A lookup table: inputs below `first_mapped` map to the first entry, inputs past the end to
/// the last (PS3.3 C.11.1.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// The input value of the first entry: signed when Pixel Representation is 1.
    pub first_mapped: i32,
    /// Bits per entry (the descriptor's third value): outputs range over 0..2^bits.
    pub bits: u16,
    pub entries: Vec<u16>,
}

impl Lut {
    /// The entry for an input value.
    pub fn lookup(&self, input: i64) -> u16 {
        let last = self.entries.len().saturating_sub(1);
        let index = input.saturating_sub(i64::from(self.first_mapped)).clamp(0, last as i64) as usize;
        self.entries.get(index).copied().unwrap_or(0)
    }

    /// The largest value an entry can hold, 2^bits − 1.
    pub fn max_output(&self) -> f64 {
        2f64.powi(i32::from(self.bits.clamp(1, 16))) - 1.0
    }

    /// The table of a Modality or VOI LUT Sequence item: LUT Descriptor (0028,3002) and LUT
    /// Data (0028,3006). `signed`: the input may be negative (Pixel Representation 1, or a
    /// rescale into signed values), so the first mapped value is read as SS; a descriptor
    /// written with VR SS is signed anyway. 8-bit entries are one per byte as PS3.3 C.11.2.1.1
    /// stores them, or one per 16-bit word as many files do: the data's length tells which.
    pub fn from_item(item: &DataSet, signed: bool) -> Result<Lut, Error> {
        let signed = signed || item.get(tags::LUT_DESCRIPTOR).is_some_and(|e| e.vr == crate::Vr::SS);
        let (count, first_mapped, bits) = descriptor(item, tags::LUT_DESCRIPTOR, "LUT Descriptor", signed)?;
        let bytes = item.get(tags::LUT_DATA).and_then(|e| e.bytes()).ok_or(Error::MissingAttribute("LUT Data"))?;
        let entries = if bytes.len() >= count.saturating_mul(2) {
            words(item, bytes).get(..count).unwrap_or_default().to_vec()
        } else if bits <= 8 && bytes.len() >= count {
            bytes.get(..count).unwrap_or_default().iter().map(|&b| u16::from(b)).collect()
        } else {
            return Err(Error::InvalidAttribute { name: "LUT Data", value: format!("{} bytes, {count} entries declared", bytes.len()) });
        };
        Ok(Lut { first_mapped, bits, entries })
    }
}

/// The three Palette Color LUTs (PS3.3 C.7.6.3.1.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub red: Lut,
    pub green: Lut,
    pub blue: Lut,
}

impl Palette {
    /// Reads the palette from Descriptor + Data, or Descriptor + Segmented Data.
    pub fn from_dataset(ds: &DataSet) -> Result<Palette, Error> {
        let signed = ds.u32(tags::PIXEL_REPRESENTATION) == Some(1);
        let channel = |desc: Tag, data: Tag, segmented: Tag, name: &'static str| -> Result<Lut, Error> {
            let (count, first_mapped, bits) = descriptor(ds, desc, name, signed)?;
            let entries = if let Some(bytes) = ds.get(data).and_then(|e| e.bytes()) {
                // 8-bit entries are packed one per byte, 16-bit ones one per word; the data's
                // length tells which, whatever the descriptor claims.
                if bytes.len() >= count.saturating_mul(2) {
                    words(ds, bytes).get(..count).unwrap_or_default().to_vec()
                } else if bytes.len() >= count {
                    bytes.get(..count).unwrap_or_default().iter().map(|&b| u16::from(b)).collect()
                } else {
                    return Err(Error::InvalidAttribute {
                        name: "Palette Color LUT Data",
                        value: format!("{} bytes for {count} entries", bytes.len()),
                    });
                }
            } else if let Some(bytes) = ds.get(segmented).and_then(|e| e.bytes()) {
                let items: Vec<u16> = if bits <= 8 { bytes.iter().map(|&b| u16::from(b)).collect() } else { words(ds, bytes) };
                let mut out = expand_segmented(&items)?;
                out.truncate(count);
                if out.len() < count {
                    // A table shorter than declared: hold the last value (the lookup clamps anyway).
                    let last = out.last().copied().unwrap_or(0);
                    out.resize(count, last);
                }
                out
            } else {
                return Err(Error::MissingAttribute("Palette Color LUT Data"));
            };
            Ok(Lut { first_mapped, bits, entries })
        };
        Ok(Palette {
            red: channel(
                tags::RED_PALETTE_COLOR_LUT_DESCRIPTOR,
                tags::RED_PALETTE_COLOR_LUT_DATA,
                tags::SEGMENTED_RED_PALETTE_COLOR_LUT_DATA,
                "Red Palette Color LUT Descriptor",
            )?,
            green: channel(
                tags::GREEN_PALETTE_COLOR_LUT_DESCRIPTOR,
                tags::GREEN_PALETTE_COLOR_LUT_DATA,
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LUT_DATA,
                "Green Palette Color LUT Descriptor",
            )?,
            blue: channel(
                tags::BLUE_PALETTE_COLOR_LUT_DESCRIPTOR,
                tags::BLUE_PALETTE_COLOR_LUT_DATA,
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LUT_DATA,
                "Blue Palette Color LUT Descriptor",
            )?,
        })
    }
}

/// (number of entries, first mapped value, bits per entry). 0 entries means 65536.
fn descriptor(ds: &DataSet, tag: Tag, name: &'static str, signed: bool) -> Result<(usize, i32, u16), Error> {
    let el = ds.get(tag).ok_or(Error::MissingAttribute(name))?;
    let values: Vec<u16> = match el.bytes() {
        Some(b) if b.len() == 6 => words(ds, b),
        // A text-encoded descriptor (seen in damaged files): accept three integers.
        _ => ds.f64s(tag).iter().map(|&v| v as i64 as u16).collect(),
    };
    let [count, first, bits] = values.as_slice() else {
        return Err(Error::InvalidAttribute { name, value: format!("{values:?}") });
    };
    let count = if *count == 0 { MAX_ENTRIES } else { usize::from(*count) };
    let first = if signed { i32::from(*first as i16) } else { i32::from(*first) };
    if !(1..=16).contains(bits) {
        return Err(Error::InvalidAttribute { name, value: format!("{bits} bits per entry") });
    }
    Ok((count, first, *bits))
}

fn words(ds: &DataSet, bytes: &[u8]) -> Vec<u16> {
    let be = ds.is_big_endian();
    bytes.chunks_exact(2).map(|c| if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) }).collect()
}

/// Expands segmented LUT data (PS3.3 C.7.9.2): discrete, linear and indirect segments.
pub fn expand_segmented(data: &[u16]) -> Result<Vec<u16>, Error> {
    let mut out = Vec::new();
    let mut steps = 0usize;
    expand(data, 0, usize::MAX, 0, &mut out, &mut steps)?;
    Ok(out)
}

fn expand(data: &[u16], mut pos: usize, max_segments: usize, depth: usize, out: &mut Vec<u16>, steps: &mut usize) -> Result<(), Error> {
    let bad = |what: &str| Error::InvalidAttribute { name: "Segmented Palette Color LUT Data", value: what.to_string() };
    if depth > 2 {
        return Err(bad("indirect segments nested too deeply"));
    }
    let mut segments = 0;
    // `pos + 1`: a trailing padding word is not a segment.
    while segments < max_segments && pos + 1 < data.len() && out.len() < MAX_ENTRIES {
        *steps += 1;
        if *steps > MAX_SEGMENT_STEPS {
            return Err(bad("too many segments"));
        }
        let (opcode, length) = (data.get(pos).copied().unwrap_or(0), usize::from(data.get(pos + 1).copied().unwrap_or(0)));
        pos += 2;
        match opcode {
            0 => {
                let end = pos.saturating_add(length).min(data.len());
                out.extend_from_slice(data.get(pos..end).unwrap_or_default());
                pos = pos.saturating_add(length);
            }
            1 => {
                let y0 = *out.last().ok_or_else(|| bad("a linear segment comes first"))?;
                let y1 = data.get(pos).copied().ok_or_else(|| bad("a linear segment is cut short"))?;
                pos += 1;
                out.extend(linear_segment(y0, y1, length));
            }
            2 => {
                if out.is_empty() {
                    return Err(bad("an indirect segment comes first"));
                }
                let lo = u32::from(data.get(pos).copied().unwrap_or(0));
                let hi = u32::from(data.get(pos + 1).copied().unwrap_or(0));
                pos += 2;
                let target = ((hi << 16) | lo) as usize;
                if target >= data.len() {
                    return Err(bad("an indirect segment points outside the data"));
                }
                expand(data, target, length, depth + 1, out, steps)?;
            }
            _ => return Err(bad(&format!("unknown segment type {opcode}"))),
        }
        segments += 1;
    }
    Ok(())
}

/// `length` values from just after `y0` to `y1`, evenly spaced and rounded half to even: the
/// same arithmetic as numpy's `around(linspace(y0 + step, y1, length))`, which pydicom uses,
/// so both agree to the entry.
fn linear_segment(y0: u16, y1: u16, length: usize) -> impl Iterator<Item = u16> {
    let (a, b) = (f64::from(y0), f64::from(y1));
    let start = a + (b - a) / length.max(1) as f64;
    let delta = b - start;
    let div = length.saturating_sub(1).max(1) as f64;
    (0..length).map(move |i| {
        let v = if y0 == y1 || (length > 1 && i + 1 == length) { b } else { i as f64 * (delta / div) + start };
        v.round_ties_even().clamp(0.0, 65535.0) as u16
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_discrete_linear_indirect() {
        // Discrete [0, 10], linear to 20 over 2, indirect copy of the first segment.
        let data = [0, 2, 0, 10, 1, 2, 20, 2, 1, 0, 0];
        assert_eq!(expand_segmented(&data).unwrap(), vec![0, 10, 15, 20, 0, 10]);
        assert!(expand_segmented(&[1, 2, 5]).is_err(), "linear first");
        assert!(expand_segmented(&[0, 1, 5, 2, 1, 0xFFFF, 0xFFFF]).is_err(), "indirect out of range");
        // Self-referencing indirect segments terminate.
        let _ = expand_segmented(&[0, 1, 5, 2, 60000, 3, 0]);
    }
}
