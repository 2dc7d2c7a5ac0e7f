//! Native (uncompressed) pixel data to stored values: one frame at a time, with the bit layout
//! (Bits Stored, High Bit, Pixel Representation) applied so later stages see true values.

use crate::{codec, rle, tags, transfer_syntax, DataSet, DicomFile, Error, Tag, Value, Vr};

pub use crate::encapsulated::encapsulated_frame;

/// Applies a generic `Vec<T> -> Vec<T>` rearrangement to whichever sample type a frame holds.
macro_rules! map_samples {
    ($samples:expr, $v:ident => $body:expr) => {
        match $samples {
            Samples::U8($v) => Samples::U8($body),
            Samples::I8($v) => Samples::I8($body),
            Samples::U16($v) => Samples::U16($body),
            Samples::I16($v) => Samples::I16($body),
            Samples::U32($v) => Samples::U32($body),
            Samples::I32($v) => Samples::I32($body),
        }
    };
}

/// Photometric Interpretation (0028,0004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photometric {
    /// Grayscale, minimum value displayed white.
    Monochrome1,
    /// Grayscale, minimum value displayed black.
    Monochrome2,
    PaletteColor,
    Rgb,
    YbrFull,
    YbrFull422,
    /// Not decoded: chroma subsampled 2:1 in both directions (MPEG).
    YbrPartial420,
    /// JPEG 2000 reversible colour; codecs return the inverse-transformed RGB samples.
    YbrRct,
    /// JPEG 2000 irreversible colour; codecs return the inverse-transformed RGB samples.
    YbrIct,
    /// Anything else, as written (trimmed).
    Other(String),
}

impl Photometric {
    /// Parses the defined term; unknown terms are kept, not rejected, so the caller can say which.
    pub fn from_term(term: &str) -> Photometric {
        match term.trim() {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::PaletteColor,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "YBR_PARTIAL_420" => Photometric::YbrPartial420,
            "YBR_RCT" => Photometric::YbrRct,
            "YBR_ICT" => Photometric::YbrIct,
            other => Photometric::Other(other.to_string()),
        }
    }

