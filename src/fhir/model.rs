//! Normalised FHIR resources (DSTU2, STU3, R4/R4B, R5 shapes accepted).

use super::{bare_uid, FhirError};
use serde::Serialize;
use serde_json::Value;

/// A reference as written in the resource: `Endpoint/1`, `#contained`, or an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference(pub String);

/// A FHIR resource id: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl Reference {
    /// The id of a `{kind}/{id}` reference, relative or absolute (`…/fhir/Patient/7`); a
    /// versioned one (`Patient/7/_history/2`) names the same resource.
    pub fn id_of(&self, kind: &str) -> Option<String> {
        let text = self.0.split(['?', '#']).next().unwrap_or_default();
        let text = text.split("/_history/").next().unwrap_or(text);
        let (before, id) = text.rsplit_once('/')?;
        let named = before == kind || before.ends_with(&format!("/{kind}"));
        (named && is_valid_id(id)).then(|| id.to_string())
    }
}

/// An ImagingStudy reduced to what discovery and display need, plus the original resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagingStudy {
    pub id: String,
    pub study_uid: String,
    pub accession: Option<String>,
    pub status: Option<String>,
    pub started: Option<String>,
    pub description: Option<String>,
    pub modalities: Vec<String>,
    pub patient: Option<Reference>,
    pub endpoints: Vec<Reference>,
    pub number_of_series: Option<u32>,
    pub number_of_instances: Option<u32>,
    pub series: Vec<Series>,
    pub resource: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub uid: String,
    pub number: Option<u32>,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub number_of_instances: Option<u32>,
    /// The code of `series.bodySite` (R4 Coding, R5 CodeableReference): what priors are
    /// matched on.
    pub body_site: Option<String>,
    pub endpoints: Vec<Reference>,
    pub instances: Vec<SeriesInstance>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesInstance {
    pub uid: String,
    pub sop_class: Option<String>,
    pub number: Option<u32>,
}

/// An Endpoint: where and how to reach a DICOMweb (or IID) service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: Option<String>,
    pub address: String,
    pub connection_types: Vec<String>,
    pub status: Option<String>,
    /// `Endpoint.header` as written ("Name: value"), possibly with a `{token}` placeholder.
    /// Not serialised to the host: they may hold credentials.
    #[serde(skip)]
    pub headers: Vec<String>,
    /// The SMART imaging `requires-access-token` extension, when present.
    pub requires_access_token: Option<bool>,
}

/// The `requires-access-token` extension URLs (SMART-on-FHIR demo and Argonaut IG).
const REQUIRES_ACCESS_TOKEN: [&str; 2] = [
    "http://hl7.org/fhir/smart-app-launch/StructureDefinition/requires-access-token",
    "http://fhir.org/argonaut/smart-imaging/StructureDefinition/requires-access-token",
];

/// The patient facts used to prove that an image belongs to this patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: String,
    /// Identifier values (MRNs and the like), without systems: DICOM PatientID carries no system.
    pub identifiers: Vec<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn u32_at(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

/// A code from a Coding (`{code}`) or a CodeableConcept (`{coding:[{code}]}`).
fn code_of(v: &Value) -> Option<String> {
    str_at(v, "code").or_else(|| v.get("coding")?.as_array()?.iter().find_map(|c| str_at(c, "code"))).map(str::to_string)
}

fn references(v: &Value, key: &str) -> Vec<Reference> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|refs| refs.iter().filter_map(|r| str_at(r, "reference")).map(|r| Reference(r.to_string())).collect())
        .unwrap_or_default()
}

fn resource_type(v: &Value) -> &str {
    v.get("resourceType").and_then(Value::as_str).unwrap_or("")
}

fn expect_type(v: &Value, expected: &'static str) -> Result<(), FhirError> {
    let found = resource_type(v);
    if found == expected {
        Ok(())
    } else {
        Err(FhirError::UnexpectedResource { expected, found: found.to_string() })
    }
}

