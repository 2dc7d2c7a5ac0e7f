//! A tiny DICOM encoder for building test fixtures byte by byte.
#![allow(dead_code)]

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Enc {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

impl Enc {
    pub fn uid(self) -> &'static str {
        match self {
            Enc::ImplicitLe => "1.2.840.10008.1.2",
            Enc::ExplicitLe => "1.2.840.10008.1.2.1",
            Enc::ExplicitBe => "1.2.840.10008.1.2.2",
        }
    }
    fn be(self) -> bool {
        self == Enc::ExplicitBe
    }
}

#[derive(Clone, Debug)]
pub enum V {
    /// Raw bytes, padded with a zero byte to even length.
    Raw(Vec<u8>),
    /// Raw bytes with no padding (for odd-length and malformed fixtures).
    Exact(Vec<u8>),
    Str(String),
    U16(Vec<u16>),
    U32(Vec<u32>),
    F64(Vec<f64>),
    /// Items; `undefined` uses undefined lengths for the sequence and its items.
    Seq {
        items: Vec<Vec<E>>,
        undefined: bool,
    },
    /// Encapsulated pixel data: offset table then fragments.
    Encap {
        offset_table: Vec<u8>,
        fragments: Vec<Vec<u8>>,
    },
}

#[derive(Clone, Debug)]
pub struct E {
    pub tag: (u16, u16),
    pub vr: [u8; 2],
    pub v: V,
}

pub fn e(tag: (u16, u16), vr: &str, v: V) -> E {
    let b = vr.as_bytes();
    E { tag, vr: [b[0], b[1]], v }
}
pub fn s(tag: (u16, u16), vr: &str, text: &str) -> E {
    e(tag, vr, V::Str(text.to_string()))
}
pub fn us(tag: (u16, u16), v: &[u16]) -> E {
    e(tag, "US", V::U16(v.to_vec()))
}
pub fn seq(tag: (u16, u16), items: Vec<Vec<E>>, undefined: bool) -> E {
    e(tag, "SQ", V::Seq { items, undefined })
}

fn u16b(x: u16, be: bool) -> [u8; 2] {
    if be {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    }
}
fn u32b(x: u32, be: bool) -> [u8; 4] {
    if be {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    }
}

fn value_bytes(el: &E, enc: Enc) -> Vec<u8> {
    let be = enc.be();
    match &el.v {
        V::Raw(b) => {
            let mut b = b.clone();
            if b.len() % 2 == 1 {
                b.push(0);
            }
            b
        }
        V::Exact(b) => b.clone(),
        V::Str(t) => {
            let mut b = t.as_bytes().to_vec();
            if b.len() % 2 == 1 {
                b.push(if &el.vr == b"UI" { 0 } else { b' ' });
            }
            b
        }
        V::U16(v) => v.iter().flat_map(|&x| u16b(x, be)).collect(),
        V::U32(v) => v.iter().flat_map(|&x| u32b(x, be)).collect(),
        V::F64(v) => v.iter().flat_map(|&x| if be { x.to_be_bytes() } else { x.to_le_bytes() }).collect(),
        V::Seq { items, undefined } => {
            let mut out = Vec::new();
            for item in items {
                let body = encode(item, enc);
                out.extend(u16b(0xFFFE, be));
                out.extend(u16b(0xE000, be));
                out.extend(u32b(if *undefined { 0xFFFF_FFFF } else { body.len() as u32 }, be));
                out.extend(&body);
                if *undefined {
                    out.extend(u16b(0xFFFE, be));
                    out.extend(u16b(0xE00D, be));
                    out.extend(u32b(0, be));
                }
            }
            if *undefined {
                out.extend(u16b(0xFFFE, be));
                out.extend(u16b(0xE0DD, be));
                out.extend(u32b(0, be));
            }
            out
        }
        V::Encap { offset_table, fragments } => {
            let mut out = Vec::new();
            for f in std::iter::once(offset_table).chain(fragments) {
                out.extend(u16b(0xFFFE, be));
                out.extend(u16b(0xE000, be));
                out.extend(u32b(f.len() as u32, be));
                out.extend(f);
            }
            out.extend(u16b(0xFFFE, be));
            out.extend(u16b(0xE0DD, be));
            out.extend(u32b(0, be));
            out
        }
    }
}

