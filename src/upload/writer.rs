//! A DICOM Part 10 writer for the few elements a photo needs: explicit VR little endian,
//! elements in ascending tag order, values padded to even length as each VR requires.

use dicom_parser_lite::tags;
use dicom_parser_lite::Tag;

/// VRs whose length field is 4 bytes after 2 reserved ones.
fn long_length(vr: &str) -> bool {
    matches!(vr, "OB" | "OW" | "OF" | "SQ" | "UT" | "UN" | "UC" | "UR")
}

/// Elements of one data set, written in the order given (the caller keeps tags ascending).
#[derive(Default)]
pub struct DataSetWriter {
    out: Vec<u8>,
}

impl DataSetWriter {
    pub fn bytes(self) -> Vec<u8> {
        self.out
    }

    fn header(&mut self, tag: Tag, vr: &str, len: u32) {
        self.out.extend(tag.0.to_le_bytes());
        self.out.extend(tag.1.to_le_bytes());
        self.out.extend(vr.as_bytes());
        if long_length(vr) {
            self.out.extend([0, 0]);
            self.out.extend(len.to_le_bytes());
        } else {
            self.out.extend((len as u16).to_le_bytes());
        }
    }

    /// A text or binary value; odd lengths are padded (UI with NUL, OB with 0, text with a space).
    pub fn put(&mut self, tag: Tag, vr: &str, value: &[u8]) -> &mut Self {
        let pad = value.len() % 2 == 1;
        // Short-length VRs hold at most 64 KiB; a longer text is cut rather than corrupting the file.
        let value = if long_length(vr) { value } else { &value[..value.len().min(0xFFFE)] };
        self.header(tag, vr, (value.len() + usize::from(pad)) as u32);
        self.out.extend(value);
        if pad {
            self.out.push(if matches!(vr, "UI" | "OB" | "UN") { 0 } else { b' ' });
        }
        self
    }

    pub fn text(&mut self, tag: Tag, vr: &str, value: &str) -> &mut Self {
        self.put(tag, vr, value.as_bytes())
    }

    pub fn us(&mut self, tag: Tag, value: u16) -> &mut Self {
        self.put(tag, "US", &value.to_le_bytes())
    }

    /// A sequence of items with defined lengths (empty: a type 2 sequence with no item).
    pub fn sequence(&mut self, tag: Tag, items: Vec<DataSetWriter>) -> &mut Self {
        let mut body = Vec::new();
        for item in items {
            let item = item.bytes();
            body.extend(0xFFFEu16.to_le_bytes());
            body.extend(0xE000u16.to_le_bytes());
            body.extend((item.len() as u32).to_le_bytes());
            body.extend(item);
        }
        self.header(tag, "SQ", body.len() as u32);
        self.out.extend(body);
        self
    }

    /// Encapsulated Pixel Data: an empty offset table and one fragment per frame.
    pub fn encapsulated(&mut self, frames: &[&[u8]]) -> &mut Self {
        self.header(tags::PIXEL_DATA, "OB", u32::MAX);
        let item = |out: &mut Vec<u8>, len: u32| {
            out.extend(0xFFFEu16.to_le_bytes());
            out.extend(0xE000u16.to_le_bytes());
            out.extend(len.to_le_bytes());
        };
        item(&mut self.out, 0);
        for frame in frames {
            let pad = frame.len() % 2 == 1;
            item(&mut self.out, (frame.len() + usize::from(pad)) as u32);
            self.out.extend(*frame);
            if pad {
                self.out.push(0);
            }
        }
        self.out.extend(0xFFFEu16.to_le_bytes());
        self.out.extend(0xE0DDu16.to_le_bytes());
        self.out.extend(0u32.to_le_bytes());
        self
    }
}

/// Preamble, `DICM`, the file meta group (with its group length), then `dataset`.
pub fn part10(sop_class: &str, sop_instance: &str, transfer_syntax: &str, dataset: Vec<u8>) -> Vec<u8> {
    let mut meta = DataSetWriter::default();
    meta.put(FILE_META_INFORMATION_VERSION, "OB", &[0, 1])
        .text(tags::MEDIA_STORAGE_SOP_CLASS_UID, "UI", sop_class)
        .text(tags::MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", sop_instance)
        .text(tags::TRANSFER_SYNTAX_UID, "UI", transfer_syntax)
        .text(tags::IMPLEMENTATION_CLASS_UID, "UI", IMPLEMENTATION_CLASS_UID)
        .text(IMPLEMENTATION_VERSION_NAME, "SH", concat!("EMRIMG_", env!("CARGO_PKG_VERSION")));
    let meta = meta.bytes();
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    let mut length = DataSetWriter::default();
    length.put(tags::FILE_META_INFORMATION_GROUP_LENGTH, "UL", &(meta.len() as u32).to_le_bytes());
    out.extend(length.bytes());
    out.extend(meta);
    out.extend(dataset);
    out
}

/// Our implementation's class UID (2.25 form, fixed).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.213233710271856453207617207632862420539";
const IMPLEMENTATION_VERSION_NAME: Tag = Tag(0x0002, 0x0013);
const FILE_META_INFORMATION_VERSION: Tag = Tag(0x0002, 0x0001);
