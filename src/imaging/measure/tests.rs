use super::*;
use crate::imaging::tests::{items, part10, text, us};

const COLUMNS: u16 = 16;
const ROWS: u16 = 12;

/// Stored value of pixel (c, r): a pattern with every value 0..=16 (slope 2, intercept −10).
fn stored(c: u16, r: u16) -> u16 {
    (c * 7 + r * 13) % 17
}

/// A 16×12 MONOCHROME2 CT image; `spacing` goes to the top level or, with `enhanced`, to the
/// shared functional groups (as an enhanced multi-frame instance has it).
fn image(spacing: Option<&str>, enhanced: bool) -> DecodedImage {
    let pixels: Vec<u8> = (0..ROWS).flat_map(|r| (0..COLUMNS).map(move |c| stored(c, r))).flat_map(u16::to_le_bytes).collect();
    let mut elements = vec![
        (0x0008_0060, b"CS", text("CT")),
        (0x0028_0002, b"US", us(1)),
        (0x0028_0004, b"CS", text("MONOCHROME2")),
        (0x0028_0010, b"US", us(ROWS)),
        (0x0028_0011, b"US", us(COLUMNS)),
        (0x0028_0100, b"US", us(16)),
        (0x0028_0101, b"US", us(16)),
        (0x0028_0102, b"US", us(15)),
        (0x0028_0103, b"US", us(0)),
        (0x0028_1052, b"DS", text("-10")),
        (0x0028_1053, b"DS", text("2")),
        (0x7FE0_0010, b"OW", pixels),
    ];
    match (spacing, enhanced) {
        (Some(s), false) => elements.push((0x0028_0030, b"DS", text(s))),
        (Some(s), true) => {
            let measures = items(&[&[(0x0028_0030, b"DS", text(s))]]);
            elements.push((0x5200_9229, b"SQ", items(&[&[(0x0028_9110, b"SQ", measures)]])));
        }
        (None, _) => {}
    }
    DecodedImage::decode(&part10(&elements)).unwrap()
}

fn p(x: f64, y: f64) -> Point {
    Point { x, y }
}

#[test]
fn calibration_prefers_the_patient_then_the_detector_and_says_what_it_is() {
    let header = |ps: Option<[f64; 2]>, ips: Option<[f64; 2]>, m: Option<f64>| ImageHeader {
        pixel_spacing: ps,
        imager_pixel_spacing: ips,
        magnification: m,
        ..Default::default()
    };
    let both = Calibration::of(&header(Some([0.5, 0.8]), Some([0.2, 0.2]), None));
    assert_eq!(both, Calibration::Patient { row_mm: 0.5, column_mm: 0.8 });
    assert_eq!(both.caveat(), None);
    let detector = Calibration::of(&header(None, Some([0.2, 0.2]), None));
    assert_eq!(detector.caveat(), Some("detector"), "not corrected for magnification: say so");
    let corrected = Calibration::of(&header(None, Some([0.2, 0.3]), Some(1.25)));
    assert_eq!(corrected, Calibration::Detector { row_mm: 0.2 / 1.25, column_mm: 0.3 / 1.25, magnification: Some(1.25) });
    assert_eq!(corrected.caveat(), None);
    let none = Calibration::of(&header(Some([0.0, 0.5]), None, None));
    assert_eq!((none, none.length_unit(), none.caveat()), (Calibration::Uncalibrated, "px", Some("uncalibrated")));
    // A radiograph is shown with its detector pixels' proportions.
    assert_eq!(header(None, Some([0.3, 0.2]), Some(1.25)).display_spacing(), Some([0.3, 0.2]));
    assert_eq!(header(Some([0.5, 0.8]), Some([0.2, 0.2]), None).display_spacing(), Some([0.5, 0.8]));
    assert_eq!(header(None, None, None).display_spacing(), None);
}

