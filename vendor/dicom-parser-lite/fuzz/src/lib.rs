//! The fuzz targets' bodies, shared by the libFuzzer entry points (`fuzz_targets/`) and the
//! coverage-less fallback (`fuzz-plain`), plus a tiny Part 10 writer that wraps raw codec and
//! RLE streams as single-frame encapsulated files.
//!
//! Every target must return normally on any input: the parser promises no panics, and the
//! release profile here turns on overflow checks and debug assertions so slips show up too.

use dicom_parser_lite::{pixel, transfer_syntax as ts, transform, DicomBuffer};

/// A target body: must return normally on any input.
pub type Body = fn(&[u8]);

/// Every target by name, for the runners.
pub const TARGETS: &[(&str, Body)] =
    &[("parse", parse), ("pixels", pixels), ("rle", rle), ("jpeg", jpeg), ("jpegls", jpegls), ("j2k", j2k), ("htj2k", htj2k)];

pub fn target(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// Lenient parse, then every element read every way the API offers.
pub fn parse(data: &[u8]) {
    let buffer = DicomBuffer::new(data);
    let parsed = buffer.parse_partial();
    let file = &parsed.file;
    let _ = file.transfer_syntax_uid();
    touch_set(file.meta());
    touch_set(file.dataset());
    let _ = parsed.error.map(|e| e.to_string());
}

fn touch_set(ds: &dicom_parser_lite::DataSet) {
    for el in ds.iter() {
        let _ = ds.string(el.tag);
        let _ = ds.strings(el.tag);
        let _ = ds.f64s(el.tag);
        let _ = ds.f64(el.tag);
        let _ = ds.u32(el.tag);
        let _ = el.bytes().map(<[u8]>::len);
        if let Some(items) = el.items() {
            for item in items {
                touch_set(item);
            }
        }
    }
}

/// Parse, then decode and render the first frames.
pub fn pixels(data: &[u8]) {
    let buffer = DicomBuffer::new(data);
    let parsed = buffer.parse_partial();
    decode_and_render(&parsed.file);
}

fn decode_and_render(file: &dicom_parser_lite::DicomFile) {
    let ds = file.dataset();
    let frames = pixel::ImageInfo::from_dataset(ds).map(|i| i.number_of_frames.max(1)).unwrap_or(1);
    for index in 0..frames.min(4) as usize {
        let _ = pixel::encapsulated_frame(file, index).map(|f| f.len());
        if let Ok(frame) = pixel::decode_frame(file, index) {
            let _ = transform::render_default(ds, &frame, index);
            let modality = transform::ModalityLut::for_frame(ds, index);
            let window = transform::Window::for_frame(ds, index).unwrap_or(transform::Window::from_min_max(-1024.0, 3071.0));
            let pixels = (frame.info.rows as usize).saturating_mul(frame.info.columns as usize);
            if frame.info.samples_per_pixel == 1 && pixels <= 1 << 22 {
                let mut out = vec![0u8; pixels * 4];
                let _ = transform::render_rgba_into(&frame, &modality, &window, false, &mut out);
            }
        }
    }
}

/// What a synthesized single-frame image header says.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    pub rows: u16,
    pub columns: u16,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: &'a str,
    pub planar: u16,
}

/// RLE Lossless: the first 3 bytes choose the image (rows, columns ≤ 64; 1 or 3 samples of 8, 16
/// or 32 bits, signed or not), the rest is the RLE frame (header and segments).
pub fn rle(data: &[u8]) {
    if let Some(file) = wrap("rle", data) {
        decode_file(&file);
    }
}

/// The single-frame file the `rle`, `jpeg`, `jpegls`, `j2k` or `htj2k` target builds around
/// `data`.
pub fn wrap(target: &str, data: &[u8]) -> Option<Vec<u8>> {
    match target {
        "rle" => wrap_rle(data),
        "jpeg" => Some(wrap_jpeg(data)),
        "jpegls" => Some(wrap_jpegls(data)),
        "j2k" => Some(wrap_j2k(data)),
        "htj2k" => Some(wrap_htj2k(data)),
        _ => None,
    }
}

