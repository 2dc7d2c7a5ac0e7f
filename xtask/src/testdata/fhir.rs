//! The FHIR R4 side of the data set: Patient, one DICOMweb Endpoint, and ImagingStudy
//! resources whose UIDs match the DICOM files.

use super::{Dataset, Patient, Study};
use serde_json::{json, Value};

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// The Endpoint's id: one per data set (prefix), so data sets loaded into one FHIR server keep
/// their own DICOMweb address.
pub fn endpoint_id(ds: &Dataset) -> String {
    format!("emr-{}-dicomweb", ds.id_prefix)
}

pub fn endpoint(ds: &Dataset, dicomweb_base: &str) -> Value {
    json!({
        "resourceType": "Endpoint",
        "id": endpoint_id(ds),
        "status": "active",
        "connectionType": {
            "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
            "code": "dicom-wado-rs"
        },
        "name": "emr-imaging synthetic DICOMweb",
        "payloadType": [{
            "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "code": "DICOM" }],
            "text": "DICOM"
        }],
        "payloadMimeType": ["application/dicom"],
        "address": dicomweb_base
    })
}

pub fn patient(p: &Patient) -> Value {
    json!({
        "resourceType": "Patient",
        "id": p.fhir_id,
        "identifier": [{
            "use": "usual",
            "type": { "coding": [{ "system": V2_0203, "code": "MR" }] },
            "system": p.mrn_system,
            "value": p.mrn
        }],
        "active": true,
        "name": [{ "use": "official", "family": p.family, "given": [p.given] }],
        "gender": match p.sex.as_str() { "F" => "female", "M" => "male", "O" => "other", _ => "unknown" },
        "birthDate": p.birth_date
    })
}

/// `YYYYMMDD` + `HHMMSS` → FHIR dateTime. DICOM times carry no zone; FHIR requires one with a
/// time, and UTC is as good as any for synthetic data.
fn started(study: &Study) -> String {
    let (d, t) = (&study.date, format!("{:0<6}", study.time));
    format!("{}-{}-{}T{}:{}:{}Z", &d[0..4], &d[4..6], &d[6..8], &t[0..2], &t[2..4], &t[4..6])
}

const SNOMED: &str = "http://snomed.info/sct";

/// The SNOMED CT code and display R4 binds `series.bodySite` to, for a BodyPartExamined
/// (the DICOM mapping of CID 4031).
fn body_site(part: &str) -> Option<(&'static str, &'static str)> {
    match part {
        "CHEST" => Some(("51185008", "Thoracic structure")),
        "HEAD" => Some(("69536005", "Head structure")),
        _ => None,
    }
}

/// The bodySite code the FHIR series of a BodyPartExamined carries.
pub fn body_site_code(part: &str) -> Option<&'static str> {
    body_site(part).map(|(code, _)| code)
}

fn modality(code: &str) -> Value {
    json!({ "system": DCM, "code": code })
}

pub fn imaging_study(ds: &Dataset, p: &Patient, study: &Study) -> Value {
    let mut modalities: Vec<&str> = Vec::new();
    for s in &study.series {
        if !modalities.contains(&s.modality.as_str()) {
            modalities.push(&s.modality);
        }
    }
    let instances: usize = study.series.iter().map(|s| s.instances.len()).sum();
    json!({
        "resourceType": "ImagingStudy",
        "id": study.fhir_id,
        "identifier": [
            { "use": "official", "system": "urn:dicom:uid", "value": format!("urn:oid:{}", study.uid) },
            {
                "use": "usual",
                "type": { "coding": [{ "system": V2_0203, "code": "ACSN" }] },
                "value": study.accession
            }
        ],
        "status": "available",
        "modality": modalities.iter().map(|m| modality(m)).collect::<Vec<_>>(),
        "subject": { "reference": format!("Patient/{}", p.fhir_id) },
        "started": started(study),
        "endpoint": [{ "reference": format!("Endpoint/{}", endpoint_id(ds)) }],
        "numberOfSeries": study.series.len(),
        "numberOfInstances": instances,
        "description": study.description,
        "series": study.series.iter().map(|s| {
            let mut series = json!({
                "uid": s.uid,
                "number": s.number,
                "modality": modality(&s.modality),
                "description": s.description,
                "numberOfInstances": s.instances.len(),
                "instance": s.instances.iter().map(|i| json!({
                    "uid": i.sop_instance_uid,
                    "sopClass": { "system": "urn:ietf:rfc:3986", "code": format!("urn:oid:{}", i.sop_class_uid) },
                    "number": i.number
                })).collect::<Vec<_>>()
            });
            if let Some((code, display)) = s.body_part.as_deref().and_then(body_site) {
                series["bodySite"] = json!({ "system": SNOMED, "code": code, "display": display });
            }
            series
        }).collect::<Vec<_>>()
    })
}

/// Endpoint first, then each Patient, then each ImagingStudy.
pub fn resources(ds: &Dataset, dicomweb_base: &str) -> Vec<Value> {
    let mut out = vec![endpoint(ds, dicomweb_base)];
    out.extend(ds.patients.iter().map(patient));
    for p in &ds.patients {
        out.extend(p.studies.iter().map(|s| imaging_study(ds, p, s)));
    }
    out
}

/// A transaction of PUTs to the generator's ids: reloading the same data set is idempotent.
pub fn transaction(ds: &Dataset, dicomweb_base: &str) -> Value {
    transaction_of(resources(ds, dicomweb_base))
}

/// `resources` as one transaction Bundle of PUTs to their own ids.
pub fn transaction_of(resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let url = format!("{}/{}", resource["resourceType"].as_str().unwrap_or_default(), resource["id"].as_str().unwrap_or_default());
            json!({ "resource": resource, "request": { "method": "PUT", "url": url } })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}