#[test]
fn lengths_and_angles_are_in_the_patients_plane_with_non_square_pixels() {
    // Rows 0.5 mm apart, columns 0.8 mm apart.
    let cal = Calibration::Patient { row_mm: 0.5, column_mm: 0.8 };
    assert!((cal.distance(p(0.0, 0.0), p(10.0, 0.0)) - 8.0).abs() < 1e-12);
    assert!((cal.distance(p(0.0, 0.0), p(0.0, 10.0)) - 5.0).abs() < 1e-12);
    assert!((cal.distance(p(1.0, 2.0), p(4.0, 10.0)) - (2.4f64).hypot(4.0)).abs() < 1e-12);
    // 45° in pixels is atan(0.5 / 0.8) in the patient.
    let angle = angle_degrees(p(1.0, 0.0), p(0.0, 0.0), p(1.0, 1.0), &cal).unwrap();
    assert!((angle - (0.5f64 / 0.8).atan().to_degrees()).abs() < 1e-9, "{angle}");
    let square = Calibration::Patient { row_mm: 1.0, column_mm: 1.0 };
    assert!((angle_degrees(p(5.0, 0.0), p(0.0, 0.0), p(0.0, -3.0), &square).unwrap() - 90.0).abs() < 1e-9);
    assert!((angle_degrees(p(5.0, 0.0), p(0.0, 0.0), p(-2.0, 0.0), &square).unwrap() - 180.0).abs() < 1e-9);
    assert_eq!(angle_degrees(p(0.0, 0.0), p(0.0, 0.0), p(1.0, 0.0), &square), None, "no ray, no angle");
}

