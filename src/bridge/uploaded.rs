//! A study just stored through STOW-RS, before any FHIR server knows it: read back from the
//! PACS (QIDO-RS) at the base it was sent to, and recorded as an R4 ImagingStudy with its
//! Endpoint so the patient's list finds it from then on.
//!
//! One builder ([`draft_imaging_study`]) turns the QIDO answers into the ImagingStudy both ways
//! use: the study listed from the PACS alone carries it as its `resource`, and the transaction
//! that records it sends the same resource with the patient and the Endpoint filled in.

use super::{BridgeError, ImagingBridge, Service, Source, Study};
use crate::dicomweb::{DicomJson, DicomWebClient, QidoQuery};
use crate::fhir::{is_valid_id, ImagingStudy};
use crate::imaging::ImageHeader;
use crate::launch::iid::is_valid_uid;
use crate::net::Transport;
use dicom_parser_lite::{tags, Tag};
use serde_json::{json, Value};
use url::Url;

const MODALITIES_IN_STUDY: Tag = Tag(0x0008, 0x0061);
const TIMEZONE_OFFSET_FROM_UTC: Tag = Tag(0x0008, 0x0201);
const NUMBER_OF_STUDY_RELATED_SERIES: Tag = Tag(0x0020, 0x1206);
const NUMBER_OF_STUDY_RELATED_INSTANCES: Tag = Tag(0x0020, 0x1208);

const DICOM_UID_SYSTEM: &str = "urn:dicom:uid";
const DICOM_CODES: &str = "http://dicom.nema.org/resources/ontology/DCM";
/// The Endpoint's identifier system: its address names it, so one Endpoint serves every study
/// uploaded to the same base.
const URI_SYSTEM: &str = "urn:ietf:rfc:3986";
/// The Endpoint's `fullUrl` inside the Bundle: only a name the ImagingStudy's reference
/// resolves against, unique within the one Bundle.
const ENDPOINT_FULL_URL: &str = "urn:uuid:5b3c0d6e-8f1a-4c2b-9e7d-1a2b3c4d5e6f";

/// What the FHIR server did with the transaction that records a study.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedStudy {
    /// The FHIR id of the ImagingStudy, new or the one already there.
    pub imaging_study_id: String,
    /// The FHIR id of its Endpoint, when the server said.
    pub endpoint_id: Option<String>,
    /// False when an ImagingStudy with this Study Instance UID existed and none was made.
    pub created: bool,
}

/// The draft R4 ImagingStudy of a study as QIDO-RS describes it (its study-level answer and
/// its series): identifier, status, started, counts, modalities, accession and series. The
/// patient is named as the PACS names it (`subject.identifier` = PatientID, `display` = the
/// DICOM PatientName), since no FHIR Patient is known here; it has no id and no Endpoint.
pub fn draft_imaging_study(study: &DicomJson, series: &[DicomJson]) -> Result<Value, BridgeError> {
    let uid = study.string(tags::STUDY_INSTANCE_UID).filter(|u| is_valid_uid(u)).ok_or(BridgeError::InvalidQidoStudy)?;
    let mut listed: Vec<Value> = Vec::new();
    let mut modalities: Vec<String> = study.strings(MODALITIES_IN_STUDY).into_iter().filter(|m| !m.is_empty()).collect();
    let mut instances: u32 = 0;
    for item in series {
        let Some(series_uid) = item.string(tags::SERIES_INSTANCE_UID).filter(|u| is_valid_uid(u)) else { continue };
        let mut entry = json!({"uid": series_uid});
        if let Some(number) = item.u32(tags::SERIES_NUMBER) {
            entry["number"] = json!(number);
        }
        if let Some(modality) = item.string(tags::MODALITY) {
            entry["modality"] = json!({"system": DICOM_CODES, "code": modality});
            if !modalities.contains(&modality) {
                modalities.push(modality);
            }
        }
        if let Some(description) = item.string(tags::SERIES_DESCRIPTION) {
            entry["description"] = json!(description);
        }
        if let Some(count) = item.u32(tags::NUMBER_OF_SERIES_RELATED_INSTANCES) {
            entry["numberOfInstances"] = json!(count);
            instances = instances.saturating_add(count);
        }
        listed.push(entry);
    }
    let mut identifiers = vec![json!({"system": DICOM_UID_SYSTEM, "value": format!("urn:oid:{uid}")})];
    if let Some(accession) = study.string(tags::ACCESSION_NUMBER) {
        identifiers.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
            "value": accession
        }));
    }
    let mut resource = json!({"resourceType": "ImagingStudy", "identifier": identifiers, "status": "available"});
    let mut subject = serde_json::Map::new();
    if let Some(id) = study.string(tags::PATIENT_ID) {
        subject.insert("identifier".into(), json!({"value": id}));
    }
    if let Some(name) = study.string(tags::PATIENT_NAME) {
        subject.insert("display".into(), json!(name));
    }
    if !subject.is_empty() {
        resource["subject"] = Value::Object(subject);
    }
    if let Some(started) = started(study) {
        resource["started"] = json!(started);
    }
    let series_count = if listed.is_empty() { study.u32(NUMBER_OF_STUDY_RELATED_SERIES) } else { Some(listed.len() as u32) };
    let instance_count = if instances > 0 { Some(instances) } else { study.u32(NUMBER_OF_STUDY_RELATED_INSTANCES) };
    if let Some(n) = series_count {
        resource["numberOfSeries"] = json!(n);
    }
    if let Some(n) = instance_count {
        resource["numberOfInstances"] = json!(n);
    }
    if !modalities.is_empty() {
        resource["modality"] = modalities.iter().map(|m| json!({"system": DICOM_CODES, "code": m})).collect();
    }
    if let Some(description) = study.string(tags::STUDY_DESCRIPTION) {
        resource["description"] = json!(description);
    }
    if !listed.is_empty() {
        resource["series"] = Value::Array(listed);
    }
    Ok(resource)
}

