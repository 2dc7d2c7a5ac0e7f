//! The viewer's own test cases, a data set of their own so the shared one keeps its shape:
//! a patient with a CT series and a DiagnosticReport that references it, and a patient whose
//! ImagingStudy points at images whose header names somebody else (the identity check must
//! withhold them). `ct_slices` lets a benchmark ask for a long stack.

use super::{
    fhir, image_series, make_instance, sanitise_prefix, uid, Dataset, ImageContext, Patient, Phantom, Series, SeriesPlan, Study, MRN_SYSTEM,
};
use base64::Engine as _;
use serde_json::{json, Value};

/// The FHIR id of the report on the first patient's CT study.
pub fn report_id(ds: &Dataset) -> String {
    format!("emr-{}-report-1", ds.id_prefix)
}

/// The report's conclusion and its plain-text presented form (with markup that must stay text).
pub const REPORT_CONCLUSION: &str = "No acute findings. Synthetic phantom study.";
pub const REPORT_TEXT: &str = "FINDINGS: <b>phantom</b> only.\nIMPRESSION: normal synthetic study.";

fn patient(prefix: &str, n: usize, family: &str, given: &str, birth_date: &str, sex: &str) -> Patient {
    Patient {
        fhir_id: format!("emr-{prefix}-{n}"),
        mrn: format!("{}-{}", prefix.to_ascii_uppercase(), 100_000 + n),
        mrn_system: MRN_SYSTEM.into(),
        family: family.into(),
        given: given.into(),
        birth_date: birth_date.into(),
        sex: sex.into(),
        studies: Vec::new(),
    }
}

/// One single-series study, with images whose header carries `header_patient`.
fn study(prefix: &str, key: &str, fhir_id: String, header_patient: &Patient, plan: &SeriesPlan, description: &str, date: &str) -> Study {
    let accession_hash = uid::hash128(&[prefix.as_bytes(), b"accession", key.as_bytes()]);
    let mut study = Study {
        uid: uid::uid(prefix, &format!("study/{key}"), 0),
        accession: format!("A{:010}", accession_hash % 10_000_000_000),
        date: date.into(),
        time: "101500".into(),
        description: description.into(),
        series: Vec::new(),
        fhir_id,
        key_images: Vec::new(),
    };
    let frame_of_reference = uid::uid(prefix, &format!("frame-of-reference/{key}"), 0);
    let series_key = format!("{key}/r1");
    let mut series = Series { landmarks: None, ..image_series(uid::uid(prefix, &format!("series/{series_key}"), 0), 1, plan) };
    for k in 0..plan.slices {
        let sop = uid::uid(prefix, &format!("instance/{series_key}"), k as u64);
        let ctx = ImageContext {
            patient: header_patient,
            study: &study,
            series: &series,
            study_id: 1,
            frame_of_reference: &frame_of_reference,
            plan,
        };
        series.instances.push(make_instance(&ctx, k, sop));
    }
    study.series.push(series);
    study
}

/// Patient 1: a CT chest of `ct_slices` slices (with a report); patient 2: a CT whose headers
/// name patient 1.
pub fn generate(prefix: &str, ct_slices: usize) -> Dataset {
    let prefix = sanitise_prefix(prefix);
    let mut vera = patient(&prefix, 1, "Viewer", "Vera", "1972-06-30", "F");
    let mut max = patient(&prefix, 2, "Mismatch", "Max", "1990-01-15", "M");
    let chest = SeriesPlan {
        modality: "CT",
        description: "Axial 5 mm soft tissue",
        phantom: Phantom::CtChest,
        slices: ct_slices.max(1),
        window: (40.0, 400.0),
        spacing: "0.7\\0.7",
        thickness: 5.0,
        slice_spacing: 5.0,
        first_position: 0.0,
        body_part: "CHEST",
    };
    let head = SeriesPlan {
        description: "Axial 5 mm brain",
        phantom: Phantom::CtHead,
        slices: 2,
        window: (40.0, 80.0),
        spacing: "0.9\\0.9",
        body_part: "HEAD",
        ..chest
    };
    let ct = study(&prefix, "p1/s1", format!("emr-{prefix}-study-1-1"), &vera, &chest, "CT Chest (viewer phantom)", "20240601");
    vera.studies.push(ct);
    // Max's FHIR study, but every header says Vera: a misfiled study.
    let misfiled = study(&prefix, "p2/s1", format!("emr-{prefix}-study-2-1"), &vera, &head, "CT Head (misfiled)", "20240602");
    max.studies.push(misfiled);
    Dataset { id_prefix: prefix, patients: vec![vera, max] }
}

/// A DiagnosticReport (R4) on the first patient's first study.
pub fn report(ds: &Dataset) -> Option<Value> {
    let p = ds.patients.first()?;
    let s = p.studies.first()?;
    Some(json!({
        "resourceType": "DiagnosticReport",
        "id": report_id(ds),
        "status": "final",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD" }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": "24627-2", "display": "Chest CT" }], "text": "CT Chest report" },
        "subject": { "reference": format!("Patient/{}", p.fhir_id) },
        "effectiveDateTime": format!("{}-{}-{}", &s.date[0..4], &s.date[4..6], &s.date[6..8]),
        "issued": format!("{}-{}-{}T12:00:00Z", &s.date[0..4], &s.date[4..6], &s.date[6..8]),
        "imagingStudy": [{ "reference": format!("ImagingStudy/{}", s.fhir_id) }],
        "conclusion": REPORT_CONCLUSION,
        "presentedForm": [{
            "contentType": "text/plain",
            "title": "Report text",
            "data": base64::engine::general_purpose::STANDARD.encode(REPORT_TEXT)
        }]
    }))
}

/// The data set's FHIR resources and the report, as one transaction of PUTs.
pub fn fhir_transaction(ds: &Dataset, dicomweb_base: &str) -> Value {
    let mut resources = fhir::resources(ds, dicomweb_base);
    resources.extend(report(ds));
    fhir::transaction_of(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misfiled_study_headers_name_the_other_patient() {
        let ds = generate("v", 3);
        assert_eq!(ds.patients.len(), 2);
        assert_eq!(ds.patients[0].studies[0].series[0].instances.len(), 3);
        let misfiled = &ds.patients[1].studies[0].series[0].instances[0].part10;
        let mrn0 = ds.patients[0].mrn.as_bytes();
        let mrn1 = ds.patients[1].mrn.as_bytes();
        assert!(misfiled.windows(mrn0.len()).any(|w| w == mrn0), "header carries patient 1's ID");
        assert!(!misfiled.windows(mrn1.len()).any(|w| w == mrn1), "and not patient 2's");
    }

    #[test]
    fn report_references_the_ct_study_and_decodes() {
        let ds = generate("v", 1);
        let bundle = fhir_transaction(&ds, "http://127.0.0.1:9/dicom-web");
        let entries = bundle["entry"].as_array().unwrap();
        let report = entries.iter().map(|e| &e["resource"]).find(|r| r["resourceType"] == "DiagnosticReport").unwrap();
        assert_eq!(report["imagingStudy"][0]["reference"], format!("ImagingStudy/{}", ds.patients[0].studies[0].fhir_id));
        let data = base64::engine::general_purpose::STANDARD.decode(report["presentedForm"][0]["data"].as_str().unwrap()).unwrap();
        assert_eq!(data, REPORT_TEXT.as_bytes());
    }
}
