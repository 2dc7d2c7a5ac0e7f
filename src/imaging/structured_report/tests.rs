use super::*;
use crate::imaging::key_objects::tests::{part10, patient, text, Encoding, V};

fn code(value: &str, scheme: &str, meaning: &str) -> Vec<(u32, V)> {
    vec![(0x0008_0100, text(b"SH", value)), (0x0008_0102, text(b"SH", scheme)), (0x0008_0104, text(b"LO", meaning))]
}

fn item(relationship: &str, value_type: &str, concept: &str, mut rest: Vec<(u32, V)>) -> Vec<(u32, V)> {
    let mut out = vec![
        (0x0040_A010, text(b"CS", relationship)),
        (0x0040_A040, text(b"CS", value_type)),
        (0x0040_A043, V::Seq(vec![code("x", "99TEST", concept)])),
    ];
    out.append(&mut rest);
    out
}

fn num(concept: &str, value: &str, unit: &str, meaning: &str) -> Vec<(u32, V)> {
    item(
        "CONTAINS",
        "NUM",
        concept,
        vec![(
            0x0040_A300,
            V::Seq(vec![vec![(0x0040_A30A, text(b"DS", value)), (0x0040_08EA, V::Seq(vec![code(unit, "UCUM", meaning)]))]]),
        )],
    )
}

/// A TID 1500 measurement report, cut down: one finding with a length and an area, a
/// finding site, a comment and an observer.
fn measurement_report(sop_class: &str, patient_id: &str) -> Vec<(u32, V)> {
    let group = item(
        "CONTAINS",
        "CONTAINER",
        "Measurement Group",
        vec![(
            0x0040_A730,
            V::Seq(vec![
                item("HAS CONCEPT MOD", "CODE", "Finding Site", vec![(0x0040_A168, V::Seq(vec![code("39607008", "SCT", "Lung")]))]),
                num("Long Axis", "12.5", "mm", "millimeter"),
                num("Area", "96.1", "mm2", "square millimeter"),
                num("Mean", "-612", "[hnsf'U]", "Hounsfield unit"),
                item("CONTAINS", "TEXT", "Comment", vec![(0x0040_A160, text(b"UT", "<b>stable</b> since 2023"))]),
            ]),
        )],
    );
    vec![
        (0x0008_0016, text(b"UI", sop_class)),
        (0x0008_0018, text(b"UI", "9.9.7")),
        (0x0008_0023, text(b"DA", "20240312")),
        (0x0008_0060, text(b"CS", "SR")),
        (0x0010_0010, text(b"PN", "TESTPERSON^ANNA")),
        (0x0010_0020, text(b"LO", patient_id)),
        (0x0040_A040, text(b"CS", "CONTAINER")),
        (0x0040_A043, V::Seq(vec![code("126000", "DCM", "Imaging Measurement Report")])),
        (0x0040_A491, text(b"CS", "COMPLETE")),
        (0x0040_A493, text(b"CS", "UNVERIFIED")),
        (
            0x0040_A730,
            V::Seq(vec![
                item("HAS OBS CONTEXT", "PNAME", "Person Observer Name", vec![(0x0040_A123, text(b"PN", "Smith^Jane^^Dr"))]),
                item("CONTAINS", "CONTAINER", "Imaging Measurements", vec![(0x0040_A730, V::Seq(vec![group]))]),
            ]),
        ),
    ]
}

#[test]
fn a_measurement_report_reads_as_text_with_units_in_both_encodings() {
    for enc in [Encoding::ExplicitUndefined, Encoding::ImplicitDefined] {
        let bytes = part10(&measurement_report(STRUCTURED_REPORT_SOP_CLASSES[2], "MRN-1"), enc);
        let report = read_report(&bytes, &patient()).unwrap();
        assert_eq!(report.title.as_deref(), Some("Imaging Measurement Report"));
        assert_eq!((report.completion.as_deref(), report.verification.as_deref()), (Some("COMPLETE"), Some("UNVERIFIED")));
        assert_eq!(report.date.as_deref(), Some("2024-03-12"));
        assert!(!report.truncated);
        let observer = &report.items[0];
        assert_eq!((observer.kind, observer.value.as_deref()), (ItemKind::PersonName, Some("Dr Jane Smith")));
        let group = &report.items[1].children[0];
        assert_eq!(group.concept.as_deref(), Some("Measurement Group"));
        let values: Vec<(Option<&str>, Option<&str>)> = group.children.iter().map(|c| (c.concept.as_deref(), c.value.as_deref())).collect();
        assert_eq!(
            values,
            [
                (Some("Finding Site"), Some("Lung")),
                (Some("Long Axis"), Some("12.5 mm")),
                (Some("Area"), Some("96.1 mm²")),
                (Some("Mean"), Some("-612 HU")),
                (Some("Comment"), Some("<b>stable</b> since 2023")),
            ]
        );
    }
}

#[test]
fn another_patients_report_or_another_class_is_refused() {
    let other = part10(&measurement_report(STRUCTURED_REPORT_SOP_CLASSES[2], "MRN-2"), Encoding::ExplicitUndefined);
    assert!(matches!(read_report(&other, &patient()), Err(DocumentError::WrongPatient(_))));
    let kos = part10(&measurement_report("1.2.840.10008.5.1.4.1.1.88.59", "MRN-1"), Encoding::ExplicitUndefined);
    assert_eq!(read_report(&kos, &patient()), Err(DocumentError::OtherClass("9.9.7".into(), "a structured report")));
    assert!(matches!(read_report(b"not dicom", &patient()), Err(DocumentError::Imaging(_))));
}

#[test]
fn hostile_nesting_is_cut_off_and_said() {
    let mut deepest = item("CONTAINS", "TEXT", "Leaf", vec![(0x0040_A160, text(b"UT", "deep"))]);
    for _ in 0..40 {
        deepest = item("CONTAINS", "CONTAINER", "Level", vec![(0x0040_A730, V::Seq(vec![deepest]))]);
    }
    let mut doc = measurement_report(STRUCTURED_REPORT_SOP_CLASSES[0], "MRN-1");
    doc.retain(|(tag, _)| *tag != 0x0040_A730);
    doc.push((0x0040_A730, V::Seq(vec![deepest])));
    let report = read_report(&part10(&doc, Encoding::ExplicitUndefined), &patient()).unwrap();
    assert!(report.truncated);
    let mut depth = 0;
    let mut at = &report.items;
    while let Some(first) = at.first() {
        depth += 1;
        at = &first.children;
    }
    assert_eq!(depth, MAX_DEPTH);
}

#[test]
fn values_are_formatted_for_reading() {
    assert_eq!(person_name("Smith^Jane"), "Jane Smith");
    assert_eq!(person_name("Müller^Jonas=ミュラー^ヨナス"), "Jonas Müller");
    assert_eq!(date("20240312"), "2024-03-12");
    assert_eq!(date("2024"), "2024");
    assert_eq!(date_time("20240312093015.5"), "2024-03-12 09:30");
    assert_eq!(time("0930"), "09:30");
}
