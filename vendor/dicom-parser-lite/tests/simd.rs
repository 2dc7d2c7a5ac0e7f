//! The SIMD lanes where they run: in a WebAssembly engine (Node, through
//! wasm-bindgen-test-runner). Natively only the scalar paths exist, so these are the tests that
//! hold the lanes to the standard: the window/level lanes (`transform/window.rs`) to the f64
//! formula of PS3.3 C.11.2.1.2.1, value by value, in both pixel layouts, through the aligned body,
//! the scalar head and tail, and the uniform blocks; the native 16-bit sample lanes (`pixel.rs`)
//! to PS3.5 8's stored bits.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use dicom_parser_lite::pixel::{decode_frame, Frame, ImageInfo, Photometric, Samples};
use dicom_parser_lite::transform::{render_rgba_in_range, value_range, ModalityLut, RgbaLayout, VoiFunction, Window};
use wasm_bindgen_test::wasm_bindgen_test;

fn frame(samples: Samples, columns: u32) -> Frame {
    let rows = (samples.len() as u32).div_ceil(columns.max(1));
    let signed = matches!(samples, Samples::I16(_));
    let info = ImageInfo {
        rows,
        columns,
        samples_per_pixel: 1,
        bits_allocated: 16,
        bits_stored: 16,
        high_bit: 15,
        signed,
        photometric: Photometric::Monochrome2,
        planar_configuration: 0,
        number_of_frames: 1,
    };
    Frame { info, samples }
}

fn values(frame: &Frame) -> Vec<i32> {
    match &frame.samples {
        Samples::I16(s) => s.iter().map(|&v| i32::from(v)).collect(),
        Samples::U16(s) => s.iter().map(|&v| i32::from(v)).collect(),
        _ => unreachable!("16-bit frames only"),
    }
}

fn linear(center: f64, width: f64) -> Window {
    Window { center, width, function: VoiFunction::Linear }
}

/// Renders `frame` into `out` and counts the pixels that differ from the formula.
fn wrong(frame: &Frame, m: &ModalityLut, w: &Window, monochrome1: bool, layout: RgbaLayout, out: &mut [u8]) -> usize {
    render_rgba_in_range(frame, m, w, monochrome1, value_range(frame), layout, out).unwrap();
    let want = |v: i32| {
        let g = w.apply(m.apply(f64::from(v)));
        layout.pixel(if monochrome1 { 255 - g } else { g })
    };
    values(frame).iter().zip(out.chunks_exact(4)).filter(|(&v, px)| **px != want(v)).count()
}

const LAYOUTS: [RgbaLayout; 2] = [RgbaLayout::Opaque, RgbaLayout::Coverage];

/// Integer lanes (wide windows), f32 lanes (narrow ones), the table (thresholds, huge widths),
/// ties between neighbouring values, and rescales of both signs.
fn cases() -> Vec<(ModalityLut, Window)> {
    let rescales = [(1.0, 0.0), (1.0, -1024.0), (0.5, 0.25), (-1.0, 0.0), (-0.37, 1234.5678), (2.5e-3, -7.0)];
    let windows = [
        (40.0, 400.0),
        (40.5, 400.0),
        (-600.0, 1500.0),
        (40.0, 80.0),
        (128.5, 256.0),
        (127.5, 256.0),
        (0.5, 2.0),
        (3.0, 1.0),
        (3.0, 0.25),
        (0.0, 1e12),
        (12.34567, 98.7654),
        (32767.0, 65536.0),
    ];
    rescales
        .iter()
        .flat_map(|&(slope, intercept)| windows.iter().map(move |&(c, w)| (ModalityLut { slope, intercept }, linear(c, w))))
        .collect()
}

#[wasm_bindgen_test]
fn every_16_bit_value_matches_the_formula_in_both_layouts() {
    for samples in [Samples::I16((i16::MIN..=i16::MAX).collect()), Samples::U16((0..=u16::MAX).collect())] {
        let frame = frame(samples, 256);
        let mut out = vec![0u8; 65536 * 4];
        for (m, w) in cases() {
            for monochrome1 in [false, true] {
                for layout in LAYOUTS {
                    assert_eq!(wrong(&frame, &m, &w, monochrome1, layout, &mut out), 0, "{m:?} {w:?} mono1={monochrome1} {layout:?}");
                }
            }
        }
    }
}

