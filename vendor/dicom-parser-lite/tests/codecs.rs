//! Deflate, encapsulated frames, RLE Lossless, colour and LUTs, on synthetic files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure
mod common;

use common::*;
use dicom_parser_lite::lut::{expand_segmented, Palette};
use dicom_parser_lite::pixel::{decode_frame, encapsulated_frame, Photometric, Samples};
use dicom_parser_lite::transform::{render_default, Modality, ModalityLut, Voi, Window};
use dicom_parser_lite::{parse, tags, DicomBuffer, Error};

const RLE: &str = "1.2.840.10008.1.2.5";

fn with(mut elements: Vec<E>, extra: Vec<E>) -> Vec<E> {
    elements.retain(|e| !extra.iter().any(|x| x.tag == e.tag));
    elements.extend(extra);
    elements.sort_by_key(|e| e.tag);
    elements
}

#[test]
fn deflated_files_inflate_and_decode() {
    let elements = with(
        image_elements(2, 3, 16, 12, true, "MONOCHROME2", V::U16(vec![1, 2, 3, 0xFFF, 0x800, 0])),
        vec![s((0x0020, 0x000D), "UI", "1.2.3")],
    );
    let bytes = deflated(&elements);
    assert!(matches!(parse(&bytes), Err(Error::UnsupportedTransferSyntax(_))), "in-place parsing cannot inflate");
    let buffer = DicomBuffer::new(&bytes);
    assert!(buffer.was_inflated());
    let file = buffer.parse().unwrap();
    assert_eq!(file.transfer_syntax_uid(), "1.2.840.10008.1.2.1.99");
    assert_eq!(file.dataset().string(tags::STUDY_INSTANCE_UID).as_deref(), Some("1.2.3"));
    assert_eq!(decode_frame(&file, 0).unwrap().samples, Samples::I16(vec![1, 2, 3, -1, -2048, 0]));
    // A plain file goes through the buffer untouched (borrowed, not copied).
    let plain = part10(Enc::ExplicitLe, &elements, true, true);
    let buffer = DicomBuffer::new(&plain);
    assert!(!buffer.was_inflated());
    assert_eq!(buffer.bytes().as_ptr(), plain.as_ptr());
    assert!(buffer.parse().is_ok());
}

#[test]
fn deflate_damage_limits_and_zlib() {
    let elements = image_elements(16, 16, 8, 8, false, "MONOCHROME2", V::Raw(vec![7; 256]));
    let bytes = deflated(&elements);
    // Cut in the stream: what was inflated is parsed, the error says truncated.
    let cut = &bytes[..bytes.len() - 6];
    let cut_buffer = DicomBuffer::new(cut);
    let partial = cut_buffer.parse_partial();
    assert!(matches!(partial.error, Some(Error::Truncated { .. })), "{:?}", partial.error);
    assert_eq!(partial.file.dataset().string(tags::MODALITY).as_deref(), Some("CT"));
    // The inflated size is capped.
    let capped = DicomBuffer::with_limit(&bytes, 100);
    assert_eq!(capped.parse_partial().error, Some(Error::TooLarge { limit: 100 }));
    // A zlib-wrapped stream (non-conformant writers) is accepted.
    let mut zlib = part10_ts("1.2.840.10008.1.2.1.99", Enc::ExplicitLe, &[], true, true);
    zlib.extend(miniz_oxide::deflate::compress_to_vec_zlib(&encode(&elements, Enc::ExplicitLe), 6));
    let buffer = DicomBuffer::new(&zlib);
    assert_eq!(decode_frame(&buffer.parse().unwrap(), 0).unwrap().samples, Samples::U8(vec![7; 256]));
    // Garbage instead of a stream: a typed error, no panic.
    let mut junk = part10_ts("1.2.840.10008.1.2.1.99", Enc::ExplicitLe, &[], true, true);
    junk.extend([0xFF; 40]);
    assert!(DicomBuffer::new(&junk).parse().is_err());
}

fn multi_frame(frames: u32) -> Vec<E> {
    with(image_elements(1, 2, 8, 8, false, "MONOCHROME2", V::Raw(vec![])), vec![s((0x0028, 0x0008), "IS", &frames.to_string())])
}

fn frame_bytes(elements: &[E], uid: &str, index: usize) -> Result<Vec<u8>, Error> {
    let bytes = part10_ts(uid, Enc::ExplicitLe, elements, true, true);
    let file = parse(&bytes)?;
    encapsulated_frame(&file, index).map(|c| c.into_owned())
}

