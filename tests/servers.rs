//! The bridge against the real servers `cargo xtask test` starts (Orthanc + DICOMweb, Helios
//! FHIR Server) and loads with the "native" synthetic data set. Ignored in a plain `cargo test`:
//! they need those servers, and the xtask runs them with `--include-ignored`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use emr_imaging::bridge::{BridgeConfig, ImagingBridge, Source};
use emr_imaging::imaging::{check_header, decode_for, DecodedImage, IdentityMismatch};
use emr_imaging::net::native::{block_on, UreqTransport};
use emr_imaging::net::CancelToken;
use emr_imaging::session::{patient_context, Screen, Session, SessionConfig, SessionError, Update};
use serde_json::Value;
use std::path::PathBuf;
use url::Url;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests with `cargo xtask test`"))
}

fn data_dir() -> PathBuf {
    PathBuf::from(env("EMR_TEST_DATA"))
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(data_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn bridge() -> ImagingBridge<UreqTransport> {
    let config = BridgeConfig { memory_budget: 64 << 20, ..BridgeConfig::new(Url::parse(&env("EMR_TEST_FHIR_BASE")).unwrap()) };
    ImagingBridge::new(UreqTransport::new(), &config)
}

/// The first patient of the manifest and its CT study.
fn ct_patient(manifest: &Value) -> (&Value, &Value) {
    let patient = &manifest["patients"][0];
    let study =
        patient["studies"].as_array().unwrap().iter().find(|s| s["series"][0]["modality"] == "CT").expect("a CT study in the manifest");
    (patient, study)
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn studies_come_from_fhir_enriched_by_qido() {
    let manifest = manifest();
    let (patient, ct) = ct_patient(&manifest);
    let bridge = bridge();
    let studies = block_on(bridge.get_patient_studies(patient["fhir_id"].as_str().unwrap())).expect("studies");
    let expected: Vec<&str> = patient["studies"].as_array().unwrap().iter().map(|s| s["uid"].as_str().unwrap()).collect();
    assert_eq!(studies.len(), expected.len(), "one Study per FHIR ImagingStudy");
    for study in &studies {
        assert!(expected.contains(&study.study_uid.as_str()));
        assert_eq!(study.source, Source::Enriched, "{}", study.study_uid);
        assert!(study.dicomweb_base.as_deref().unwrap().ends_with("/dicom-web"));
    }
    let found = studies.iter().find(|s| s.study_uid == ct["uid"].as_str().unwrap()).unwrap();
    let slices = ct["series"][0]["instances"].as_array().unwrap().len() as u32;
    assert_eq!(found.series.len(), 1);
    assert_eq!(found.series[0].number_of_instances, Some(slices), "QIDO count");
    assert_eq!(found.modalities, ["CT"]);
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn ct_slice_pixels_equal_the_expected_rendering() {
    let manifest = manifest();
    let (patient, ct) = ct_patient(&manifest);
    let bridge = bridge();
    let fhir_patient = block_on(bridge.get_patient(patient["fhir_id"].as_str().unwrap())).expect("patient");
    let studies = block_on(bridge.get_patient_studies(&fhir_patient.id)).expect("studies");
    let study = studies.iter().find(|s| s.study_uid == ct["uid"].as_str().unwrap()).unwrap();
    let (series, instance) = block_on(bridge.first_image(study)).expect("first image");
    let first = &ct["series"][0]["instances"][0];
    assert_eq!(instance.uid, first["sop_instance_uid"].as_str().unwrap(), "first slice by InstanceNumber");
    let bytes = block_on(bridge.get_instance(study, &series.uid, &instance.uid, &CancelToken::new())).expect("WADO-RS instance");
    let image = DecodedImage::decode(&bytes).expect("decodes");
    check_header(&image.header, &patient_context(&fhir_patient)).expect("the image is this patient's");
    assert!(!image.header.lossy);
    let mut rgba = Vec::new();
    image.render_rgba(&image.default_window, &mut rgba).unwrap();
    let expected = std::fs::read(data_dir().join(first["expected"].as_str().unwrap())).expect("expected rendering");
    assert_eq!(expected.len(), (image.rows() * image.columns()) as usize);
    let gray: Vec<u8> = rgba.chunks_exact(4).map(|p| p[0]).collect();
    let mismatches = gray.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(mismatches, 0, "pixels differ from the expected LINEAR rendering");
    // A second fetch is served from memory: same bytes, same allocation.
    let again = block_on(bridge.get_instance(study, &series.uid, &instance.uid, &CancelToken::new())).unwrap();
    assert!(std::rc::Rc::ptr_eq(&bytes, &again));
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn another_patients_image_is_refused() {
    let manifest = manifest();
    let (_, ct) = ct_patient(&manifest);
    let other = &manifest["patients"][1];
    let bridge = bridge();
    let other_patient = block_on(bridge.get_patient(other["fhir_id"].as_str().unwrap())).unwrap();
    let bytes = std::fs::read(data_dir().join(ct["series"][0]["instances"][0]["file"].as_str().unwrap())).unwrap();
    let verified = decode_for(&bytes, &std::sync::Arc::new(patient_context(&other_patient)));
    assert!(matches!(verified, Err(emr_imaging::imaging::VerifyError::Mismatch(IdentityMismatch::PatientId { .. }))));
}

/// What the session told the screen.
#[derive(Default)]
struct Recorded(std::cell::RefCell<Vec<Update>>);

impl Screen for Recorded {
    fn apply(&self, update: Update) {
        self.0.borrow_mut().push(update);
    }
    fn failed(&self, error: &SessionError) {
        panic!("no failure expected: {error}");
    }
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn the_session_opens_a_patient_from_the_real_servers_and_switches_cleanly() {
    let manifest = manifest();
    let (patient, ct) = ct_patient(&manifest);
    let other = &manifest["patients"][1];
    let screen = std::rc::Rc::new(Recorded::default());
    let session = Session::new(bridge(), SessionConfig::default(), screen.clone());
    block_on(session.open_patient(patient["fhir_id"].as_str().unwrap())).expect("opens");
    let slices = ct["series"][0]["instances"].as_array().unwrap().len();
    {
        let updates = screen.0.borrow();
        let frames: Vec<(usize, &str)> = updates
            .iter()
            .filter_map(|u| {
                if let Update::StackFrame { instance_uid, image, position } = u {
                    Some((instance_uid, image, position))
                } else {
                    None
                }
            })
            .map(|(uid, image, position)| {
                assert_eq!(image.patient().id, patient["fhir_id"].as_str().unwrap());
                (*position, uid.as_str())
            })
            .collect();
        let shown_ct = updates.iter().any(|u| matches!(u, Update::StudyOpened(s) if s.study_uid == ct["uid"].as_str().unwrap()));
        if shown_ct {
            assert_eq!(frames.len(), slices, "every slice of the CT stacked");
            // Each at its place in display order, whatever order the server sent them in.
            for (position, uid) in &frames {
                assert_eq!(ct["series"][0]["instances"][*position]["sop_instance_uid"].as_str(), Some(*uid), "slice {position}");
            }
        }
        assert!(!frames.is_empty(), "a stack was filled");
    }
    // Switching to the other patient: the clear comes first, and only their images follow.
    let cleared_at = screen.0.borrow().len();
    block_on(session.open_patient(other["fhir_id"].as_str().unwrap())).expect("the other patient opens");
    let updates = screen.0.borrow();
    assert!(matches!(updates[cleared_at], Update::Cleared { patient_changed: true }));
    for u in &updates[cleared_at..] {
        if let Update::Image(shown) = u {
            assert_eq!(shown.image.patient().id, other["fhir_id"].as_str().unwrap());
        }
    }
    drop(updates);
    assert!(matches!(block_on(session.open_study(ct["uid"].as_str().unwrap())), Err(SessionError::StudyNotLoaded(_))));
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn unknown_patient_has_no_studies_and_unknown_study_is_a_404() {
    let bridge = bridge();
    let studies = block_on(bridge.get_patient_studies("no-such-patient")).expect("an empty search is not an error");
    assert!(studies.is_empty());
    let err = block_on(bridge.get_patient("no-such-patient")).unwrap_err();
    assert!(
        matches!(
            err,
            emr_imaging::bridge::BridgeError::Fhir(emr_imaging::fhir::FhirError::Net(emr_imaging::net::NetError::Status {
                status: 404,
                ..
            }))
        ),
        "{err}"
    );
}

fn http() -> emr_imaging::net::HttpClient<UreqTransport> {
    let fhir = Url::parse(&env("EMR_TEST_FHIR_BASE")).unwrap();
    emr_imaging::net::HttpClient::new(UreqTransport::new(), emr_imaging::net::AuthMapper::new(&fhir, &[]))
}

/// Replaces every occurrence of the UID `old` by one of the same length (last digit changed),
/// expecting `count` occurrences; returns the new UID. Same length keeps every element length valid.
fn replace_uid(bytes: &mut [u8], old: &str, count: usize) -> String {
    let last = old.as_bytes()[old.len() - 1];
    let new_last = if last == b'9' { b'8' } else { last + 1 };
    let new = format!("{}{}", &old[..old.len() - 1], new_last as char);
    let mut i = 0;
    let mut replaced = 0;
    while i + old.len() <= bytes.len() {
        if &bytes[i..i + old.len()] == old.as_bytes() {
            bytes[i..i + old.len()].copy_from_slice(new.as_bytes());
            replaced += 1;
            i += old.len();
        } else {
            i += 1;
        }
    }
    assert_eq!(replaced, count, "occurrences of {old}");
    new
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn stow_rs_round_trip_through_our_client() {
    let manifest = manifest();
    let (_, ct) = ct_patient(&manifest);
    let series = &ct["series"][0];
    let first = &series["instances"][0];
    let original = std::fs::read(data_dir().join(first["file"].as_str().unwrap())).unwrap();
    // A new study, series and instance, so the other tests' counts stay as loaded.
    let mut copy = original.clone();
    let study = replace_uid(&mut copy, ct["uid"].as_str().unwrap(), 1);
    let series_uid = replace_uid(&mut copy, series["uid"].as_str().unwrap(), 1);
    let new_uid = replace_uid(&mut copy, first["sop_instance_uid"].as_str().unwrap(), 2);
    let client = emr_imaging::dicomweb::DicomWebClient::new(&Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap());
    let http = http();
    let result = block_on(client.store_instances(&http, vec![copy.clone()])).expect("STOW-RS");
    assert_eq!(result.status, 200);
    assert_eq!(result.stored, std::slice::from_ref(&new_uid));
    assert!(result.failed.is_empty());
    let listed = block_on(client.search_instances(&http, &study, &series_uid)).unwrap();
    assert!(listed.iter().any(|i| i.string(dicom_parser_lite::Tag(0x0008, 0x0018)).as_deref() == Some(new_uid.as_str())), "QIDO finds it");
    let back = block_on(client.retrieve_instance(&http, &study, &series_uid, &new_uid)).expect("WADO-RS");
    let image = DecodedImage::decode(&back.bytes).unwrap();
    assert_eq!(image.header.sop_instance_uid.as_deref(), Some(new_uid.as_str()));
    let original_image = DecodedImage::decode(&original).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    image.render_rgba(&image.default_window, &mut a).unwrap();
    original_image.render_rgba(&original_image.default_window, &mut b).unwrap();
    assert!(a == b, "the stored copy renders exactly like the original");
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn fhir_search_follows_next_links_across_pages() {
    // 130 studies for one patient: more than our page size of 100.
    let fhir = env("EMR_TEST_FHIR_BASE");
    let patient = "native-paging";
    let mut entries = vec![serde_json::json!({
        "resource": {"resourceType": "Patient", "id": patient, "identifier": [{"value": "PAGING-1"}], "name": [{"family": "Paging"}]},
        "request": {"method": "PUT", "url": format!("Patient/{patient}")}})];
    for n in 0..130 {
        let id = format!("native-paging-{n}");
        entries.push(serde_json::json!({
            "resource": {"resourceType": "ImagingStudy", "id": id, "status": "available",
                "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:2.25.{}", 1000 + n)}],
                "subject": {"reference": format!("Patient/{patient}")}, "started": format!("2020-01-01T00:{:02}:00Z", n % 60)},
            "request": {"method": "PUT", "url": format!("ImagingStudy/{id}")}}));
    }
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let status =
        agent.post(&fhir).header("Content-Type", "application/fhir+json").send(&serde_json::to_vec(&bundle).unwrap()[..]).unwrap().status();
    assert!(status.is_success(), "loading 130 studies: {status}");
    let studies = block_on(bridge().get_patient_studies(patient)).expect("all pages");
    assert_eq!(studies.len(), 130);
    let mut uids: Vec<&str> = studies.iter().map(|s| s.study_uid.as_str()).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 130, "no study twice, none lost between pages");
    assert!(studies.iter().all(|s| s.source == Source::NoEndpoint));
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn include_brings_the_endpoint_and_filters_narrow_the_list() {
    let manifest = manifest();
    let patient = &manifest["patients"][0];
    let id = patient["fhir_id"].as_str().unwrap();
    let fhir = emr_imaging::fhir::FhirClient::new(&Url::parse(&env("EMR_TEST_FHIR_BASE")).unwrap());
    let http = http();
    let all = block_on(fhir.search_studies(&http, id)).expect("search");
    let endpoint_key = format!("Endpoint/{}", manifest["endpoint_id"].as_str().unwrap());
    let endpoint =
        all.endpoints.get(&endpoint_key).unwrap_or_else(|| panic!("_include brought {endpoint_key}: {:?}", all.endpoints.keys()));
    assert!(endpoint.is_wado_rs());
    assert_eq!(all.studies.len(), patient["studies"].as_array().unwrap().len());
    // Page size 1: one study per page, the Endpoint included on each.
    let paged = block_on(fhir.search_studies_filtered(&http, id, &emr_imaging::fhir::StudyFilter::default(), 1)).expect("paged");
    assert_eq!(paged.studies.len(), all.studies.len());
    assert_eq!(paged.pages, all.studies.len(), "one page per study, by next links");
    let modality = |m: &str| emr_imaging::fhir::StudyFilter { modality: vec![m.into()], ..Default::default() };
    for study in patient["studies"].as_array().unwrap() {
        let m = study["series"][0]["modality"].as_str().unwrap();
        let found = block_on(fhir.search_studies_filtered(&http, id, &modality(m), 100)).expect("by modality");
        assert!(found.studies.iter().any(|s| s.study_uid == study["uid"].as_str().unwrap()), "{m}");
        assert!(found.studies.iter().all(|s| s.modalities.iter().any(|x| x == m)), "only {m}");
    }
    let future = emr_imaging::fhir::StudyFilter { started_from: Some("2999-01-01".into()), ..Default::default() };
    assert!(block_on(fhir.search_studies_filtered(&http, id, &future, 100)).unwrap().studies.is_empty());
    let cancelled = emr_imaging::fhir::StudyFilter { status: vec!["cancelled".into()], ..Default::default() };
    assert!(block_on(fhir.search_studies_filtered(&http, id, &cancelled, 100)).unwrap().studies.is_empty());
    let bridge = bridge();
    let available = emr_imaging::fhir::StudyFilter { status: vec!["available".into()], ..Default::default() };
    let studies = block_on(bridge.get_patient_studies_filtered(id, &available)).expect("bridge with filter");
    assert_eq!(studies.len(), all.studies.len());
    assert!(studies.iter().all(|s| s.source == Source::Enriched));
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn qido_matching_paging_and_includefield() {
    let manifest = manifest();
    let patient = &manifest["patients"][0];
    let client = emr_imaging::dicomweb::DicomWebClient::new(&Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap());
    let http = http();
    use emr_imaging::dicomweb::QidoQuery;
    let by_patient = QidoQuery::default().matching("PatientID", patient["mrn"].as_str().unwrap()).include("00081030");
    let studies = block_on(client.query_studies(&http, &by_patient)).expect("QIDO studies");
    let expected = patient["studies"].as_array().unwrap();
    assert_eq!(studies.len(), expected.len());
    for s in &studies {
        let uid = s.string(dicom_parser_lite::Tag(0x0020, 0x000D)).unwrap();
        let want = expected.iter().find(|e| e["uid"] == uid.as_str()).expect("one of the patient's studies");
        assert_eq!(
            s.string(dicom_parser_lite::Tag(0x0008, 0x1030)).as_deref(),
            want["description"].as_str(),
            "includefield StudyDescription"
        );
    }
    let (ct_patient_value, ct) = ct_patient(&manifest);
    let _ = ct_patient_value;
    let series = &ct["series"][0];
    let slices = series["instances"].as_array().unwrap().len() as u32;
    let page1 = block_on(client.query_instances(
        &http,
        ct["uid"].as_str().unwrap(),
        series["uid"].as_str().unwrap(),
        &QidoQuery::default().page(2, 0),
    ))
    .unwrap();
    let page2 = block_on(client.query_instances(
        &http,
        ct["uid"].as_str().unwrap(),
        series["uid"].as_str().unwrap(),
        &QidoQuery::default().page(2, 2),
    ))
    .unwrap();
    assert_eq!((page1.len(), page2.len()), (2, (slices - 2).min(2) as usize));
    let uids: std::collections::HashSet<String> =
        page1.iter().chain(&page2).filter_map(|i| i.string(dicom_parser_lite::Tag(0x0008, 0x0018))).collect();
    assert_eq!(uids.len(), page1.len() + page2.len(), "offset pages do not overlap");
    let by_number = QidoQuery::default().matching("InstanceNumber", "1");
    let first = block_on(client.query_instances(&http, ct["uid"].as_str().unwrap(), series["uid"].as_str().unwrap(), &by_number)).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].string(dicom_parser_lite::Tag(0x0008, 0x0018)).as_deref(), series["instances"][0]["sop_instance_uid"].as_str());
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn wado_metadata_streamed_series_and_frames() {
    let manifest = manifest();
    let (patient, ct) = ct_patient(&manifest);
    let bridge = bridge();
    let studies = block_on(bridge.get_patient_studies(patient["fhir_id"].as_str().unwrap())).unwrap();
    let study = studies.iter().find(|s| s.study_uid == ct["uid"].as_str().unwrap()).unwrap();
    let series = &ct["series"][0];
    let series_uid = series["uid"].as_str().unwrap();
    let instances = series["instances"].as_array().unwrap();
    let client = bridge.client_for_series(study, Some(series_uid)).unwrap();

    let metadata = block_on(client.retrieve_metadata(bridge.http(), &study.study_uid, Some(series_uid))).expect("metadata");
    assert_eq!(metadata.len(), instances.len());
    for m in &metadata {
        assert_eq!(m.string(dicom_parser_lite::Tag(0x0020, 0x000E)).as_deref(), Some(series_uid));
        assert_eq!(m.u32(dicom_parser_lite::Tag(0x0028, 0x0010)), instances[0]["rows"].as_u64().map(|r| r as u32));
    }
    let study_metadata = block_on(client.retrieve_metadata(bridge.http(), &study.study_uid, None)).expect("study metadata");
    assert_eq!(study_metadata.len(), instances.len());

    // Series retrieve, streamed: every instance arrives whole, byte-identical to what was stored.
    let mut arrived: Vec<Vec<u8>> = Vec::new();
    let count = block_on(client.retrieve_series(bridge.http(), &study.study_uid, series_uid, None, &mut |r| arrived.push(r.bytes)))
        .expect("series");
    assert_eq!(count, instances.len());
    for instance in instances {
        let stored = std::fs::read(data_dir().join(instance["file"].as_str().unwrap())).unwrap();
        let uid = instance["sop_instance_uid"].as_str().unwrap();
        let got = arrived.iter().find(|b| DecodedImage::decode(b).ok().and_then(|i| i.header.sop_instance_uid).as_deref() == Some(uid));
        assert!(got.is_some(), "instance {uid} in the series response");
        assert_eq!(DecodedImage::decode(got.unwrap()).unwrap().rows(), DecodedImage::decode(&stored).unwrap().rows());
    }

    // Frames: frame 1 of a single-frame instance is its native pixel data.
    let first = &instances[0];
    let frames =
        block_on(client.retrieve_frames(bridge.http(), &study.study_uid, series_uid, first["sop_instance_uid"].as_str().unwrap(), &[1]))
            .expect("frames");
    let (rows, columns) = (first["rows"].as_u64().unwrap(), first["columns"].as_u64().unwrap());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].body.len() as u64, rows * columns * 2, "16-bit native frame");
    assert!(block_on(client.retrieve_frames(bridge.http(), &study.study_uid, series_uid, "1.2", &[0])).is_err(), "frames count from 1");
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn prefetch_loads_a_series_that_is_then_served_from_memory() {
    let manifest = manifest();
    let (patient, ct) = ct_patient(&manifest);
    let bridge = bridge();
    let studies = block_on(bridge.get_patient_studies(patient["fhir_id"].as_str().unwrap())).unwrap();
    let study = studies.iter().find(|s| s.study_uid == ct["uid"].as_str().unwrap()).unwrap();
    let series = &study.series[0];
    let report = block_on(bridge.prefetch_series(study, series, &CancelToken::new(), &mut |_| true)).expect("prefetch");
    let slices = ct["series"][0]["instances"].as_array().unwrap().len();
    assert_eq!((report.instances, report.cached, report.cancelled), (slices, slices, false), "{report:?}");
    assert!(report.failed.is_empty());
    let first = &ct["series"][0]["instances"][0];
    let a = block_on(bridge.get_instance(study, &series.uid, first["sop_instance_uid"].as_str().unwrap(), &CancelToken::new())).unwrap();
    let b = block_on(bridge.get_instance(study, &series.uid, first["sop_instance_uid"].as_str().unwrap(), &CancelToken::new())).unwrap();
    assert!(std::rc::Rc::ptr_eq(&a, &b), "served from memory after the prefetch");
    // A patient switch cancels and clears: the next request goes to the network again and works.
    bridge.clear_memory();
    let c = block_on(bridge.get_instance(study, &series.uid, first["sop_instance_uid"].as_str().unwrap(), &CancelToken::new())).unwrap();
    assert!(!std::rc::Rc::ptr_eq(&a, &c));
    assert_eq!(a, c);
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn paging_through_the_dev_proxy_stays_on_the_proxy_and_keeps_the_token() {
    // HFS writes absolute next links with its own base; behind the dev proxy they must lead
    // back through the proxy (which rewrites them), or the browser would leave the proxy's
    // origin (and, rightly, send no token there).
    let fhir = env("EMR_TEST_FHIR_BASE");
    let proxy = env("EMR_TEST_PROXY_URL");
    let patient = "native-proxy-paging";
    let mut entries = vec![serde_json::json!({
        "resource": {"resourceType": "Patient", "id": patient, "name": [{"family": "Proxy"}]},
        "request": {"method": "PUT", "url": format!("Patient/{patient}")}})];
    for n in 0..5 {
        let id = format!("{patient}-{n}");
        entries.push(serde_json::json!({
            "resource": {"resourceType": "ImagingStudy", "id": id, "status": "available",
                "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:2.25.77{n}")}],
                "subject": {"reference": format!("Patient/{patient}")}},
            "request": {"method": "PUT", "url": format!("ImagingStudy/{id}")}}));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let status =
        agent.post(&fhir).header("Content-Type", "application/fhir+json").send(&serde_json::to_vec(&bundle).unwrap()[..]).unwrap().status();
    assert!(status.is_success(), "{status}");

    let journal = format!("{proxy}/__devserver/requests");
    assert!(agent.delete(&journal).call().unwrap().status().is_success());
    let base = Url::parse(&format!("{proxy}/fhir/")).unwrap();
    let auth = emr_imaging::net::AuthMapper::new(&base, &[]);
    auth.set_token(Some("proxy-paging-token".into()));
    let http = emr_imaging::net::HttpClient::new(UreqTransport::new(), auth);
    let client = emr_imaging::fhir::FhirClient::new(&base);
    let found =
        block_on(client.search_studies_filtered(&http, patient, &emr_imaging::fhir::StudyFilter::default(), 2)).expect("search via proxy");
    assert_eq!(found.studies.len(), 5);
    assert_eq!(found.pages, 3, "2 + 2 + 1");
    let seen: Value = serde_json::from_reader(agent.get(&journal).call().unwrap().into_body().into_reader()).unwrap();
    let searches: Vec<&Value> = seen.as_array().unwrap().iter().filter(|r| r["path"] == "/fhir/ImagingStudy").collect();
    assert_eq!(searches.len(), 3, "every page went through the proxy: {seen}");
    assert!(searches.iter().all(|r| r["has_authorization"] == true), "with the token: {seen}");
}

/// The Helios FHIR Server (0.2.7) treats AuditEvent as server-written only: every client
/// create answers 405, in a batch too. The outbox must keep such events (never wiped without
/// a confirmation) and say why.
#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn audit_events_the_fhir_server_refuses_stay_in_the_outbox() {
    use emr_imaging::audit::outbox::{MemoryStore, Outbox, OutboxError, Queued};
    use emr_imaging::audit::{audit_event, Access, AccessKind, Actor};
    use emr_imaging::net::{AuthMapper, HttpClient};
    let base = Url::parse(&env("EMR_TEST_FHIR_BASE")).unwrap();
    let http = HttpClient::new(UreqTransport::new(), AuthMapper::new(&base, &[]));
    let outbox = Outbox::new(MemoryStore::default(), base.clone(), 10);
    let actor = Actor::new(None, Some("dr-test"), None, base.as_str());
    for i in 0..3 {
        let id = format!("00000000-0000-4000-8000-00000000000{i}");
        let event = audit_event(&Access::new(AccessKind::Query, Some("p-audit".into())), &actor, &id, 1.0e9 + f64::from(i));
        block_on(outbox.enqueue(Queued { id, seq: f64::from(i), event })).unwrap();
    }
    let errors = std::cell::RefCell::new(Vec::new());
    let drained = block_on(outbox.drain(&http, Some(1), &|e| errors.borrow_mut().push(e.clone())));
    assert!(!drained.empty);
    assert_eq!(errors.borrow().as_slice(), [OutboxError::Refused { count: 3, status: 405 }]);
    assert_eq!(outbox.store().len(), 3, "nothing confirmed, nothing removed");
    let url = format!("{}/AuditEvent?patient=Patient/p-audit", base.as_str().trim_end_matches('/'));
    let text = ureq::get(&url).call().unwrap().body_mut().read_to_string().unwrap();
    let search: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(search["entry"].as_array().map_or(0, Vec::len), 0);
}

/// pydicom's bundled test files (the parser corpus), for a real camera-style JPEG.
fn pydicom_file(name: &str) -> PathBuf {
    let script = format!("from pydicom.data import get_testdata_file; print(get_testdata_file({name:?}))");
    let out = std::process::Command::new("python3").args(["-c", &script]).output().expect("python3 with pydicom");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A JPEG as a phone writes it: the DCMTK test image's baseline JPEG, with an Exif APP1 segment.
fn phone_jpeg() -> Vec<u8> {
    let bytes = std::fs::read(pydicom_file("SC_rgb_jpeg_dcmtk.dcm")).unwrap();
    let file = dicom_parser_lite::parse(&bytes).unwrap();
    let Some(dicom_parser_lite::Value::Encapsulated { fragments, .. }) =
        file.dataset().get(dicom_parser_lite::tags::PIXEL_DATA).map(|e| e.value.clone())
    else {
        panic!("encapsulated")
    };
    let mut jpeg: Vec<u8> = fragments.concat();
    while jpeg.last() == Some(&0) {
        jpeg.pop();
    }
    let exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0";
    let mut phone = vec![0xFF, 0xD8, 0xFF, 0xE1];
    phone.extend(((exif.len() + 2) as u16).to_be_bytes());
    phone.extend(exif);
    phone.extend(&jpeg[2..]);
    phone
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn a_phone_jpeg_becomes_a_vl_photo_orthanc_stores_byte_for_byte_and_pydicom_reads() {
    use emr_imaging::upload::photo::{vl_photo, BodySite, PhotoContext, Picture};
    use emr_imaging::upload::stow::{send_batch, InstanceOutcome};
    // The FHIR side of the patient is the session's (tested there); here the DICOM side.
    let fhir_patient = emr_imaging::fhir::Patient {
        id: "photo-1".into(),
        identifiers: vec!["MRN-PHOTO-1".into()],
        family: Some("Photo".into()),
        given: vec!["Anna".into()],
        birth_date: Some("1970-01-31".into()),
        gender: Some("female".into()),
    };
    let jpeg = phone_jpeg();
    let mut n = 0u8;
    let context = PhotoContext {
        patient: fhir_patient.clone(),
        patient_id: fhir_patient.identifiers[0].clone(),
        study_uid: None,
        accession: None,
        body_site: Some(BodySite { code: "14975008".into(), scheme: "SCT".into(), meaning: "Forearm".into() }),
        date: "20261203".into(),
        time: "084000".into(),
        description: Some("Wound photo".into()),
    };
    let photo = vl_photo(Picture::Jpeg(&jpeg), &context, &mut || {
        n = n.wrapping_add(1);
        let mut b = [n; 16];
        b[..8].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
        b
    })
    .unwrap();
    // Our decoder shows it, as this patient's.
    let image = decode_for(&photo.part10, &std::sync::Arc::new(patient_context(&fhir_patient))).expect("decodes as the patient's");
    assert_eq!((image.columns(), image.rows()), (100, 100));
    assert!(image.header.lossy);

    let dicomweb = Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap();
    let client = emr_imaging::dicomweb::DicomWebClient::new(&dicomweb);
    let http = http();
    let batch = vec![(photo.sop_instance_uid.clone(), photo.part10.clone())];
    assert_eq!(block_on(send_batch(&http, &client, &batch)).unwrap(), [InstanceOutcome::Stored { warning: None }]);
    // A resend (a reload after the answer was lost) is done, not a second instance.
    let again = block_on(send_batch(&http, &client, &batch)).unwrap();
    assert!(again[0].is_done(), "{again:?}");
    let listed = block_on(client.search_instances(&http, &photo.study_uid, &photo.series_uid)).unwrap();
    assert_eq!(listed.len(), 1);
    let back = block_on(client.retrieve_instance(&http, &photo.study_uid, &photo.series_uid, &photo.sop_instance_uid)).unwrap();
    assert!(back.bytes == photo.part10, "Orthanc returns the file byte for byte");

    let path = std::env::temp_dir().join(format!("emr-imaging-photo-{}.dcm", std::process::id()));
    std::fs::write(&path, &photo.part10).unwrap();
    let jpeg_path = path.with_extension("jpg");
    std::fs::write(&jpeg_path, &jpeg).unwrap();
    let script = r#"
import json, sys, pydicom
from pydicom.encaps import generate_frames
ds = pydicom.dcmread(sys.argv[1])
frame = next(generate_frames(ds.PixelData, number_of_frames=1))
jpeg = open(sys.argv[2], 'rb').read()
print(json.dumps({"sop_class": ds.SOPClassUID, "patient_id": ds.PatientID, "name": str(ds.PatientName),
  "syntax": ds.file_meta.TransferSyntaxUID, "modality": ds.Modality, "site": ds.AnatomicRegionSequence[0].CodeValue,
  "same_jpeg": frame.rstrip(b"\0") == jpeg}))
"#;
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&path).arg(&jpeg_path).output().unwrap();
    let _ = (std::fs::remove_file(&path), std::fs::remove_file(&jpeg_path));
    assert!(out.status.success(), "pydicom: {}", String::from_utf8_lossy(&out.stderr));
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["sop_class"], "1.2.840.10008.5.1.4.1.1.77.1.4");
    assert_eq!(read["patient_id"], fhir_patient.identifiers[0]);
    assert!(read["name"].as_str().unwrap().starts_with(fhir_patient.family.as_deref().unwrap()));
    assert_eq!(read["syntax"], "1.2.840.10008.1.2.4.50");
    assert_eq!(read["modality"], "XC");
    assert_eq!(read["site"], "14975008");
    assert_eq!(read["same_jpeg"], true, "the JPEG bytes are unchanged");
}

/// A folder of 40 photos through the resumable queue into Orthanc, with the page "reloaded"
/// (the run stopped, a new one started on the same stored queue) after two batches: Orthanc
/// holds exactly the 40 instances, byte for byte, and no file went out again after its
/// confirmation. Prints the queue's throughput beside one curl STOW of the same files.
#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn forty_files_survive_a_reload_mid_queue_and_arrive_once_byte_for_byte() {
    use emr_imaging::upload::photo::{vl_photo, PhotoContext, Picture};
    use emr_imaging::upload::queue::{run, Limits, MemoryQueue, QueueError, QueueStore, Waiting, Watch};
    use emr_imaging::upload::stow::InstanceOutcome;
    use std::cell::{Cell, RefCell};

    /// The stored queue, whose page goes away after `reload_after` confirmations.
    struct Reloading<'a> {
        queue: &'a MemoryQueue,
        finished: Cell<usize>,
        reload_after: Option<usize>,
    }
    impl QueueStore for Reloading<'_> {
        async fn waiting(&self) -> Result<Vec<Waiting>, QueueError> {
            self.queue.waiting().await
        }
        async fn bytes(&self, uid: &str) -> Result<Option<Vec<u8>>, QueueError> {
            if self.reload_after.is_some_and(|n| self.finished.get() >= n) {
                return Err(QueueError::Store("the page reloaded".into()));
            }
            self.queue.bytes(uid).await
        }
        async fn finish(&self, uid: &str, outcome: &InstanceOutcome) -> Result<(), QueueError> {
            self.finished.set(self.finished.get() + 1);
            self.queue.finish(uid, outcome).await
        }
    }

    let patient = emr_imaging::fhir::Patient {
        id: "folder-1".into(),
        identifiers: vec!["MRN-FOLDER-1".into()],
        family: Some("Folder".into()),
        given: vec![],
        birth_date: None,
        gender: None,
    };
    let mut random = counted_random(std::process::id().to_be_bytes(), 0);
    let study = emr_imaging::upload::uid_from_random(random());
    let context = PhotoContext {
        patient,
        patient_id: "MRN-FOLDER-1".into(),
        study_uid: Some(study.clone()),
        accession: None,
        body_site: None,
        date: "20261203".into(),
        time: "090000".into(),
        description: Some("Folder".into()),
    };
    let files: Vec<_> = (0..40u32)
        .map(|i| {
            let pixels: Vec<u8> = (0..256 * 256 * 3).map(|p| ((p as u32 * 7 + i * 31) % 251) as u8).collect();
            vl_photo(Picture::Rgb { width: 256, height: 256, pixels: &pixels }, &context, &mut random).unwrap()
        })
        .collect();
    let queue = MemoryQueue::default();
    for f in &files {
        queue.push(&f.sop_instance_uid, f.part10.clone());
    }
    let dicomweb = Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap();
    let client = emr_imaging::dicomweb::DicomWebClient::new(&dicomweb);
    let http = http();
    let limits = Limits { max_batch_files: 8, ..Limits::default() };
    let sent_after_confirmation = RefCell::new(Vec::<String>::new());
    let confirmed = RefCell::new(Vec::<String>::new());
    let progress = |uid: &str, outcome: &InstanceOutcome| {
        if confirmed.borrow().iter().any(|c| c == uid) {
            sent_after_confirmation.borrow_mut().push(uid.to_string());
        }
        if outcome.is_done() {
            confirmed.borrow_mut().push(uid.to_string());
        }
    };
    let started = std::time::Instant::now();
    let first = Reloading { queue: &queue, finished: Cell::new(0), reload_after: Some(16) };
    assert!(
        block_on(run(&http, &client, &first, limits, &Watch { outcome: &progress, failed: &|_| {} })).is_err(),
        "the page went away mid-queue"
    );
    assert_eq!(queue.waiting_now(), 24);
    let second = Reloading { queue: &queue, finished: Cell::new(0), reload_after: None };
    let ran = block_on(run(&http, &client, &second, limits, &Watch { outcome: &progress, failed: &|_| {} })).unwrap();
    let ours = started.elapsed();
    assert!(ran.empty);
    assert!(sent_after_confirmation.borrow().is_empty(), "sent again after confirmation: {:?}", sent_after_confirmation.borrow());
    let series: std::collections::BTreeSet<&str> = files.iter().map(|f| f.series_uid.as_str()).collect();
    let mut held = 0;
    for f in &files {
        let back = block_on(client.retrieve_instance(&http, &study, &f.series_uid, &f.sop_instance_uid)).unwrap();
        assert!(back.bytes == f.part10, "{} byte for byte", f.sop_instance_uid);
        held += 1;
    }
    let mut listed = 0;
    for s in &series {
        listed += block_on(client.search_instances(&http, &study, s)).unwrap().len();
    }
    assert_eq!((held, listed), (40, 40), "exactly the 40 instances");

    // The same bytes in one STOW by curl, for the note (printed, not asserted).
    let parts: Vec<emr_imaging::dicomweb::multipart::Part> = files
        .iter()
        .map(|f| emr_imaging::dicomweb::multipart::Part {
            headers: vec![("Content-Type".into(), "application/dicom".into())],
            body: f.part10.clone(),
        })
        .collect();
    let (body, content_type) = emr_imaging::dicomweb::multipart::encode("application/dicom", &parts);
    let path = std::env::temp_dir().join(format!("emr-imaging-stow-{}.bin", std::process::id()));
    std::fs::write(&path, &body).unwrap();
    let curl_started = std::time::Instant::now();
    let status = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-X", "POST", "-H", &format!("Content-Type: {content_type}"), "--data-binary"])
        .arg(format!("@{}", path.display()))
        .arg(format!("{}/studies", dicomweb.as_str().trim_end_matches('/')))
        .status();
    let curl = curl_started.elapsed();
    let _ = std::fs::remove_file(&path);
    let mb = body.len() as f64 / 1e6;
    eprintln!(
        "upload 40 files, {mb:.1} MB: queue (batches of 8, one reload) {:.0} ms = {:.1} MB/s; curl one STOW {:.0} ms = {:.1} MB/s ({status:?})",
        ours.as_secs_f64() * 1000.0,
        mb / ours.as_secs_f64(),
        curl.as_secs_f64() * 1000.0,
        mb / curl.as_secs_f64()
    );
}

