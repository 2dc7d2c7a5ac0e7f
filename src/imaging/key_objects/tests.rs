use super::*;
use crate::imaging::IdentityMismatch;

/// How a test document is written: the two encodings a server may hand back.
#[derive(Clone, Copy)]
pub(crate) enum Encoding {
    /// Explicit VR Little Endian, sequences and items of undefined length.
    ExplicitUndefined,
    /// Implicit VR Little Endian, sequences and items of defined length (the parser must know
    /// each sequence tag to read them).
    ImplicitDefined,
}

pub(crate) enum V {
    Text(&'static [u8; 2], String),
    /// A binary value (FL, SL, US), already in little endian.
    Binary(&'static [u8; 2], Vec<u8>),
    Seq(Vec<Vec<(u32, V)>>),
}

pub(crate) fn text(vr: &'static [u8; 2], s: &str) -> V {
    V::Text(vr, s.to_string())
}

fn encode(out: &mut Vec<u8>, elements: &[(u32, V)], enc: Encoding) {
    let mut sorted: Vec<&(u32, V)> = elements.iter().collect();
    sorted.sort_by_key(|(tag, _)| *tag);
    for (tag, value) in sorted {
        out.extend(((tag >> 16) as u16).to_le_bytes());
        out.extend((*tag as u16).to_le_bytes());
        match value {
            V::Text(vr, _) | V::Binary(vr, _) => {
                let mut bytes = match value {
                    V::Binary(_, b) => b.clone(),
                    V::Text(_, s) => s.as_bytes().to_vec(),
                    V::Seq(_) => Vec::new(),
                };
                if bytes.len() % 2 == 1 {
                    bytes.push(if *vr == b"UI" { 0 } else { b' ' });
                }
                match enc {
                    Encoding::ExplicitUndefined if matches!(*vr, b"UT" | b"UC" | b"UR" | b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"UN") => {
                        out.extend(*vr);
                        out.extend([0, 0]);
                        out.extend((bytes.len() as u32).to_le_bytes());
                    }
                    Encoding::ExplicitUndefined => {
                        out.extend(*vr);
                        out.extend((bytes.len() as u16).to_le_bytes());
                    }
                    Encoding::ImplicitDefined => out.extend((bytes.len() as u32).to_le_bytes()),
                }
                out.extend(bytes);
            }
            V::Seq(items) => {
                let mut body = Vec::new();
                for item in items {
                    let mut inner = Vec::new();
                    encode(&mut inner, item, enc);
                    body.extend([0xFE, 0xFF, 0x00, 0xE0]);
                    match enc {
                        Encoding::ExplicitUndefined => {
                            body.extend(u32::MAX.to_le_bytes());
                            body.extend(inner);
                            body.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
                        }
                        Encoding::ImplicitDefined => {
                            body.extend((inner.len() as u32).to_le_bytes());
                            body.extend(inner);
                        }
                    }
                }
                match enc {
                    Encoding::ExplicitUndefined => {
                        out.extend(b"SQ\0\0");
                        out.extend(u32::MAX.to_le_bytes());
                        out.extend(body);
                        out.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
                    }
                    Encoding::ImplicitDefined => {
                        out.extend((body.len() as u32).to_le_bytes());
                        out.extend(body);
                    }
                }
            }
        }
    }
}

pub(crate) fn part10(data_set: &[(u32, V)], enc: Encoding) -> Vec<u8> {
    let syntax = match enc {
        Encoding::ExplicitUndefined => "1.2.840.10008.1.2.1",
        Encoding::ImplicitDefined => "1.2.840.10008.1.2",
    };
    let mut meta = Vec::new();
    encode(&mut meta, &[(0x0002_0010, text(b"UI", syntax))], Encoding::ExplicitUndefined);
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    out.extend([0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend((meta.len() as u32).to_le_bytes());
    out.extend(meta);
    encode(&mut out, data_set, enc);
    out
}

fn reference(sop: &str) -> Vec<(u32, V)> {
    vec![(0x0008_1150, text(b"UI", "1.2.840.10008.5.1.4.1.1.4")), (0x0008_1155, text(b"UI", sop))]
}

fn image_item(sop: &str) -> Vec<(u32, V)> {
    vec![(0x0040_A010, text(b"CS", "CONTAINS")), (0x0040_A040, text(b"CS", "IMAGE")), (0x0008_1199, V::Seq(vec![reference(sop)]))]
}

/// A selection titled `title` (DCM code) whose content names `keys`; the evidence lists
/// instances 1.1–1.3 of series 9.1 and 2.1 of series 9.2, all of study 9.
fn document(sop_class: &str, patient_id: &str, family: &str, title: &str, keys: &[&str]) -> Vec<(u32, V)> {
    let series = |uid: &str, sops: &[&str]| {
        vec![(0x0020_000E, text(b"UI", uid)), (0x0008_1199, V::Seq(sops.iter().map(|s| reference(s)).collect()))]
    };
    vec![
        (0x0008_0016, text(b"UI", sop_class)),
        (0x0008_0018, text(b"UI", "9.9.1")),
        (0x0008_0060, text(b"CS", "KO")),
        (0x0010_0010, text(b"PN", &format!("{family}^ANNA"))),
        (0x0010_0020, text(b"LO", patient_id)),
        (0x0020_000D, text(b"UI", "9")),
        (0x0040_A040, text(b"CS", "CONTAINER")),
        (
            0x0040_A043,
            V::Seq(vec![vec![
                (0x0008_0100, text(b"SH", title)),
                (0x0008_0102, text(b"SH", "DCM")),
                (0x0008_0104, text(b"LO", if title == "113000" { "Of Interest" } else { "Rejected for Quality Reasons" })),
            ]]),
        ),
        (
            0x0040_A375,
            V::Seq(vec![vec![
                (0x0020_000D, text(b"UI", "9")),
                (0x0008_1115, V::Seq(vec![series("9.1", &["1.1", "1.2", "1.3"]), series("9.2", &["2.1"])])),
            ]]),
        ),
        (0x0040_A730, V::Seq(keys.iter().map(|k| image_item(k)).collect())),
    ]
}

/// A selection of `keys` (series, SOP Instance UID) in study `study`, titled "Of Interest"
/// or, with `rejection`, "Rejected for Quality Reasons", for the patient `(id, family)`. For
/// the session's native tests.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn selection_part10(patient: (&str, &str), study: &str, sop: &str, rejection: bool, keys: &[(&str, &str)]) -> Vec<u8> {
    let mut series: Vec<&str> = keys.iter().map(|(s, _)| *s).collect();
    series.dedup();
    let evidence = series
        .iter()
        .map(|uid| {
            let sops = keys.iter().filter(|(s, _)| s == uid).map(|(_, sop)| reference(sop)).collect();
            vec![(0x0020_000E, text(b"UI", uid)), (0x0008_1199, V::Seq(sops))]
        })
        .collect();
    let title = if rejection { ("113001", "Rejected for Quality Reasons") } else { ("113000", "Of Interest") };
    let data_set = vec![
        (0x0008_0016, text(b"UI", KEY_OBJECT_SELECTION_SOP_CLASS)),
        (0x0008_0018, text(b"UI", sop)),
        (0x0008_0060, text(b"CS", "KO")),
        (0x0010_0010, text(b"PN", &format!("{}^Ann", patient.1))),
        (0x0010_0020, text(b"LO", patient.0)),
        (0x0020_000D, text(b"UI", study)),
        (0x0040_A040, text(b"CS", "CONTAINER")),
        (
            0x0040_A043,
            V::Seq(vec![vec![(0x0008_0100, text(b"SH", title.0)), (0x0008_0102, text(b"SH", "DCM")), (0x0008_0104, text(b"LO", title.1))]]),
        ),
        (0x0040_A375, V::Seq(vec![vec![(0x0020_000D, text(b"UI", study)), (0x0008_1115, V::Seq(evidence))]])),
        (0x0040_A730, V::Seq(keys.iter().map(|(_, sop)| image_item(sop)).collect())),
    ];
    part10(&data_set, Encoding::ExplicitUndefined)
}

/// The patient in context: MRN-1, Testperson.
pub(crate) fn patient() -> PatientContext {
    PatientContext {
        id: "p".into(),
        identifiers: vec!["MRN-1".into()],
        family: Some("Testperson".into()),
        display_name: "TESTPERSON, Anna".into(),
    }
}

fn key(series: &str, sop: &str) -> KeyImage {
    KeyImage { study_uid: "9".into(), series_uid: series.into(), sop_instance_uid: sop.into() }
}

#[test]
fn the_content_names_the_key_images_and_the_evidence_locates_them() {
    for enc in [Encoding::ExplicitUndefined, Encoding::ImplicitDefined] {
        let bytes = part10(&document(KEY_OBJECT_SELECTION_SOP_CLASS, "MRN-1", "TESTPERSON", "113000", &["1.3", "2.1", "1.1", "1.3"]), enc);
        let selection = read_key_objects(&bytes, &patient()).unwrap();
        assert_eq!(selection.title.as_deref(), Some("Of Interest"));
        assert!(!selection.rejection);
        // Document order, each once; 1.2 is evidence only, not a key image.
        assert_eq!(selection.images, [key("9.1", "1.3"), key("9.2", "2.1"), key("9.1", "1.1")]);
    }
}

#[test]
fn an_image_the_evidence_does_not_list_is_left_out() {
    let bytes =
        part10(&document(KEY_OBJECT_SELECTION_SOP_CLASS, "MRN-1", "TESTPERSON", "113000", &["7.7", "1.2"]), Encoding::ExplicitUndefined);
    assert_eq!(read_key_objects(&bytes, &patient()).unwrap().images, [key("9.1", "1.2")]);
}

#[test]
fn a_rejection_note_is_told_apart() {
    let bytes = part10(&document(KEY_OBJECT_SELECTION_SOP_CLASS, "MRN-1", "TESTPERSON", "113001", &["1.1"]), Encoding::ExplicitUndefined);
    assert!(read_key_objects(&bytes, &patient()).unwrap().rejection);
}

#[test]
fn another_patients_selection_or_another_document_is_refused() {
    let other = part10(&document(KEY_OBJECT_SELECTION_SOP_CLASS, "MRN-2", "TESTPERSON", "113000", &["1.1"]), Encoding::ExplicitUndefined);
    assert!(matches!(read_key_objects(&other, &patient()), Err(DocumentError::WrongPatient(IdentityMismatch::PatientId { .. }))));
    let renamed = part10(&document(KEY_OBJECT_SELECTION_SOP_CLASS, "MRN-1", "OTHER", "113000", &["1.1"]), Encoding::ExplicitUndefined);
    assert!(matches!(read_key_objects(&renamed, &patient()), Err(DocumentError::WrongPatient(IdentityMismatch::PatientName { .. }))));
    let image = part10(&document("1.2.840.10008.5.1.4.1.1.4", "MRN-1", "TESTPERSON", "113000", &["1.1"]), Encoding::ExplicitUndefined);
    assert_eq!(read_key_objects(&image, &patient()), Err(DocumentError::OtherClass("9.9.1".into(), "a Key Object Selection document")));
    assert!(matches!(read_key_objects(b"not dicom", &patient()), Err(DocumentError::Imaging(_))));
}
