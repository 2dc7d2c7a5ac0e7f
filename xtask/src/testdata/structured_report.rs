//! A measurement report (PS3.16 TID 1500 "Measurement Report", Comprehensive SR) on one image
//! of a study: two measurement groups with a finding and numbers in UCUM units, what the
//! viewer's SR text tree must show.

use super::{document, part10, Instance, Patient, Series, Study};

/// Comprehensive SR Storage.
pub const COMPREHENSIVE_SR_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.88.33";

/// A measurement: its name, value, UCUM unit and the unit's meaning.
type Number = (&'static str, &'static str, &'static str, &'static str);

/// (finding, its measurements) of each group.
pub const GROUPS: [(&str, [Number; 2]); 2] = [
    ("Calibration marker", [("Length", "100.0", "mm", "millimeter"), ("Angle", "53.13", "deg", "degree")]),
    ("Nodule", [("Long Axis", "12.5", "mm", "millimeter"), ("Area", "96.1", "mm2", "square millimeter")]),
];

fn code(value: &str, scheme: &str, meaning: &str) -> part10::Elements {
    let mut e = part10::Elements::default();
    e.text(0x0008_0100, b"SH", value).text(0x0008_0102, b"SH", scheme).text(0x0008_0104, b"LO", meaning);
    e
}

fn item(relationship: &str, value_type: &str, concept: part10::Elements) -> part10::Elements {
    let mut e = part10::Elements::default();
    e.text(0x0040_A010, b"CS", relationship).text(0x0040_A040, b"CS", value_type).sequence(0x0040_A043, vec![concept]);
    e
}

fn container(relationship: &str, concept: part10::Elements, children: Vec<part10::Elements>) -> part10::Elements {
    let mut e = item(relationship, "CONTAINER", concept);
    e.text(0x0040_A050, b"CS", "SEPARATE").sequence(0x0040_A730, children);
    e
}

fn image_reference(image: &Instance) -> part10::Elements {
    let mut e = part10::Elements::default();
    e.text(0x0008_1150, b"UI", &image.sop_class_uid).text(0x0008_1155, b"UI", &image.sop_instance_uid);
    e
}

/// The report, in its own series (`series`, already numbered), on `image` of `image_series`.
pub fn document(patient: &Patient, study: &Study, series: &Series, sop: String, image_series: &Series, image: &Instance) -> Instance {
    let groups: Vec<part10::Elements> = GROUPS
        .iter()
        .enumerate()
        .map(|(n, (finding, numbers))| {
            let mut children = Vec::new();
            let mut tracking = item("HAS OBS CONTEXT", "TEXT", code("112039", "DCM", "Tracking Identifier"));
            tracking.text(0x0040_A160, b"UT", &format!("{finding} {}", n + 1));
            children.push(tracking);
            let mut finding_item = item("CONTAINS", "CODE", code("121071", "DCM", "Finding"));
            finding_item.sequence(0x0040_A168, vec![code(&format!("F{}", n + 1), "99EMR", finding)]);
            children.push(finding_item);
            for (name, value, unit, meaning) in numbers {
                let mut measured = part10::Elements::default();
                measured.text(0x0040_A30A, b"DS", value).sequence(0x0040_08EA, vec![code(unit, "UCUM", meaning)]);
                let mut num = item("CONTAINS", "NUM", code(&format!("M-{name}"), "99EMR", name));
                num.sequence(0x0040_A300, vec![measured]);
                let mut selected = item("INFERRED FROM", "IMAGE", code("121112", "DCM", "Source of Measurement"));
                selected.sequence(0x0008_1199, vec![image_reference(image)]);
                num.sequence(0x0040_A730, vec![selected]);
                children.push(num);
            }
            container("CONTAINS", code("125007", "DCM", "Measurement Group"), children)
        })
        .collect();
    let mut language = item("HAS CONCEPT MOD", "CODE", code("121049", "DCM", "Language of Content Item and Descendants"));
    language.sequence(0x0040_A168, vec![code("en-US", "RFC5646", "English (United States)")]);
    let mut observer = item("HAS OBS CONTEXT", "PNAME", code("121008", "DCM", "Person Observer Name"));
    observer.text(0x0040_A123, b"PN", "Example^Ruth^^Dr");
    let mut procedure = item("HAS CONCEPT MOD", "CODE", code("121058", "DCM", "Procedure reported"));
    procedure.sequence(0x0040_A168, vec![code("P-CHEST", "99EMR", &study.description)]);
    let mut library_image = item("CONTAINS", "IMAGE", code("111027", "DCM", "Image Library Entry"));
    library_image.sequence(0x0008_1199, vec![image_reference(image)]);
    let library = container("CONTAINS", code("111028", "DCM", "Image Library"), vec![library_image]);
    let measurements = container("CONTAINS", code("126010", "DCM", "Imaging Measurements"), groups);

    let mut evidence_series = part10::Elements::default();
    evidence_series.text(0x0020_000E, b"UI", &image_series.uid).sequence(0x0008_1199, vec![image_reference(image)]);
    let mut evidence = part10::Elements::default();
    evidence.text(0x0020_000D, b"UI", &study.uid).sequence(0x0008_1115, vec![evidence_series]);
    let mut template = part10::Elements::default();
    template.text(0x0008_0105, b"CS", "DCMR").text(0x0040_DB00, b"CS", "1500");

    let mut e = document::sr_header(patient, study, series, &sop, COMPREHENSIVE_SR_STORAGE, "SR");
    e.sequence(0x0040_A043, vec![code("126000", "DCM", "Imaging Measurement Report")])
        .sequence(0x0040_A375, vec![evidence])
        .text(0x0040_A491, b"CS", "COMPLETE")
        .text(0x0040_A493, b"CS", "UNVERIFIED")
        .sequence(0x0040_A504, vec![template])
        .sequence(0x0040_A730, vec![language, observer, procedure, library, measurements]);
    document::instance(COMPREHENSIVE_SR_STORAGE, sop, e)
}
