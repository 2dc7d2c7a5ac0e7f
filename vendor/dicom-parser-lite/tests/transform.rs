#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure
mod common;

use common::*;
use dicom_parser_lite::pixel::{decode_frame, Frame, ImageInfo, Photometric, Samples};
use dicom_parser_lite::transform::{
    render_gray8, render_rgba_in_range, render_rgba_into, value_range, ModalityLut, RgbaLayout, VoiFunction, Window,
};
use dicom_parser_lite::{parse, Error};

fn linear(c: f64, w: f64) -> Window {
    Window { center: c, width: w, function: VoiFunction::Linear }
}

/// An independent transcription of PS3.3 C.11.2.1.2.1 / C.11.2.1.3.1-2 used as the reference.
fn reference(m: f64, win: &Window) -> u8 {
    let (c, w) = (win.center, win.width);
    let y: f64 = match win.function {
        VoiFunction::Linear => {
            let w = w.max(1.0);
            if m <= c - 0.5 - (w - 1.0) / 2.0 {
                0.0
            } else if m > c - 0.5 + (w - 1.0) / 2.0 {
                255.0
            } else {
                ((m - (c - 0.5)) / (w - 1.0) + 0.5) * (255.0 - 0.0) + 0.0
            }
        }
        VoiFunction::LinearExact => {
            if m <= c - w / 2.0 {
                0.0
            } else if m > c + w / 2.0 {
                255.0
            } else {
                ((m - c) / w + 0.5) * (255.0 - 0.0) + 0.0
            }
        }
        VoiFunction::Sigmoid => (255.0 - 0.0) / (1.0 + (-4.0 * (m - c) / w).exp()),
    };
    (y + 0.5).floor().clamp(0.0, 255.0) as u8
}

#[test]
fn linear_at_the_window_edges() {
    let w = linear(40.0, 400.0);
    // Thresholds: m <= -160 → 0, m > 239 → 255.
    assert_eq!(w.apply(-1000.0), 0);
    assert_eq!(w.apply(-160.5), 0);
    assert_eq!(w.apply(-160.0), 0);
    assert_eq!(w.apply(-159.0), 1); // (−198.5/399 + 0.5)·255 = 0.639 → 1
    assert_eq!(w.apply(40.0), 128); // (0.5/399 + 0.5)·255 = 127.82 → 128
    assert_eq!(w.apply(39.0), 127); // (−0.5/399 + 0.5)·255 = 127.18 → 127
    assert_eq!(w.apply(238.0), 254); // 254.36 → 254
    assert_eq!(w.apply(239.0), 255); // exactly 255 by the formula
    assert_eq!(w.apply(239.5), 255);
    assert_eq!(w.apply(3000.0), 255);
}

#[test]
fn linear_narrow_windows() {
    // w = 1: the two thresholds coincide at c − 0.5 and cover every value.
    let w = linear(100.0, 1.0);
    assert_eq!(w.apply(99.5), 0);
    assert_eq!(w.apply(99.500001), 255);
    assert_eq!(w.apply(100.0), 255);
    // w < 1 is treated as 1.
    assert_eq!(linear(100.0, 0.25).apply(99.5), 0);
    assert_eq!(linear(100.0, 0.0).apply(99.6), 255);
    assert_eq!(linear(100.0, -5.0).apply(99.4), 0);
    // w = 2, c = 0: m ≤ −1 → 0, m > 0 → 255, m = −0.5 → 127.5 → 128.
    let w = linear(0.0, 2.0);
    assert_eq!(w.apply(-1.0), 0);
    assert_eq!(w.apply(-0.5), 128);
    assert_eq!(w.apply(0.0), 255);
}