#[test]
fn encapsulated_frames_from_tables_and_layouts() {
    let jpeg = "1.2.840.10008.1.2.4.50";
    let frags = vec![vec![0xFF, 0xD8, 0xFF, 1], vec![2, 3], vec![0xFF, 0xD8, 0xFF, 4], vec![5, 6]];
    // Basic Offset Table: frame 1 starts at the third fragment's item (2 × (8 + len) bytes in).
    let bot: Vec<u8> = [0u32, 8 + 4 + 8 + 2].iter().flat_map(|x| x.to_le_bytes()).collect();
    let el = encapsulated(multi_frame(2), bot, frags.clone());
    assert_eq!(frame_bytes(&el, jpeg, 0).unwrap(), vec![0xFF, 0xD8, 0xFF, 1, 2, 3]);
    assert_eq!(frame_bytes(&el, jpeg, 1).unwrap(), vec![0xFF, 0xD8, 0xFF, 4, 5, 6]);
    assert_eq!(frame_bytes(&el, jpeg, 2).unwrap_err(), Error::FrameOutOfRange { index: 2, count: 2 });
    // No table: JPEG start markers divide the fragments.
    let el = encapsulated(multi_frame(2), vec![], frags.clone());
    assert_eq!(frame_bytes(&el, jpeg, 1).unwrap(), vec![0xFF, 0xD8, 0xFF, 4, 5, 6]);
    // A table that does not land on fragment boundaries is ignored, not trusted.
    let el = encapsulated(multi_frame(2), [0u32, 7].iter().flat_map(|x| x.to_le_bytes()).collect(), frags.clone());
    assert_eq!(frame_bytes(&el, jpeg, 1).unwrap(), vec![0xFF, 0xD8, 0xFF, 4, 5, 6]);
    // One fragment per frame.
    let el = encapsulated(multi_frame(4), vec![], frags.clone());
    assert_eq!(frame_bytes(&el, jpeg, 3).unwrap(), vec![5, 6]);
    // Single frame: all fragments.
    let el = encapsulated(multi_frame(1), vec![], frags.clone());
    assert_eq!(frame_bytes(&el, jpeg, 0).unwrap().len(), 12);
    // Undividable.
    let el = encapsulated(multi_frame(3), vec![], frags.clone());
    assert!(matches!(frame_bytes(&el, jpeg, 0), Err(Error::InvalidCompressedData(_))));
    // Extended Offset Table with lengths (which trim the padding byte).
    let frags = vec![vec![9, 9, 9, 0], vec![8, 8, 0, 0]];
    let eot: Vec<u8> = [0u64, 12].iter().flat_map(|x| x.to_le_bytes()).collect();
    let lengths: Vec<u8> = [3u64, 2].iter().flat_map(|x| x.to_le_bytes()).collect();
    let el = encapsulated(
        with(multi_frame(2), vec![e((0x7FE0, 0x0001), "OV", V::Raw(eot)), e((0x7FE0, 0x0002), "OV", V::Raw(lengths))]),
        vec![],
        frags,
    );
    assert_eq!(frame_bytes(&el, jpeg, 0).unwrap(), vec![9, 9, 9]);
    assert_eq!(frame_bytes(&el, jpeg, 1).unwrap(), vec![8, 8]);
}

fn rle_file(elements: Vec<E>, frames: Vec<Vec<u8>>) -> Vec<u8> {
    part10_ts(RLE, Enc::ExplicitLe, &encapsulated(elements, vec![], frames), true, true)
}

#[test]
fn rle_gray_signed_and_multi_frame() {
    let values: Vec<u32> = vec![0x0FFF, 0x0800, 0x0001, 0xF000, 0x07FF, 0x0000];
    let elements = with(image_elements(2, 3, 16, 12, true, "MONOCHROME2", V::Raw(vec![])), vec![s((0x0028, 0x0008), "IS", "2")]);
    let bytes = rle_file(elements, vec![rle_frame(&values, 1, 2), rle_frame(&[5, 5, 5, 5, 5, 5], 1, 2)]);
    let file = parse(&bytes).unwrap();
    assert_eq!(decode_frame(&file, 0).unwrap().samples, Samples::I16(vec![-1, -2048, 1, 0, 2047, 0]));
    assert_eq!(decode_frame(&file, 1).unwrap().samples, Samples::I16(vec![5; 6]));
    let long: Vec<u32> = (0..4096).map(|i| if i % 300 < 200 { 77 } else { i % 256 }).collect();
    let bytes = rle_file(image_elements(64, 64, 8, 8, false, "MONOCHROME2", V::Raw(vec![])), vec![rle_frame(&long, 1, 1)]);
    let frame = decode_frame(&parse(&bytes).unwrap(), 0).unwrap();
    assert_eq!(frame.samples, Samples::U8(long.iter().map(|&v| v as u8).collect()));
}

fn colour(photometric: &str, bits: u16, planar: u16) -> Vec<E> {
    let mut el = image_elements(1, 2, bits, bits, false, photometric, V::Raw(vec![]));
    el = with(el, vec![us((0x0028, 0x0002), &[3]), us((0x0028, 0x0006), &[planar])]);
    el
}