fn is_dicom_uid_identifier(identifier: &Value) -> bool {
    str_at(identifier, "system") == Some("urn:dicom:uid")
}

fn is_accession_identifier(identifier: &Value) -> bool {
    identifier
        .pointer("/type/coding")
        .and_then(Value::as_array)
        .is_some_and(|codings| codings.iter().any(|c| str_at(c, "code") == Some("ACSN")))
}

impl ImagingStudy {
    /// Normalises an ImagingStudy of any FHIR version.
    pub fn from_json(resource: Value) -> Result<Self, FhirError> {
        expect_type(&resource, "ImagingStudy")?;
        let r = &resource;
        let id = str_at(r, "id").unwrap_or_default().to_string();
        let identifiers = r.get("identifier").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        // R4+: identifier urn:dicom:uid; DSTU2/STU3: `uid`.
        let study_uid = identifiers
            .iter()
            .filter(|i| is_dicom_uid_identifier(i))
            .find_map(|i| str_at(i, "value"))
            .or_else(|| str_at(r, "uid"))
            .map(|uid| bare_uid(uid).to_string())
            .filter(|uid| !uid.is_empty())
            .ok_or_else(|| FhirError::MissingStudyUid { id: id.clone() })?;
        let accession = identifiers
            .iter()
            .find(|i| is_accession_identifier(i))
            .and_then(|i| str_at(i, "value"))
            .or_else(|| r.get("accession").and_then(|a| str_at(a, "value")))
            .map(str::to_string);
        let modalities = r
            .get("modality")
            .or_else(|| r.get("modalityList"))
            .and_then(Value::as_array)
            .map(|ms| ms.iter().filter_map(code_of).collect())
            .unwrap_or_default();
        let patient = r.get("subject").or_else(|| r.get("patient")).and_then(|p| str_at(p, "reference")).map(|p| Reference(p.to_string()));
        let series =
            r.get("series").and_then(Value::as_array).map(|all| all.iter().filter_map(Series::from_json).collect()).unwrap_or_default();
        Ok(ImagingStudy {
            id,
            study_uid,
            accession,
            status: str_at(r, "status").or_else(|| str_at(r, "availability")).map(str::to_string),
            started: str_at(r, "started").map(str::to_string),
            description: str_at(r, "description").map(str::to_string),
            modalities,
            patient,
            endpoints: references(r, "endpoint"),
            number_of_series: u32_at(r, "numberOfSeries"),
            number_of_instances: u32_at(r, "numberOfInstances"),
            series,
            resource,
        })
    }
}

