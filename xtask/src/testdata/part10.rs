//! A minimal DICOM Part 10 writer: Explicit VR Little Endian, what our synthetic images need.
//!
//! Written here rather than with the component's parser so that a bug in one cannot hide a bug
//! in the other.

/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// This generator's implementation class, a fixed `2.25.` UID.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.229378530452066413880431380129316829797";
const IMPLEMENTATION_VERSION: &str = "EMR_IMAGING_0_1";

/// VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2).
fn long_length(vr: &[u8; 2]) -> bool {
    matches!(vr, b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV")
}

/// Data elements, kept in any order and written sorted by tag.
#[derive(Default)]
pub struct Elements(Vec<(u32, [u8; 2], Vec<u8>)>);

impl Elements {
    /// A text or UID value, padded to even length (UI with NUL, everything else with a space).
    pub fn text(&mut self, tag: u32, vr: &[u8; 2], value: &str) -> &mut Self {
        let mut bytes = value.as_bytes().to_vec();
        if bytes.len() % 2 == 1 {
            bytes.push(if vr == b"UI" { 0 } else { b' ' });
        }
        self.0.push((tag, *vr, bytes));
        self
    }

    pub fn us(&mut self, tag: u32, value: u16) -> &mut Self {
        self.0.push((tag, *b"US", value.to_le_bytes().to_vec()));
        self
    }

    pub fn ul(&mut self, tag: u32, value: u32) -> &mut Self {
        self.0.push((tag, *b"UL", value.to_le_bytes().to_vec()));
        self
    }

    /// Binary (OB/OW) value, padded with NUL to even length.
    pub fn binary(&mut self, tag: u32, vr: &[u8; 2], mut bytes: Vec<u8>) -> &mut Self {
        if bytes.len() % 2 == 1 {
            bytes.push(0);
        }
        self.0.push((tag, *vr, bytes));
        self
    }

    /// A sequence of defined length whose items (each of defined length) are `items`.
    pub fn sequence(&mut self, tag: u32, items: Vec<Elements>) -> &mut Self {
        let mut value = Vec::new();
        for mut item in items {
            let mut body = Vec::new();
            item.encode(&mut body);
            value.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            value.extend_from_slice(&(body.len() as u32).to_le_bytes());
            value.extend_from_slice(&body);
        }
        self.0.push((tag, *b"SQ", value));
        self
    }

    fn encode(&mut self, out: &mut Vec<u8>) {
        self.0.sort_by_key(|(tag, _, _)| *tag);
        for (tag, vr, value) in &self.0 {
            out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
            out.extend_from_slice(&(*tag as u16).to_le_bytes());
            out.extend_from_slice(vr);
            if long_length(vr) {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            } else {
                #[allow(clippy::expect_used, reason = "a generator bug, not input: our own values are short")]
                let len = u16::try_from(value.len()).expect("short-length DICOM value over 64 KiB");
                out.extend_from_slice(&len.to_le_bytes());
            }
            out.extend_from_slice(value);
        }
    }
}

/// The whole file: preamble, `DICM`, File Meta group (with its group length) and the data set.
pub fn write(sop_class_uid: &str, sop_instance_uid: &str, data_set: Elements) -> Vec<u8> {
    write_with(EXPLICIT_VR_LE, sop_class_uid, sop_instance_uid, data_set)
}

/// [`write`] under a compressed (encapsulated) transfer syntax: the data set's elements stay
/// Explicit VR Little Endian, then Pixel Data holds an empty Basic Offset Table and one fragment,
/// `codestream` (one frame).
pub fn write_encapsulated(
    transfer_syntax: &str,
    sop_class_uid: &str,
    sop_instance_uid: &str,
    data_set: Elements,
    codestream: &[u8],
) -> Vec<u8> {
    let mut out = write_with(transfer_syntax, sop_class_uid, sop_instance_uid, data_set);
    let item = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        out.extend_from_slice(&(bytes.len().next_multiple_of(2) as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        if bytes.len() % 2 == 1 {
            out.push(0);
        }
    };
    out.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    item(&mut out, &[]);
    item(&mut out, codestream);
    out.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    out
}

fn write_with(transfer_syntax: &str, sop_class_uid: &str, sop_instance_uid: &str, mut data_set: Elements) -> Vec<u8> {
    let mut meta = Elements::default();
    meta.binary(0x0002_0001, b"OB", vec![0x00, 0x01])
        .text(0x0002_0002, b"UI", sop_class_uid)
        .text(0x0002_0003, b"UI", sop_instance_uid)
        .text(0x0002_0010, b"UI", transfer_syntax)
        .text(0x0002_0012, b"UI", IMPLEMENTATION_CLASS_UID)
        .text(0x0002_0013, b"SH", IMPLEMENTATION_VERSION);
    let mut meta_bytes = Vec::new();
    meta.encode(&mut meta_bytes);
    let mut group_length = Elements::default();
    group_length.ul(0x0002_0000, meta_bytes.len() as u32);

    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    group_length.encode(&mut out);
    out.extend_from_slice(&meta_bytes);
    data_set.encode(&mut out);
    out
}

/// A parsed element header, for tests: (tag, VR, value offset, value length).
#[cfg(test)]
pub fn walk(file: &[u8]) -> Vec<(u32, [u8; 2], usize, usize)> {
    let mut pos = 132;
    let mut out = Vec::new();
    while pos + 8 <= file.len() {
        let group = u16::from_le_bytes([file[pos], file[pos + 1]]) as u32;
        let element = u16::from_le_bytes([file[pos + 2], file[pos + 3]]) as u32;
        let vr = [file[pos + 4], file[pos + 5]];
        let (len, header) = if long_length(&vr) {
            (u32::from_le_bytes(file[pos + 8..pos + 12].try_into().unwrap()) as usize, 12)
        } else {
            (u16::from_le_bytes([file[pos + 6], file[pos + 7]]) as usize, 8)
        };
        out.push(((group << 16) | element, vr, pos + header, len));
        pos += header + len;
    }
    assert_eq!(pos, file.len(), "elements end exactly at the end of the file");
    out
}
