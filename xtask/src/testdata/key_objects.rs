//! A Key Object Selection document (PS3.3 A.35.4, TID 2010 "Of Interest") naming some images of
//! a study: what IID's `keyImagesOnly=true` shows.

use super::{document, part10, Instance, Patient, Series, Study};

/// Key Object Selection Document Storage.
pub const KEY_OBJECT_SELECTION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.88.59";

/// The document in its own series (`series`, already numbered), naming `keys` of `study`'s
/// series by (series index, instance index).
pub fn document(patient: &Patient, study: &Study, series: &Series, sop: String, keys: &[(usize, usize)]) -> Instance {
    let named: Vec<(&Series, &Instance)> =
        keys.iter().filter_map(|&(s, i)| study.series.get(s).and_then(|se| se.instances.get(i).map(|inst| (se, inst)))).collect();
    let reference = |i: &Instance| {
        let mut e = part10::Elements::default();
        e.text(0x0008_1150, b"UI", &i.sop_class_uid).text(0x0008_1155, b"UI", &i.sop_instance_uid);
        e
    };
    let mut evidence_series = Vec::new();
    for se in &study.series {
        let sops: Vec<part10::Elements> = named.iter().filter(|(s, _)| s.uid == se.uid).map(|(_, i)| reference(i)).collect();
        if !sops.is_empty() {
            let mut item = part10::Elements::default();
            item.text(0x0020_000E, b"UI", &se.uid).sequence(0x0008_1199, sops);
            evidence_series.push(item);
        }
    }
    let mut evidence = part10::Elements::default();
    evidence.text(0x0020_000D, b"UI", &study.uid).sequence(0x0008_1115, evidence_series);
    let content: Vec<part10::Elements> = named
        .iter()
        .map(|(_, i)| {
            let mut item = part10::Elements::default();
            item.text(0x0040_A010, b"CS", "CONTAINS").text(0x0040_A040, b"CS", "IMAGE").sequence(0x0008_1199, vec![reference(i)]);
            item
        })
        .collect();
    let mut title = part10::Elements::default();
    title.text(0x0008_0100, b"SH", "113000").text(0x0008_0102, b"SH", "DCM").text(0x0008_0104, b"LO", "Of Interest");
    let mut template = part10::Elements::default();
    template.text(0x0008_0105, b"CS", "DCMR").text(0x0040_DB00, b"CS", "2010");

    let mut e = document::sr_header(patient, study, series, &sop, KEY_OBJECT_SELECTION_STORAGE, "KO");
    e.sequence(0x0040_A043, vec![title])
        .sequence(0x0040_A375, vec![evidence])
        .sequence(0x0040_A504, vec![template])
        .sequence(0x0040_A730, content);
    document::instance(KEY_OBJECT_SELECTION_STORAGE, sop, e)
}