    pub fn is_monochrome(&self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

/// The Image Pixel module attributes needed to find and interpret a frame's bytes, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    /// Pixel Representation 1 (two's complement).
    pub signed: bool,
    pub photometric: Photometric,
    /// 0 = samples interleaved per pixel, 1 = one plane per sample (only meaningful for colour).
    pub planar_configuration: u16,
    pub number_of_frames: u32,
}

impl ImageInfo {
    /// Reads and validates the Image Pixel module. Optional attributes take the standard's
    /// defaults (Bits Stored = Bits Allocated, High Bit = Bits Stored − 1, one frame, ...);
    /// Rows, Columns, Bits Allocated and Photometric Interpretation are required.
    pub fn from_dataset(ds: &DataSet) -> Result<ImageInfo, Error> {
        let rows = required(ds, tags::ROWS, "Rows")?;
        let columns = required(ds, tags::COLUMNS, "Columns")?;
        let bits_allocated = required(ds, tags::BITS_ALLOCATED, "Bits Allocated")?;
        let samples_per_pixel = optional(ds, tags::SAMPLES_PER_PIXEL, "Samples per Pixel")?.unwrap_or(1);
        let bits_stored = optional(ds, tags::BITS_STORED, "Bits Stored")?.unwrap_or(bits_allocated);
        let high_bit = optional(ds, tags::HIGH_BIT, "High Bit")?.unwrap_or(bits_stored.saturating_sub(1));
        let pixel_representation = optional(ds, tags::PIXEL_REPRESENTATION, "Pixel Representation")?.unwrap_or(0);
        let planar_configuration = optional(ds, tags::PLANAR_CONFIGURATION, "Planar Configuration")?.unwrap_or(0);
        let photometric = ds
            .string(tags::PHOTOMETRIC_INTERPRETATION)
            .filter(|s| !s.trim().is_empty())
            .map(|s| Photometric::from_term(&s))
            .ok_or(Error::MissingAttribute("Photometric Interpretation"))?;
        let number_of_frames = match ds.get(tags::NUMBER_OF_FRAMES) {
            None => 1,
            Some(_) => match ds.u32(tags::NUMBER_OF_FRAMES) {
                Some(n) if n > 0 => n,
                _ => return Err(invalid(ds, tags::NUMBER_OF_FRAMES, "Number of Frames")),
            },
        };

        if rows == 0 {
            return Err(invalid(ds, tags::ROWS, "Rows"));
        }
        if columns == 0 {
            return Err(invalid(ds, tags::COLUMNS, "Columns"));
        }
        if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
            return Err(Error::UnsupportedImage(format!("{bits_allocated} bits allocated per sample")));
        }
        if !matches!(samples_per_pixel, 1 | 3) {
            return Err(Error::UnsupportedImage(format!("{samples_per_pixel} samples per pixel")));
        }
        if bits_allocated == 1 && samples_per_pixel != 1 {
            return Err(Error::UnsupportedImage("1-bit colour pixels".into()));
        }
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(invalid(ds, tags::BITS_STORED, "Bits Stored"));
        }
        if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
            return Err(invalid(ds, tags::HIGH_BIT, "High Bit"));
        }
        if pixel_representation > 1 {
            return Err(invalid(ds, tags::PIXEL_REPRESENTATION, "Pixel Representation"));
        }
        if samples_per_pixel > 1 && planar_configuration > 1 {
            return Err(invalid(ds, tags::PLANAR_CONFIGURATION, "Planar Configuration"));
        }
        Ok(ImageInfo {
            rows: u32::from(rows),
            columns: u32::from(columns),
            samples_per_pixel,
            bits_allocated,
            bits_stored,
            high_bit,
            signed: pixel_representation == 1,
            photometric,
            planar_configuration,
            number_of_frames,
        })
    }

    /// Samples in one frame (rows × columns × samples per pixel); `None` on overflow.
    pub fn samples_per_frame(&self) -> Option<usize> {
        (self.rows as usize).checked_mul(self.columns as usize)?.checked_mul(usize::from(self.samples_per_pixel))
    }

    /// Bytes of one native frame (1-bit frames rounded up; note that 1-bit frames after the first
    /// start at bit, not byte, offsets). `None` on overflow.
    pub fn frame_len_bytes(&self) -> Option<usize> {
        let bits = self.samples_per_frame()?.checked_mul(usize::from(self.bits_allocated))?;
        Some(bits.div_ceil(8))
    }
}

fn required(ds: &DataSet, tag: Tag, name: &'static str) -> Result<u16, Error> {
    optional(ds, tag, name)?.ok_or(Error::MissingAttribute(name))
}

fn optional(ds: &DataSet, tag: Tag, name: &'static str) -> Result<Option<u16>, Error> {
    if ds.get(tag).is_none() {
        return Ok(None);
    }
    match ds.u32(tag).and_then(|v| u16::try_from(v).ok()) {
        Some(v) => Ok(Some(v)),
        None => Err(invalid(ds, tag, name)),
    }
}

fn invalid(ds: &DataSet, tag: Tag, name: &'static str) -> Error {
    let value = match (ds.f64(tag), ds.string(tag)) {
        (Some(v), _) => v.to_string(),
        (None, Some(s)) => format!("{s:?}"),
        (None, None) => "(unreadable)".to_string(),
    };
    Error::InvalidAttribute { name, value }
}

/// Stored pixel values, one sample per entry, colour samples interleaved (R G B R G B ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
}