fn wrap_rle(data: &[u8]) -> Option<Vec<u8>> {
    let (Some(&r), Some(&c), Some(&f)) = (data.first(), data.get(1), data.get(2)) else { return None };
    let bits = [8u16, 16, 32, 8][usize::from(f & 3)];
    let spp = if f & 4 != 0 { 3 } else { 1 };
    let image = Image {
        rows: u16::from(r % 64) + 1,
        columns: u16::from(c % 64) + 1,
        samples_per_pixel: spp,
        bits_allocated: bits,
        bits_stored: if f & 8 != 0 && bits > 8 { bits - 4 } else { bits },
        signed: f & 16 != 0 && spp == 1,
        photometric: if spp == 3 { if f & 32 != 0 { "YBR_FULL" } else { "RGB" } } else if f & 32 != 0 { "MONOCHROME1" } else { "MONOCHROME2" },
        planar: u16::from(f & 64 != 0),
    };
    Some(encapsulated_file(ts::RLE_LOSSLESS, &image, &data[3..]))
}

/// JPEG (baseline, extended, lossless): the input is the codestream; the data set's image
/// attributes are read from its SOF segment (fallback 16 × 16 × 1 × 8 bits).
pub fn jpeg(data: &[u8]) {
    decode_file(&wrap_jpeg(data));
}

fn wrap_jpeg(data: &[u8]) -> Vec<u8> {
    let sof = find_segment(data, |m| matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC));
    let (marker, image) = match sof {
        Some((m, seg)) => (m, sof_image(seg)),
        None => (0xC0, None),
    };
    let uid = match marker {
        0xC3 | 0xC7 | 0xCB | 0xCF => ts::JPEG_LOSSLESS_SV1,
        0xC1 | 0xC2 if image.as_ref().is_some_and(|i| i.bits_stored > 8) => ts::JPEG_EXTENDED,
        _ => ts::JPEG_BASELINE,
    };
    let mut image = image.unwrap_or_else(fallback_image);
    if image.samples_per_pixel == 3 && uid != ts::JPEG_LOSSLESS_SV1 {
        image.photometric = "YBR_FULL_422";
    }
    encapsulated_file(uid, &image, data)
}

/// JPEG-LS: attributes from SOF55; near-lossless (.81) when the scan's NEAR is not 0.
pub fn jpegls(data: &[u8]) {
    decode_file(&wrap_jpegls(data));
}

fn wrap_jpegls(data: &[u8]) -> Vec<u8> {
    let image = find_segment(data, |m| m == 0xF7).and_then(|(_, seg)| sof_image(seg)).unwrap_or_else(fallback_image);
    let near = find_segment(data, |m| m == 0xDA)
        .and_then(|(_, seg)| {
            let ns = usize::from(*seg.get(2)?);
            seg.get(3 + 2 * ns).copied()
        })
        .unwrap_or(0);
    let uid = if near == 0 { ts::JPEG_LS_LOSSLESS } else { ts::JPEG_LS_NEAR_LOSSLESS };
    encapsulated_file(uid, &image, data)
}

/// JPEG 2000: attributes from the SIZ segment (signedness of the first component).
pub fn j2k(data: &[u8]) {
    decode_file(&wrap_j2k(data));
}

fn wrap_j2k(data: &[u8]) -> Vec<u8> {
    let image = siz_image(data).unwrap_or_else(fallback_image);
    encapsulated_file(ts::JPEG_2000, &image, data)
}

/// High-Throughput JPEG 2000: as `j2k`, under the HTJ2K transfer syntax (.203), so the HT
/// block decoder (cleanup pass, packet headers, CAP) sees the mutations.
pub fn htj2k(data: &[u8]) {
    decode_file(&wrap_htj2k(data));
}

fn wrap_htj2k(data: &[u8]) -> Vec<u8> {
    let image = siz_image(data).unwrap_or_else(fallback_image);
    encapsulated_file(ts::HTJ2K, &image, data)
}

