//! Garbage in, errors out: no input may panic, hang or allocate without bound.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure
mod common;

use common::*;
use dicom_parser_lite::pixel::decode_frame;
use dicom_parser_lite::pixel::encapsulated_frame;
use dicom_parser_lite::summary::summarize;
use dicom_parser_lite::transform::render_default;
use dicom_parser_lite::transform::{render_gray8, ModalityLut, Window};
use dicom_parser_lite::{parse, parse_partial, DicomBuffer};

fn exercise(bytes: &[u8]) {
    // Every syntax, deflated included, through the buffer; then every frame path.
    let _ = summarize(bytes);
    let buffer = DicomBuffer::with_limit(bytes, 1 << 20);
    let parsed = buffer.parse_partial();
    for index in 0..3 {
        let _ = encapsulated_frame(&parsed.file, index);
        if let Ok(frame) = decode_frame(&parsed.file, index) {
            let _ = render_default(parsed.file.dataset(), &frame, index);
        }
    }
    let parsed = parse_partial(bytes);
    let file = &parsed.file;
    let ds = file.dataset();
    for el in ds.iter() {
        let _ = (ds.string(el.tag), ds.strings(el.tag), ds.f64(el.tag), ds.f64s(el.tag), ds.u32(el.tag));
    }
    if let Ok(frame) = decode_frame(file, 0) {
        let _ = render_gray8(
            &frame,
            &ModalityLut::from_dataset(ds),
            &Window::from_dataset(ds).unwrap_or(Window::from_min_max(0.0, 255.0)),
            false,
        );
    }
    let _ = decode_frame(file, 1);
    let _ = parse(bytes);
}

fn fixtures() -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for enc in [Enc::ExplicitLe, Enc::ImplicitLe, Enc::ExplicitBe] {
        let mut elements = image_elements(4, 4, 16, 12, true, "MONOCHROME2", V::U16((0..16).collect()));
        elements.push(s((0x0028, 0x0008), "IS", "1"));
        elements.push(seq(
            (0x0008, 0x1140),
            vec![vec![s((0x0008, 0x1150), "UI", "1.2")], vec![seq((0x0040, 0xA730), vec![vec![s((0x0040, 0xA040), "CS", "T")]], true)]],
            true,
        ));
        elements.push(seq((0x0008, 0x1115), vec![vec![us((0x0028, 0x0010), &[1])]], false));
        elements.sort_by_key(|e| e.tag);
        all.push(part10(enc, &elements, true, true));
        all.push(encode(&elements, enc));
    }
    let mut encap = image_elements(2, 2, 8, 8, false, "MONOCHROME2", V::Raw(vec![]));
    encap.pop();
    encap.push(e((0x7FE0, 0x0010), "OB", V::Encap { offset_table: vec![0, 0, 0, 0], fragments: vec![vec![1, 2], vec![3, 4]] }));
    all.push(part10_ts("1.2.840.10008.1.2.4.50", Enc::ExplicitLe, &encap, false, false));
    // RLE: gray 16-bit two frames with an offset table, and 8-bit RGB.
    let gray = image_elements(2, 3, 16, 12, true, "MONOCHROME2", V::Raw(vec![]));
    let mut gray = encapsulated(gray, vec![], vec![rle_frame(&[1, 2, 3, 3, 3, 0xFFF], 1, 2), rle_frame(&[9; 6], 1, 2)]);
    gray.push(s((0x0028, 0x0008), "IS", "2"));
    gray.sort_by_key(|e| e.tag);
    all.push(part10_ts("1.2.840.10008.1.2.5", Enc::ExplicitLe, &gray, true, true));
    let mut rgb = image_elements(1, 3, 8, 8, false, "RGB", V::Raw(vec![]));
    rgb.retain(|e| e.tag != (0x0028, 0x0002));
    rgb.push(us((0x0028, 0x0002), &[3]));
    let rgb = encapsulated(rgb, vec![0, 0, 0, 0], vec![rle_frame(&[1, 2, 3, 4, 5, 6, 7, 7, 7], 3, 1)]);
    all.push(part10_ts("1.2.840.10008.1.2.5", Enc::ExplicitLe, &rgb, true, true));
    // Deflate, with a palette colour image inside.
    let mut pal = image_elements(2, 2, 8, 8, false, "PALETTE COLOR", V::Raw(vec![0, 1, 2, 3]));
    for t in [0x1101, 0x1102, 0x1103] {
        pal.push(us((0x0028, t), &[4, 0, 16]));
    }
    for t in [0x1201, 0x1202, 0x1203] {
        pal.push(e((0x0028, t), "OW", V::U16(vec![0, 100, 1000, 65535])));
    }
    pal.sort_by_key(|e| e.tag);
    all.push(deflated(&pal));
    all
}