#[test]
fn rle_colour_is_interleaved_whatever_the_planar_configuration() {
    let values = [10u32, 20, 30, 40000, 50000, 60000];
    for planar in [0, 1] {
        let bytes = rle_file(colour("RGB", 16, planar), vec![rle_frame(&values, 3, 2)]);
        let frame = decode_frame(&parse(&bytes).unwrap(), 0).unwrap();
        assert_eq!(frame.samples, Samples::U16(values.iter().map(|&v| v as u16).collect()));
        let rendered = render_default(parse(&bytes).unwrap().dataset(), &frame, 0).unwrap();
        // 16-bit samples scaled to 8: floor(v·255/65535 + 0.5).
        assert_eq!(rendered.pixels, vec![0, 0, 0, 156, 195, 233]);
    }
    let values32 = [1u32, 0xFFFF_FFFF, 0x8000_0000, 7, 8, 9];
    let bytes = rle_file(colour("RGB", 32, 0), vec![rle_frame(&values32, 3, 4)]);
    assert_eq!(decode_frame(&parse(&bytes).unwrap(), 0).unwrap().samples, Samples::U32(values32.to_vec()));
}

#[test]
fn rle_hostile_headers_are_errors() {
    let good = rle_frame(&[1, 2, 3, 4, 5, 6], 1, 1);
    let elements = image_elements(2, 3, 8, 8, false, "MONOCHROME2", V::Raw(vec![]));
    let decode = |frame: Vec<u8>| decode_frame(&parse(&rle_file(elements.clone(), vec![frame])).unwrap(), 0);
    assert!(decode(good.clone()).is_ok());
    let mut wrong_count = good.clone();
    wrong_count[0] = 2;
    assert!(matches!(decode(wrong_count), Err(Error::InvalidCompressedData(_))));
    let mut past_end = good.clone();
    past_end[4..8].copy_from_slice(&10_000u32.to_le_bytes());
    assert!(matches!(decode(past_end), Err(Error::InvalidCompressedData(_))));
    let mut into_header = good.clone();
    into_header[4..8].copy_from_slice(&8u32.to_le_bytes());
    assert!(matches!(decode(into_header), Err(Error::InvalidCompressedData(_))));
    assert!(matches!(decode(good[..40].to_vec()), Err(Error::InvalidCompressedData(_))));
    assert!(matches!(decode(good[..66].to_vec()), Err(Error::InvalidCompressedData(_))), "segment too short");
    // A huge image claimed with a tiny segment is refused before allocating.
    let huge = image_elements(65535, 65535, 8, 8, false, "MONOCHROME2", V::Raw(vec![]));
    let bytes = rle_file(huge, vec![good]);
    assert!(matches!(decode_frame(&parse(&bytes).unwrap(), 0), Err(Error::InvalidCompressedData(_))));
}