/// A folder with a file of another patient: the local check refuses it with its reason, the
/// queue never holds it, and after the upload Orthanc has the patient's files and not that one.
#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn a_file_of_another_patient_is_refused_and_never_reaches_orthanc() {
    use emr_imaging::upload::photo::{vl_photo, PhotoContext, Picture};
    use emr_imaging::upload::queue::{run, Limits, MemoryQueue, Watch};
    use emr_imaging::upload::{LocalFile, Refusal};
    let person = |id: &str, mrn: &str, family: &str| emr_imaging::fhir::Patient {
        id: id.into(),
        identifiers: vec![mrn.into()],
        family: Some(family.into()),
        given: vec![],
        birth_date: None,
        gender: None,
    };
    let (ours, theirs) = (person("mixed-1", "MRN-MIXED-1", "Ours"), person("mixed-2", "MRN-MIXED-2", "Theirs"));
    let mut random = counted_random(std::process::id().to_be_bytes(), 0x5a);
    let photo = |patient: &emr_imaging::fhir::Patient, random: &mut dyn FnMut() -> [u8; 16]| {
        let context = PhotoContext {
            patient: patient.clone(),
            patient_id: patient.identifiers[0].clone(),
            study_uid: None,
            accession: None,
            body_site: None,
            date: "20261203".into(),
            time: "100000".into(),
            description: None,
        };
        vl_photo(Picture::Rgb { width: 2, height: 2, pixels: &[7; 12] }, &context, random).unwrap()
    };
    let folder = [photo(&ours, &mut random), photo(&theirs, &mut random), photo(&ours, &mut random)];
    let context = patient_context(&ours);
    let queue = MemoryQueue::default();
    let mut refused = Vec::new();
    for (i, f) in folder.iter().enumerate() {
        match LocalFile::accept(&format!("IMG{i}.dcm"), &f.part10, &context) {
            Ok(file) => queue.push(&file.sop_instance_uid, f.part10.clone()),
            Err(refusal) => refused.push((i, refusal)),
        }
    }
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, 1);
    assert!(matches!(refused[0].1, Refusal::OtherPatient(_)), "{}", refused[0].1);
    assert!(refused[0].1.to_string().starts_with("not this patient's"), "the reason shown: {}", refused[0].1);
    assert_eq!(queue.waiting_now(), 2);

    let dicomweb = Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap();
    let client = emr_imaging::dicomweb::DicomWebClient::new(&dicomweb);
    let http = http();
    let ran = block_on(run(&http, &client, &queue, Limits::default(), &Watch { outcome: &|_, _| {}, failed: &|_| {} })).unwrap();
    assert!(ran.empty);
    for f in [&folder[0], &folder[2]] {
        assert_eq!(block_on(client.search_instances(&http, &f.study_uid, &f.series_uid)).unwrap().len(), 1);
    }
    let other = &folder[1];
    let held = block_on(client.search_instances(&http, &other.study_uid, &other.series_uid)).map(|l| l.len()).unwrap_or(0);
    assert_eq!(held, 0, "Orthanc never received the other patient's file");
}