/// The statistics the slow, obvious way: every pixel, its centre tested on its own, two passes.
fn brute_force(shape: RegionShape, a: Point, b: Point) -> (usize, f64, f64, f64, f64) {
    let mut values = Vec::new();
    for r in 0..ROWS {
        for c in 0..COLUMNS {
            let (x, y) = (f64::from(c) + 0.5, f64::from(r) + 0.5);
            let (left, right, top, bottom) = (a.x.min(b.x), a.x.max(b.x), a.y.min(b.y), a.y.max(b.y));
            let inside = match shape {
                RegionShape::Rectangle => x >= left && x <= right && y >= top && y <= bottom,
                RegionShape::Ellipse => {
                    let (cx, cy, rx, ry) = ((left + right) / 2.0, (top + bottom) / 2.0, (right - left) / 2.0, (bottom - top) / 2.0);
                    ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
                }
            };
            if inside {
                values.push(f64::from(stored(c, r)) * 2.0 - 10.0);
            }
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (values.len(), mean, sd, min, max)
}

#[test]
fn region_statistics_equal_a_brute_force_reference_in_modality_units() {
    let img = image(Some("0.5\\0.8"), false);
    let cal = Calibration::of(&img.header);
    let regions = [
        (RegionShape::Rectangle, p(2.3, 1.7), p(11.6, 9.2)),
        (RegionShape::Rectangle, p(15.9, 11.9), p(0.1, 0.2)),
        (RegionShape::Ellipse, p(1.2, 0.4), p(14.7, 11.1)),
        (RegionShape::Ellipse, p(6.0, 3.0), p(9.0, 8.0)),
        // Reaching past the image: only the pixels that exist count.
        (RegionShape::Ellipse, p(-5.0, -5.0), p(8.0, 6.0)),
    ];
    for (shape, a, b) in regions {
        let stats = region_stats(shape, a, b, &img, &cal);
        let (n, mean, sd, min, max) = brute_force(shape, a, b);
        assert_eq!(stats.pixels, n, "{shape:?} {a:?} {b:?}");
        for (got, want) in [(stats.mean, mean), (stats.sd, sd), (stats.min, min), (stats.max, max)] {
            assert!((got.unwrap() - want).abs() < 1e-9, "{shape:?} {a:?} {b:?}: {got:?} vs {want}");
        }
    }
    let rect = region_stats(RegionShape::Rectangle, p(2.0, 2.0), p(12.0, 6.0), &img, &cal);
    assert!((rect.area - 10.0 * 0.8 * 4.0 * 0.5).abs() < 1e-9, "mm²");
    let ellipse = region_stats(RegionShape::Ellipse, p(2.0, 2.0), p(12.0, 6.0), &img, &cal);
    assert!((ellipse.area - std::f64::consts::PI * 4.0 * 1.0).abs() < 1e-9);
    let empty = region_stats(RegionShape::Ellipse, p(3.0, 3.0), p(3.0, 9.0), &img, &cal);
    assert_eq!((empty.pixels, empty.mean), (0, None));
    assert_eq!(value_unit(&img.header).as_deref(), Some("HU"), "CT without Rescale Type");
}

#[test]
fn an_enhanced_instance_takes_its_frame_spacing_from_the_functional_groups() {
    let img = image(Some("0.25\\0.4"), true);
    assert_eq!(img.header.pixel_spacing, Some([0.25, 0.4]));
    assert_eq!(Calibration::of(&img.header), Calibration::Patient { row_mm: 0.25, column_mm: 0.4 });
    assert_eq!(Calibration::of(&image(None, false).header), Calibration::Uncalibrated);
}

/// A measurement of `kind` through `points` on the first frame of instance 1.1.1.
fn measurement(kind: MeasureKind, points: Vec<Point>) -> Measurement {
    Measurement { id: 1, kind, study_uid: "1".into(), series_uid: "1.1".into(), instance_uid: "1.1.1".into(), frame: 0, points, text: None }
}

#[test]
fn a_measurement_reports_its_values_and_label() {
    let img = image(Some("0.5\\0.8"), false);
    let length = measurement(MeasureKind::Length, vec![p(0.0, 0.0), p(10.0, 0.0)]);
    let values = length.values(&img);
    assert_eq!((values.length, values.unit), (Some(8.0), Some("mm")));
    assert_eq!(length.label(&values), "8.0 mm");
    let roi = measurement(MeasureKind::Rectangle, vec![p(0.0, 0.0), p(16.0, 12.0)]);
    let values = roi.values(&img);
    assert_eq!(values.value_unit.as_deref(), Some("HU"));
    assert!(roi.label(&values).starts_with("76.8 mm² · mean "), "{}", roi.label(&values));
    let uncalibrated = image(None, false);
    assert_eq!(length.label(&length.values(&uncalibrated)), "10.0 px (uncalibrated)");
    let angle = measurement(MeasureKind::Angle, vec![p(5.0, 0.0), p(0.0, 0.0), p(0.0, 5.0)]);
    assert_eq!(angle.label(&angle.values(&uncalibrated)), "90.0°");
    let json = serde_json::to_value(roi.values(&img)).unwrap();
    assert_eq!(json["calibration"]["kind"], "patient");
    assert_eq!(json["stats"]["pixels"], 192);
    let text = Measurement { text: Some("nodule".into()), ..measurement(MeasureKind::Text, vec![p(3.0, 4.0)]) };
    let values = text.values(&img);
    assert_eq!((values.length, values.area, values.unit), (None, None, None));
    assert_eq!(text.label(&values), "nodule");
    assert_eq!(serde_json::to_value(&text).unwrap()["text"], "nodule");
    assert!(serde_json::to_value(&length).unwrap().get("text").is_none());
}

#[test]
fn typed_text_is_trimmed_bounded_and_never_control_characters() {
    assert_eq!(clean_text("  left apex \n").as_deref(), Some("left apex"));
    assert_eq!(clean_text("a\u{7}b\tc").as_deref(), Some("abc"));
    assert_eq!(clean_text(" \t "), None);
    assert_eq!(clean_text("<b>x</b>").as_deref(), Some("<b>x</b>"), "kept as typed: it is shown as text");
    let long = "é".repeat(MAX_TEXT_CHARS + 50);
    assert_eq!(clean_text(&long).map(|t| t.chars().count()), Some(MAX_TEXT_CHARS));
}

#[test]
fn labels_follow_the_language_and_never_say_minus_zero() {
    let img = image(Some("0.5\\0.8"), false);
    let german = LabelWords {
        decimal_comma: true,
        mean: "Mittel",
        sd: "SD",
        min: "Min",
        max: "Max",
        uncalibrated: "unkalibriert",
        detector: "Detektor",
    };
    let length = measurement(MeasureKind::Length, vec![p(0.0, 0.0), p(12.5, 0.0)]);
    assert_eq!(length.label_in(&length.values(&img), &german), "10,0 mm");
    let uncalibrated = image(None, false);
    assert_eq!(length.label_in(&length.values(&uncalibrated), &german), "12,5 px (unkalibriert)");
    let roi = measurement(MeasureKind::Rectangle, vec![p(0.0, 0.0), p(16.0, 12.0)]);
    let label = roi.label_in(&roi.values(&img), &german);
    assert!(label.starts_with("76,8 mm² · Mittel "), "{label}");
    assert!(label.contains(" · Min ") && label.contains(" · Max "), "{label}");
    assert_eq!(LabelWords::ENGLISH.number(-0.04, 1), "0.0");
    assert_eq!(german.number(-1.25, 2), "-1,25");
}

#[test]
fn kind_names_are_the_serialised_ones() {
    for kind in
        [MeasureKind::Length, MeasureKind::Angle, MeasureKind::Ellipse, MeasureKind::Rectangle, MeasureKind::Arrow, MeasureKind::Text]
    {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
}