/// Runs of 16 equal values (whole uniform blocks below, inside and past the window) next to
/// mixed blocks, written at every output alignment and for ragged lengths, so the head and tail
/// pixels, the uniform-block shortcuts and the lanes all meet the formula.
#[wasm_bindgen_test]
fn uniform_blocks_heads_and_tails_match_the_formula() {
    let mut pattern: Vec<i16> = Vec::new();
    for v in [-1024i16, -161, -160, 0, 40, 239, 240, 241, 3000, i16::MIN, i16::MAX] {
        pattern.extend(std::iter::repeat_n(v, 16));
        pattern.extend((0..16).map(|k| v.saturating_add(k * 7 - 50)));
    }
    let (m, windows) = (ModalityLut { slope: 1.0, intercept: 0.0 }, [linear(40.0, 400.0), linear(40.0, 80.0), linear(40.0, 1e12)]);
    for len in [1, 3, 15, 16, 17, 31, 33, 100, pattern.len()] {
        for skip in [0usize, 1, 2, 3] {
            let frame = frame(Samples::I16(pattern[..len].to_vec()), len as u32);
            // Output starting 4·skip bytes into a 16-byte-aligned buffer.
            let mut backing = vec![0u8; len * 4 + 64];
            let offset = backing.as_ptr().align_offset(16) + 4 * skip;
            let out = &mut backing[offset..offset + len * 4];
            for w in &windows {
                for monochrome1 in [false, true] {
                    for layout in LAYOUTS {
                        assert_eq!(
                            wrong(&frame, &m, w, monochrome1, layout, out),
                            0,
                            "len {len} skip {skip} {w:?} mono1={monochrome1} {layout:?}"
                        );
                    }
                }
            }
        }
    }
}

/// A Part 10 file of one `rows`×`columns` 16-bit MONOCHROME2 frame with `words` as its pixel
/// data, in explicit VR little or big endian.
fn native_sixteen(words: &[u16], columns: u16, stored: u16, high: u16, signed: bool, big_endian: bool) -> Vec<u8> {
    fn element(out: &mut Vec<u8>, tag: (u16, u16), vr: &[u8; 2], value: &[u8], big: bool) {
        let u16b = |v: u16| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        out.extend(u16b(tag.0));
        out.extend(u16b(tag.1));
        out.extend(vr);
        if vr == b"OW" || vr == b"OB" {
            out.extend([0, 0]);
            out.extend(if big { (value.len() as u32).to_be_bytes() } else { (value.len() as u32).to_le_bytes() });
        } else {
            out.extend(u16b(value.len() as u16));
        }
        out.extend(value);
    }
    let syntax: &[u8] = if big_endian { b"1.2.840.10008.1.2.2\0" } else { b"1.2.840.10008.1.2.1\0" };
    let mut meta = Vec::new();
    element(&mut meta, (0x0002, 0x0010), b"UI", syntax, false);
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    element(&mut out, (0x0002, 0x0000), b"UL", &(meta.len() as u32).to_le_bytes(), false);
    out.extend(meta);
    let us = |v: u16| if big_endian { v.to_be_bytes().to_vec() } else { v.to_le_bytes().to_vec() };
    let rows = words.len() as u16 / columns;
    element(&mut out, (0x0028, 0x0002), b"US", &us(1), big_endian);
    element(&mut out, (0x0028, 0x0004), b"CS", b"MONOCHROME2 ", big_endian);
    element(&mut out, (0x0028, 0x0010), b"US", &us(rows), big_endian);
    element(&mut out, (0x0028, 0x0011), b"US", &us(columns), big_endian);
    element(&mut out, (0x0028, 0x0100), b"US", &us(16), big_endian);
    element(&mut out, (0x0028, 0x0101), b"US", &us(stored), big_endian);
    element(&mut out, (0x0028, 0x0102), b"US", &us(high), big_endian);
    element(&mut out, (0x0028, 0x0103), b"US", &us(u16::from(signed)), big_endian);
    let pixels: Vec<u8> = words.iter().flat_map(|&w| us(w)).collect();
    element(&mut out, (0x7FE0, 0x0010), b"OW", &pixels, big_endian);
    out
}