#[test]
fn linear_exact_and_sigmoid() {
    let w = Window { center: 40.0, width: 400.0, function: VoiFunction::LinearExact };
    assert_eq!(w.apply(-160.0), 0);
    assert_eq!(w.apply(-60.0), 64); // 0.25·255 = 63.75
    assert_eq!(w.apply(40.0), 128); // 127.5
    assert_eq!(w.apply(240.0), 255);
    assert_eq!(w.apply(240.1), 255);
    let s = Window { center: 0.0, width: 4.0, function: VoiFunction::Sigmoid };
    assert_eq!(s.apply(0.0), 128); // 127.5
    assert_eq!(s.apply(1.0), 186); // 255/(1+e^−1) = 186.4
    assert_eq!(s.apply(-1.0), 69); // 255/(1+e) = 68.6
    assert_eq!(s.apply(-1e6), 0);
    assert_eq!(s.apply(1e6), 255);
}

#[test]
fn from_min_max_spans_the_range() {
    let w = Window::from_min_max(-1024.0, 3071.0);
    assert_eq!((w.center, w.width, w.function), (1023.5, 4095.0, VoiFunction::Linear));
    assert_eq!(w.apply(-1024.0), 0);
    assert_eq!(w.apply(3071.0), 255);
    assert_eq!(Window::from_min_max(5.0, 5.0).width, 1.0);
}

fn gray_frame(samples: Samples, rows: u32, columns: u32, bits: u16, signed: bool) -> Frame {
    Frame {
        info: ImageInfo {
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated: bits,
            bits_stored: bits,
            high_bit: bits - 1,
            signed,
            photometric: Photometric::Monochrome2,
            planar_configuration: 0,
            number_of_frames: 1,
        },
        samples,
    }
}

fn windows() -> Vec<Window> {
    vec![
        linear(40.0, 400.0),
        linear(-600.5, 1500.0),
        linear(1000.0, 1.0),
        linear(0.3, 2.7),
        Window { center: 100.0, width: 300.0, function: VoiFunction::LinearExact },
        Window { center: -20.0, width: 77.0, function: VoiFunction::Sigmoid },
    ]
}

#[test]
fn lookup_table_matches_the_formula_over_the_whole_16_bit_range() {
    let unsigned = gray_frame(Samples::U16((0..=u16::MAX).collect()), 256, 256, 16, false);
    let signed = gray_frame(Samples::I16((i16::MIN..=i16::MAX).collect()), 256, 256, 16, true);
    let modalities = [ModalityLut::default(), ModalityLut { slope: 1.0, intercept: -1024.0 }, ModalityLut { slope: 0.37, intercept: 12.5 }];
    for modality in &modalities {
        for window in windows() {
            for mono1 in [false, true] {
                let got = render_gray8(&unsigned, modality, &window, mono1).unwrap();
                for (v, g) in (0..=u16::MAX).zip(&got) {
                    let r = reference(modality.apply(f64::from(v)), &window);
                    assert_eq!(*g, if mono1 { 255 - r } else { r }, "u16 {v} {window:?} {modality:?}");
                }
                let got = render_gray8(&signed, modality, &window, mono1).unwrap();
                for (v, g) in (i16::MIN..=i16::MAX).zip(&got) {
                    let r = reference(modality.apply(f64::from(v)), &window);
                    assert_eq!(*g, if mono1 { 255 - r } else { r }, "i16 {v} {window:?} {modality:?}");
                }
            }
        }
    }
}

