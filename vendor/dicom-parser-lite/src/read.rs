//! The Part 10 reader: preamble and File Meta detection, transfer syntax selection, and a
//! bounds-checked, depth-capped element walk that never copies a value.

use crate::dataset::{Charset, DataSet, Element, Value};
use crate::{tags, transfer_syntax as ts, Error, Tag, Vr};

/// Maximum sequence nesting. Real files stay in single digits; the cap turns a malicious or
/// corrupt file into an error instead of a stack overflow.
pub const MAX_DEPTH: usize = 64;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// A parsed file. Everything borrows from the input bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DicomFile<'a> {
    meta: DataSet<'a>,
    dataset: DataSet<'a>,
    transfer_syntax_uid: String,
    encoding_guessed: bool,
    /// Where the data set proper starts in the input (after preamble and File Meta): where a
    /// deflated data set's compressed stream begins.
    dataset_offset: usize,
}

impl<'a> DicomFile<'a> {
    /// The data set proper (everything after the File Meta group).
    pub fn dataset(&self) -> &DataSet<'a> {
        &self.dataset
    }

    /// The File Meta group (0002,xxxx); empty for a bare data set.
    pub fn meta(&self) -> &DataSet<'a> {
        &self.meta
    }

    /// The transfer syntax the data set was read with: the File Meta's, or for a bare data set
    /// the one guessed from its first element.
    pub fn transfer_syntax_uid(&self) -> &str {
        &self.transfer_syntax_uid
    }

    /// True when the encoding was not declared (no File Meta / no Transfer Syntax UID) or the
    /// declaration contradicted the bytes and was overridden.
    pub fn encoding_guessed(&self) -> bool {
        self.encoding_guessed
    }

    pub(crate) fn dataset_offset(&self) -> usize {
        self.dataset_offset
    }
}

/// The result of a lenient parse: everything read before the first problem, and that problem.
/// Chosen over an error carrying a partial file so [`Error`] stays a plain `'static` value
/// that is easy to convert and display.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<'a> {
    pub file: DicomFile<'a>,
    /// `None` when the whole input parsed cleanly.
    pub error: Option<Error>,
}

/// Parses a Part 10 file (with or without preamble) or a bare data set. Any damage is an error;
/// use [`parse_partial`] to keep what was read before it.
///
/// A Deflated Explicit VR Little Endian file cannot be read in place (its data set must be
/// inflated into a new buffer first): this returns [`Error::UnsupportedTransferSyntax`] for it.
/// [`crate::DicomBuffer`] reads every syntax, deflated included.
pub fn parse(bytes: &[u8]) -> Result<DicomFile<'_>, Error> {
    let Parsed { file, error } = parse_partial(bytes);
    match error {
        Some(e) => Err(e),
        None => Ok(file),
    }
}

/// Parses as far as the input allows. A truncated file yields the complete elements before the
/// cut (a sequence cut in the middle keeps its complete items) plus the error.
pub fn parse_partial(bytes: &[u8]) -> Parsed<'_> {
    parse_with(bytes, false)
}

/// `inflated`: the bytes are a deflated file whose data set has already been inflated in place
/// (File Meta unchanged), so the declared deflate syntax is read as explicit VR little endian.
pub(crate) fn parse_with(bytes: &[u8], inflated: bool) -> Parsed<'_> {
    let mut file = DicomFile::default();
    // Computed once: checking "only zeros left" per element would be quadratic on hostile input.
    let zero_tail = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let error = Reader { data: bytes, zero_tail, inflated }.read_file(&mut file).err();
    Parsed { file, error }
}

#[derive(Debug, Clone, Copy)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

const EXPLICIT_LE: Encoding = Encoding { explicit: true, big_endian: false };
const IMPLICIT_LE: Encoding = Encoding { explicit: false, big_endian: false };
const EXPLICIT_BE: Encoding = Encoding { explicit: true, big_endian: true };

/// Where a data set ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    /// The File Meta group: ends at the first tag outside group 0002.
    Meta,
    /// The top-level data set: ends at the end of the input.
    Top,
    /// An item of defined length: ends at its bound.
    DefinedItem,
    /// An item of undefined length: ends at an Item Delimitation Item.
    UndefinedItem,
}

