//! Encapsulated (compressed) pixel data to frames: which fragments hold which frame, per PS3.5
//! A.4. Offset tables are used when they are consistent with the fragments, and ignored (not
//! trusted) otherwise, falling back to the layouts the standard allows without one.

use crate::{tags, DataSet, DicomFile, Error, Tag, Value};
use std::borrow::Cow;

/// Each fragment item starts with an 8-byte tag + length header, counted by offset tables.
const ITEM_HEADER: u64 = 8;

/// The compressed bytes of frame `index` (0-based): borrowed when the frame is one fragment,
/// concatenated when it spans several.
pub fn encapsulated_frame<'a>(file: &DicomFile<'a>, index: usize) -> Result<Cow<'a, [u8]>, Error> {
    let ds = file.dataset();
    let element = ds.get(tags::PIXEL_DATA).ok_or(Error::MissingAttribute("Pixel Data"))?;
    let (offset_table, fragments) = match &element.value {
        Value::Encapsulated { offset_table, fragments } => (*offset_table, fragments.as_slice()),
        _ => return Err(Error::InvalidAttribute { name: "Pixel Data", value: "not encapsulated".into() }),
    };
    let count = number_of_frames(ds)?;
    if index >= count as usize {
        return Err(Error::FrameOutOfRange { index, count });
    }
    let frames = count as usize;
    if fragments.is_empty() {
        return Err(Error::InvalidCompressedData("the pixel data has no fragments".into()));
    }
    // Offset of each fragment's item header from the first one's, as offset tables count.
    let mut positions = Vec::with_capacity(fragments.len() + 1);
    let mut at = 0u64;
    for f in fragments {
        positions.push(at);
        at = at.saturating_add(ITEM_HEADER).saturating_add(f.len() as u64);
    }
    positions.push(at);

    let extended = binary_u64s(ds, tags::EXTENDED_OFFSET_TABLE);
    if extended.len() == frames {
        let lengths = binary_u64s(ds, tags::EXTENDED_OFFSET_TABLE_LENGTHS);
        if let Some(range) = fragment_range(&extended, &positions, index) {
            let mut frame = join(fragments, range);
            if let Some(&len) = lengths.get(index).filter(|_| lengths.len() == frames) {
                if let Ok(len) = usize::try_from(len) {
                    if len <= frame.len() {
                        truncate(&mut frame, len);
                    }
                }
            }
            return Ok(frame);
        }
    }
    let basic: Vec<u64> = offset_table.chunks_exact(4).map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect();
    if basic.len() == frames && offset_table.len() % 4 == 0 {
        if let Some(range) = fragment_range(&basic, &positions, index) {
            return Ok(join(fragments, range));
        }
    }
    if fragments.len() == frames {
        return Ok(join(fragments, index..index + 1));
    }
    if frames == 1 {
        return Ok(join(fragments, 0..fragments.len()));
    }
    // No usable table and more fragments than frames: a frame starts where a codestream starts.
    let starts: Vec<usize> = (0..fragments.len()).filter(|&i| i == 0 || fragments.get(i).is_some_and(|f| starts_codestream(f))).collect();
    if starts.len() == frames {
        let start = starts.get(index).copied().unwrap_or(0);
        let end = starts.get(index + 1).copied().unwrap_or(fragments.len());
        return Ok(join(fragments, start..end));
    }
    Err(Error::InvalidCompressedData(format!("{} fragments cannot be divided into {frames} frames", fragments.len())))
}

/// Number of Frames, 1 when absent.
fn number_of_frames(ds: &DataSet) -> Result<u32, Error> {
    match ds.get(tags::NUMBER_OF_FRAMES) {
        None => Ok(1),
        Some(_) => ds.u32(tags::NUMBER_OF_FRAMES).filter(|&n| n > 0).ok_or_else(|| Error::InvalidAttribute {
            name: "Number of Frames",
            value: ds.string(tags::NUMBER_OF_FRAMES).unwrap_or_default(),
        }),
    }
}

/// An OV value (little endian: encapsulated syntaxes all are); empty when absent or malformed.
fn binary_u64s(ds: &DataSet, tag: Tag) -> Vec<u64> {
    let Some(bytes) = ds.get(tag).and_then(|e| e.bytes()) else { return Vec::new() };
    if bytes.len() % 8 != 0 {
        return Vec::new();
    }
    bytes.chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

/// The fragments of frame `index` given per-frame offsets: `None` unless the table starts at 0,
/// never decreases, and every offset lands on a fragment boundary.
fn fragment_range(offsets: &[u64], positions: &[u64], index: usize) -> Option<std::ops::Range<usize>> {
    if offsets.first() != Some(&0) || offsets.windows(2).any(|w| matches!(w, [a, b] if a > b)) {
        return None;
    }
    let fragment_at = |offset: u64| positions.binary_search(&offset).ok();
    let start = fragment_at(*offsets.get(index)?)?;
    let end = match offsets.get(index + 1) {
        Some(&next) => fragment_at(next)?,
        None => positions.len().checked_sub(1)?,
    };
    (start < end).then_some(start..end)
}

fn join<'a>(fragments: &[&'a [u8]], range: std::ops::Range<usize>) -> Cow<'a, [u8]> {
    match fragments.get(range) {
        Some([one]) => Cow::Borrowed(*one),
        Some(many) => Cow::Owned(many.concat()),
        None => Cow::Borrowed(&[]),
    }
}

fn truncate(frame: &mut Cow<'_, [u8]>, len: usize) {
    match frame {
        Cow::Borrowed(b) => *b = b.get(..len).unwrap_or(b),
        Cow::Owned(v) => v.truncate(len),
    }
}

/// JPEG (SOI), JPEG 2000 codestream (SOC SIZ) and JP2 file signature starts.
fn starts_codestream(fragment: &[u8]) -> bool {
    fragment.starts_with(&[0xFF, 0xD8, 0xFF])
        || fragment.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
        || fragment.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20])
}