#[test]
fn eight_and_thirty_two_bit_paths_match_the_formula() {
    let modality = ModalityLut { slope: 2.0, intercept: -100.0 };
    for window in windows() {
        let f = gray_frame(Samples::U8((0..=255).collect()), 16, 16, 8, false);
        let got = render_gray8(&f, &modality, &window, false).unwrap();
        assert!((0..=255u8).zip(&got).all(|(v, g)| *g == reference(modality.apply(f64::from(v)), &window)));
        let f = gray_frame(Samples::I8((-128..=127).collect()), 16, 16, 8, true);
        let got = render_gray8(&f, &modality, &window, false).unwrap();
        assert!((-128..=127i8).zip(&got).all(|(v, g)| *g == reference(modality.apply(f64::from(v)), &window)));
        let values: Vec<i32> = (-50_000..50_000).step_by(7).collect();
        let f = gray_frame(Samples::I32(values.clone()), 1, values.len() as u32, 32, true);
        let got = render_gray8(&f, &modality, &window, false).unwrap();
        assert!(values.iter().zip(&got).all(|(v, g)| *g == reference(modality.apply(f64::from(*v)), &window)));
        let values: Vec<u32> = vec![0, 1, 70_000, u32::MAX];
        let f = gray_frame(Samples::U32(values.clone()), 2, 2, 32, false);
        let got = render_gray8(&f, &modality, &window, true).unwrap();
        assert!(values.iter().zip(&got).all(|(v, g)| *g == 255 - reference(modality.apply(f64::from(*v)), &window)));
    }
}

#[test]
fn ct_file_end_to_end_with_monochrome1_and_rgba() {
    // Stored 12-bit signed CT values with rescale intercept −1024.
    let mut elements = image_elements(2, 2, 16, 12, true, "MONOCHROME1", V::U16(vec![0x0000, 0x0400, 0x0800, 0x07FF]));
    elements.push(s((0x0028, 0x1050), "DS", "40\\-600"));
    elements.push(s((0x0028, 0x1051), "DS", "400\\1500"));
    elements.push(s((0x0028, 0x1052), "DS", "-1024"));
    elements.push(s((0x0028, 0x1053), "DS", "1"));
    elements.push(s((0x0028, 0x1056), "CS", "LINEAR"));
    elements.sort_by_key(|e| e.tag);
    let bytes = part10(Enc::ExplicitLe, &elements, true, true);
    let file = parse(&bytes).unwrap();
    let frame = decode_frame(&file, 0).unwrap();
    assert_eq!(frame.samples, Samples::I16(vec![0, 1024, -2048, 2047]));
    let modality = ModalityLut::from_dataset(file.dataset());
    assert_eq!(modality, ModalityLut { slope: 1.0, intercept: -1024.0 });
    let window = Window::from_dataset(file.dataset()).unwrap();
    assert_eq!(window, linear(40.0, 400.0));
    // HU: −1024, 0, −3072, 1023 → 0, reference(0)=…, 0, 255; MONOCHROME1 inverts.
    let mid = reference(0.0, &window);
    assert_eq!(mid, 102); // ((0 − 39.5)/399 + 0.5)·255 = 102.25
    let gray = render_gray8(&frame, &modality, &window, true).unwrap();
    assert_eq!(gray, vec![255, 255 - 102, 255, 0]);
    let mut rgba = vec![7u8; 16];
    render_rgba_into(&frame, &modality, &window, true, &mut rgba).unwrap();
    assert_eq!(rgba, vec![255, 255, 255, 255, 153, 153, 153, 255, 255, 255, 255, 255, 0, 0, 0, 255]);
    let mut wrong = vec![0u8; 15];
    assert_eq!(render_rgba_into(&frame, &modality, &window, true, &mut wrong).unwrap_err(), Error::OutputSize { expected: 16, actual: 15 });
}

#[test]
fn window_from_dataset_functions_and_defaults() {
    let ds_with = |extra: Vec<E>| {
        let bytes = encode(&extra, Enc::ExplicitLe);
        let file = parse(&bytes).unwrap();
        (Window::from_dataset(file.dataset()), ModalityLut::from_dataset(file.dataset()))
    };
    let (w, m) = ds_with(vec![s((0x0008, 0x0060), "CS", "MR")]);
    assert_eq!(w, None);
    assert_eq!(m, ModalityLut { slope: 1.0, intercept: 0.0 });
    let (w, _) = ds_with(vec![s((0x0028, 0x1050), "DS", "100"), s((0x0028, 0x1051), "DS", "50"), s((0x0028, 0x1056), "CS", "SIGMOID")]);
    assert_eq!(w, Some(Window { center: 100.0, width: 50.0, function: VoiFunction::Sigmoid }));
    let (w, _) = ds_with(vec![s((0x0028, 0x1050), "DS", "100"), s((0x0028, 0x1051), "DS", "0")]);
    assert_eq!(w, None, "a zero width is not a usable window");
    let (w, _) = ds_with(vec![s((0x0028, 0x1050), "DS", "7"), s((0x0028, 0x1051), "DS", "3"), s((0x0028, 0x1056), "CS", "LINEAR_EXACT")]);
    assert_eq!(w.unwrap().function, VoiFunction::LinearExact);
}