struct Header {
    tag: Tag,
    vr: Vr,
    len: u32,
    start: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    /// Offset where trailing zero bytes begin (the input length if there are none).
    zero_tail: usize,
    /// See [`parse_with`].
    inflated: bool,
}

impl<'a> Reader<'a> {
    fn read_file(&self, file: &mut DicomFile<'a>) -> Result<(), Error> {
        let data = self.data;
        let mut pos = if data.get(128..132) == Some(b"DICM") {
            132
        } else if data.get(0..4) == Some(b"DICM") {
            4
        } else {
            0
        };
        let marked = pos > 0;
        if marked && pos >= data.len() {
            return Err(Error::Truncated { offset: pos, needed: 8 });
        }

        // File Meta: explicit VR little endian by definition, but some writers use implicit.
        if self.group_at(pos) == Some(0x0002) {
            let enc = if self.vr_at(pos + 4).is_some_and(Vr::is_known) { EXPLICIT_LE } else { IMPLICIT_LE };
            let mut elements = Vec::new();
            let result = self.read_dataset(&mut pos, data.len(), enc, Charset::Default, 0, Context::Meta, &mut elements);
            file.meta = DataSet::new(elements, false, Charset::Default);
            result?;
        } else if !marked && !self.plausible_first_element(pos) {
            return Err(Error::NotDicom);
        }

        let declared = file.meta.string(tags::TRANSFER_SYNTAX_UID).map(|s| s.trim_matches(['\0', ' ']).to_string());
        let (uid, enc, guessed) = match declared.filter(|s| !s.is_empty()) {
            None => {
                let enc = self.guess_encoding(pos);
                let uid = match (enc.explicit, enc.big_endian) {
                    (false, _) => ts::IMPLICIT_VR_LITTLE_ENDIAN,
                    (true, false) => ts::EXPLICIT_VR_LITTLE_ENDIAN,
                    (true, true) => ts::EXPLICIT_VR_BIG_ENDIAN,
                };
                (uid.to_string(), enc, true)
            }
            Some(uid) => {
                if uid == ts::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN && !self.inflated {
                    file.transfer_syntax_uid = uid.clone();
                    file.dataset_offset = pos;
                    return Err(Error::UnsupportedTransferSyntax(uid));
                }
                let declared = match uid.as_str() {
                    ts::IMPLICIT_VR_LITTLE_ENDIAN => IMPLICIT_LE,
                    ts::EXPLICIT_VR_BIG_ENDIAN => EXPLICIT_BE,
                    // Explicit LE, and every compressed syntax: the data set is explicit LE.
                    _ => EXPLICIT_LE,
                };
                let actual = self.check_declared(pos, declared);
                let guessed = actual.explicit != declared.explicit;
                (uid, actual, guessed)
            }
        };
        file.transfer_syntax_uid = uid;
        file.encoding_guessed = guessed;
        file.dataset_offset = pos;

        let mut elements = Vec::new();
        let result = self.read_dataset(&mut pos, data.len(), enc, Charset::Default, 0, Context::Top, &mut elements);
        file.dataset = DataSet::new(elements, enc.big_endian, Charset::Default);
        result
    }

    /// Explicit when the bytes after the first tag are a known VR, else implicit (always little
    /// endian). An explicit data set whose group reads smaller as big endian (`00 08` is group
    /// 0008, not 0800) is taken as big endian.
    fn guess_encoding(&self, pos: usize) -> Encoding {
        match self.vr_at(pos + 4) {
            Some(vr) if vr.is_known() => match (self.u16_at(pos, false), self.u16_at(pos, true)) {
                (Some(le), Some(be)) if be < le => EXPLICIT_BE,
                _ => EXPLICIT_LE,
            },
            _ => IMPLICIT_LE,
        }
    }