/// The transaction Bundle that records `draft` (from [`draft_imaging_study`]) for FHIR
/// Patient `patient_id`, served at the DICOMweb `base`: a WADO-RS Endpoint at `base` and the
/// ImagingStudy referring to it, each a conditional create (`ifNoneExist` on its identifier:
/// the Study Instance UID, the Endpoint's address). A second upload of the same study then
/// makes neither a second ImagingStudy nor another Endpoint, and the ImagingStudy's reference
/// resolves to the Endpoint already there.
///
/// The Helios FHIR Server takes it as it is: a conditional create that matches answers `200 OK`
/// with the existing resource's location and the `urn:uuid` reference is rewritten to it; one
/// that matches twice (duplicates made elsewhere) fails the whole Bundle, so nothing is written.
/// It checks no reference target: the Patient's existence is the caller's to know.
pub fn imaging_study_transaction(patient_id: &str, base: &Url, draft: &Value) -> Result<Value, BridgeError> {
    if !is_valid_id(patient_id) {
        return Err(BridgeError::InvalidPatientId(patient_id.to_string()));
    }
    let uid = ImagingStudy::from_json(draft.clone()).map_err(|_| BridgeError::InvalidQidoStudy)?.study_uid;
    let address = base.as_str();
    let endpoint = json!({
        "resourceType": "Endpoint",
        "identifier": [{"system": URI_SYSTEM, "value": address}],
        "status": "active",
        "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "dicom-wado-rs"},
        "name": "DICOMweb",
        "payloadType": [{
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "code": "DICOM"}],
            "text": "DICOM"
        }],
        "payloadMimeType": ["application/dicom"],
        "address": address
    });
    let mut study = draft.clone();
    study["subject"] = json!({"reference": format!("Patient/{patient_id}")});
    study["endpoint"] = json!([{"reference": ENDPOINT_FULL_URL}]);
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": ENDPOINT_FULL_URL,
                "resource": endpoint,
                "request": {"method": "POST", "url": "Endpoint", "ifNoneExist": search(&[("identifier", &format!("{URI_SYSTEM}|{address}"))])}
            },
            {
                "resource": study,
                "request": {
                    "method": "POST",
                    "url": "ImagingStudy",
                    "ifNoneExist": search(&[("identifier", &format!("{DICOM_UID_SYSTEM}|urn:oid:{uid}"))])
                }
            }
        ]
    }))
}