fn fallback_image() -> Image<'static> {
    Image { rows: 16, columns: 16, samples_per_pixel: 1, bits_allocated: 8, bits_stored: 8, signed: false, photometric: "MONOCHROME2", planar: 0 }
}

/// Keeps synthesized frames small enough for many executions per second.
const MAX_PIXELS: u32 = 1 << 20;

fn image_from(rows: u32, columns: u32, components: u32, precision: u32, signed: bool) -> Option<Image<'static>> {
    if rows == 0 || columns == 0 || rows > 0xFFFF || columns > 0xFFFF || rows * columns > MAX_PIXELS {
        return None;
    }
    let spp = if components == 3 { 3 } else { 1 };
    let precision = precision.clamp(1, 16) as u16;
    Some(Image {
        rows: rows as u16,
        columns: columns as u16,
        samples_per_pixel: spp,
        bits_allocated: if precision > 8 { 16 } else { 8 },
        bits_stored: precision,
        signed,
        photometric: if spp == 3 { "RGB" } else { "MONOCHROME2" },
        planar: 0,
    })
}

/// The payload of the first marker segment (after its length) accepted by `want`, scanning
/// marker by marker from SOI.
fn find_segment(data: &[u8], want: impl Fn(u8) -> bool) -> Option<(u8, &[u8])> {
    let mut pos = 2;
    while pos + 4 <= data.len() {
        if data[pos] != 0xFF {
            pos += 1;
            continue;
        }
        let marker = data[pos + 1];
        if marker == 0xFF || marker == 0x00 || (0xD0..=0xD9).contains(&marker) {
            pos += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
        if want(marker) {
            return Some((marker, data.get(pos + 4..(pos + 2 + len).max(pos + 4))?));
        }
        pos += 2 + len.max(2);
    }
    None
}

/// SOFn / SOF55: P, Y, X, Nf.
fn sof_image(seg: &[u8]) -> Option<Image<'static>> {
    let p = u32::from(*seg.first()?);
    let y = u32::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
    let x = u32::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
    let nf = u32::from(*seg.get(5)?);
    image_from(y, x, nf, p, false)
}

/// The J2K SIZ segment: Xsiz − XOsiz by Ysiz − YOsiz, Csiz components, Ssiz of the first.
fn siz_image(data: &[u8]) -> Option<Image<'static>> {
    let at = data.windows(2).position(|w| w == [0xFF, 0x51])? + 4;
    let u32_at = |i: usize| data.get(at + i..at + i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (xs, ys, xo, yo) = (u32_at(2)?, u32_at(6)?, u32_at(10)?, u32_at(14)?);
    let csiz = u32::from(u16::from_be_bytes([*data.get(at + 34)?, *data.get(at + 35)?]));
    let ssiz = *data.get(at + 36)?;
    image_from(ys.checked_sub(yo)?, xs.checked_sub(xo)?, csiz, u32::from(ssiz & 0x7F) + 1, ssiz & 0x80 != 0)
}

fn decode_file(file: &[u8]) {
    let buffer = DicomBuffer::new(file);
    if let Ok(parsed) = buffer.parse() {
        decode_and_render(&parsed);
    }
}

// --- A minimal Part 10 writer (explicit VR little endian) ---------------------------------

fn element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    let mut value = value.to_vec();
    if value.len() % 2 == 1 {
        value.push(if vr == b"UI" || vr == b"OB" { 0 } else { b' ' });
    }
    out.extend(group.to_le_bytes());
    out.extend(elem.to_le_bytes());
    out.extend(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend([0, 0]);
        out.extend((value.len() as u32).to_le_bytes());
    } else {
        out.extend((value.len() as u16).to_le_bytes());
    }
    out.extend(value);
}

fn item(out: &mut Vec<u8>, elem: u16, body: &[u8]) {
    out.extend(0xFFFEu16.to_le_bytes());
    out.extend(elem.to_le_bytes());
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
}