    /// Some writers declare one little-endian flavour and write the other; trust the bytes
    /// when the declaration cannot possibly be right.
    fn check_declared(&self, pos: usize, declared: Encoding) -> Encoding {
        if declared.big_endian || pos >= self.data.len() {
            return declared;
        }
        let vr_known = self.vr_at(pos + 4).is_some_and(Vr::is_known);
        if declared.explicit && !vr_known {
            return IMPLICIT_LE;
        }
        if !declared.explicit && vr_known {
            let remaining = self.data.len().saturating_sub(pos + 8);
            if let Some(len) = self.u32_at(pos + 4, false) {
                if len != UNDEFINED && len as usize > remaining {
                    return EXPLICIT_LE;
                }
            }
        }
        declared
    }

    /// A bare data set must start with a standard (even) group and a length that fits.
    fn plausible_first_element(&self, pos: usize) -> bool {
        let enc = self.guess_encoding(pos);
        let Some(group) = self.u16_at(pos, enc.big_endian) else { return false };
        if group & 1 == 1 || !(0x0004..=0x7FE0).contains(&group) {
            return false;
        }
        match self.vr_at(pos + 4) {
            Some(vr) if vr.is_known() => true,
            _ => match self.u32_at(pos + 4, false) {
                Some(len) => len == UNDEFINED || (len as usize) <= self.data.len().saturating_sub(pos + 8),
                None => false,
            },
        }
    }