/// What the transaction-response says about the Endpoint (first entry) and the ImagingStudy
/// (second): their ids from `response.location`, and whether the study was new (`201`).
pub fn recorded_study(response: &Value) -> Result<RecordedStudy, BridgeError> {
    let unexpected = |why: &str| BridgeError::UnexpectedTransactionResponse(why.to_string());
    let entries = response.get("entry").and_then(Value::as_array).ok_or_else(|| unexpected("no entries"))?;
    let outcome = |index: usize| entries.get(index).and_then(|e| e.get("response"));
    let status = |index: usize| outcome(index).and_then(|r| r.get("status")).and_then(Value::as_str).map(str::trim);
    let id = |index: usize, kind: &str| {
        let from_location = outcome(index)
            .and_then(|r| r.get("location"))
            .and_then(Value::as_str)
            .and_then(|l| crate::fhir::Reference(l.to_string()).id_of(kind));
        let from_resource =
            entries.get(index).and_then(|e| e.get("resource")).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(kind));
        from_location.or_else(|| from_resource.and_then(|r| r.get("id")).and_then(Value::as_str).map(str::to_string))
    };
    let study_status = status(1).ok_or_else(|| unexpected("no status for the ImagingStudy"))?;
    if !(study_status.starts_with("200") || study_status.starts_with("201")) {
        return Err(unexpected(&format!("the ImagingStudy entry answered {study_status}")));
    }
    let imaging_study_id = id(1, "ImagingStudy").ok_or_else(|| unexpected("no ImagingStudy id"))?;
    Ok(RecordedStudy { imaging_study_id, endpoint_id: id(0, "Endpoint"), created: study_status.starts_with("201") })
}

impl Study {
    /// The patient a study from the PACS alone ([`Source::PacsOnly`]) names in its QIDO-RS
    /// answer (PatientID, PatientName), to check against the patient in context before it is
    /// listed; `None` for a study FHIR describes.
    pub fn pacs_patient(&self) -> Option<ImageHeader> {
        if self.source != Source::PacsOnly {
            return None;
        }
        let subject = self.resource.get("subject");
        let text = |pointer: &str| subject.and_then(|s| s.pointer(pointer)).and_then(Value::as_str).map(str::to_string);
        Some(ImageHeader { patient_id: text("/identifier/value"), patient_name: text("/display"), ..ImageHeader::default() })
    }
}

/// A search query (`ifNoneExist`): `name=value` pairs, encoded.
fn search(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// FHIR `started` from StudyDate and StudyTime: the date alone unless the time zone is known
/// (TimezoneOffsetFromUTC), since a FHIR dateTime with a time must carry its offset.
fn started(study: &DicomJson) -> Option<String> {
    let date = study.string(tags::STUDY_DATE)?;
    let digits = |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    if date.len() != 8 || !digits(&date, 8) {
        return None;
    }
    let day = format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..8]);
    let time = study.string(tags::STUDY_TIME).filter(|t| digits(t, 2));
    let offset = study.string(TIMEZONE_OFFSET_FROM_UTC).filter(|o| o.len() == 5 && o.starts_with(['+', '-']) && digits(&o[1..], 4));
    let (Some(time), Some(offset)) = (time, offset) else { return Some(day) };
    let part = |at: usize| time.get(at..at + 2).filter(|p| digits(p, 2)).unwrap_or("00");
    Some(format!("{day}T{}:{}:{}{}:{}", part(0), part(2), part(4), &offset[..3], &offset[3..]))
}

impl<T: Transport> ImagingBridge<T> {
    /// The QIDO-RS answers for one study at `base`: its study-level attributes and its series.
    async fn qido_study(&self, base: &Url, study_uid: &str) -> Result<(DicomJson, Vec<DicomJson>), BridgeError> {
        if !is_valid_uid(study_uid) {
            return Err(BridgeError::InvalidStudyUid(study_uid.to_string()));
        }
        let client = DicomWebClient::new(base);
        let query = QidoQuery::default()
            .matching("StudyInstanceUID", study_uid)
            .include(&tags::STUDY_DESCRIPTION.json_key())
            .include(&TIMEZONE_OFFSET_FROM_UTC.json_key());
        let found = client.query_studies(&self.http, &query).await?;
        let study = found
            .into_iter()
            .find(|s| s.string(tags::STUDY_INSTANCE_UID).as_deref() == Some(study_uid))
            .ok_or_else(|| BridgeError::NotInPacs { base: crate::net::shown_address(client.base()), study_uid: study_uid.to_string() })?;
        let series =
            client.query_series(&self.http, study_uid, &QidoQuery::default().include(&tags::SERIES_DESCRIPTION.json_key())).await?;
        Ok((study, series))
    }