/// File Meta for `uid`, then the image attributes.
pub fn header(uid: &str, image: &Image, frames: u32) -> Vec<u8> {
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.7");
    element(&mut meta, 0x0002, 0x0003, b"UI", b"1.2.3.4");
    element(&mut meta, 0x0002, 0x0010, b"UI", uid.as_bytes());
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    element(&mut out, 0x0002, 0x0000, b"UL", &(meta.len() as u32).to_le_bytes());
    out.extend(meta);
    element(&mut out, 0x0008, 0x0060, b"CS", b"OT");
    element(&mut out, 0x0010, 0x0010, b"PN", b"Fuzz^Seed");
    element(&mut out, 0x0028, 0x0002, b"US", &image.samples_per_pixel.to_le_bytes());
    element(&mut out, 0x0028, 0x0004, b"CS", image.photometric.as_bytes());
    if image.samples_per_pixel == 3 {
        element(&mut out, 0x0028, 0x0006, b"US", &image.planar.to_le_bytes());
    }
    if frames != 1 {
        element(&mut out, 0x0028, 0x0008, b"IS", frames.to_string().as_bytes());
    }
    element(&mut out, 0x0028, 0x0010, b"US", &image.rows.to_le_bytes());
    element(&mut out, 0x0028, 0x0011, b"US", &image.columns.to_le_bytes());
    element(&mut out, 0x0028, 0x0100, b"US", &image.bits_allocated.to_le_bytes());
    element(&mut out, 0x0028, 0x0101, b"US", &image.bits_stored.to_le_bytes());
    element(&mut out, 0x0028, 0x0102, b"US", &image.bits_stored.saturating_sub(1).to_le_bytes());
    element(&mut out, 0x0028, 0x0103, b"US", &u16::from(image.signed).to_le_bytes());
    out
}

/// A single-frame file whose Pixel Data is encapsulated: an empty offset table and one fragment.
pub fn encapsulated_file(uid: &str, image: &Image, frame: &[u8]) -> Vec<u8> {
    let mut out = header(uid, image, 1);
    out.extend(0x7FE0u16.to_le_bytes());
    out.extend(0x0010u16.to_le_bytes());
    out.extend(b"OB\0\0");
    out.extend(0xFFFF_FFFFu32.to_le_bytes());
    item(&mut out, 0xE000, &[]);
    let mut fragment = frame.to_vec();
    if fragment.len() % 2 == 1 {
        fragment.push(0);
    }
    item(&mut out, 0xE000, &fragment);
    item(&mut out, 0xE0DD, &[]);
    out
}

/// A native (uncompressed) file in explicit VR little endian.
pub fn native_file(image: &Image, frames: u32, pixel_data: &[u8], extra: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = header(ts::EXPLICIT_VR_LITTLE_ENDIAN, image, frames);
    extra(&mut out);
    element(&mut out, 0x7FE0, 0x0010, if image.bits_allocated > 8 { b"OW" } else { b"OB" }, pixel_data);
    out
}

/// Appends one element (for seeds that need extra attributes; tags must stay ascending).
pub fn push_element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    element(out, group, elem, vr, value)
}

/// PackBits with literal runs only, good enough for seeds.
pub fn pack_bits(plane: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in plane.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend(chunk);
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // a no-op run keeps segments even
    }
    out
}

/// An RLE frame for interleaved samples of `bytes_per_sample` bytes (little endian), `spp`
/// samples per pixel: one segment per byte plane, most significant first.
pub fn rle_frame(samples: &[u8], spp: usize, bytes_per_sample: usize) -> Vec<u8> {
    let pixels = samples.len() / (spp * bytes_per_sample);
    let mut segments = Vec::new();
    for s in 0..spp {
        for b in (0..bytes_per_sample).rev() {
            let plane: Vec<u8> = (0..pixels).map(|p| samples[(p * spp + s) * bytes_per_sample + b]).collect();
            segments.push(pack_bits(&plane));
        }
    }
    let mut out = vec![0u8; 64];
    out[0..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut offset = 64u32;
    for (i, seg) in segments.iter().enumerate() {
        out[4 + 4 * i..8 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        offset += seg.len() as u32;
    }
    for seg in segments {
        out.extend(seg);
    }
    out
}