/// A FHIR Patient of its own on Helios (`PUT`), and a study of `photos` photos of them stored
/// in Orthanc through our STOW client, as the upload panel sends it. Returns the study's UID.
fn uploaded_study(tag: &str, photos: u32, accession: Option<&str>) -> (emr_imaging::fhir::Patient, String) {
    use emr_imaging::upload::photo::{vl_photo, PhotoContext, Picture};
    use emr_imaging::upload::stow::{send_batch, InstanceOutcome};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let id = format!("upl-{tag}-{}-{nanos}", std::process::id());
    let mrn = format!("MRN-{id}");
    let fhir = env("EMR_TEST_FHIR_BASE");
    let resource = serde_json::json!({"resourceType": "Patient", "id": id,
        "identifier": [{"system": "urn:emr-imaging:mrn", "value": mrn}], "name": [{"family": "Upload", "given": ["Una"]}]});
    let response = ureq::put(&format!("{}/Patient/{id}", fhir.trim_end_matches('/')))
        .header("Content-Type", "application/fhir+json")
        .send(resource.to_string().as_bytes())
        .unwrap();
    assert!(response.status().is_success());
    let patient = emr_imaging::fhir::Patient::from_json(&resource).unwrap();
    let mut random = counted_random((std::process::id() ^ nanos).to_be_bytes(), tag.len() as u8);
    let study = emr_imaging::upload::uid_from_random(random());
    let context = PhotoContext {
        patient: patient.clone(),
        patient_id: mrn,
        study_uid: Some(study.clone()),
        accession: accession.map(Into::into),
        body_site: None,
        date: "20270102".into(),
        time: "101500".into(),
        description: Some("Uploaded".into()),
    };
    let batch: Vec<(String, Vec<u8>)> = (0..photos)
        .map(|i| {
            let pixels: Vec<u8> = (0..16 * 16 * 3).map(|p| ((p as u32 * 5 + i * 17) % 251) as u8).collect();
            let photo = vl_photo(Picture::Rgb { width: 16, height: 16, pixels: &pixels }, &context, &mut random).unwrap();
            (photo.sop_instance_uid, photo.part10)
        })
        .collect();
    let client = emr_imaging::dicomweb::DicomWebClient::new(&Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap());
    let outcomes = block_on(send_batch(&http(), &client, &batch)).unwrap();
    assert!(outcomes.iter().all(|o| *o == InstanceOutcome::Stored { warning: None }), "{outcomes:?}");
    (patient, study)
}