    /// Study `study_uid` as the DICOMweb service at `base` (the STOW-RS base, where QIDO and
    /// WADO answer too) describes it, with no FHIR server asked: [`Source::PacsOnly`], an empty
    /// `fhir_id`, the draft ImagingStudy as `resource`, and no FHIR patient (`patient_id` is
    /// `None`): whose it is, its images' headers say, and they are checked when drawn.
    pub async fn pacs_study(&self, base: &Url, study_uid: &str) -> Result<Study, BridgeError> {
        let (study, series) = self.qido_study(base, study_uid).await?;
        let draft = draft_imaging_study(&study, &series)?;
        let mut listed = Study::from_fhir(ImagingStudy::from_json(draft).map_err(|_| BridgeError::InvalidQidoStudy)?);
        let client = DicomWebClient::new(base);
        let service = Service { base: client.base().to_string(), headers: Vec::new(), withhold_token: false };
        listed.dicomweb_base = Some(service.base.clone());
        listed.service = Some(service);
        listed.source = Source::PacsOnly;
        Ok(listed)
    }

    /// Records study `study_uid` (read through QIDO-RS at `base`) on the FHIR server as an R4
    /// ImagingStudy of Patient `patient_id` with a WADO-RS Endpoint at `base`, in one
    /// transaction ([`imaging_study_transaction`]); an ImagingStudy with the same Study
    /// Instance UID already there is kept, and none is added.
    pub async fn create_imaging_study(&self, patient_id: &str, base: &Url, study_uid: &str) -> Result<RecordedStudy, BridgeError> {
        let study = self.pacs_study(base, study_uid).await?;
        self.record_pacs_study(patient_id, base, &study).await
    }