#[test]
fn fixtures_parse_cleanly() {
    for f in fixtures() {
        let buffer = DicomBuffer::new(&f);
        let parsed = buffer.parse_partial();
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        if f.len() > 300 && !parsed.file.transfer_syntax_uid().ends_with("4.50") {
            // Every image fixture decodes and renders, so mutations exercise the real paths.
            let frame = decode_frame(&parsed.file, 0).unwrap();
            render_default(parsed.file.dataset(), &frame, 0).unwrap();
        }
    }
}

#[test]
fn every_prefix_of_every_fixture() {
    for f in fixtures() {
        for cut in 0..f.len() {
            exercise(&f[..cut]);
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let fixtures = fixtures();
    let mut errors = 0;
    for i in 0..6000 {
        let mut bytes = fixtures[i % fixtures.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(6) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                2 => bytes[at] = 0xFF, // tends to make undefined lengths and item tags
                3 => bytes.truncate(at),
                4 => {
                    let n = rng.below(8);
                    let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    bytes.splice(at..at, junk);
                }
                _ => {
                    // Duplicate a chunk (sequences inside sequences, repeated items).
                    let len = rng.below(64).min(bytes.len() - at);
                    let chunk = bytes[at..at + len].to_vec();
                    let to = rng.below(bytes.len());
                    bytes.splice(to..to, chunk);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        exercise(&bytes);
        errors += parse_partial(&bytes).error.is_some() as usize;
    }
    assert!(errors > 1000, "mutations should mostly be detected ({errors})");
}

#[test]
fn pure_noise_is_rejected() {
    let mut rng = Rng(12345);
    let mut ok = 0;
    for n in 0..3000 {
        let len = n % 400;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&bytes);
        ok += parse(&bytes).is_ok() as usize;
        // The same noise after a valid preamble.
        let mut with_preamble = vec![0u8; 128];
        with_preamble.extend(b"DICM");
        with_preamble.extend(&bytes);
        exercise(&with_preamble);
    }
    assert!(ok < 30, "noise parsed as DICOM {ok} times");
}

#[test]
fn hostile_structures() {
    // A million empty undefined-length items: bounded by input size, no recursion.
    let mut bytes = vec![0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    for _ in 0..100_000 {
        bytes.extend([0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    }
    exercise(&bytes);
    // Deep nesting without delimiters, in implicit VR (no VR to go by).
    let mut deep = Vec::new();
    for _ in 0..100_000 {
        deep.extend([0x08, 0x00, 0x40, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    exercise(&deep);
    // Encapsulated pixel data with many tiny fragments and a missing delimiter.
    let mut frags = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    for _ in 0..50_000 {
        frags.extend([0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
    }
    exercise(&frags);
    assert!(parse(&frags).is_err());
    // Image header claiming 65535 × 65535 × 32 bits with 4 bytes of pixels.
    let huge = image_elements(65535, 65535, 32, 32, false, "MONOCHROME2", V::Raw(vec![1, 2, 3, 4]));
    let file_bytes = part10(Enc::ExplicitLe, &huge, true, true);
    let file = parse(&file_bytes).unwrap();
    assert!(decode_frame(&file, 0).is_err());
}

#[test]
fn long_zero_runs_stay_linear() {
    // Implicit-VR-looking zeros (tag (0000,0000), length 0) followed by one non-zero byte.
    let mut bytes = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ImplicitLe);
    bytes.extend(vec![0u8; 4_000_000]);
    bytes.push(1);
    let start = std::time::Instant::now();
    exercise(&bytes);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    // Trailing zeros alone are padding.
    let mut padded = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ImplicitLe);
    padded.extend(vec![0u8; 1000]);
    assert!(parse(&padded).is_ok());
}

fn decode_codestream(f: &CodecFixture, codestream: &[u8]) -> Result<(), dicom_parser_lite::Error> {
    let bytes = codec_file(f, codestream);
    let file = parse(&bytes).expect("the wrapper is valid");
    let frame = decode_frame(&file, 0)?;
    assert_eq!(frame.samples.len(), usize::from(f.rows) * usize::from(f.cols) * usize::from(f.spp), "{}", f.file);
    let _ = render_default(file.dataset(), &frame, 0);
    Ok(())
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            return;
        }
        let at = rng.below(bytes.len());
        match rng.below(7) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.next() as u8,
            2 => bytes[at] = 0xFF, // spurious markers
            3 => bytes.truncate(at),
            4 => {
                let junk: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, junk);
            }
            5 => {
                // Header fields: the first 200 bytes hold sizes, tables and parameters.
                let at = rng.below(bytes.len().min(200));
                bytes[at] = [0, 1, 0x7F, 0x80, 0xFF][rng.below(5)];
            }
            _ => {
                let len = rng.below(64).min(bytes.len() - at);
                let chunk = bytes[at..at + len].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, chunk);
            }
        }
    }
}

#[test]
fn compressed_fixtures_survive_mutations() {
    let mut rng = Rng(0xC0DE_C0DE_1234_5678);
    for f in codec_fixtures() {
        decode_codestream(&f, f.codestream).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        // Fewer rounds for the large 12-bit frame: every round decodes it.
        let rounds = if f.rows as usize * f.cols as usize > 100_000 { 150 } else { 600 };
        let mut errors = 0;
        for _ in 0..rounds {
            let mut bytes = f.codestream.to_vec();
            mutate(&mut rng, &mut bytes);
            errors += decode_codestream(&f, &bytes).is_err() as usize;
        }
        assert!(errors > 0, "{}: no mutation was detected", f.file);
    }
}

#[test]
fn compressed_prefixes_and_noise_are_errors() {
    let mut rng = Rng(77);
    for f in codec_fixtures() {
        let len = f.codestream.len();
        let step = (len / 150).max(1);
        for cut in (0..len.saturating_sub(2)).step_by(step) {
            // A cut stream must not decode (it may only be read up to the cut and refused).
            let _ = decode_codestream(&f, &f.codestream[..cut]);
        }
        for n in [0usize, 2, 20, 100, 400] {
            // The start of the header, then noise.
            let mut bytes = f.codestream[..n.min(len)].to_vec();
            bytes.extend((0..300).map(|_| rng.next() as u8));
            let _ = decode_codestream(&f, &bytes);
            let noise: Vec<u8> = (0..n + 10).map(|_| rng.next() as u8).collect();
            assert!(decode_codestream(&f, &noise).is_err(), "{}: noise decoded", f.file);
        }
    }
}

#[test]
fn compressed_frames_must_match_the_header() {
    use dicom_parser_lite::Error;
    for f in codec_fixtures() {
        // A codestream whose size differs from Rows/Columns is refused before decoding.
        let wrong = CodecFixture { rows: f.rows + 1, ..f };
        let err = decode_codestream(&wrong, wrong.codestream).unwrap_err();
        assert!(matches!(err, Error::InvalidCompressedData(_)), "{}: {err:?}", wrong.file);
        // A huge declared image is refused before any allocation.
        let huge = CodecFixture { rows: 65535, cols: 65535, ..f };
        let err = decode_codestream(&huge, huge.codestream).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. } | Error::InvalidCompressedData(_)), "{}: {err:?}", huge.file);
    }
}