/// How many resources of `kind` the FHIR server has with identifier `token`.
fn count_with_identifier(kind: &str, token: &str) -> usize {
    let mut url = Url::parse(&format!("{}/{kind}", env("EMR_TEST_FHIR_BASE").trim_end_matches('/'))).unwrap();
    url.query_pairs_mut().append_pair("identifier", token).append_pair("_count", "100");
    let text = ureq::get(url.as_str()).call().unwrap().body_mut().read_to_string().unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    bundle["entry"].as_array().map_or(0, |entries| entries.iter().filter(|e| e["resource"]["resourceType"] == kind).count())
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn an_uploaded_study_is_read_back_through_qido_and_recorded_once_in_fhir() {
    let (patient, uid) = uploaded_study("record", 3, Some("ACC-UPL-1"));
    let base = Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap();
    let bridge = bridge();
    let study = block_on(bridge.pacs_study(&base, &uid)).expect("QIDO finds the study");
    assert_eq!(study.source, Source::PacsOnly);
    assert_eq!(study.accession.as_deref(), Some("ACC-UPL-1"));
    assert_eq!(study.started.as_deref(), Some("2027-01-02"));
    assert_eq!(study.modalities, ["XC"]);
    assert_eq!((study.number_of_series, study.number_of_instances), (Some(3), Some(3)), "a series per photo");
    assert!(study.series.iter().all(|s| s.number_of_instances == Some(1) && s.modality.as_deref() == Some("XC")));
    assert_eq!(study.pacs_patient().unwrap().patient_id.as_deref(), Some(patient.identifiers[0].as_str()));
    check_header(&study.pacs_patient().unwrap(), &patient_context(&patient)).expect("the PACS names our patient");

    let recorded = block_on(bridge.create_imaging_study(&patient.id, &base, &uid)).expect("recorded");
    assert!(recorded.created);
    let listed = block_on(bridge.get_patient_studies(&patient.id)).expect("the patient's studies");
    assert_eq!(listed.len(), 1);
    let found = &listed[0];
    assert_eq!((found.study_uid.as_str(), found.fhir_id.as_str()), (uid.as_str(), recorded.imaging_study_id.as_str()));
    assert_eq!(found.source, Source::Enriched, "its Endpoint resolved and QIDO answered there");
    assert_eq!(found.dicomweb_base.as_deref(), Some(emr_imaging::dicomweb::DicomWebClient::new(&base).base().as_str()));
    assert_eq!((found.number_of_series, found.number_of_instances), (Some(3), Some(3)));
    assert_eq!(found.patient_id.as_deref(), Some(patient.id.as_str()));
    assert_eq!(found.accession.as_deref(), Some("ACC-UPL-1"));
    // The instance the study lists is this patient's when drawn.
    let (series, instance) = block_on(bridge.first_image(found)).unwrap();
    let bytes = block_on(bridge.get_instance(found, &series.uid, &instance.uid, &CancelToken::new())).unwrap();
    decode_for(&bytes, &std::sync::Arc::new(patient_context(&patient))).expect("verified as the patient's");

    // A second upload of the same study makes no second ImagingStudy, nor another Endpoint.
    let again = block_on(bridge.create_imaging_study(&patient.id, &base, &uid)).expect("recorded again");
    assert!(!again.created, "{again:?}");
    assert_eq!(again.imaging_study_id, recorded.imaging_study_id);
    assert_eq!(count_with_identifier("ImagingStudy", &format!("urn:dicom:uid|urn:oid:{uid}")), 1);
    assert_eq!(count_with_identifier("Endpoint", &format!("urn:ietf:rfc:3986|{base}")), 1);
    assert_eq!(block_on(bridge.get_patient_studies(&patient.id)).unwrap().len(), 1);
}

#[test]
#[ignore = "needs the real servers: run `cargo xtask test`"]
fn the_session_lists_an_upload_from_qido_and_then_from_fhir() {
    let (patient, uid) = uploaded_study("session", 2, None);
    let base = Url::parse(&env("EMR_TEST_DICOMWEB")).unwrap();
    let screen = std::rc::Rc::new(Recorded::default());
    let session = Session::new(bridge(), SessionConfig::default(), screen.clone());
    block_on(session.open_patient(&patient.id)).expect("opens a patient without studies");
    block_on(session.show_uploaded(&base, &uid, false)).expect("listed from QIDO");
    assert_eq!(session.listed(&uid).map(|s| s.source), Some(Source::PacsOnly));
    block_on(session.open_study(&uid)).expect("its first image is drawn, verified");
    block_on(session.show_uploaded(&base, &uid, true)).expect("recorded and listed from FHIR");
    let listed = session.listed(&uid).unwrap();
    assert_eq!(listed.source, Source::Enriched);
    assert!(!listed.fhir_id.is_empty());
    // (`Recorded` fails the test on any error reported.)
    assert!(screen.0.borrow().iter().any(|u| matches!(u, Update::NewStudies(n) if n == std::slice::from_ref(&uid))));
    assert_eq!(count_with_identifier("ImagingStudy", &format!("urn:dicom:uid|urn:oid:{uid}")), 1);
}

/// UID randomness that differs per run (`seed`) and per call, never twice the same: the test
/// instances go into servers that keep what earlier runs stored.
fn counted_random(seed: [u8; 4], fill: u8) -> impl FnMut() -> [u8; 16] {
    let mut k = 0u32;
    move || {
        k += 1;
        let mut b = [fill; 16];
        b[..4].copy_from_slice(&seed);
        b[4..8].copy_from_slice(&k.to_be_bytes());
        b
    }
}
