//! Parsed data sets: elements borrowing their values from the input, looked up by tag, with
//! the text and number decoding a viewer needs.

use crate::{tags, Tag, Vr};

/// An element's value. Values borrow from the input buffer: parsing never copies pixel data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// The raw value bytes (including any padding byte), in the data set's byte order.
    Bytes(&'a [u8]),
    /// A sequence's items, each a nested data set.
    Sequence(Vec<DataSet<'a>>),
    /// Encapsulated (compressed) pixel data: the Basic Offset Table (possibly empty) and the
    /// fragments in file order. Codecs map fragments to frames.
    Encapsulated { offset_table: &'a [u8], fragments: Vec<&'a [u8]> },
}

/// One data element. For implicit-VR data sets `vr` comes from a small built-in dictionary
/// and is `UN` for tags it does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct Element<'a> {
    pub tag: Tag,
    pub vr: Vr,
    pub value: Value<'a>,
}

impl<'a> Element<'a> {
    /// The raw bytes, for a non-sequence, non-encapsulated value.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn items(&self) -> Option<&[DataSet<'a>]> {
        match &self.value {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }
}

/// How text bytes become characters (from Specific Character Set, inherited by nested items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Charset {
    /// No or another declared character set: UTF-8 when the bytes are valid UTF-8 (common in
    /// non-conformant files), else Latin-1 so no byte is ever lost.
    #[default]
    Default,
    /// ISO_IR 100.
    Latin1,
    /// ISO_IR 192.
    Utf8,
}

impl Charset {
    pub(crate) fn from_value(bytes: &[u8]) -> Charset {
        let text = latin1(bytes);
        let terms: Vec<&str> = text.split('\\').map(|t| t.trim_matches(|c: char| c == ' ' || c == '\0')).collect();
        if terms.contains(&"ISO_IR 192") {
            Charset::Utf8
        } else if terms.iter().any(|t| *t == "ISO_IR 100" || *t == "ISO 2022 IR 100") {
            Charset::Latin1
        } else {
            Charset::Default
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Latin1 => latin1(bytes),
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Default => match std::str::from_utf8(bytes) {
                Ok(s) => s.to_string(),
                Err(_) => latin1(bytes),
            },
        }
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A data set: elements in file order plus a tag index. Conformant files are already in tag
/// order, so the index is only built for the rare file that is not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataSet<'a> {
    elements: Vec<Element<'a>>,
    /// Positions of `elements` sorted by tag (stable, so the first duplicate wins); `None`
    /// when `elements` is already sorted.
    index: Option<Vec<usize>>,
    big_endian: bool,
    charset: Charset,
}

impl<'a> DataSet<'a> {
    /// `inherited` is the enclosing data set's character set, used unless this one declares its own.
    pub(crate) fn new(elements: Vec<Element<'a>>, big_endian: bool, inherited: Charset) -> Self {
        let sorted = elements.windows(2).all(|w| matches!(w, [a, b] if a.tag <= b.tag));
        let index = if sorted {
            None
        } else {
            let mut order: Vec<usize> = (0..elements.len()).collect();
            order.sort_by_key(|&i| elements.get(i).map(|e| e.tag));
            Some(order)
        };
        let mut ds = DataSet { elements, index, big_endian, charset: inherited };
        if let Some(bytes) = ds.get(tags::SPECIFIC_CHARACTER_SET).and_then(Element::bytes) {
            ds.charset = Charset::from_value(bytes);
        }
        ds
    }

    /// Whether binary values are big endian (Explicit VR Big Endian data sets).
    pub(crate) fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The element with this tag (the first one, should a damaged file repeat it).
    pub fn get(&self, tag: Tag) -> Option<&Element<'a>> {
        match &self.index {
            None => {
                let i = self.elements.partition_point(|e| e.tag < tag);
                self.elements.get(i).filter(|e| e.tag == tag)
            }
            Some(order) => {
                let i = order.partition_point(|&j| self.elements.get(j).is_some_and(|e| e.tag < tag));
                order.get(i).and_then(|&j| self.elements.get(j)).filter(|e| e.tag == tag)
            }
        }
    }