/// Native 16-bit pixel data is converted in SIMD lanes (`pixel.rs`): every layout of the stored
/// bits, both byte orders and both signs give PS3.5 8's values (the stored bits, sign-extended
/// from the high bit when signed), here computed one sample at a time. 7×9 samples: the 8-wide
/// steps and a tail.
#[wasm_bindgen_test]
fn native_sixteen_bit_samples_are_exact_in_simd_lanes() {
    // Every bit pattern's neighbourhood: 0, the extremes, and a spread of values between.
    let words: Vec<u16> = (0..63u32)
        .map(|i| match i {
            0 => 0,
            1 => 0xFFFF,
            2 => 0x8000,
            3 => 0x7FFF,
            _ => (i.wrapping_mul(40503) ^ (i << 11)) as u16,
        })
        .collect();
    for (stored, high) in [(16, 15), (12, 11), (12, 15), (10, 13), (1, 0), (8, 9)] {
        for signed in [false, true] {
            for big_endian in [false, true] {
                let file = native_sixteen(&words, 9, stored, high, signed, big_endian);
                let parsed = dicom_parser_lite::parse(&file).expect("the test file parses");
                let frame = decode_frame(&parsed, 0).expect("the test frame decodes");
                let shift = u32::from(high + 1 - stored);
                let mask = u32::MAX >> (32 - u32::from(stored));
                let expected: Vec<i64> = words
                    .iter()
                    .map(|&w| {
                        let v = (u32::from(w) >> shift) & mask;
                        if signed && v >> (stored - 1) & 1 == 1 {
                            i64::from(v) - (1i64 << stored)
                        } else {
                            i64::from(v)
                        }
                    })
                    .collect();
                let got: Vec<i64> = match frame.samples {
                    Samples::U16(s) if !signed => s.into_iter().map(i64::from).collect(),
                    Samples::I16(s) if signed => s.into_iter().map(i64::from).collect(),
                    _ => panic!("16-bit samples of the right sign"),
                };
                assert_eq!(got, expected, "stored {stored}, high bit {high}, signed {signed}, big endian {big_endian}");
            }
        }
    }
}

/// The 16-bit value range in SIMD lanes equals the scalar fold: lengths around the 8-wide steps
/// (the tail alone, one step, steps and a tail), the extremes in the body and in the tail.
#[wasm_bindgen_test]
fn value_ranges_in_simd_lanes_equal_the_scalar_fold() {
    let pattern = |i: u32| (i.wrapping_mul(2654435761) >> 7) as u16;
    for len in [1usize, 7, 8, 9, 15, 16, 17, 63, 64, 1000, 1003] {
        for extreme_at in [0, len / 2, len - 1] {
            let mut unsigned: Vec<u16> = (0..len as u32).map(|i| pattern(i) % 3000 + 100).collect();
            let mut signed: Vec<i16> = unsigned.iter().map(|&v| v as i16 - 1600).collect();
            unsigned[extreme_at] = 0xFFFF;
            signed[extreme_at] = i16::MIN;
            let fold = |v: &[i32]| (*v.iter().min().unwrap(), *v.iter().max().unwrap());
            let u: Vec<i32> = unsigned.iter().map(|&v| i32::from(v)).collect();
            let s: Vec<i32> = signed.iter().map(|&v| i32::from(v)).collect();
            assert_eq!(value_range(&frame(Samples::U16(unsigned), 1)), Some(fold(&u)), "u16, {len} samples, extreme at {extreme_at}");
            assert_eq!(value_range(&frame(Samples::I16(signed), 1)), Some(fold(&s)), "i16, {len} samples, extreme at {extreme_at}");
        }
    }
}