    /// As [`ImagingBridge::create_imaging_study`], for a study [`ImagingBridge::pacs_study`]
    /// read already (the session checks whose it is first).
    pub(crate) async fn record_pacs_study(&self, patient_id: &str, base: &Url, study: &Study) -> Result<RecordedStudy, BridgeError> {
        if study.source != Source::PacsOnly {
            return Err(BridgeError::InvalidQidoStudy);
        }
        let bundle = imaging_study_transaction(patient_id, base, &study.resource)?;
        let response = self.fhir.transaction(&self.http, &bundle).await?;
        recorded_study(&response)
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::bridge::BridgeConfig;
    use crate::fhir::{Endpoint, FhirError};
    use crate::net::native::block_on;
    use crate::net::{Method, NetError, Request, Response};
    use std::cell::RefCell;
    use std::time::Duration;

    const STUDY: &str = r#"[{"0020000D":{"vr":"UI","Value":["1.2.3"]},"00080020":{"vr":"DA","Value":["20261203"]},
        "00080030":{"vr":"TM","Value":["0840"]},"00080050":{"vr":"SH","Value":["ACC-9"]},
        "00080061":{"vr":"CS","Value":["XC"]},"00081030":{"vr":"LO","Value":["Wound photo"]},
        "00100010":{"vr":"PN","Value":[{"Alphabetic":"Alpha^Ann"}]},"00100020":{"vr":"LO","Value":["MRN-A"]},
        "00201206":{"vr":"IS","Value":[9]},"00201208":{"vr":"IS","Value":[99]}}]"#;
    const SERIES: &str = r#"[{"0020000E":{"vr":"UI","Value":["1.2.3.1"]},"00200011":{"vr":"IS","Value":[2]},
        "00080060":{"vr":"CS","Value":["XC"]},"0008103E":{"vr":"LO","Value":["Forearm"]},"00201209":{"vr":"IS","Value":[3]}},
        {"0020000E":{"vr":"UI","Value":["1.2.3.2"]},"00080060":{"vr":"CS","Value":["SR"]},"00201209":{"vr":"IS","Value":["1"]}},
        {"00080060":{"vr":"CS","Value":["OT"]}}]"#;

    fn qido(text: &str) -> Vec<DicomJson> {
        DicomJson::parse_array(text.as_bytes()).unwrap()
    }

    fn base() -> Url {
        Url::parse("http://pacs.test/dicom-web").unwrap()
    }

    #[test]
    fn the_draft_carries_what_qido_says_and_names_the_patient_as_the_pacs_does() {
        let draft = draft_imaging_study(&qido(STUDY)[0], &qido(SERIES)).unwrap();
        assert_eq!(draft["identifier"][0], json!({"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}));
        assert_eq!(draft["identifier"][1]["value"], "ACC-9");
        assert_eq!(draft["identifier"][1]["type"]["coding"][0]["code"], "ACSN");
        assert_eq!(draft["status"], "available");
        assert_eq!(draft["started"], "2026-12-03", "no time zone: the date alone");
        assert_eq!(draft["description"], "Wound photo");
        assert_eq!(draft["subject"], json!({"identifier": {"value": "MRN-A"}, "display": "Alpha^Ann"}));
        // The series listed win over the study-level counts; a series without a UID is left out.
        assert_eq!((draft["numberOfSeries"].as_u64(), draft["numberOfInstances"].as_u64()), (Some(2), Some(4)));
        let codes: Vec<&str> = draft["modality"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["XC", "SR"]);
        assert_eq!(
            draft["series"][0],
            json!({"uid": "1.2.3.1", "number": 2, "modality": {"system": DICOM_CODES, "code": "XC"}, "description": "Forearm", "numberOfInstances": 3})
        );
        assert_eq!(
            draft["series"][1],
            json!({"uid": "1.2.3.2", "modality": {"system": DICOM_CODES, "code": "SR"}, "numberOfInstances": 1})
        );
        assert!(draft.get("id").is_none() && draft.get("endpoint").is_none());
        // No series answer: the study-level counts.
        let alone = draft_imaging_study(&qido(STUDY)[0], &[]).unwrap();
        assert_eq!((alone["numberOfSeries"].as_u64(), alone["numberOfInstances"].as_u64()), (Some(9), Some(99)));
        assert!(alone.get("series").is_none());
    }

    #[test]
    fn started_has_a_time_only_with_its_offset_and_bad_dates_are_left_out() {
        let study = |date: &str, time: &str, offset: &str| {
            let mut item = json!({"0020000D": {"vr": "UI", "Value": ["1.2"]}, "00080020": {"vr": "DA", "Value": [date]}, "00080030": {"vr": "TM", "Value": [time]}});
            if !offset.is_empty() {
                item["00080201"] = json!({"vr": "SH", "Value": [offset]});
            }
            draft_imaging_study(&qido(&format!("[{item}]"))[0], &[]).unwrap()["started"].clone()
        };
        assert_eq!(study("20261203", "084005.123", "+0100"), json!("2026-12-03T08:40:05+01:00"));
        assert_eq!(study("20261203", "08", "-0500"), json!("2026-12-03T08:00:00-05:00"));
        assert_eq!(study("20261203", "0840", "CET"), json!("2026-12-03"), "an offset that is not ±HHMM");
        assert_eq!(study("2026-12-03", "0840", "+0100"), Value::Null);
        assert_eq!(study("202612", "", ""), Value::Null);
    }

    #[test]
    fn a_qido_answer_without_a_valid_study_uid_is_refused() {
        for item in [r#"[{}]"#, r#"[{"0020000D":{"vr":"UI","Value":["1.2,1.3"]}}]"#, r#"[{"0020000D":{"vr":"UI","Value":["01.2"]}}]"#] {
            assert_eq!(draft_imaging_study(&qido(item)[0], &[]), Err(BridgeError::InvalidQidoStudy), "{item}");
        }
    }

    #[test]
    fn the_transaction_creates_the_endpoint_and_study_only_if_none_exists() {
        let draft = draft_imaging_study(&qido(STUDY)[0], &qido(SERIES)).unwrap();
        let bundle = imaging_study_transaction("p-1", &base(), &draft).unwrap();
        assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("transaction")));
        let [endpoint, study] = bundle["entry"].as_array().unwrap().as_slice() else { panic!("two entries") };
        assert_eq!(endpoint["request"]["method"], "POST");
        assert_eq!(endpoint["request"]["url"], "Endpoint");
        assert_eq!(endpoint["request"]["ifNoneExist"], "identifier=urn%3Aietf%3Arfc%3A3986%7Chttp%3A%2F%2Fpacs.test%2Fdicom-web");
        let e = Endpoint::from_json(&endpoint["resource"]).unwrap();
        assert!(e.is_wado_rs() && e.is_usable());
        assert_eq!(e.address, "http://pacs.test/dicom-web");
        assert_eq!(endpoint["resource"]["payloadType"][0]["coding"][0]["code"], "DICOM");
        assert_eq!(
            study["request"],
            json!({"method": "POST", "url": "ImagingStudy", "ifNoneExist": "identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3"})
        );
        assert_eq!(study["resource"]["subject"], json!({"reference": "Patient/p-1"}), "the FHIR patient replaces the PACS's naming");
        assert_eq!(study["resource"]["endpoint"][0]["reference"], endpoint["fullUrl"]);
        assert!(endpoint["fullUrl"].as_str().unwrap().starts_with("urn:uuid:"));
        assert_eq!(study["resource"]["series"], draft["series"]);
        let parsed = ImagingStudy::from_json(study["resource"].clone()).unwrap();
        assert_eq!((parsed.study_uid.as_str(), parsed.accession.as_deref()), ("1.2.3", Some("ACC-9")));
        for bad in ["", "a/b", "x?y=1", &"p".repeat(65)] {
            assert_eq!(imaging_study_transaction(bad, &base(), &draft), Err(BridgeError::InvalidPatientId(bad.to_string())));
        }
        assert_eq!(imaging_study_transaction("p-1", &base(), &json!({"resourceType": "ImagingStudy"})), Err(BridgeError::InvalidQidoStudy));
    }

    #[test]
    fn the_transaction_response_says_which_study_and_whether_it_is_new() {
        let response = |status: &str, location: &str| {
            json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
                {"response": {"status": "201 Created", "location": "Endpoint/e-1/_history/1"}},
                {"response": {"status": status, "location": location}}]})
        };
        assert_eq!(
            recorded_study(&response("201 Created", "ImagingStudy/s-1/_history/1")),
            Ok(RecordedStudy { imaging_study_id: "s-1".into(), endpoint_id: Some("e-1".into()), created: true })
        );
        let again = recorded_study(&response("200 OK", "http://fhir.test/fhir/ImagingStudy/s-1/_history/1")).unwrap();
        assert_eq!((again.imaging_study_id.as_str(), again.created), ("s-1", false));
        // Without a location, the resource returned names it.
        let returned = json!({"resourceType": "Bundle", "entry": [{}, {"response": {"status": "201"}, "resource": {"resourceType": "ImagingStudy", "id": "s-2"}}]});
        assert_eq!(recorded_study(&returned).unwrap().imaging_study_id, "s-2");
        for bad in [
            response("400 Bad Request", "ImagingStudy/s-1"),
            response("201 Created", "Patient/x"),
            json!({"resourceType": "Bundle"}),
            json!({"resourceType": "Bundle", "entry": [{}]}),
        ] {
            assert!(matches!(recorded_study(&bad), Err(BridgeError::UnexpectedTransactionResponse(_))), "{bad}");
        }
    }

    /// Answers by method and the start of the path and query; records every request.
    struct Scripted {
        answers: Vec<(Method, &'static str, u16, String)>,
        seen: RefCell<Vec<(Method, String, Option<Value>)>>,
    }

    impl Transport for Scripted {
        async fn send(&self, request: Request) -> Result<Response, NetError> {
            let target = format!("{}{}", request.url.path(), request.url.query().map(|q| format!("?{q}")).unwrap_or_default());
            let body = request.body.as_deref().and_then(|b| serde_json::from_slice(b).ok());
            self.seen.borrow_mut().push((request.method, target.clone(), body));
            let (status, text) = self
                .answers
                .iter()
                .find(|(m, prefix, ..)| *m == request.method && target.starts_with(prefix))
                .map_or((404, "{}".to_string()), |(_, _, s, t)| (*s, t.clone()));
            Ok(Response { status, headers: vec![("Content-Type".into(), "application/json".into())], body: text.into_bytes() })
        }
        async fn sleep(&self, _: Duration) {}
        fn now_unix(&self) -> f64 {
            0.0
        }
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    fn bridge(answers: Vec<(Method, &'static str, u16, String)>) -> ImagingBridge<Scripted> {
        let config = BridgeConfig::new(Url::parse("http://fhir.test/fhir").unwrap());
        ImagingBridge::new(Scripted { answers, seen: RefCell::default() }, &config)
    }

    fn pacs() -> Vec<(Method, &'static str, u16, String)> {
        vec![
            (Method::Get, "/dicom-web/studies?StudyInstanceUID=1.2.3", 200, STUDY.into()),
            (Method::Get, "/dicom-web/studies/1.2.3/series", 200, SERIES.into()),
        ]
    }

    #[test]
    fn a_pacs_study_is_read_through_qido_at_the_base_it_was_sent_to() {
        let bridge = bridge(pacs());
        let study = block_on(bridge.pacs_study(&base(), "1.2.3")).unwrap();
        assert_eq!(study.source, Source::PacsOnly);
        assert_eq!((study.study_uid.as_str(), study.fhir_id.as_str()), ("1.2.3", ""));
        assert_eq!(study.dicomweb_base.as_deref(), Some("http://pacs.test/dicom-web"));
        assert_eq!((study.accession.as_deref(), study.started.as_deref()), (Some("ACC-9"), Some("2026-12-03")));
        assert_eq!(study.description.as_deref(), Some("Wound photo"));
        assert_eq!(study.patient_id, None, "no FHIR patient vouches for it");
        let series: Vec<String> =
            study.series.iter().map(|s| format!("{} {:?} {:?} {:?}", s.uid, s.number, s.modality, s.number_of_instances)).collect();
        assert_eq!(series, ["1.2.3.1 Some(2) Some(\"XC\") Some(3)", "1.2.3.2 None Some(\"SR\") Some(1)"]);
        assert_eq!(study.image_series().len(), 1);
        let header = study.pacs_patient().unwrap();
        assert_eq!((header.patient_id.as_deref(), header.patient_name.as_deref()), (Some("MRN-A"), Some("Alpha^Ann")));
        // Its images come from that base.
        let client = bridge.client_for_series(&study, Some("1.2.3.1")).unwrap();
        assert_eq!(client.base().as_str(), "http://pacs.test/dicom-web");
        let seen = bridge.http().transport().seen.borrow();
        assert!(seen[0].1.contains("includefield=00081030"), "{:?}", seen[0]);
    }

    #[test]
    fn a_study_the_pacs_does_not_list_or_a_bad_uid_is_a_typed_error() {
        let bridge = bridge(vec![(Method::Get, "/dicom-web/studies?", 200, "[]".into())]);
        assert!(matches!(block_on(bridge.pacs_study(&base(), "1.2.3")), Err(BridgeError::NotInPacs { .. })));
        assert_eq!(block_on(bridge.pacs_study(&base(), "1.2,1.3")), Err(BridgeError::InvalidStudyUid("1.2,1.3".into())));
        assert_eq!(bridge.http().transport().seen.borrow().len(), 1, "a bad UID is never sent");
    }

    #[test]
    fn creating_posts_one_transaction_to_the_fhir_base() {
        let mut answers = pacs();
        answers.push((
            Method::Post,
            "/fhir/",
            200,
            json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
                {"response": {"status": "201 Created", "location": "Endpoint/e-1/_history/1"}},
                {"response": {"status": "201 Created", "location": "ImagingStudy/s-1/_history/1"}}]})
            .to_string(),
        ));
        let bridge = bridge(answers);
        let recorded = block_on(bridge.create_imaging_study("p-1", &base(), "1.2.3")).unwrap();
        assert_eq!(recorded.imaging_study_id, "s-1");
        let seen = bridge.http().transport().seen.borrow();
        let posts: Vec<&(Method, String, Option<Value>)> = seen.iter().filter(|(m, ..)| *m == Method::Post).collect();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].1, "/fhir/");
        let bundle = posts[0].2.as_ref().unwrap();
        assert_eq!(bundle["entry"][1]["resource"]["subject"]["reference"], "Patient/p-1");
    }

    #[test]
    fn a_refused_write_is_the_fhir_servers_error_with_its_status() {
        let mut answers = pacs();
        let outcome =
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "read-only"}]});
        answers.push((Method::Post, "/fhir/", 403, outcome.to_string()));
        let bridge = bridge(answers);
        let Err(BridgeError::Fhir(FhirError::Net(NetError::Status { status, detail, .. }))) =
            block_on(bridge.create_imaging_study("p-1", &base(), "1.2.3"))
        else {
            panic!("a status error")
        };
        assert_eq!((status, detail.as_deref()), (403, Some("read-only")));
    }
}