/// Encodes one element.
pub fn encode_element(el: &E, enc: Enc) -> Vec<u8> {
    let be = enc.be();
    let value = value_bytes(el, enc);
    let undefined = matches!(el.v, V::Seq { undefined: true, .. } | V::Encap { .. });
    let len = if undefined { 0xFFFF_FFFF } else { value.len() as u32 };
    let mut out = Vec::new();
    out.extend(u16b(el.tag.0, be));
    out.extend(u16b(el.tag.1, be));
    if enc == Enc::ImplicitLe {
        out.extend(u32b(len, be));
    } else {
        out.extend(el.vr);
        let long = matches!(&el.vr, b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV");
        if long {
            out.extend([0, 0]);
            out.extend(u32b(len, be));
        } else {
            out.extend(u16b(len as u16, be));
        }
    }
    out.extend(value);
    out
}

/// Encodes elements in the order given.
pub fn encode(elements: &[E], enc: Enc) -> Vec<u8> {
    elements.iter().flat_map(|el| encode_element(el, enc)).collect()
}

/// A Part 10 file: optional preamble, File Meta (explicit LE, with or without group length),
/// then the data set encoded with `enc`.
pub fn part10(enc: Enc, dataset: &[E], preamble: bool, group_length: bool) -> Vec<u8> {
    part10_ts(enc.uid(), enc, dataset, preamble, group_length)
}

pub fn part10_ts(uid: &str, enc: Enc, dataset: &[E], preamble: bool, group_length: bool) -> Vec<u8> {
    let meta = encode(
        &[
            e((0x0002, 0x0001), "OB", V::Raw(vec![0, 1])),
            s((0x0002, 0x0002), "UI", "1.2.840.10008.5.1.4.1.1.2"),
            s((0x0002, 0x0003), "UI", "1.2.3.4.5"),
            s((0x0002, 0x0010), "UI", uid),
            s((0x0002, 0x0012), "UI", "1.2.3.999"),
        ],
        Enc::ExplicitLe,
    );
    let mut out = Vec::new();
    if preamble {
        out.extend([0u8; 128]);
        out.extend(b"DICM");
    }
    if group_length {
        out.extend(encode_element(&e((0x0002, 0x0000), "UL", V::U32(vec![meta.len() as u32])), Enc::ExplicitLe));
    }
    out.extend(meta);
    out.extend(encode(dataset, enc));
    out
}

/// A small CT-like header plus pixel data.
pub fn image_elements(rows: u16, cols: u16, bits: u16, stored: u16, signed: bool, photometric: &str, pixels: V) -> Vec<E> {
    let pixel_vr = if bits <= 8 { "OB" } else { "OW" };
    vec![
        s((0x0008, 0x0060), "CS", "CT"),
        s((0x0010, 0x0020), "LO", "MRN-1"),
        us((0x0028, 0x0002), &[1]),
        s((0x0028, 0x0004), "CS", photometric),
        us((0x0028, 0x0010), &[rows]),
        us((0x0028, 0x0011), &[cols]),
        us((0x0028, 0x0100), &[bits]),
        us((0x0028, 0x0101), &[stored]),
        us((0x0028, 0x0102), &[stored - 1]),
        us((0x0028, 0x0103), &[signed as u16]),
        e((0x7FE0, 0x0010), pixel_vr, pixels),
    ]
}

/// Deterministic xorshift PRNG for mutation loops.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The value bytes of a sequence (its items, plus the delimiter when undefined), without the
/// element header: for fixtures that wrap items in another VR (UN).
pub fn seq_value(items: &[Vec<E>], undefined: bool, enc: Enc) -> Vec<u8> {
    value_bytes(&seq((0, 0), items.to_vec(), undefined), enc)
}

/// PackBits: repeat runs for 3+ equal bytes, literal runs otherwise (PS3.5 G.3.1).
pub fn pack_bits(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let mut run = 1;
        while i + run < src.len() && src[i + run] == src[i] && run < 128 {
            run += 1;
        }
        if run >= 3 {
            out.push((1i16 - run as i16) as u8);
            out.push(src[i]);
            i += run;
        } else {
            let start = i;
            while i < src.len() && i - start < 128 && !(i + 2 < src.len() && src[i] == src[i + 1] && src[i] == src[i + 2]) {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend(&src[start..i]);
        }
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // no-op padding to even length
    }
    out
}

/// One RLE frame: `values` are interleaved samples of `bytes` bytes each (big-endian split
/// into segments, most significant first), `spp` samples per pixel.
pub fn rle_frame(values: &[u32], spp: usize, bytes: usize) -> Vec<u8> {
    let pixels = values.len() / spp;
    let mut segments = Vec::new();
    for s in 0..spp {
        for b in 0..bytes {
            let shift = 8 * (bytes - 1 - b);
            let plane: Vec<u8> = (0..pixels).map(|p| (values[p * spp + s] >> shift) as u8).collect();
            segments.push(pack_bits(&plane));
        }
    }
    let mut header = vec![0u8; 64];
    header[0..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut offset = 64u32;
    for (i, seg) in segments.iter().enumerate() {
        header[4 + 4 * i..8 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        offset += seg.len() as u32;
    }
    header.extend(segments.concat());
    header
}

/// Replaces Pixel Data with encapsulated fragments.
pub fn encapsulated(mut elements: Vec<E>, offset_table: Vec<u8>, fragments: Vec<Vec<u8>>) -> Vec<E> {
    elements.retain(|e| e.tag != (0x7FE0, 0x0010));
    elements.push(e((0x7FE0, 0x0010), "OB", V::Encap { offset_table, fragments }));
    elements.sort_by_key(|e| e.tag);
    elements
}

/// A deflated Part 10 file: File Meta as usual, then the explicit LE data set, raw-deflated.
pub fn deflated(dataset: &[E]) -> Vec<u8> {
    let mut out = part10_ts("1.2.840.10008.1.2.1.99", Enc::ExplicitLe, &[], true, true);
    out.extend(miniz_oxide::deflate::compress_to_vec(&encode(dataset, Enc::ExplicitLe), 6));
    out
}

/// A compressed-frame fixture from tests/fixtures (see extract.py there).
pub struct CodecFixture {
    pub file: &'static str,
    pub codestream: &'static [u8],
    pub uid: &'static str,
    pub rows: u16,
    pub cols: u16,
    pub spp: u16,
    pub bits: u16,
    pub stored: u16,
    pub signed: bool,
    pub photometric: &'static str,
}

macro_rules! fixture {
    ($file:literal, $uid:literal, $rows:expr, $cols:expr, $spp:expr, $bits:expr, $stored:expr, $signed:expr, $pi:literal) => {
        CodecFixture {
            file: $file,
            codestream: include_bytes!(concat!("../fixtures/", $file)),
            uid: $uid,
            rows: $rows,
            cols: $cols,
            spp: $spp,
            bits: $bits,
            stored: $stored,
            signed: $signed,
            photometric: $pi,
        }
    };
}

/// One codestream per codec path: JPEG 8-bit (4:4:4 and 4:2:2), lossless and 12-bit; JPEG-LS
/// lossless and near-lossless in every interleave mode; JPEG 2000 reversible and irreversible;
/// HTJ2K reversible and irreversible, with and without refinement passes.
pub fn codec_fixtures() -> Vec<CodecFixture> {
    vec![
        fixture!("jls_near_08.jls", "1.2.840.10008.1.2.4.81", 45, 10, 1, 8, 8, false, "MONOCHROME2"),
        fixture!("jls_near_16.jls", "1.2.840.10008.1.2.4.81", 50, 10, 1, 16, 16, false, "MONOCHROME2"),
        fixture!("jls_lossless_s16.jls", "1.2.840.10008.1.2.4.80", 64, 64, 1, 16, 16, true, "MONOCHROME2"),
        fixture!("jls_rgb_sample.jls", "1.2.840.10008.1.2.4.81", 100, 100, 3, 8, 8, false, "RGB"),
        fixture!("jls_rgb_line.jls", "1.2.840.10008.1.2.4.81", 100, 100, 3, 8, 8, false, "RGB"),
        fixture!("jpeg_ybr_odd.jpg", "1.2.840.10008.1.2.4.50", 3, 3, 3, 8, 8, false, "YBR_FULL"),
        fixture!("jpeg_ybr_422.jpg", "1.2.840.10008.1.2.4.50", 100, 100, 3, 8, 8, false, "YBR_FULL_422"),
        fixture!("jpeg_lossless_rgb.jpg", "1.2.840.10008.1.2.4.70", 100, 100, 3, 8, 8, false, "RGB"),
        fixture!("jpeg_12bit.jpg", "1.2.840.10008.1.2.4.51", 1024, 256, 1, 16, 12, false, "MONOCHROME2"),
        fixture!("j2k_lossless_s16.j2k", "1.2.840.10008.1.2.4.90", 64, 64, 1, 16, 16, true, "MONOCHROME2"),
        fixture!("j2k_lossy_rgb.j2k", "1.2.840.10008.1.2.4.91", 100, 100, 3, 8, 8, false, "RGB"),
        // High-Throughput JPEG 2000 (fixtures/htj2k.js, OpenJPH's encoder), under its own syntaxes.
        fixture!("htj2k_lossless_u8.j2c", "1.2.840.10008.1.2.4.202", 27, 33, 1, 8, 8, false, "MONOCHROME2"),
        fixture!("htj2k_lossless_u12.j2c", "1.2.840.10008.1.2.4.201", 30, 40, 1, 16, 12, false, "MONOCHROME2"),
        fixture!("htj2k_lossless_s16.j2c", "1.2.840.10008.1.2.4.202", 24, 32, 1, 16, 16, true, "MONOCHROME2"),
        fixture!("htj2k_lossless_rgb.j2c", "1.2.840.10008.1.2.4.202", 18, 24, 3, 8, 8, false, "RGB"),
        fixture!("htj2k_lossy_u8.j2c", "1.2.840.10008.1.2.4.203", 27, 33, 1, 8, 8, false, "MONOCHROME2"),
        fixture!("htj2k_lossy_u12.j2c", "1.2.840.10008.1.2.4.203", 20, 24, 1, 16, 12, false, "MONOCHROME2"),
        fixture!("htj2k_lossy_rgb.j2c", "1.2.840.10008.1.2.4.203", 18, 24, 3, 8, 8, false, "RGB"),
        // HTJ2K with SigProp/MagRef passes (Kakadu, conformance set; see fixtures/htj2k_ext.md).
        fixture!("htj2k_ext_ds0_ht_09_b11.j2c", "1.2.840.10008.1.2.4.203", 37, 17, 1, 8, 8, false, "MONOCHROME2"),
    ]
}

/// A Part 10 file holding `codestream` as its single frame, with the fixture's image header.
pub fn codec_file(f: &CodecFixture, codestream: &[u8]) -> Vec<u8> {
    let mut elements = image_elements(f.rows, f.cols, f.bits, f.stored, f.signed, f.photometric, V::Raw(vec![]));
    elements.retain(|e| e.tag != (0x0028, 0x0002) && e.tag != (0x7FE0, 0x0010));
    elements.push(us((0x0028, 0x0002), &[f.spp]));
    if f.spp > 1 {
        elements.push(us((0x0028, 0x0006), &[0]));
    }
    elements.push(e((0x7FE0, 0x0010), "OB", V::Encap { offset_table: vec![], fragments: vec![codestream.to_vec()] }));
    elements.sort_by_key(|e| e.tag);
    part10_ts(f.uid, Enc::ExplicitLe, &elements, true, true)
}
