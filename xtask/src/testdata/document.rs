//! What the data set's instances without pixels (Key Object Selection, Structured Report,
//! Presentation State) share: the SOP common, patient, study and series modules, and for the SR
//! family the root CONTAINER of the SR Document Content module (PS3.3 C.17.3).

use super::{part10, Instance, Patient, Series, Study};

/// The modules every one of them carries, for document `sop` (of `sop_class`, series
/// `modality`) in `series`.
pub fn header(patient: &Patient, study: &Study, series: &Series, sop: &str, sop_class: &str, modality: &str) -> part10::Elements {
    let mut e = part10::Elements::default();
    e.text(0x0008_0005, b"CS", "ISO_IR 192")
        .text(0x0008_0016, b"UI", sop_class)
        .text(0x0008_0018, b"UI", sop)
        .text(0x0008_0020, b"DA", &study.date)
        .text(0x0008_0030, b"TM", &study.time)
        .text(0x0008_0050, b"SH", &study.accession)
        .text(0x0008_0060, b"CS", modality)
        .text(0x0008_0070, b"LO", "emr-imaging synthetic")
        .text(0x0008_0090, b"PN", "")
        .text(0x0008_1030, b"LO", &study.description)
        .text(0x0008_103E, b"LO", &series.description)
        .text(0x0010_0010, b"PN", &patient.dicom_name())
        .text(0x0010_0020, b"LO", &patient.mrn)
        .text(0x0010_0030, b"DA", &patient.birth_date.replace('-', ""))
        .text(0x0010_0040, b"CS", &patient.sex)
        .text(0x0020_000D, b"UI", &study.uid)
        .text(0x0020_000E, b"UI", &series.uid)
        .text(0x0020_0010, b"SH", "")
        .text(0x0020_0011, b"IS", &series.number.to_string())
        .text(0x0020_0013, b"IS", "1");
    e
}

/// [`header`] and the SR document general and root content modules; the caller adds the
/// concept name, evidence, template and content sequence.
pub fn sr_header(patient: &Patient, study: &Study, series: &Series, sop: &str, sop_class: &str, modality: &str) -> part10::Elements {
    let mut e = header(patient, study, series, sop, sop_class, modality);
    e.text(0x0008_0023, b"DA", &study.date)
        .text(0x0008_0033, b"TM", &study.time)
        .sequence(0x0008_1111, Vec::new())
        .text(0x0040_A040, b"CS", "CONTAINER")
        .text(0x0040_A050, b"CS", "SEPARATE")
        .sequence(0x0040_A372, Vec::new());
    e
}

/// The finished document as the data set's instance: no pixels, so no rendering to expect.
pub fn instance(sop_class: &str, sop: String, data_set: part10::Elements) -> Instance {
    Instance {
        part10: part10::write(sop_class, &sop, data_set),
        sop_instance_uid: sop,
        sop_class_uid: sop_class.into(),
        number: 1,
        rows: 0,
        columns: 0,
        expected_gray8: Vec::new(),
    }
}
