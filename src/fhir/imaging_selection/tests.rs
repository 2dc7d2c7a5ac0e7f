use super::*;
use serde_json::json;

const STUDY: &str = "1.2.840.113747.20080222.35738167368354306270412538783781";
const SERIES: &str = "1.2.840.113747.20080222.35738167368358376270412538783781.1";
const FIRST: &str = "1.2.840.113747.20080222.35738167368358372924412538783781.1.0";
const SECOND: &str = "1.2.840.113747.20080222.35738167368358372920412538783781.1.1";
/// The example's derivedFrom names another study UID than its studyUid (as published).
const DERIVED: &str = "1.2.840.113747.20080222.35738358372924306270412538783781";

/// The FHIR R5 example "example-basic-image-selection" (imagingselection-example-basic-image-
/// selection.json), narrative and meta left out.
fn spec_example() -> Value {
    let ct = json!({ "system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2" });
    json!({
        "resourceType": "ImagingSelection",
        "id": "example-basic-image-selection",
        "identifier": [{ "system": "urn:dicom:uid", "value": "urn:oid:1.2.840.113747.20080222.35738167372924306270412538783781.2.1" }],
        "status": "available",
        "subject": { "identifier": { "system": "https://fhirhospital.org", "value": "KUTGIQCVCDRHVBUK" }, "type": "Patient" },
        "code": { "text": "Key Images" },
        "studyUid": STUDY,
        "derivedFrom": [{ "identifier": { "system": "urn:dicom:uid", "value": format!("urn:oid:{DERIVED}") }, "type": "ImagingStudy" }],
        "seriesUid": SERIES,
        "frameOfReferenceUid": "1.2.840.113747.20080222.35738168372924306270412538783781.0",
        "instance": [{ "uid": FIRST, "sopClass": ct }, { "uid": SECOND, "sopClass": ct }],
    })
}

fn key(sop: &str, study: &str) -> KeyImage {
    KeyImage { study_uid: study.into(), series_uid: SERIES.into(), sop_instance_uid: sop.into() }
}

#[test]
fn the_r5_example_gives_its_two_instances_as_key_images() {
    let read = read_imaging_selection(&spec_example()).unwrap();
    assert_eq!(read.id, "example-basic-image-selection");
    assert_eq!(
        read.selection,
        KeySelection { title: Some("Key Images".into()), rejection: false, images: vec![key(FIRST, STUDY), key(SECOND, STUDY)] }
    );
    // Its subject is a logical reference by the hospital's identifier.
    let mrn = |value: &str| vec![(Some("https://fhirhospital.org".to_string()), value.to_string())];
    assert!(read.subject.names("any-id", &mrn("KUTGIQCVCDRHVBUK")));
    assert!(!read.subject.names("any-id", &mrn("SOMEONEELSE")));
    assert!(!read.subject.names("any-id", &[(Some("https://other.org".into()), "KUTGIQCVCDRHVBUK".into())]));
}

#[test]
fn without_study_uid_the_derived_from_study_identifier_names_the_study() {
    let mut resource = spec_example();
    resource.as_object_mut().unwrap().remove("studyUid");
    let read = read_imaging_selection(&resource).unwrap();
    assert_eq!(read.selection.images[0], key(FIRST, DERIVED), "urn:oid: stripped");
    resource.as_object_mut().unwrap().remove("derivedFrom");
    assert_eq!(read_imaging_selection(&resource), Err(SelectionError::NoStudyUid("example-basic-image-selection".into())));
}

#[test]
fn what_is_not_a_set_of_key_images_is_a_typed_error() {
    let id = || "example-basic-image-selection".to_string();
    let with = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut resource = spec_example();
        change(resource.as_object_mut().unwrap());
        read_imaging_selection(&resource)
    };
    assert_eq!(
        read_imaging_selection(&json!({ "resourceType": "ImagingStudy" })),
        Err(SelectionError::NotImagingSelection("ImagingStudy".into()))
    );
    assert_eq!(read_imaging_selection(&json!([])), Err(SelectionError::NotImagingSelection(String::new())));
    assert_eq!(with(&|r| drop(r.insert("status".into(), json!("entered-in-error")))), Err(SelectionError::EnteredInError(id())));
    assert_eq!(with(&|r| drop(r.remove("seriesUid"))), Err(SelectionError::NoSeriesUid(id())));
    assert_eq!(with(&|r| drop(r.remove("instance"))), Err(SelectionError::WholeSeries(id())));
    assert_eq!(with(&|r| drop(r.insert("instance".into(), json!([])))), Err(SelectionError::WholeSeries(id())));
    assert_eq!(
        with(&|r| drop(r.insert("seriesUid".into(), json!("1.2.03")))),
        Err(SelectionError::InvalidUid { id: id(), uid: "1.2.03".into() })
    );
    assert!(matches!(with(&|r| drop(r.insert("instance".into(), json!([{ "uid": "<b>x</b>" }])))), Err(SelectionError::InvalidUid { .. })));
}

#[test]
fn an_instance_named_twice_is_one_key_image_and_a_rejection_code_withdraws() {
    let mut resource = spec_example();
    let r = resource.as_object_mut().unwrap();
    r.insert("instance".into(), json!([{ "uid": SECOND }, { "uid": FIRST }, { "uid": SECOND }]));
    r.insert(
        "code".into(),
        json!({ "coding": [{ "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113001", "display": "Rejected for Quality Reasons" }] }),
    );
    let read = read_imaging_selection(&resource).unwrap();
    assert_eq!(read.selection.images, [key(SECOND, STUDY), key(FIRST, STUDY)]);
    assert!(read.selection.rejection);
    assert_eq!(read.selection.title.as_deref(), Some("Rejected for Quality Reasons"));
}

#[test]
fn a_literal_subject_reference_names_one_patient() {
    let subject = |reference: &str| Subject { reference: Some(reference.into()), identifier: None };
    assert!(subject("Patient/p1").names("p1", &[]));
    assert!(subject("https://ehr.example/fhir/Patient/p1").names("p1", &[]));
    assert!(!subject("Patient/p1").names("p2", &[]));
    assert!(!subject("Group/p1").names("p1", &[]));
    assert!(!Subject::default().names("p1", &[(None, "MRN".into())]), "no subject names nobody");
    // A subject identifier without a system matches on the value.
    let bare = Subject { reference: None, identifier: Some((None, "MRN".into())) };
    assert!(bare.names("x", &[(Some("urn:oid:1.2".into()), "MRN".into())]));
}
