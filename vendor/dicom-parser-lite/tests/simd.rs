//! The window/level SIMD lanes (`transform/window.rs`) where they run: in a WebAssembly engine
//! (Node, through wasm-bindgen-test-runner). Natively only the table path exists, so this is the
//! test that holds the lanes to the f64 formula of PS3.3 C.11.2.1.2.1, value by value, in both
//! pixel layouts, through the aligned body, the scalar head and tail, and the uniform blocks.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use dicom_parser_lite::pixel::{Frame, ImageInfo, Photometric, Samples};
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