impl Samples {
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::I8(v) => v.len(),
            Samples::U16(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::U32(v) => v.len(),
            Samples::I32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` as a number (`None` past the end).
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        match self {
            Samples::U8(v) => v.get(i).map(|&x| f64::from(x)),
            Samples::I8(v) => v.get(i).map(|&x| f64::from(x)),
            Samples::U16(v) => v.get(i).map(|&x| f64::from(x)),
            Samples::I16(v) => v.get(i).map(|&x| f64::from(x)),
            Samples::U32(v) => v.get(i).map(|&x| f64::from(x)),
            Samples::I32(v) => v.get(i).map(|&x| f64::from(x)),
        }
    }

    /// The samples serialised little endian at their own width: a stable byte form for
    /// hashing and comparing decoders (the `stored` bytes of the `dicom-lite` tool).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Samples::U8(v) => v.clone(),
            Samples::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// One decoded frame: stored values (before the Modality LUT). Unsigned values have bits above
/// Bits Stored cleared; signed ones are sign-extended from bit Bits Stored − 1; 1-bit pixels
/// are unpacked to 0/1 bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub info: ImageInfo,
    pub samples: Samples,
}

/// Decodes frame `index` (0-based) to stored values: native pixel data (little or big endian,
/// deflated once inflated by [`crate::DicomBuffer`]), RLE Lossless, and the JPEG, JPEG-LS and
/// JPEG 2000 syntaxes whose codec features are compiled in ([`crate::codec`]). Other
/// encapsulated syntaxes return [`Error::UnsupportedTransferSyntax`]; their compressed frames
/// are available from [`encapsulated_frame`].
///
/// Colour from codecs: samples come out interleaved as coded, with no colour conversion by the
/// codec beyond what the codestream itself mandates. JPEG YCbCr frames stay Y Cb Cr (chroma
/// upsampled to full resolution), matching YBR_FULL / YBR_FULL_422; JPEG 2000 frames with a
/// multi-component transform (YBR_RCT / YBR_ICT) come out as R G B, and the photometric term
/// is kept (the renderer treats those two as RGB). This is pydicom's `raw=True` definition.
pub fn decode_frame(file: &DicomFile, index: usize) -> Result<Frame, Error> {
    let ds = file.dataset();
    let info = ImageInfo::from_dataset(ds)?;
    let uid = file.transfer_syntax_uid();
    let element = ds.get(tags::PIXEL_DATA).ok_or(Error::MissingAttribute("Pixel Data"))?;
    match &element.value {
        Value::Bytes(data) if transfer_syntax::is_native(uid) => {
            if index >= info.number_of_frames as usize {
                return Err(Error::FrameOutOfRange { index, count: info.number_of_frames });
            }
            let samples = decode_native(ds, &info, element.vr, data, index)?;
            Ok(Frame { info, samples })
        }
        Value::Encapsulated { .. } if uid == transfer_syntax::RLE_LOSSLESS => {
            let data = encapsulated_frame(file, index)?;
            let samples = decode_rle(&info, &data)?;
            Ok(Frame { info, samples })
        }
        Value::Encapsulated { .. } if codec::supports(uid) => {
            let data = encapsulated_frame(file, index)?;
            let raw = codec::decode(uid, &info, &data).unwrap_or_else(|| Err(Error::UnsupportedTransferSyntax(uid.to_string())))?;
            // Codecs return values as coded, not placed at High Bit: mask and sign-extend only.
            let layout = Layout { shift: 0, ..Layout::new(&info) };
            let samples = match info.bits_allocated {
                8 => layout.eight(&raw),
                16 => layout.sixteen(&raw),
                _ => layout.thirty_two(&raw),
            };
            Ok(Frame { info, samples })
        }
        Value::Encapsulated { .. } if transfer_syntax::is_native(uid) => {
            Err(Error::InvalidAttribute { name: "Pixel Data", value: "encapsulated in an uncompressed transfer syntax".into() })
        }
        Value::Sequence(_) => Err(Error::InvalidAttribute { name: "Pixel Data", value: "a sequence".into() }),
        _ => Err(Error::UnsupportedTransferSyntax(uid.to_string())),
    }
}

fn too_large() -> Error {
    Error::UnsupportedImage("image dimensions too large".into())
}

fn decode_native(ds: &DataSet, info: &ImageInfo, vr: Vr, data: &[u8], index: usize) -> Result<Samples, Error> {
    let samples = info.samples_per_frame().ok_or_else(too_large)?;
    // YBR_FULL_422 stores two pixels as Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2): 2 values per pixel.
    let subsampled = info.photometric == Photometric::YbrFull422 && info.samples_per_pixel == 3;
    if subsampled && (info.bits_allocated < 8 || info.columns % 2 == 1) {
        return Err(Error::UnsupportedImage(format!("YBR_FULL_422 with {} bits and {} columns", info.bits_allocated, info.columns)));
    }
    let values = if subsampled { samples / 3 * 2 } else { samples };
    let frames = info.number_of_frames as usize;
    let expected = if info.bits_allocated == 1 {
        values.checked_mul(frames).ok_or_else(too_large)?.div_ceil(8)
    } else {
        values.checked_mul(usize::from(info.bits_allocated / 8)).and_then(|b| b.checked_mul(frames)).ok_or_else(too_large)?
    };
    if data.len() < expected {
        return Err(Error::PixelDataTooShort { expected, actual: data.len() });
    }
    let big_endian = ds.is_big_endian();
    // In big endian, OW is a stream of byte-swapped 16-bit words even when samples are 8 or 1 bit.
    let swap_pairs = big_endian && vr == Vr::OW && info.bits_allocated <= 8;
    let layout = Layout::new(info);

    let decoded = match info.bits_allocated {
        1 => {
            let first_bit = index.checked_mul(values).ok_or_else(too_large)?;
            let bits = (first_bit..first_bit.saturating_add(values)).map(|bit| {
                let byte = byte_at(data, bit / 8, swap_pairs);
                (byte >> (bit % 8)) & 1 // least significant bit first (PS3.5 D.1)
            });
            Samples::U8(bits.collect())
        }
        bits_allocated => {
            let frame_len = values.checked_mul(usize::from(bits_allocated / 8)).ok_or_else(too_large)?;
            let start = index.checked_mul(frame_len).ok_or_else(too_large)?;
            let end = start.checked_add(frame_len).ok_or_else(too_large)?;
            match bits_allocated {
                8 if swap_pairs => {
                    let raw: Vec<u32> = (start..end).map(|p| u32::from(byte_at(data, p, true))).collect();
                    layout.eight(&raw)
                }
                8 => layout.eight_from_bytes(data.get(start..end).unwrap_or_default()),
                16 => layout.sixteen_from_bytes(data.get(start..end).unwrap_or_default(), big_endian),
                _ => {
                    let raw: Vec<u32> = data
                        .get(start..end)
                        .unwrap_or_default()
                        .chunks_exact(4)
                        .map(|c| match *c {
                            [a, b, c, d] if big_endian => u32::from_be_bytes([a, b, c, d]),
                            [a, b, c, d] => u32::from_le_bytes([a, b, c, d]),
                            _ => 0,
                        })
                        .collect();
                    layout.thirty_two(&raw)
                }
            }
        }
    };
    if decoded.len() != values {
        // Unreachable given the length check above; kept so a logic slip cannot yield a short frame.
        return Err(Error::PixelDataTooShort { expected, actual: data.len() });
    }
    Ok(if subsampled {
        map_samples!(decoded, v => expand_422(v))
    } else if info.samples_per_pixel > 1 && info.planar_configuration == 1 {
        let spp = usize::from(info.samples_per_pixel);
        map_samples!(decoded, v => interleave(v, spp))
    } else {
        decoded
    })
}

/// One RLE frame: byte planes recombined into samples (interleaved whatever Planar
/// Configuration says: RLE always stores one plane per sample), then masked like native data.
fn decode_rle(info: &ImageInfo, data: &[u8]) -> Result<Samples, Error> {
    if info.bits_allocated == 1 {
        return Err(Error::UnsupportedImage("1-bit RLE pixels".into()));
    }
    let pixels = (info.rows as usize).checked_mul(info.columns as usize).ok_or_else(too_large)?;
    let spp = usize::from(info.samples_per_pixel);
    let bytes = usize::from(info.bits_allocated / 8);
    let planes = rle::decode_planes(data, spp * bytes, pixels)?;
    // Plane `s·bytes + b` holds byte b (most significant first) of sample s of every pixel:
    // each plane is or-ed into its place, a plain loop (an iterator chain per sample, which
    // the size-optimised build leaves as calls, took 16 ns a sample).
    let mut raw = vec![0u32; pixels.checked_mul(spp).ok_or_else(too_large)?];
    for (k, plane) in planes.iter().enumerate() {
        let (s, shift) = (k / bytes, 8 * (bytes - 1 - k % bytes) as u32);
        for (out, &byte) in raw.get_mut(s..).unwrap_or_default().iter_mut().step_by(spp).zip(plane) {
            *out |= u32::from(byte) << shift;
        }
    }
    let layout = Layout::new(info);
    Ok(match info.bits_allocated {
        8 => layout.eight(&raw),
        16 => layout.sixteen(&raw),
        _ => layout.thirty_two(&raw),
    })
}

fn byte_at(data: &[u8], pos: usize, swap_pairs: bool) -> u8 {
    data.get(if swap_pairs { pos ^ 1 } else { pos }).copied().unwrap_or(0)
}

/// Where the stored bits sit in an allocated sample, and how to read them.
struct Layout {
    shift: u32,
    mask: u32,
    /// 32 − Bits Stored: shifting left then arithmetic right sign-extends.
    extend: u32,
    signed: bool,
}

impl Layout {
    fn new(info: &ImageInfo) -> Layout {
        let stored = u32::from(info.bits_stored).clamp(1, 32);
        Layout {
            shift: (u32::from(info.high_bit) + 1).saturating_sub(stored).min(31),
            mask: u32::MAX.checked_shr(32 - stored).unwrap_or(u32::MAX),
            extend: 32 - stored,
            signed: info.signed,
        }
    }

    #[inline(always)]
    fn unsigned(&self, raw: u32) -> u32 {
        (raw >> self.shift) & self.mask
    }

    #[inline(always)]
    fn signed(&self, raw: u32) -> i32 {
        ((self.unsigned(raw) << self.extend) as i32) >> self.extend
    }

    // The narrowing casts below are exact: values were masked / sign-extended to Bits Stored,
    // which validation keeps at or below Bits Allocated.
    fn eight(&self, raw: &[u32]) -> Samples {
        if self.signed {
            let mut out = vec![0i8; raw.len()];
            let done = narrow::eight_signed(self, raw, &mut out);
            for (o, &r) in out[done..].iter_mut().zip(&raw[done..]) {
                *o = self.signed(r) as i8;
            }
            Samples::I8(out)
        } else {
            let mut out = vec![0u8; raw.len()];
            let done = narrow::eight(self, raw, &mut out);
            for (o, &r) in out[done..].iter_mut().zip(&raw[done..]) {
                *o = self.unsigned(r) as u8;
            }
            Samples::U8(out)
        }
    }

    /// 8-bit samples straight from their bytes.
    fn eight_from_bytes(&self, bytes: &[u8]) -> Samples {
        if self.signed {
            Samples::I8(converted(bytes.iter().copied(), |b| self.signed(u32::from(b)) as i8))
        } else {
            Samples::U8(converted(bytes.iter().copied(), |b| self.unsigned(u32::from(b)) as u8))
        }
    }

    /// 16-bit samples straight from their bytes (the common case: CT, MR).
    fn sixteen_from_bytes(&self, bytes: &[u8], big_endian: bool) -> Samples {
        let word = |c: &[u8]| match *c {
            [a, b] if big_endian => u32::from(u16::from_be_bytes([a, b])),
            [a, b] => u32::from(u16::from_le_bytes([a, b])),
            _ => 0,
        };
        let rest = |done: usize| bytes.get(done * 2..).unwrap_or_default().chunks_exact(2);
        if self.signed {
            let mut out = vec![0i16; bytes.len() / 2];
            let done = narrow::sixteen_from_bytes_signed(self, bytes, big_endian, &mut out);
            for (o, c) in out[done..].iter_mut().zip(rest(done)) {
                *o = self.signed(word(c)) as i16;
            }
            Samples::I16(out)
        } else {
            let mut out = vec![0u16; bytes.len() / 2];
            let done = narrow::sixteen_from_bytes(self, bytes, big_endian, &mut out);
            for (o, c) in out[done..].iter_mut().zip(rest(done)) {
                *o = self.unsigned(word(c)) as u16;
            }
            Samples::U16(out)
        }
    }

    fn sixteen(&self, raw: &[u32]) -> Samples {
        if self.signed {
            let mut out = vec![0i16; raw.len()];
            let done = narrow::sixteen_signed(self, raw, &mut out);
            for (o, &r) in out[done..].iter_mut().zip(&raw[done..]) {
                *o = self.signed(r) as i16;
            }
            Samples::I16(out)
        } else {
            let mut out = vec![0u16; raw.len()];
            let done = narrow::sixteen(self, raw, &mut out);
            for (o, &r) in out[done..].iter_mut().zip(&raw[done..]) {
                *o = self.unsigned(r) as u16;
            }
            Samples::U16(out)
        }
    }

    fn thirty_two(&self, raw: &[u32]) -> Samples {
        if self.signed {
            Samples::I32(converted(raw.iter().copied(), |r| self.signed(r)))
        } else {
            Samples::U32(converted(raw.iter().copied(), |r| self.unsigned(r)))
        }
    }
}

/// Codec output (a `u32` per sample) masked, sign-extended and narrowed with WebAssembly SIMD, 16
/// or 8 samples a step: the shipped build's link-time optimisation runs at opt-level "z", which
/// vectorises no loop, and this narrowing was a fifth of an 8-bit RGB JPEG-LS decode. Exact: the
/// narrowing saturates, and values masked to at most 8 (16) bits, or sign-extended from them, are
/// in range. Each function returns how many samples it wrote (0 when the layout is wider); the
/// caller converts the rest.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod narrow {
    use super::Layout;
    use core::arch::wasm32::*;

    /// Four samples masked, and sign-extended when signed.
    #[inline(always)]
    fn lane(l: &Layout, w: [u32; 4]) -> v128 {
        let x = v128_and(u32x4_shr(bytemuck::cast::<[u32; 4], v128>(w), l.shift), u32x4_splat(l.mask));
        if l.signed {
            i32x4_shr(i32x4_shl(x, l.extend), l.extend)
        } else {
            x
        }
    }

    #[inline(always)]
    fn quad<const N: usize>(w: &[u32; N], i: usize) -> [u32; 4] {
        [w[i], w[i + 1], w[i + 2], w[i + 3]]
    }

    pub(super) fn eight(l: &Layout, raw: &[u32], out: &mut [u8]) -> usize {
        if l.mask > 0xFF {
            return 0;
        }
        let mut done = 0;
        for (w, o) in raw.as_chunks::<16>().0.iter().zip(out.as_chunks_mut::<16>().0) {
            let [a, b, c, d] = [0, 4, 8, 12].map(|i| lane(l, quad(w, i)));
            let v = if l.signed {
                i8x16_narrow_i16x8(i16x8_narrow_i32x4(a, b), i16x8_narrow_i32x4(c, d))
            } else {
                u8x16_narrow_i16x8(u16x8_narrow_i32x4(a, b), u16x8_narrow_i32x4(c, d))
            };
            *o = bytemuck::cast::<v128, [u8; 16]>(v);
            done += 16;
        }
        done
    }

    pub(super) fn eight_signed(l: &Layout, raw: &[u32], out: &mut [i8]) -> usize {
        eight(l, raw, bytemuck::cast_slice_mut(out))
    }

    pub(super) fn sixteen(l: &Layout, raw: &[u32], out: &mut [u16]) -> usize {
        if l.mask > 0xFFFF {
            return 0;
        }
        let mut done = 0;
        for (w, o) in raw.as_chunks::<8>().0.iter().zip(out.as_chunks_mut::<8>().0) {
            let [a, b] = [0, 4].map(|i| lane(l, quad(w, i)));
            let v = if l.signed { i16x8_narrow_i32x4(a, b) } else { u16x8_narrow_i32x4(a, b) };
            *o = bytemuck::cast::<v128, [u16; 8]>(v);
            done += 8;
        }
        done
    }

    pub(super) fn sixteen_signed(l: &Layout, raw: &[u32], out: &mut [i16]) -> usize {
        sixteen(l, raw, bytemuck::cast_slice_mut(out))
    }

    /// Native 16-bit samples (two bytes each, in `big_endian` order or not) masked and
    /// sign-extended in 16-bit lanes, 8 a step: exact when the stored bits lie within the 16
    /// (the scalar form's 32-bit shifts then give the same values). Signed samples are written
    /// as their `u16` bit patterns.
    pub(super) fn sixteen_from_bytes(l: &Layout, bytes: &[u8], big_endian: bool, out: &mut [u16]) -> usize {
        let stored = 32 - l.extend;
        if stored + l.shift > 16 {
            return 0;
        }
        let (mask, extend) = (u16x8_splat(l.mask as u16), 16 - stored);
        let swap = i8x16(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
        let mut done = 0;
        for (b, o) in bytes.as_chunks::<16>().0.iter().zip(out.as_chunks_mut::<8>().0) {
            let mut x = bytemuck::cast::<[u8; 16], v128>(*b);
            if big_endian {
                x = i8x16_swizzle(x, swap);
            }
            x = v128_and(u16x8_shr(x, l.shift), mask);
            if l.signed {
                x = i16x8_shr(i16x8_shl(x, extend), extend);
            }
            *o = bytemuck::cast::<v128, [u16; 8]>(x);
            done += 8;
        }
        done
    }

    pub(super) fn sixteen_from_bytes_signed(l: &Layout, bytes: &[u8], big_endian: bool, out: &mut [i16]) -> usize {
        sixteen_from_bytes(l, bytes, big_endian, bytemuck::cast_slice_mut(out))
    }
}

/// Elsewhere the loops in `Layout` convert every sample.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod narrow {
    use super::Layout;

    pub(super) fn eight(_: &Layout, _: &[u32], _: &mut [u8]) -> usize {
        0
    }

    pub(super) fn eight_signed(_: &Layout, _: &[u32], _: &mut [i8]) -> usize {
        0
    }

    pub(super) fn sixteen(_: &Layout, _: &[u32], _: &mut [u16]) -> usize {
        0
    }

    pub(super) fn sixteen_signed(_: &Layout, _: &[u32], _: &mut [i16]) -> usize {
        0
    }

    pub(super) fn sixteen_from_bytes(_: &Layout, _: &[u8], _: bool, _: &mut [u16]) -> usize {
        0
    }

    pub(super) fn sixteen_from_bytes_signed(_: &Layout, _: &[u8], _: bool, _: &mut [i16]) -> usize {
        0
    }
}

/// `f` of every source value, written in a plain loop into a zeroed vector of the source's
/// length: chained iterator adapters (`map(..).collect()`) stayed calls per sample in the
/// size-optimised build, 2.2 ns a sample against 0.9 for this.
#[inline(always)]
fn converted<S, T: Copy + Default>(src: impl ExactSizeIterator<Item = S>, f: impl Fn(S) -> T) -> Vec<T> {
    let mut out = vec![T::default(); src.len()];
    for (o, s) in out.iter_mut().zip(src) {
        *o = f(s);
    }
    out
}

/// Planar (RRR…GGG…BBB…) to interleaved (RGBRGB…).
fn interleave<T: Copy>(v: Vec<T>, spp: usize) -> Vec<T> {
    let pixels = v.len() / spp.max(1);
    (0..pixels)
        .flat_map(|i| (0..spp).filter_map(move |p| p.checked_mul(pixels)?.checked_add(i)))
        .filter_map(|j| v.get(j).copied())
        .collect()
}

/// Y1 Y2 Cb Cr (two pixels) to Y1 Cb Cr Y2 Cb Cr.
fn expand_422<T: Copy>(v: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len() / 2 * 3);
    for c in v.chunks_exact(4) {
        if let [y1, y2, cb, cr] = *c {
            out.extend_from_slice(&[y1, cb, cr, y2, cb, cr]);
        }
    }
    out
}