#[test]
fn colour_frames_are_not_rendered_as_gray() {
    let mut f = gray_frame(Samples::U8(vec![0; 12]), 2, 2, 8, false);
    f.info.samples_per_pixel = 3;
    f.info.photometric = Photometric::Rgb;
    assert!(matches!(render_gray8(&f, &ModalityLut::default(), &linear(0.0, 1.0), false), Err(Error::UnsupportedImage(_))));
    let short = gray_frame(Samples::U8(vec![0; 3]), 2, 2, 8, false);
    assert!(render_gray8(&short, &ModalityLut::default(), &linear(0.0, 1.0), false).is_err());
    let nan = Window { center: f64::NAN, width: 1.0, function: VoiFunction::Linear };
    assert!(render_gray8(&gray_frame(Samples::U8(vec![0; 4]), 2, 2, 8, false), &ModalityLut::default(), &nan, false).is_err());
}

/// The table path of RGBA rendering equals the standard's formula for every 16-bit value, with
/// the frame's own range, with a stale (too narrow) range that forces the per-value fallback,
/// and with no range. Timings live in `cargo xtask bench`, not here.
#[test]
fn rgba_table_path_equals_the_formula_for_every_16_bit_value() {
    let signed: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    let unsigned: Vec<u16> = (0..=u16::MAX).collect();
    let frames = [gray_frame(Samples::I16(signed), 256, 256, 16, true), gray_frame(Samples::U16(unsigned), 256, 256, 16, false)];
    let modalities = [ModalityLut { slope: 1.0, intercept: -1024.0 }, ModalityLut { slope: 0.5, intercept: 3.0 }];
    let windows = [
        linear(40.0, 400.0),
        linear(-600.0, 1500.0),
        linear(0.0, 1.0),
        Window { center: 100.0, width: 37.0, function: VoiFunction::Sigmoid },
    ];
    for frame in &frames {
        let exact_range = value_range(frame);
        for modality in &modalities {
            for window in &windows {
                for (monochrome1, layout) in [false, true].into_iter().flat_map(|m| [(m, RgbaLayout::Opaque), (m, RgbaLayout::Coverage)]) {
                    let expected: Vec<u8> = frame_values(frame)
                        .flat_map(|v| {
                            let g = window.apply(modality.apply(f64::from(v)));
                            let g = if monochrome1 { 255 - g } else { g };
                            match layout {
                                RgbaLayout::Opaque => [g, g, g, 255],
                                RgbaLayout::Coverage => [255, 255, 255, g],
                            }
                        })
                        .collect();
                    for range in [exact_range, Some((-5, 5)), None] {
                        let mut out = vec![0u8; expected.len()];
                        render_rgba_in_range(frame, modality, window, monochrome1, range, layout, &mut out).unwrap();
                        assert!(out == expected, "{window:?} {modality:?} mono1={monochrome1} {layout:?} range={range:?}");
                    }
                }
            }
        }
    }
}

fn frame_values(frame: &dicom_parser_lite::pixel::Frame) -> Box<dyn Iterator<Item = i32> + '_> {
    match &frame.samples {
        Samples::I16(s) => Box::new(s.iter().map(|&v| i32::from(v))),
        Samples::U16(s) => Box::new(s.iter().map(|&v| i32::from(v))),
        _ => unreachable!("the test builds 16-bit frames only"),
    }
}
