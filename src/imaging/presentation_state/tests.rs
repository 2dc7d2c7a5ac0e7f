use super::*;
use crate::imaging::key_objects::tests::{part10, patient, text, Encoding, V};

fn fl(values: &[f32]) -> V {
    V::Binary(b"FL", values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn sl(values: &[i32]) -> V {
    V::Binary(b"SL", values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn us(value: u16) -> V {
    V::Binary(b"US", value.to_le_bytes().to_vec())
}

fn image(sop: &str) -> Vec<(u32, V)> {
    vec![(0x0008_1150, text(b"UI", "1.2.840.10008.5.1.4.1.1.1")), (0x0008_1155, text(b"UI", sop))]
}

/// A state for images 2.1 and 2.2 of series 2 of a 100 × 50 image set: rotated 90°, flipped,
/// a window only for 2.2, the area (11\6)–(60\45) scaled to fit, a polyline and a circle in
/// pixels, a text in display units and one with a visible anchor.
fn state(patient_id: &str, rotation: u16, flip: &str) -> Vec<(u32, V)> {
    let polyline = vec![
        (0x0070_0005, text(b"CS", "PIXEL")),
        (0x0070_0020, us(2)),
        (0x0070_0021, us(3)),
        (0x0070_0022, fl(&[10.0, 10.0, 20.0, 10.0, 20.0, 30.0])),
        (0x0070_0023, text(b"CS", "POLYLINE")),
        (0x0070_0024, text(b"CS", "N")),
    ];
    let circle = vec![
        (0x0070_0005, text(b"CS", "PIXEL")),
        (0x0070_0020, us(2)),
        (0x0070_0021, us(2)),
        (0x0070_0022, fl(&[50.0, 25.0, 53.0, 29.0])),
        (0x0070_0023, text(b"CS", "CIRCLE")),
        (0x0070_0024, text(b"CS", "Y")),
    ];
    let display_text = vec![
        (0x0070_0003, text(b"CS", "DISPLAY")),
        (0x0070_0006, text(b"ST", "Top left\u{7} note")),
        (0x0070_0010, fl(&[0.0, 0.0])),
        (0x0070_0011, fl(&[0.2, 0.1])),
    ];
    let anchored = vec![
        (0x0070_0004, text(b"CS", "PIXEL")),
        (0x0070_0006, text(b"ST", "nodule")),
        (0x0070_0014, fl(&[40.0, 20.0])),
        (0x0070_0015, text(b"CS", "Y")),
    ];
    vec![
        (0x0008_0016, text(b"UI", GRAYSCALE_SOFTCOPY_PRESENTATION_STATE)),
        (0x0008_0018, text(b"UI", "9.9")),
        (0x0008_0060, text(b"CS", "PR")),
        (0x0008_1115, V::Seq(vec![vec![(0x0020_000E, text(b"UI", "2")), (0x0008_1140, V::Seq(vec![image("2.1"), image("2.2")]))]])),
        (0x0010_0010, text(b"PN", "TESTPERSON^ANNA")),
        (0x0010_0020, text(b"LO", patient_id)),
        (0x0020_000E, text(b"UI", "9")),
        (0x0028_1052, text(b"DS", "-1024")),
        (0x0028_1053, text(b"DS", "1")),
        (
            0x0028_3110,
            V::Seq(vec![vec![
                (0x0008_1140, V::Seq(vec![image("2.2")])),
                (0x0028_1050, text(b"DS", "40")),
                (0x0028_1051, text(b"DS", "400")),
            ]]),
        ),
        (
            0x0070_0001,
            V::Seq(vec![vec![
                (0x0070_0002, text(b"CS", "LAYER1")),
                (0x0070_0008, V::Seq(vec![display_text, anchored])),
                (0x0070_0009, V::Seq(vec![polyline, circle])),
            ]]),
        ),
        (0x0070_0041, text(b"CS", flip)),
        (0x0070_0042, us(rotation)),
        (
            0x0070_005A,
            V::Seq(vec![vec![(0x0070_0052, sl(&[11, 6])), (0x0070_0053, sl(&[60, 45])), (0x0070_0100, text(b"CS", "SCALE TO FIT"))]]),
        ),
        (0x0070_0080, text(b"CS", "CHEST_ROT")),
        (0x0070_0081, text(b"LO", "rotated for the report")),
        (0x2050_0020, text(b"CS", "INVERSE")),
    ]
}

/// A state of patient (`id`, `family`) for images `sops` of `series`, turned a quarter: what
/// the session tests put on their PACS.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn state_part10((id, family): (&str, &str), series: &str, sops: &[&str]) -> Vec<u8> {
    let images = sops.iter().map(|sop| image(sop)).collect();
    part10(
        &[
            (0x0008_0016, text(b"UI", GRAYSCALE_SOFTCOPY_PRESENTATION_STATE)),
            (0x0008_0018, text(b"UI", &format!("{series}.ps"))),
            (0x0008_1115, V::Seq(vec![vec![(0x0020_000E, text(b"UI", series)), (0x0008_1140, V::Seq(images))]])),
            (0x0010_0010, text(b"PN", &format!("{family}^Ann"))),
            (0x0010_0020, text(b"LO", id)),
            (0x0070_0042, us(90)),
            (0x0070_0080, text(b"CS", "TURNED")),
        ],
        Encoding::ExplicitUndefined,
    )
}

#[test]
fn a_state_is_read_in_either_encoding() {
    for enc in [Encoding::ExplicitUndefined, Encoding::ImplicitDefined] {
        let s = read_state(&part10(&state("MRN-1", 90, "Y"), enc), &patient()).unwrap();
        assert_eq!((s.label.as_str(), s.description.as_deref()), ("CHEST_ROT", Some("rotated for the report")));
        assert_eq!(s.transform, SpatialTransform { quarter_turns: 1, flip: true });
        assert!(s.inverse);
        assert_eq!(s.series_uids(), vec!["2"]);
        assert!(s.names("2", "2.1", 1) && !s.names("2", "2.3", 1) && !s.names("3", "2.1", 1));

        let plain = s.for_image("2", "2.1", 1, (1.0, -1024.0)).unwrap();
        assert_eq!(plain.window, None, "the window is for 2.2 only");
        let area = plain.area.unwrap();
        assert_eq!(area.rect, Rect { left: 10.0, top: 5.0, right: 60.0, bottom: 45.0 });
        assert_eq!(area.mode, SizeMode::ScaleToFit);
        assert_eq!(plain.marks.len(), 4);
        assert!(plain.marks.contains(&Mark::Graphic {
            shape: Shape::Polyline(vec![Point { x: 10.0, y: 10.0 }, Point { x: 20.0, y: 10.0 }, Point { x: 20.0, y: 30.0 }]),
            filled: false,
            layer: "LAYER1".into(),
        }));
        assert!(plain.marks.contains(&Mark::Graphic {
            shape: Shape::Circle { centre: Point { x: 50.0, y: 25.0 }, radius: 5.0 },
            filled: true,
            layer: "LAYER1".into()
        }));
        let windowed = s.for_image("2", "2.2", 1, (1.0, -1024.0)).unwrap();
        let w = windowed.window.unwrap();
        assert_eq!((w.center, w.width), (40.0, 400.0));
        assert!(s.for_image("2", "2.3", 1, (1.0, -1024.0)).is_none());
    }
}

#[test]
fn display_units_are_placed_on_the_displayed_area_as_shown() {
    let s = read_state(&part10(&state("MRN-1", 90, "Y"), Encoding::ExplicitUndefined), &patient()).unwrap();
    let applied = s.for_image("2", "2.1", 1, (1.0, 0.0)).unwrap();
    let texts: Vec<(&str, Point, Option<Point>)> = applied
        .marks
        .iter()
        .filter_map(|m| match m {
            Mark::Text { text, at, anchor, .. } => Some((text.as_str(), *at, *anchor)),
            _ => None,
        })
        .collect();
    // Rotated 90° clockwise then flipped, the displayed top left is the image's top left
    // (a transpose): display (0.1, 0.05) is 5 % across (of 50 columns) and 10 % down (of 40 rows).
    let (text, at, anchor) = texts[0];
    assert_eq!(text, "Top left note", "the control character is gone");
    assert!((at.x - 12.5).abs() < 1e-6 && (at.y - 9.0).abs() < 1e-6, "{at:?}: graphic data is FL");
    assert_eq!(anchor, None);
    assert_eq!(texts[1], ("nodule", Point { x: 40.0, y: 20.0 }, Some(Point { x: 40.0, y: 20.0 })));
}

#[test]
fn another_patients_state_is_refused_and_other_objects_are_not_states() {
    let other = read_state(&part10(&state("MRN-2", 0, "N"), Encoding::ExplicitUndefined), &patient());
    assert!(matches!(other, Err(DocumentError::WrongPatient(_))), "{other:?}");
    let mut not_state = state("MRN-1", 0, "N");
    not_state[0] = (0x0008_0016, text(b"UI", "1.2.840.10008.5.1.4.1.1.88.33"));
    assert_eq!(
        read_state(&part10(&not_state, Encoding::ExplicitUndefined), &patient()),
        Err(DocumentError::OtherClass("9.9".into(), "a grayscale softcopy presentation state"))
    );
}

#[test]
fn rotation_comes_before_the_flip_and_inverse_undoes_forward() {
    // PS3.3 C.10.6: rotate clockwise, then mirror left to right.
    let quarter = SpatialTransform { quarter_turns: 1, flip: false };
    assert_eq!(quarter.forward((0.0, 0.0)), (1.0, 0.0), "the top left corner goes to the top right");
    let quarter_flipped = SpatialTransform { quarter_turns: 1, flip: true };
    assert_eq!(quarter_flipped.forward((0.0, 0.0)), (0.0, 0.0), "then the mirror brings it back: a transpose");
    assert_eq!(quarter_flipped.forward((1.0, 0.0)), (0.0, 1.0));
    for quarter_turns in 0..4 {
        for flip in [false, true] {
            let t = SpatialTransform { quarter_turns, flip };
            for p in [(0.0, 0.0), (0.25, 0.75), (1.0, 0.5)] {
                let back = t.inverse(t.forward(p));
                assert!((back.0 - p.0).abs() < 1e-12 && (back.1 - p.1).abs() < 1e-12, "{t:?} {p:?}");
                // A screen vector is the forward map's derivative.
                let (a, b) = (t.forward((0.5, 0.5)), t.forward((0.5 + p.0 * 0.1, 0.5 + p.1 * 0.1)));
                let v = t.vector((p.0, p.1));
                assert!(((b.0 - a.0) * 10.0 - v.0).abs() < 1e-9 && ((b.1 - a.1) * 10.0 - v.1).abs() < 1e-9, "{t:?}");
                let back = t.unvector(v);
                assert!((back.0 - p.0).abs() < 1e-12 && (back.1 - p.1).abs() < 1e-12, "{t:?}");
            }
        }
    }
    assert_eq!(quarter_flipped.css(), " scaleX(-1) rotate(90deg)");
    assert_eq!(SpatialTransform::default().css(), "");
    assert_eq!(quarter_flipped.upright_css(), "rotate(-90deg) scaleX(-1)");
}

#[test]
fn orientation_letters_follow_the_transform() {
    let labels = EdgeLabels { left: "R".into(), right: "L".into(), top: "H".into(), bottom: "F".into() };
    let quarter = SpatialTransform { quarter_turns: 1, flip: false }.edge_labels(&labels);
    assert_eq!((quarter.top.as_str(), quarter.right.as_str(), quarter.bottom.as_str(), quarter.left.as_str()), ("R", "H", "L", "F"));
    let flipped = SpatialTransform { quarter_turns: 0, flip: true }.edge_labels(&labels);
    assert_eq!((flipped.left.as_str(), flipped.right.as_str(), flipped.top.as_str()), ("L", "R", "H"));
    assert_eq!(SpatialTransform::default().edge_labels(&labels), labels);
}

#[test]
fn an_area_fills_the_viewport_centred() {
    let area = DisplayedArea { rect: Rect { left: 10.0, top: 5.0, right: 60.0, bottom: 45.0 }, mode: SizeMode::ScaleToFit };
    // 50 × 40 px shown in 200 × 100: height limits, 2.5 screen px per image px.
    let (zoom, pan) = area_view(&area, SpatialTransform::default(), (100, 50), 1.0, (200.0, 100.0));
    assert_eq!(zoom, 2.5);
    // The area's centre (35, 25) is 15 px left of the image's (50, 25): moved right by 37.5.
    assert_eq!(pan, (37.5, 0.0));
    // Turned a quarter, 40 × 50 fits 200 × 100 at 2; the offset (−15, 0) now points up.
    let (zoom, pan) = area_view(&area, SpatialTransform { quarter_turns: 1, flip: false }, (100, 50), 1.0, (200.0, 100.0));
    assert_eq!(zoom, 2.0);
    assert_eq!(pan, (0.0, 30.0));
    let magnified = DisplayedArea { mode: SizeMode::Magnify(3.0), ..area };
    assert_eq!(area_view(&magnified, SpatialTransform::default(), (100, 50), 1.0, (200.0, 100.0)).0, 3.0);
    let true_size = DisplayedArea { mode: SizeMode::TrueSize { column_mm: 0.5 }, ..area };
    assert!((area_view(&true_size, SpatialTransform::default(), (100, 50), 1.0, (200.0, 100.0)).0 - 0.5 * 96.0 / 25.4).abs() < 1e-12);
}

#[test]
fn a_window_in_the_states_units_is_converted_to_the_images() {
    let mut data = state("MRN-1", 0, "N");
    // The state's Modality LUT: slope 2, intercept −2048; the image's: slope 1, intercept −1024.
    for (tag, value) in data.iter_mut() {
        if *tag == 0x0028_1052 {
            *value = text(b"DS", "-2048");
        }
        if *tag == 0x0028_1053 {
            *value = text(b"DS", "2");
        }
    }
    let s = read_state(&part10(&data, Encoding::ExplicitUndefined), &patient()).unwrap();
    let w = s.for_image("2", "2.2", 1, (1.0, -1024.0)).unwrap().window.unwrap();
    // Stored value v: state 2v − 2048 = 40 → v = 1044 → image 1044 − 1024 = 20; width 400 / 2.
    assert_eq!((w.center, w.width), (20.0, 200.0));
}