impl Series {
    /// A series entry; one without a UID is dropped (it cannot be retrieved).
    fn from_json(s: &Value) -> Option<Series> {
        let uid = bare_uid(str_at(s, "uid")?).to_string();
        let instances = s
            .get("instance")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter_map(|i| {
                        Some(SeriesInstance {
                            uid: bare_uid(str_at(i, "uid")?).to_string(),
                            sop_class: i
                                .get("sopClass")
                                .and_then(|c| c.as_str().map(str::to_string).or_else(|| code_of(c)))
                                .map(|c| bare_uid(&c).to_string()),
                            number: u32_at(i, "number"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Series {
            uid,
            number: u32_at(s, "number"),
            modality: s.get("modality").and_then(code_of),
            description: str_at(s, "description").map(str::to_string),
            number_of_instances: u32_at(s, "numberOfInstances"),
            // R5 wraps the concept in a CodeableReference.
            body_site: s.get("bodySite").and_then(|b| code_of(b).or_else(|| b.get("concept").and_then(code_of))),
            endpoints: references(s, "endpoint"),
            instances,
        })
    }
}

impl Endpoint {
    pub fn from_json(r: &Value) -> Result<Self, FhirError> {
        expect_type(r, "Endpoint")?;
        // R4: connectionType is one Coding; R5: an array of CodeableConcepts.
        let connection_types = match r.get("connectionType") {
            Some(Value::Array(all)) => all.iter().filter_map(code_of).collect(),
            Some(one) => code_of(one).into_iter().collect(),
            None => Vec::new(),
        };
        let headers = r
            .get("header")
            .and_then(Value::as_array)
            .map(|hs| hs.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let requires_access_token = r.get("extension").and_then(Value::as_array).and_then(|exts| {
            exts.iter()
                .find(|e| str_at(e, "url").is_some_and(|u| REQUIRES_ACCESS_TOKEN.contains(&u)))
                .and_then(|e| e.get("valueBoolean")?.as_bool())
        });
        Ok(Endpoint {
            id: str_at(r, "id").map(str::to_string),
            address: str_at(r, "address").unwrap_or_default().to_string(),
            connection_types,
            status: str_at(r, "status").map(str::to_string),
            headers,
            requires_access_token,
        })
    }

    pub fn is_wado_rs(&self) -> bool {
        self.has_connection_type("dicom-wado-rs")
    }

    /// `dicom-wado-rs`, `dicom-qido-rs`, `dicom-stow-rs`, `ihe-iid`, …
    pub fn has_connection_type(&self, code: &str) -> bool {
        self.connection_types.iter().any(|c| c == code)
    }

    /// An Endpoint that is switched off (`off`, `error`, `entered-in-error`) is not used.
    pub fn is_usable(&self) -> bool {
        !matches!(self.status.as_deref(), Some("off" | "error" | "entered-in-error")) && !self.address.is_empty()
    }

    /// The `header` values as (name, value), `{token}` replaced by `token`. A header whose
    /// template needs a token we do not have (or may not send there) is left out, as is a
    /// header that is not "Name: value".
    pub fn resolved_headers(&self, token: Option<&str>) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|h| {
                let (name, value) = h.split_once(':')?;
                let (name, value) = (name.trim(), value.trim());
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
                    return None;
                }
                let value = if value.contains("{token}") { value.replace("{token}", token?) } else { value.to_string() };
                Some((name.to_string(), value))
            })
            .collect()
    }
}

impl Patient {
    pub fn from_json(r: &Value) -> Result<Self, FhirError> {
        expect_type(r, "Patient")?;
        let identifiers = r
            .get("identifier")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(|i| str_at(i, "value")).map(str::to_string).collect())
            .unwrap_or_default();
        let names = r.get("name").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        // Prefer the official name; else the first.
        let name = names.iter().find(|n| str_at(n, "use") == Some("official")).or_else(|| names.first());
        let family = name.and_then(|n| match n.get("family") {
            Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).next().map(str::to_string), // DSTU2
            Some(Value::String(f)) => Some(f.trim().to_string()),
            _ => None,
        });
        let given = name
            .and_then(|n| n.get("given")?.as_array())
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Patient {
            id: str_at(r, "id").unwrap_or_default().to_string(),
            identifiers,
            family,
            given,
            birth_date: str_at(r, "birthDate").map(str::to_string),
            gender: str_at(r, "gender").map(str::to_string),
        })
    }

    /// "FAMILY, Given" for banners.
    pub fn display_name(&self) -> String {
        match (&self.family, self.given.is_empty()) {
            (Some(f), false) => format!("{}, {}", crate::text::to_upper(f), self.given.join(" ")),
            (Some(f), true) => crate::text::to_upper(f),
            (None, false) => self.given.join(" "),
            (None, true) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_its_id_relative_absolute_or_versioned() {
        let id = |r: &str| Reference(r.into()).id_of("Patient");
        assert_eq!(id("Patient/p-1").as_deref(), Some("p-1"));
        assert_eq!(id("https://ehr.example/fhir/Patient/7").as_deref(), Some("7"));
        assert_eq!(id("Patient/7/_history/2").as_deref(), Some("7"));
        assert_eq!(id("Group/7"), None);
        assert_eq!(id("XPatient/7"), None);
        assert_eq!(id("Patient/"), None);
        assert_eq!(id("#contained"), None);
        assert_eq!(id("Patient/a b"), None);
    }
    use serde_json::json;

    /// The R4 specification's example (imagingstudy-example.json), trimmed to the fields we read.
    fn r4_example() -> Value {
        json!({
          "resourceType": "ImagingStudy", "id": "example",
          "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:2.16.124.113543.6003.1154777499.30246.19789.3503430045"}],
          "status": "available",
          "subject": {"reference": "Patient/dicom"},
          "started": "2011-01-01T11:01:20+03:00",
          "numberOfSeries": 1, "numberOfInstances": 1,
          "series": [{
            "uid": "2.16.124.113543.6003.2588828330.45298.17418.2723805630",
            "number": 3,
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "description": "CT Surview 180", "numberOfInstances": 1,
            "instance": [{"uid": "2.16.124.113543.6003.189642796.63084.16748.2599092903",
              "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"}, "number": 1}]
          }]
        })
    }

    #[test]
    fn r4_example_normalises() {
        let s = ImagingStudy::from_json(r4_example()).unwrap();
        assert_eq!(s.study_uid, "2.16.124.113543.6003.1154777499.30246.19789.3503430045");
        assert_eq!(s.patient, Some(Reference("Patient/dicom".into())));
        assert_eq!(s.series.len(), 1);
        assert_eq!(s.series[0].modality.as_deref(), Some("CT"));
        assert_eq!(s.series[0].instances[0].sop_class.as_deref(), Some("1.2.840.10008.5.1.4.1.1.2"));
        assert_eq!(s.resource["id"], "example");
    }

    /// The specification examples of each version (tests/fixtures/fhir), normalised to the same
    /// facts: the `example` CT (DSTU2, R4, R5) and the `example-xr` wrist study (STU3, R4, R5).
    mod spec_examples {
        use super::*;

        fn load(text: &str) -> ImagingStudy {
            ImagingStudy::from_json(serde_json::from_str(text).expect("fixture is JSON")).expect("normalises")
        }

        const CT_STUDY: &str = "2.16.124.113543.6003.1154777499.30246.19789.3503430045";
        const CT_SERIES: &str = "2.16.124.113543.6003.2588828330.45298.17418.2723805630";
        const CT_INSTANCE: &str = "2.16.124.113543.6003.189642796.63084.16748.2599092903";
        const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

        fn assert_ct_example(s: &ImagingStudy, patient: &str) {
            assert_eq!(s.id, "example");
            assert_eq!(s.study_uid, CT_STUDY, "urn:oid: stripped");
            assert_eq!(s.patient, Some(Reference(patient.into())));
            assert_eq!(s.started.as_deref(), Some("2011-01-01T11:01:20+03:00"));
            assert_eq!((s.number_of_series, s.number_of_instances), (Some(1), Some(1)));
            let series = &s.series[0];
            assert_eq!(series.uid, CT_SERIES);
            assert_eq!(series.number, Some(3));
            assert_eq!(series.modality.as_deref(), Some("CT"));
            assert_eq!(series.description.as_deref(), Some("CT Surview 180"));
            assert_eq!(series.body_site.as_deref(), Some("67734004"), "a Coding, or R5's CodeableReference");
            assert_eq!(series.instances.len(), 1);
            assert_eq!(series.instances[0].uid, CT_INSTANCE);
            assert_eq!(series.instances[0].sop_class.as_deref(), Some(CT_IMAGE_STORAGE));
            assert_eq!(series.instances[0].number, Some(1));
        }

        fn assert_xr_example(s: &ImagingStudy) {
            assert_eq!(s.id, "example-xr");
            assert_eq!(s.study_uid, "2.16.124.113543.6003.1154777499.30246.19789.3503430046");
            assert_eq!(s.accession.as_deref(), Some("W12342398"), "accession, not the secondary identifier");
            assert_eq!(s.modalities, ["DX"]);
            assert_eq!(s.patient, Some(Reference("Patient/dicom".into())));
            assert_eq!(s.started.as_deref(), Some("2017-01-01T11:01:20+03:00"));
            assert_eq!(s.endpoints, [Reference("Endpoint/example-wadors".into())]);
            assert_eq!(s.description.as_deref(), Some("XR Wrist 3+ Views"));
            let series = &s.series[0];
            assert_eq!(series.uid, "2.16.124.113543.6003.1154777499.30246.19789.3503430045.1");
            assert_eq!(series.modality.as_deref(), Some("DX"));
            assert_eq!(series.body_site.as_deref(), Some("74670003"));
            assert_eq!(series.endpoints, [Reference("Endpoint/example-wadors".into())], "series-level endpoint");
            assert_eq!(series.number_of_instances, Some(2));
            let uids: Vec<&str> = series.instances.iter().map(|i| i.uid.as_str()).collect();
            assert_eq!(
                uids,
                [
                    "2.16.124.113543.6003.1154777499.30246.19789.3503430045.1.1",
                    "2.16.124.113543.6003.1154777499.30246.19789.3503430045.1.2"
                ]
            );
            assert!(series.instances.iter().all(|i| i.sop_class.as_deref() == Some(CT_IMAGE_STORAGE)));
            assert_eq!(series.instances[1].number, Some(2));
        }

        #[test]
        fn dstu2_example() {
            let s = load(include_str!("../../tests/fixtures/fhir/dstu2-imagingstudy-example.json"));
            assert_ct_example(&s, "Patient/example");
            assert_eq!(s.status, None, "DSTU2's example has no availability");
        }

        #[test]
        fn stu3_example_xr() {
            let s = load(include_str!("../../tests/fixtures/fhir/stu3-imagingstudy-example-xr.json"));
            assert_xr_example(&s);
            assert_eq!(s.status.as_deref(), Some("ONLINE"), "availability stands in for status");
        }

        #[test]
        fn r4_examples() {
            let ct = load(include_str!("../../tests/fixtures/fhir/r4-imagingstudy-example.json"));
            assert_ct_example(&ct, "Patient/dicom");
            assert_eq!(ct.status.as_deref(), Some("available"));
            assert_xr_example(&load(include_str!("../../tests/fixtures/fhir/r4-imagingstudy-example-xr.json")));
        }

        #[test]
        fn r5_examples() {
            assert_ct_example(&load(include_str!("../../tests/fixtures/fhir/r5-imagingstudy-example.json")), "Patient/dicom");
            assert_xr_example(&load(include_str!("../../tests/fixtures/fhir/r5-imagingstudy-example-xr.json")));
        }

        #[test]
        fn endpoint_examples_r4_and_r5() {
            for text in [
                include_str!("../../tests/fixtures/fhir/r4-endpoint-example-wadors.json"),
                include_str!("../../tests/fixtures/fhir/r5-endpoint-example-wadors.json"),
            ] {
                let e = Endpoint::from_json(&serde_json::from_str(text).unwrap()).unwrap();
                assert!(e.is_wado_rs() && e.is_usable());
                assert_eq!(e.address, "https://pacs.hospital.org/wado-rs");
                assert_eq!(e.id.as_deref(), Some("example-wadors"));
                assert_eq!(e.requires_access_token, None);
            }
        }
    }

    #[test]
    fn dstu2_shape_normalises() {
        let s = ImagingStudy::from_json(json!({
            "resourceType": "ImagingStudy", "id": "x",
            "uid": "urn:oid:1.2.3", "patient": {"reference": "Patient/p"},
            "accession": {"value": "A1"}, "availability": "ONLINE",
            "modalityList": [{"code": "MR"}],
            "series": [{"uid": "urn:oid:1.2.3.4", "modality": {"code": "MR"},
                        "instance": [{"uid": "urn:oid:1.2.3.4.5", "sopClass": "urn:oid:1.2.840.10008.5.1.4.1.1.4"}]}]
        }))
        .unwrap();
        assert_eq!(s.study_uid, "1.2.3");
        assert_eq!(s.accession.as_deref(), Some("A1"));
        assert_eq!(s.modalities, ["MR"]);
        assert_eq!(s.series[0].uid, "1.2.3.4");
        assert_eq!(s.series[0].instances[0].sop_class.as_deref(), Some("1.2.840.10008.5.1.4.1.1.4"));
    }

    #[test]
    fn r5_codeable_concepts() {
        let s = ImagingStudy::from_json(json!({
            "resourceType": "ImagingStudy",
            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"},
                           {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]}, "value": "ACC9"}],
            "modality": [{"coding": [{"code": "CT"}]}],
            "series": [{"uid": "1.2.1", "modality": {"coding": [{"code": "CT"}]}}]
        }))
        .unwrap();
        assert_eq!(s.modalities, ["CT"]);
        assert_eq!(s.accession.as_deref(), Some("ACC9"));
        assert_eq!(s.series[0].modality.as_deref(), Some("CT"));
    }

    #[test]
    fn missing_uid_is_an_error_not_a_guess() {
        let e = ImagingStudy::from_json(json!({"resourceType": "ImagingStudy", "id": "q"})).unwrap_err();
        assert_eq!(e, FhirError::MissingStudyUid { id: "q".into() });
        assert!(ImagingStudy::from_json(json!({"resourceType": "Patient"})).is_err());
    }

    #[test]
    fn endpoint_connection_type_r4_and_r5() {
        let r4 = Endpoint::from_json(&json!({"resourceType": "Endpoint", "address": "https://pacs/wado",
            "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "dicom-wado-rs"}}))
        .unwrap();
        assert!(r4.is_wado_rs());
        let r5 = Endpoint::from_json(&json!({"resourceType": "Endpoint", "address": "https://pacs/wado",
            "connectionType": [{"coding": [{"code": "dicom-wado-rs"}]}]}))
        .unwrap();
        assert!(r5.is_wado_rs());
    }

    #[test]
    fn endpoint_headers_and_requires_access_token() {
        let e = Endpoint::from_json(&json!({"resourceType": "Endpoint", "address": "https://pacs/wado", "status": "active",
            "connectionType": {"code": "dicom-wado-rs"},
            "header": ["Authorization: Bearer {token}", "X-Site: north", "not a header", "Bad Name: x"],
            "extension": [{"url": "http://fhir.org/argonaut/smart-imaging/StructureDefinition/requires-access-token", "valueBoolean": true}]}))
        .unwrap();
        assert_eq!(e.requires_access_token, Some(true));
        assert_eq!(
            e.resolved_headers(Some("t0k")),
            [("Authorization".to_string(), "Bearer t0k".to_string()), ("X-Site".to_string(), "north".to_string())]
        );
        assert_eq!(e.resolved_headers(None), [("X-Site".to_string(), "north".to_string())], "no token: templated header left out");
        assert!(e.is_usable());
        let off = Endpoint::from_json(&json!({"resourceType": "Endpoint", "address": "x", "status": "off",
            "extension": [{"url": "http://hl7.org/fhir/smart-app-launch/StructureDefinition/requires-access-token", "valueBoolean": false}]})).unwrap();
        assert!(!off.is_usable());
        assert_eq!(off.requires_access_token, Some(false));
        assert!(!serde_json::to_string(&e).unwrap().contains("Bearer"), "headers never reach the host");
    }

    #[test]
    fn patient_name_and_identifiers() {
        let p = Patient::from_json(&json!({"resourceType": "Patient", "id": "p1",
            "identifier": [{"system": "urn:oid:1.2", "value": "MRN1"}],
            "name": [{"use": "nickname", "given": ["Jo"]}, {"use": "official", "family": "Doe", "given": ["Jane", "Q"]}],
            "birthDate": "1970-01-01"}))
        .unwrap();
        assert_eq!(p.identifiers, ["MRN1"]);
        assert_eq!(p.display_name(), "DOE, Jane Q");
    }
}