    /// Elements in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Element<'a>> {
        self.elements.iter()
    }

    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The items of a sequence attribute (e.g. functional groups).
    pub fn items(&self, tag: Tag) -> Option<&[DataSet<'a>]> {
        self.get(tag).and_then(Element::items)
    }

    /// The first value as text, trailing spaces/NULs removed (and leading spaces for VRs where
    /// they are padding). `Some("")` means present but empty. `None` for absent attributes and
    /// for binary VRs; `UN` values (implicit VR, unknown tag) are decoded as text.
    pub fn string(&self, tag: Tag) -> Option<String> {
        let (vr, text) = self.text(tag)?;
        let first = if vr.is_single_valued_text() { text.as_str() } else { text.split('\\').next().unwrap_or("") };
        Some(trim_value(vr, first).to_string())
    }

    /// All values of a multi-valued text attribute (split on backslash), each trimmed like
    /// [`DataSet::string`]. Empty when absent.
    pub fn strings(&self, tag: Tag) -> Vec<String> {
        let Some((vr, text)) = self.text(tag) else { return Vec::new() };
        if vr.is_single_valued_text() {
            return vec![trim_value(vr, &text).to_string()];
        }
        text.split('\\').map(|v| trim_value(vr, v).to_string()).collect()
    }

    fn text(&self, tag: Tag) -> Option<(Vr, String)> {
        let el = self.get(tag)?;
        let bytes = el.bytes()?;
        if el.vr.is_binary_number() || el.vr.is_bulk() {
            return None;
        }
        Some((el.vr, self.charset.decode(bytes)))
    }

    /// The first numeric value: DS/IS (and untyped `UN`) parsed from text, US/SS/UL/SL/FL/FD/SV/UV
    /// decoded in the data set's byte order. `None` when absent or not a finite number.
    pub fn f64(&self, tag: Tag) -> Option<f64> {
        let el = self.get(tag)?;
        let bytes = el.bytes()?;
        if el.vr.is_binary_number() {
            return self.binary_numbers(el.vr, bytes).next();
        }
        if el.vr.is_bulk() {
            return None;
        }
        let text = self.charset.decode(bytes);
        parse_number(text.split('\\').next().unwrap_or(""))
    }

    /// All numeric values. All-or-nothing: if any value is not a number the result is empty, so
    /// a damaged vector (e.g. Image Position) is never silently shortened.
    pub fn f64s(&self, tag: Tag) -> Vec<f64> {
        let Some(el) = self.get(tag) else { return Vec::new() };
        let Some(bytes) = el.bytes() else { return Vec::new() };
        if el.vr.is_binary_number() {
            return self.binary_numbers(el.vr, bytes).collect();
        }
        if el.vr.is_bulk() {
            return Vec::new();
        }
        let text = self.charset.decode(bytes);
        if text.trim_matches(|c: char| c == ' ' || c == '\0').is_empty() {
            return Vec::new();
        }
        text.split('\\').map(parse_number).collect::<Option<Vec<f64>>>().unwrap_or_default()
    }

    /// The first value as an unsigned integer (US/UL/IS and friends); `None` if it is negative,
    /// fractional or too large.
    pub fn u32(&self, tag: Tag) -> Option<u32> {
        let v = self.f64(tag)?;
        (v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0).then_some(v as u32)
    }

    fn binary_numbers<'s>(&self, vr: Vr, bytes: &'s [u8]) -> impl Iterator<Item = f64> + 's {
        let be = self.big_endian;
        let size = match vr {
            Vr::US | Vr::SS => 2,
            Vr::UL | Vr::SL | Vr::FL => 4,
            _ => 8,
        };
        bytes.chunks_exact(size).map(move |c| {
            let mut b = [0u8; 8];
            for (i, &x) in c.iter().enumerate() {
                // Normalise to little endian so one decoding path serves both orders.
                let j = if be { size - 1 - i } else { i };
                if let Some(slot) = b.get_mut(j) {
                    *slot = x;
                }
            }
            let [b0, b1, b2, b3, ..] = b;
            match vr {
                Vr::US => f64::from(u16::from_le_bytes([b0, b1])),
                Vr::SS => f64::from(i16::from_le_bytes([b0, b1])),
                Vr::UL => f64::from(u32::from_le_bytes([b0, b1, b2, b3])),
                Vr::SL => f64::from(i32::from_le_bytes([b0, b1, b2, b3])),
                Vr::FL => f64::from(f32::from_le_bytes([b0, b1, b2, b3])),
                Vr::FD => f64::from_le_bytes(b),
                Vr::SV => i64::from_le_bytes(b) as f64,
                _ => u64::from_le_bytes(b) as f64,
            }
        })
    }
}

fn trim_value(vr: Vr, v: &str) -> &str {
    let v = v.trim_end_matches([' ', '\0']);
    if vr.trims_leading_spaces() {
        v.trim_start_matches(' ')
    } else {
        v
    }
}

/// DS/IS text: optional spaces, then a decimal number; `inf`/`NaN` are not DICOM numbers.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    // Not `str::parse`: see `decimal` (its tables would dominate a small wasm).
    crate::decimal::parse(s)
}