#[test]
fn ybr_full_422_native_is_expanded_and_rendered() {
    // Two pixels: Y1 Y2 Cb Cr.
    let mut el = colour("YBR_FULL_422", 8, 0);
    el = with(el, vec![e((0x7FE0, 0x0010), "OB", V::Raw(vec![100, 200, 128, 128]))]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let frame = decode_frame(&file, 0).unwrap();
    assert_eq!(frame.samples, Samples::U8(vec![100, 128, 128, 200, 128, 128]));
    assert_eq!(frame.info.photometric, Photometric::YbrFull422);
    assert_eq!(render_default(file.dataset(), &frame, 0).unwrap().pixels, vec![100, 100, 100, 200, 200, 200]);
    // YBR_FULL: pure red.
    let mut el = colour("YBR_FULL", 8, 0);
    el = with(el, vec![e((0x7FE0, 0x0010), "OB", V::Raw(vec![76, 85, 255, 0, 128, 128]))]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let rgb = render_default(file.dataset(), &decode_frame(&file, 0).unwrap(), 0).unwrap().pixels;
    assert_eq!(rgb, vec![254, 0, 0, 0, 0, 0]); // B = 76 + 1.772·(85 − 128) < 0 → 0
}

fn palette_elements(extra: Vec<E>) -> Vec<E> {
    with(image_elements(1, 4, 8, 8, false, "PALETTE COLOR", V::Raw(vec![0, 1, 2, 200])), extra)
}

#[test]
fn palette_colour_8_16_bit_and_segmented() {
    // 16-bit entries, 3 entries starting at value 1.
    let desc = |bits: u16| us((0x0028, 0x1101), &[3, 1, bits]);
    let g = |t: u16, bits: u16| us((0x0028, t), &[3, 1, bits]);
    let el = palette_elements(vec![
        desc(16),
        g(0x1102, 16),
        g(0x1103, 16),
        e((0x0028, 0x1201), "OW", V::U16(vec![0, 32768, 65535])),
        e((0x0028, 0x1202), "OW", V::U16(vec![65535, 0, 0])),
        e((0x0028, 0x1203), "OW", V::U16(vec![1, 2, 3])),
    ]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let frame = decode_frame(&file, 0).unwrap();
    let rgb = render_default(file.dataset(), &frame, 0).unwrap();
    assert_eq!(rgb.channels, 3);
    // Values 0 (below first mapped → entry 0), 1 → 0, 2 → 1, 200 (past the end → last).
    assert_eq!(rgb.pixels, vec![0, 255, 0, 0, 255, 0, 128, 0, 0, 255, 0, 0]);
    // 8-bit entries packed one per byte.
    let el = palette_elements(vec![
        desc(8),
        g(0x1102, 8),
        g(0x1103, 8),
        e((0x0028, 0x1201), "OW", V::Raw(vec![10, 20, 30, 0])),
        e((0x0028, 0x1202), "OW", V::Raw(vec![1, 2, 3, 0])),
        e((0x0028, 0x1203), "OW", V::Raw(vec![255, 255, 255, 0])),
    ]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let palette = Palette::from_dataset(file.dataset()).unwrap();
    assert_eq!(palette.red.entries, vec![10, 20, 30]);
    // Segmented: discrete 0, linear to 100 over 4 entries.
    let seg = vec![0u16, 1, 0, 1, 4, 100];
    assert_eq!(expand_segmented(&seg).unwrap(), vec![0, 25, 50, 75, 100]);
    let el = palette_elements(vec![
        us((0x0028, 0x1101), &[5, 0, 16]),
        us((0x0028, 0x1102), &[5, 0, 16]),
        us((0x0028, 0x1103), &[5, 0, 16]),
        e((0x0028, 0x1221), "OW", V::U16(seg.clone())),
        e((0x0028, 0x1222), "OW", V::U16(seg.clone())),
        e((0x0028, 0x1223), "OW", V::U16(seg)),
    ]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    assert_eq!(Palette::from_dataset(file.dataset()).unwrap().green.entries, vec![0, 25, 50, 75, 100]);
}

#[test]
fn modality_lut_sequence_and_functional_groups() {
    // Modality LUT: 4 entries from −2 (signed pixels), 12 bits per entry.
    let lut_item = vec![us((0x0028, 0x3002), &[4, (-2i16) as u16, 12]), e((0x0028, 0x3006), "OW", V::U16(vec![0, 1000, 2000, 4095]))];
    let el = with(
        image_elements(1, 4, 16, 16, true, "MONOCHROME2", V::U16(vec![(-5i16) as u16, (-1i16) as u16, 0, 9])),
        vec![seq((0x0028, 0x3000), vec![lut_item.clone()], false), s((0x0028, 0x1052), "DS", "-1024")],
    );
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let modality = Modality::for_frame(file.dataset(), 0);
    assert!(matches!(modality, Modality::Table(_)), "the sequence wins over the rescale");
    assert_eq!([-5.0, -1.0, 0.0, 9.0].map(|v| modality.apply(v)), [0.0, 1000.0, 2000.0, 4095.0]);
    let frame = decode_frame(&file, 0).unwrap();
    // No window: the range 0..4095 of modality values.
    assert_eq!(render_default(file.dataset(), &frame, 0).unwrap().pixels, vec![0, 62, 125, 255]);
    // A VOI LUT table.
    let voi_item = vec![us((0x0028, 0x3002), &[2, 0, 8]), e((0x0028, 0x3006), "OW", V::U16(vec![0, 255]))];
    let el = with(el, vec![seq((0x0028, 0x3010), vec![voi_item], false)]);
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let file = parse(&bytes).unwrap();
    let voi = Voi::table(file.dataset()).unwrap();
    assert_eq!([-3.0, 0.0, 1.0, 70.0].map(|m| voi.apply(m)), [0, 0, 255, 255]);

    // Enhanced multi-frame: rescale and window per frame, then shared.
    let pvt = |i: &str, sl: &str| seq((0x0028, 0x9145), vec![vec![s((0x0028, 0x1052), "DS", i), s((0x0028, 0x1053), "DS", sl)]], false);
    let voi_fg = |c: &str, w: &str| seq((0x0028, 0x9132), vec![vec![s((0x0028, 0x1050), "DS", c), s((0x0028, 0x1051), "DS", w)]], false);
    let el = with(
        image_elements(1, 1, 16, 16, false, "MONOCHROME2", V::U16(vec![1, 2])),
        vec![
            s((0x0028, 0x0008), "IS", "2"),
            seq((0x5200, 0x9229), vec![vec![voi_fg("50", "100")]], false),
            seq((0x5200, 0x9230), vec![vec![pvt("-10", "2")], vec![pvt("5", "1"), voi_fg("7", "3")]], false),
        ],
    );
    let bytes = part10(Enc::ExplicitLe, &el, true, true);
    let ds = parse(&bytes).unwrap().dataset().clone();
    assert_eq!(ModalityLut::for_frame(&ds, 0), ModalityLut { slope: 2.0, intercept: -10.0 });
    assert_eq!(ModalityLut::for_frame(&ds, 1), ModalityLut { slope: 1.0, intercept: 5.0 });
    assert_eq!(ModalityLut::for_frame(&ds, 7), ModalityLut::default());
    assert_eq!(Window::for_frame(&ds, 0).map(|w| (w.center, w.width)), Some((50.0, 100.0)));
    assert_eq!(Window::for_frame(&ds, 1).map(|w| (w.center, w.width)), Some((7.0, 3.0)));
    assert_eq!(ModalityLut::from_dataset(&ds), ModalityLut { slope: 2.0, intercept: -10.0 });
}

/// A minimal lossless JPEG (T.81 process 14) encoder for one component: SOF3, one Huffman table
/// giving every difference category a 5-bit code, one scan with predictor `sv`.
fn lossless_jpeg(values: &[u16], rows: usize, cols: usize, precision: u8, sv: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend([0xFF, 0xC3, 0, 11, precision]);
    out.extend((rows as u16).to_be_bytes());
    out.extend((cols as u16).to_be_bytes());
    out.extend([1, 1, 0x11, 0]);
    let mut counts = [0u8; 16];
    counts[4] = 17;
    out.extend([0xFF, 0xC4, 0, 3 + 16 + 17, 0x00]);
    out.extend(counts);
    out.extend(0..17u8);
    out.extend([0xFF, 0xDA, 0, 8, 1, 1, 0x00, sv, 0, 0]);
    let (mut acc, mut n, mut data) = (0u64, 0u32, Vec::new());
    let mut put = |bits: u64, len: u32, data: &mut Vec<u8>| {
        acc = (acc << len) | (bits & ((1u64 << len) - 1));
        n += len;
        while n >= 8 {
            let byte = (acc >> (n - 8)) as u8;
            data.push(byte);
            if byte == 0xFF {
                data.push(0);
            }
            n -= 8;
        }
    };
    let at = |r: usize, c: usize| i32::from(values[r * cols + c]);
    for r in 0..rows {
        for c in 0..cols {
            let predicted = match (r, c) {
                (0, 0) => 1 << (precision - 1),
                (0, _) => at(0, c - 1),
                (_, 0) => at(r - 1, 0),
                _ => {
                    let (a, b, cc) = (at(r, c - 1), at(r - 1, c), at(r - 1, c - 1));
                    match sv {
                        1 => a,
                        2 => b,
                        3 => cc,
                        4 => a + b - cc,
                        5 => a + ((b - cc) >> 1),
                        6 => b + ((a - cc) >> 1),
                        _ => (a + b) / 2,
                    }
                }
            };
            // Differences are modulo 2^16, read as -32767..=32768.
            let mut diff = (at(r, c) - predicted).rem_euclid(65536);
            if diff > 32768 {
                diff -= 65536;
            }
            let category = 32 - diff.unsigned_abs().leading_zeros();
            put(u64::from(category), 5, &mut data);
            if (1..16).contains(&category) {
                let extra = if diff < 0 { diff - 1 } else { diff };
                put(extra as u64, category, &mut data);
            }
        }
    }
    put(0x7F, 7, &mut data); // pad the last byte with ones (7 bits flush whatever remains)
    out.extend(data);
    out.extend([0xFF, 0xD9]);
    out
}

#[test]
fn jpeg_lossless_every_predictor_and_precision() {
    let (rows, cols) = (9usize, 13usize);
    let mut rng = Rng(99);
    for precision in [2u8, 8, 12, 16] {
        let max = (1u32 << precision) - 1;
        // Smooth ramps with noise and a few extremes, so every predictor sees real differences.
        let values: Vec<u16> = (0..rows * cols)
            .map(|i| match i % 17 {
                0 => max as u16,
                5 => 0,
                _ => (((i * 2654435761) as u32 % (max + 1)) / 3 + (rng.next() as u32 % (max / 4 + 1))).min(max) as u16,
            })
            .collect();
        for sv in 1..=7u8 {
            let uid = if sv == 1 { "1.2.840.10008.1.2.4.70" } else { "1.2.840.10008.1.2.4.57" };
            let bits = if precision > 8 { 16 } else { 8 };
            let mut elements = image_elements(rows as u16, cols as u16, bits, precision.into(), false, "MONOCHROME2", V::Raw(vec![]));
            elements.retain(|e| e.tag != (0x7FE0, 0x0010));
            let stream = lossless_jpeg(&values, rows, cols, precision, sv);
            let elements = encapsulated(elements, vec![], vec![stream]);
            let bytes = part10_ts(uid, Enc::ExplicitLe, &elements, true, true);
            let frame = decode_frame(&parse(&bytes).unwrap(), 0).unwrap_or_else(|e| panic!("P={precision} SV={sv}: {e}"));
            let expected = if bits == 8 { Samples::U8(values.iter().map(|&v| v as u8).collect()) } else { Samples::U16(values.clone()) };
            assert_eq!(frame.samples, expected, "P={precision} SV={sv}");
        }
    }
}

#[test]
fn codec_fixtures_decode_to_pydicoms_values() {
    // Frame hashes from tests/corpus/expected.json (pydicom + pylibjpeg) for the files the
    // fixtures were cut from; lossy ones within ±2 are checked by the corpus test.
    use sha2::{Digest, Sha256};
    let expected: serde_json::Value = serde_json::from_str(include_str!("corpus/expected.json")).unwrap();
    let sources = [
        ("jls_near_08.jls", "JPEGLSNearLossless_08.dcm"),
        ("jls_near_16.jls", "JPEGLSNearLossless_16.dcm"),
        ("jls_lossless_s16.jls", "MR_small_jpeg_ls_lossless.dcm"),
        ("jls_rgb_sample.jls", "SC_rgb_jls_lossy_sample.dcm"),
        ("jls_rgb_line.jls", "SC_rgb_jls_lossy_line.dcm"),
        ("jpeg_lossless_rgb.jpg", "SC_rgb_jpeg_gdcm.dcm"),
        ("j2k_lossless_s16.j2k", "MR_small_jp2klossless.dcm"),
        ("j2k_lossy_rgb.j2k", "SC_rgb_gdcm_KY.dcm"),
    ];
    for f in codec_fixtures() {
        let bytes = codec_file(&f, f.codestream);
        let frame = decode_frame(&parse(&bytes).unwrap(), 0).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        if let Some((_, source)) = sources.iter().find(|(file, _)| *file == f.file) {
            let hash: String = Sha256::digest(frame.samples.to_le_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(Some(hash.as_str()), expected["files"][source]["stored_sha256"].as_str(), "{}", f.file);
        }
    }
}

/// The HTJ2K fixtures made with OpenJPH's encoder (tests/fixtures/htj2k.js), each in a minimal
/// Part 10 file under its HTJ2K transfer syntax (.201, .202 RPCL or .203).
#[cfg(feature = "j2k")]
fn htj2k_fixtures() -> Vec<CodecFixture> {
    codec_fixtures().into_iter().filter(|f| f.file.starts_with("htj2k_") && !f.file.starts_with("htj2k_ext")).collect()
}

/// Every HTJ2K fixture decodes through the normal pixel API: the reversible ones to exactly the
/// samples of the reference decoder (OpenJPH; SHA-256 of the little-endian samples in
/// htj2k.json, see check_htj2k.py), the irreversible ones within ±2 of its samples (*.ref).
#[cfg(feature = "j2k")]
#[test]
fn htj2k_fixtures_decode_to_the_reference_samples() {
    use sha2::{Digest, Sha256};
    let expected: serde_json::Value = serde_json::from_str(include_str!("fixtures/htj2k.json")).unwrap();
    let references: [(&str, &[u8]); 3] = [
        ("htj2k_lossy_u8.j2c", include_bytes!("fixtures/htj2k_lossy_u8.ref")),
        ("htj2k_lossy_u12.j2c", include_bytes!("fixtures/htj2k_lossy_u12.ref")),
        ("htj2k_lossy_rgb.j2c", include_bytes!("fixtures/htj2k_lossy_rgb.ref")),
    ];
    let fixtures = htj2k_fixtures();
    assert_eq!(fixtures.len(), expected.as_object().unwrap().len());
    for f in fixtures {
        // Every stream announces HT block coding in its SIZ capabilities (Rsiz bit 14).
        assert_eq!(&f.codestream[..4], &[0xFF, 0x4F, 0xFF, 0x51], "{}", f.file);
        assert_ne!(u16::from_be_bytes([f.codestream[6], f.codestream[7]]) & 0x4000, 0, "{}", f.file);
        let frame = decode_frame(&parse(&codec_file(&f, f.codestream)).unwrap(), 0).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        let bytes = frame.samples.to_le_bytes();
        let samples = usize::from(f.rows) * usize::from(f.cols) * usize::from(f.spp);
        assert_eq!(frame.samples.len(), samples, "{}", f.file);
        if f.file.contains("lossless") {
            let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(Some(hash.as_str()), expected[f.file].as_str(), "{}", f.file);
        } else {
            let reference = references.iter().find(|(file, _)| *file == f.file).unwrap().1;
            let wide = |b: &[u8]| -> Vec<i64> {
                if f.bits == 8 {
                    b.iter().map(|&v| i64::from(v)).collect()
                } else {
                    b.chunks(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect()
                }
            };
            let (ours, theirs) = (wide(&bytes), wide(reference));
            assert_eq!(ours.len(), theirs.len(), "{}", f.file);
            let spread = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).max().unwrap();
            assert!(spread <= 2, "{}: differs by up to {spread}", f.file);
        }
    }
}

/// HTJ2K streams from other encoders (tests/fixtures/htj2k_ext.md): Kakadu's conformance
/// streams with SigProp and MagRef passes, OpenJPH's multi-tile streams. The reversible ones
/// must equal OpenJPH's samples exactly; the irreversible 8-bit one too (it does here); its
/// 16-bit-precision variant, where a refinement-pass slip would show, within ±1 of the
/// reference (floating-point rounding).
#[cfg(feature = "j2k")]
#[test]
fn htj2k_refinement_passes_and_tiles_decode_to_the_reference_samples() {
    let ds0_ht_09: &[u8] = include_bytes!("fixtures/htj2k_ext_ds0_ht_09_b11.j2c");
    let mut ds0_ht_09_16 = ds0_ht_09.to_vec();
    assert_eq!(ds0_ht_09_16[42], 0x07);
    ds0_ht_09_16[42] = 0x0F;
    let ds0_ht_09_16: &'static [u8] = Box::leak(ds0_ht_09_16.into_boxed_slice());
    let mono = |file, codestream, uid, rows, cols, bits: u16| CodecFixture {
        file,
        codestream,
        uid,
        rows,
        cols,
        spp: 1,
        bits: if bits > 8 { 16 } else { 8 },
        stored: bits,
        signed: false,
        photometric: "MONOCHROME2",
    };
    let cases: [(CodecFixture, &[u8], i64); 5] = [
        (mono("ds0_ht_09_b11", ds0_ht_09, "1.2.840.10008.1.2.4.203", 37, 17, 8), include_bytes!("fixtures/htj2k_ext_ds0_ht_09_b11.ref"), 0),
        (
            mono("ds0_ht_09_b11 at 16 bits", ds0_ht_09_16, "1.2.840.10008.1.2.4.203", 37, 17, 16),
            include_bytes!("fixtures/htj2k_ext_ds0_ht_09_b11_16bit.ref"),
            1,
        ),
        (
            mono("ds0_ht_12_b11", include_bytes!("fixtures/htj2k_ext_ds0_ht_12_b11.j2c"), "1.2.840.10008.1.2.4.201", 5, 3, 8),
            include_bytes!("fixtures/htj2k_ext_ds0_ht_12_b11.ref"),
            0,
        ),
        (
            mono("gray_u12_53", include_bytes!("fixtures/htj2k_ext_gray_u12_53.j2c"), "1.2.840.10008.1.2.4.201", 13, 19, 12),
            include_bytes!("fixtures/htj2k_ext_gray_u12_53.ref"),
            0,
        ),
        (
            CodecFixture {
                spp: 3,
                photometric: "RGB",
                ..mono("rgb_u12_53", include_bytes!("fixtures/htj2k_ext_rgb_u12_53.j2c"), "1.2.840.10008.1.2.4.202", 13, 19, 12)
            },
            include_bytes!("fixtures/htj2k_ext_rgb_u12_53.ref"),
            0,
        ),
    ];
    for (f, reference, tolerance) in cases {
        let frame = decode_frame(&parse(&codec_file(&f, f.codestream)).unwrap(), 0).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        let wide = |b: &[u8]| -> Vec<i64> {
            if f.bits == 8 {
                b.iter().map(|&v| i64::from(v)).collect()
            } else {
                b.chunks(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect()
            }
        };
        let (ours, theirs) = (wide(&frame.samples.to_le_bytes()), wide(reference));
        assert_eq!(ours.len(), usize::from(f.rows) * usize::from(f.cols) * usize::from(f.spp), "{}", f.file);
        assert_eq!(ours.len(), theirs.len(), "{}", f.file);
        let spread = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).max().unwrap();
        assert!(spread <= tolerance, "{}: differs by up to {spread}", f.file);
    }
}

/// HT features the decoder does not handle are refused with a typed error, not approximated:
/// here a COD that allows mixing HT and Part 1 code-blocks (code-block style 0xC0).
#[cfg(feature = "j2k")]
#[test]
fn mixed_ht_code_blocks_are_refused() {
    for f in htj2k_fixtures() {
        let cod = f.codestream.windows(2).position(|w| w == [0xFF, 0x52]).unwrap();
        let mut stream = f.codestream.to_vec();
        assert_eq!(stream[cod + 12], 0x40, "{}: HT code-block style", f.file);
        stream[cod + 12] = 0xC0;
        let err = decode_frame(&parse(&codec_file(&f, &stream)).unwrap(), 0).unwrap_err();
        assert!(matches!(err, Error::UnsupportedImage(_)), "{}: {err:?}", f.file);
    }
}

/// Damaged HTJ2K streams (every truncation, and single-byte changes all along the stream) give
/// a frame or a typed error, never a panic. The fuzz target `htj2k` explores further.
#[cfg(feature = "j2k")]
#[test]
fn damaged_htj2k_streams_are_errors_not_panics() {
    let mut errors = 0;
    for f in htj2k_fixtures() {
        let mut variants: Vec<Vec<u8>> = (0..f.codestream.len()).map(|n| f.codestream[..n].to_vec()).collect();
        for i in 0..f.codestream.len() {
            for x in [0x01u8, 0xFF] {
                let mut v = f.codestream.to_vec();
                v[i] ^= x;
                variants.push(v);
            }
        }
        for v in variants {
            if decode_frame(&parse(&codec_file(&f, &v)).unwrap(), 0).is_err() {
                errors += 1;
            }
        }
    }
    // Truncations inside the headers at least must be refused.
    assert!(errors > 100, "{errors}");
    // Inputs the fuzz target found slow (a 24 × 28407 tile with 4 × 4 code-blocks built
    // 4^13-node tag trees): they must still decode or fail, as fast as any other stream.
    for (file, stream) in [
        ("tag-tree-tall-sub-band", &include_bytes!("../fuzz/regressions/htj2k/tag-tree-tall-sub-band")[..]),
        ("tag-tree-tall-sub-band-2", &include_bytes!("../fuzz/regressions/htj2k/tag-tree-tall-sub-band-2")[..]),
    ] {
        let f = CodecFixture {
            file,
            codestream: stream,
            rows: u16::from_be_bytes([stream[14], stream[15]]),
            cols: 24,
            ..htj2k_fixtures().remove(6)
        };
        let _ = decode_frame(&parse(&codec_file(&f, stream)).unwrap(), 0);
    }
}

/// A truncated JPEG 2000 (Part 1 or HTJ2K) stream is refused, never shown with the missing code-blocks
/// left at zero: such an image looks plausible and is wrong (a lesion can vanish). Every cut
/// of the two Part 1 fixtures after their main header is a typed error; only the whole stream
/// (with or without its EOC marker, which carries no data) decodes. (Before the fork's
/// `require_complete`, 4178 of the 4190 cuts of the first fixture decoded.) Complete streams a
/// little out of the ordinary still decode.
#[cfg(feature = "j2k")]
#[test]
fn truncated_jpeg_2000_streams_are_refused() {
    // Part 1, and HTJ2K (whose packets stopping early were refused already, but not a cut on
    // a packet boundary).
    let mut tested_open_ended = 0;
    for f in codec_fixtures()
        .into_iter()
        .filter(|f| f.file.starts_with("j2k_") || (f.file.starts_with("htj2k_") && !f.file.starts_with("htj2k_ext")))
    {
        let stream = f.codestream;
        let sot = stream.windows(2).position(|w| w == [0xFF, 0x90]).expect("an SOT marker");
        // (A fragment is padded to an even length: the EOC may be followed by a zero.)
        let eoc = stream.windows(2).rposition(|w| w == [0xFF, 0xD9]).expect("an EOC marker");
        let mut shown = Vec::new();
        for n in sot..eoc {
            if decode_frame(&parse(&codec_file(&f, &stream[..n])).unwrap(), 0).is_ok() {
                shown.push(n);
            }
        }
        assert!(shown.is_empty(), "{}: {} of {} cuts decoded, e.g. at {:?}", f.file, shown.len(), eoc - sot, &shown[..shown.len().min(5)]);
        assert!(decode_frame(&parse(&codec_file(&f, &stream[..eoc])).unwrap(), 0).is_ok(), "{}: without EOC", f.file);
        let whole = decode_frame(&parse(&codec_file(&f, stream)).unwrap(), 0).unwrap();

        // The same stream with its tile-part's length set to 0, which the standard allows for
        // the last one (so: streams of one tile-part): it runs to the EOC marker. Whole, it
        // decodes to the same samples; cut anywhere, packet boundaries included (which no
        // length field betrays then), it is refused: every packet of the tile must be there.
        if stream.windows(2).filter(|w| *w == [0xFF, 0x90]).count() == 1 {
            tested_open_ended += 1;
            let mut open_ended = stream.to_vec();
            open_ended[sot + 6..sot + 10].copy_from_slice(&[0, 0, 0, 0]);
            let decoded = decode_frame(&parse(&codec_file(&f, &open_ended)).unwrap(), 0);
            assert_eq!(decoded.as_ref().map(|d| &d.samples).ok(), Some(&whole.samples), "{}: tile-part length 0", f.file);
            let shown: Vec<usize> =
                (sot..eoc).filter(|&n| decode_frame(&parse(&codec_file(&f, &open_ended[..n])).unwrap(), 0).is_ok()).collect();
            assert!(
                shown.is_empty(),
                "{}: tile-part length 0, {} cuts decoded, e.g. at {:?}",
                f.file,
                shown.len(),
                &shown[..shown.len().min(5)]
            );
        }

        // A tile-part of only its header (SOT, no data), which some encoders write, before the
        // real one: complete, so it decodes to the same samples.
        let mut with_empty_part = stream[..sot].to_vec();
        with_empty_part.extend_from_slice(&[0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00]);
        with_empty_part.extend_from_slice(&stream[sot..]);
        let decoded = decode_frame(&parse(&codec_file(&f, &with_empty_part)).unwrap(), 0);
        assert_eq!(decoded.as_ref().map(|d| &d.samples).ok(), Some(&whole.samples), "{}: an empty tile-part first", f.file);
    }
    assert!(tested_open_ended >= 2, "{tested_open_ended} streams of one tile-part");
}