    fn bytes(&self, pos: usize, len: usize) -> Option<&'a [u8]> {
        self.data.get(pos..pos.checked_add(len)?)
    }

    fn u16_at(&self, pos: usize, be: bool) -> Option<u16> {
        let b = self.bytes(pos, 2)?;
        let a = [*b.first()?, *b.get(1)?];
        Some(if be { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) })
    }

    fn u32_at(&self, pos: usize, be: bool) -> Option<u32> {
        let b = self.bytes(pos, 4)?;
        let a = [*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?];
        Some(if be { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }

    fn group_at(&self, pos: usize) -> Option<u16> {
        self.u16_at(pos, false)
    }

    fn vr_at(&self, pos: usize) -> Option<Vr> {
        let b = self.bytes(pos, 2)?;
        Some(Vr([*b.first()?, *b.get(1)?]))
    }

    /// The error for needing `needed` bytes at `pos` when only `end` is available: truncation
    /// at the end of the file, a length error when an enclosing item's bound cuts it.
    fn short(&self, pos: usize, needed: usize, end: usize) -> Error {
        if end >= self.data.len() {
            Error::Truncated { offset: pos, needed: needed.saturating_sub(self.data.len().saturating_sub(pos)) }
        } else {
            Error::InvalidLength { offset: pos }
        }
    }

    fn need(&self, pos: usize, needed: usize, end: usize) -> Result<(), Error> {
        match pos.checked_add(needed) {
            Some(e) if e <= end => Ok(()),
            _ => Err(self.short(pos, needed, end)),
        }
    }

    fn read_tag(&self, pos: usize, end: usize, enc: Encoding) -> Result<Tag, Error> {
        self.need(pos, 4, end)?;
        let group = self.u16_at(pos, enc.big_endian).ok_or_else(|| self.short(pos, 4, end))?;
        let element = self.u16_at(pos + 2, enc.big_endian).ok_or_else(|| self.short(pos, 4, end))?;
        Ok(Tag(group, element))
    }

    fn read_header(&self, pos: usize, end: usize, enc: Encoding) -> Result<Header, Error> {
        let tag = self.read_tag(pos, end, enc)?;
        let field = |at: usize, size: usize| -> Result<u32, Error> {
            self.need(pos, at + size, end)?;
            let v = if size == 2 { self.u16_at(pos + at, enc.big_endian).map(u32::from) } else { self.u32_at(pos + at, enc.big_endian) };
            v.ok_or_else(|| self.short(pos, at + size, end))
        };
        if tag.0 == 0xFFFE {
            // Items and delimiters: no VR in any transfer syntax.
            return Ok(Header { tag, vr: Vr::UN, len: field(4, 4)?, start: pos + 8 });
        }
        if !enc.explicit {
            return Ok(Header { tag, vr: Vr::implicit(tag), len: field(4, 4)?, start: pos + 8 });
        }
        self.need(pos, 6, end)?;
        let vr = self.vr_at(pos + 4).ok_or_else(|| self.short(pos, 6, end))?;
        if !vr.is_known() {
            return Err(Error::InvalidVr { offset: pos + 4 });
        }
        if vr.has_long_length() {
            Ok(Header { tag, vr, len: field(8, 4)?, start: pos + 12 })
        } else {
            Ok(Header { tag, vr, len: field(6, 2)?, start: pos + 8 })
        }
    }

    /// Reads elements into `out` until the context's end. Complete elements (including a
    /// partially read sequence) are pushed before an error is returned.
    #[allow(clippy::too_many_arguments)]
    fn read_dataset(
        &self,
        pos: &mut usize,
        end: usize,
        enc: Encoding,
        inherited: Charset,
        depth: usize,
        ctx: Context,
        out: &mut Vec<Element<'a>>,
    ) -> Result<(), Error> {
        let mut charset = inherited;
        loop {
            if *pos >= end {
                return match ctx {
                    Context::UndefinedItem => Err(self.short(*pos, 8, end)),
                    _ => Ok(()),
                };
            }
            match ctx {
                Context::Meta if self.group_at(*pos) != Some(0x0002) => return Ok(()),
                // Zero padding after the last element (seen in the wild) is not damage.
                Context::Top if *pos >= self.zero_tail => {
                    *pos = end;
                    return Ok(());
                }
                _ => {}
            }
            let at = *pos;
            let h = self.read_header(at, end, enc)?;
            if h.tag.0 == 0xFFFE {
                if h.tag == tags::ITEM_DELIMITATION_ITEM && matches!(ctx, Context::UndefinedItem | Context::DefinedItem) {
                    *pos = h.start;
                    return Ok(());
                }
                return Err(Error::InvalidTag { offset: at, tag: h.tag });
            }
            if h.len == UNDEFINED {
                if h.tag == tags::PIXEL_DATA
                    || (enc.explicit && matches!(h.vr, Vr::OB | Vr::OW | Vr::OD | Vr::OF | Vr::OL | Vr::OV | Vr::SV | Vr::UV))
                {
                    *pos = h.start;
                    let mut offset_table: &'a [u8] = &[];
                    let mut fragments = Vec::new();
                    let r = self.read_fragments(pos, end, enc, &mut offset_table, &mut fragments);
                    out.push(Element { tag: h.tag, vr: h.vr, value: Value::Encapsulated { offset_table, fragments } });
                    r?;
                } else if enc.explicit && !matches!(h.vr, Vr::SQ | Vr::UN) {
                    return Err(Error::InvalidLength { offset: at });
                } else {
                    // SQ, implicit-VR sequences, and UN of undefined length (implicit LE per PS3.5 6.2.2).
                    let inner = if enc.explicit && h.vr == Vr::UN { IMPLICIT_LE } else { enc };
                    let vr = if enc.explicit { h.vr } else { Vr::SQ };
                    *pos = h.start;
                    let mut items = Vec::new();
                    let r = self.read_items(pos, end, inner, charset, depth, true, &mut items);
                    out.push(Element { tag: h.tag, vr, value: Value::Sequence(items) });
                    r?;
                }
                continue;
            }
            let len = h.len as usize;
            let value_end = match h.start.checked_add(len) {
                Some(e) if e <= end => e,
                _ => return Err(self.short(h.start, len, end)),
            };
            let value = self.bytes(h.start, len).ok_or_else(|| self.short(h.start, len, end))?;
            let element = if h.vr == Vr::SQ {
                let mut p = h.start;
                let mut items = Vec::new();
                let r = self.read_items(&mut p, value_end, enc, charset, depth, false, &mut items);
                if let Err(e) = r {
                    out.push(Element { tag: h.tag, vr: h.vr, value: Value::Sequence(items) });
                    return Err(e);
                }
                Element { tag: h.tag, vr: h.vr, value: Value::Sequence(items) }
            } else if !enc.explicit && h.vr == Vr::UN && value.starts_with(&item_tag_bytes(enc)) {
                // An implicit-VR sequence the dictionary does not know: keep it as a sequence
                // only if it parses as one completely.
                let mut p = h.start;
                let mut items = Vec::new();
                match self.read_items(&mut p, value_end, enc, charset, depth, false, &mut items) {
                    Ok(()) => Element { tag: h.tag, vr: Vr::SQ, value: Value::Sequence(items) },
                    Err(_) => Element { tag: h.tag, vr: h.vr, value: Value::Bytes(value) },
                }
            } else {
                Element { tag: h.tag, vr: h.vr, value: Value::Bytes(value) }
            };
            if element.tag == tags::SPECIFIC_CHARACTER_SET {
                // Items below inherit this data set's character set (it precedes any sequence).
                charset = Charset::from_value(value);
            }
            out.push(element);
            *pos = value_end;
        }
    }

    /// Reads a sequence's items into `items` (complete items, plus the partial one on error).
    #[allow(clippy::too_many_arguments)]
    fn read_items(
        &self,
        pos: &mut usize,
        end: usize,
        enc: Encoding,
        charset: Charset,
        depth: usize,
        undefined: bool,
        items: &mut Vec<DataSet<'a>>,
    ) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(Error::TooDeep { offset: *pos });
        }
        loop {
            if *pos >= end {
                return if undefined { Err(self.short(*pos, 8, end)) } else { Ok(()) };
            }
            let at = *pos;
            let tag = self.read_tag(at, end, enc)?;
            self.need(at, 8, end)?;
            let len = self.u32_at(at + 4, enc.big_endian).ok_or_else(|| self.short(at, 8, end))?;
            *pos = at + 8;
            match tag {
                tags::ITEM => {
                    let (item_end, ctx) = if len == UNDEFINED {
                        (end, Context::UndefinedItem)
                    } else {
                        match pos.checked_add(len as usize) {
                            Some(e) if e <= end => (e, Context::DefinedItem),
                            _ => return Err(self.short(*pos, len as usize, end)),
                        }
                    };
                    let mut elements = Vec::new();
                    let r = self.read_dataset(pos, item_end, enc, charset, depth + 1, ctx, &mut elements);
                    items.push(DataSet::new(elements, enc.big_endian, charset));
                    r?;
                    if ctx == Context::DefinedItem {
                        *pos = item_end;
                    }
                }
                tags::SEQUENCE_DELIMITATION_ITEM => return Ok(()),
                _ => return Err(Error::InvalidTag { offset: at, tag }),
            }
        }
    }

    /// Reads encapsulated pixel data items: the Basic Offset Table, then fragments, up to the
    /// Sequence Delimitation Item.
    fn read_fragments(
        &self,
        pos: &mut usize,
        end: usize,
        enc: Encoding,
        offset_table: &mut &'a [u8],
        fragments: &mut Vec<&'a [u8]>,
    ) -> Result<(), Error> {
        let mut first = true;
        loop {
            let at = *pos;
            let tag = self.read_tag(at, end, enc)?;
            self.need(at, 8, end)?;
            let len = self.u32_at(at + 4, enc.big_endian).ok_or_else(|| self.short(at, 8, end))?;
            match tag {
                tags::ITEM if len != UNDEFINED => {
                    let len = len as usize;
                    self.need(at + 8, len, end)?;
                    let value = self.bytes(at + 8, len).ok_or_else(|| self.short(at + 8, len, end))?;
                    if first {
                        *offset_table = value;
                        first = false;
                    } else {
                        fragments.push(value);
                    }
                    *pos = at + 8 + len;
                }
                tags::ITEM => return Err(Error::InvalidLength { offset: at + 4 }),
                tags::SEQUENCE_DELIMITATION_ITEM => {
                    *pos = at + 8;
                    return Ok(());
                }
                _ => return Err(Error::InvalidTag { offset: at, tag }),
            }
        }
    }
}

fn item_tag_bytes(enc: Encoding) -> [u8; 4] {
    let [g0, g1] = if enc.big_endian { 0xFFFEu16.to_be_bytes() } else { 0xFFFEu16.to_le_bytes() };
    let [e0, e1] = if enc.big_endian { 0xE000u16.to_be_bytes() } else { 0xE000u16.to_le_bytes() };
    [g0, g1, e0, e1]
}
