use super::*;
use std::collections::BTreeMap;

fn parse(query: &str) -> Result<IidRequest, IidError> {
    IidRequest::parse_query(query)
}

fn patient(query: &str) -> (PatientQuery, PatientFilters, IidOptions) {
    match parse(query) {
        Ok(IidRequest::Patient { patient, filters, options }) => (patient, filters, options),
        other => panic!("not a patient request: {other:?}"),
    }
}

fn hd(namespace: Option<&str>, universal: Option<&str>, kind: Option<&str>) -> Option<Hd> {
    Some(Hd {
        namespace_id: namespace.map(str::to_string),
        universal_id: universal.map(str::to_string),
        universal_id_type: kind.map(str::to_string),
    })
}

#[test]
fn study_request_from_the_hl7_eu_example() {
    let r = parse("requestType=STUDY&studyUID=1.2.840.113883.19.110.4,1.2.840.113883.19.110.5&viewerType=IHE_BIR&diagnosticQuality=true")
        .unwrap();
    let IidRequest::Study { key, options } = r else { panic!("not a study request") };
    assert_eq!(key, StudyKey::StudyUids(vec!["1.2.840.113883.19.110.4".into(), "1.2.840.113883.19.110.5".into()]));
    assert_eq!(options, IidOptions { viewer_type: Some(ViewerType::IheBir), diagnostic_quality: Some(true), key_images_only: None });
}

#[test]
fn study_request_as_dcm4chee_writes_it_and_by_accession_number() {
    let r = parse("?requestType=STUDY&studyUID=1.2.40.0.13.1.1").unwrap();
    assert_eq!(r, IidRequest::Study { key: StudyKey::StudyUids(vec!["1.2.40.0.13.1.1".into()]), options: IidOptions::default() });
    let r = parse("requestType=STUDY&accessionNumber=A123,B-456&keyImagesOnly=false").unwrap();
    let IidRequest::Study { key, options } = r else { panic!("not a study request") };
    assert_eq!(key, StudyKey::AccessionNumbers(vec!["A123".into(), "B-456".into()]));
    assert_eq!(options.key_images_only, Some(false));
}

#[test]
fn encoded_list_commas_separate_entries_too() {
    let r = parse("requestType=STUDY&studyUID=1.2.3%2C1.2.4").unwrap();
    assert_eq!(r, IidRequest::Study { key: StudyKey::StudyUids(vec!["1.2.3".into(), "1.2.4".into()]), options: IidOptions::default() });
}

#[test]
fn patient_request_from_the_weasis_examples() {
    let (p, filters, _) = patient("requestType=PATIENT&patientID=9702672%5E%5E%5Etest");
    assert_eq!(p.id, PatientCx { id: "9702672".into(), assigning_authority: hd(Some("test"), None, None) });
    assert_eq!(filters, PatientFilters::default());
    let (p, filters, _) = patient(
        "requestType=PATIENT&patientID=99998410%5E%5E%5EAcmeHospital&lowerDateTime=2010-01-01T12:00:00Z\
         &upperDateTime=2011-06-30&mostRecentResults=1&modalitiesInStudy=MR,XA",
    );
    assert_eq!(p.id.assigning_authority, hd(Some("AcmeHospital"), None, None));
    assert_eq!(filters.most_recent_results, NonZeroU32::new(1));
    assert_eq!(filters.modalities_in_study, ["MR", "XA"]);
    assert_eq!(filters.started_search_values(), ["ge2010-01-01T12:00:00Z", "le2011-06-30"]);
}

#[test]
fn patient_request_with_an_iso_authority_name_and_birth_date() {
    let (p, _, options) = patient(
        "requestType=PATIENT&patientID=99998410%5E%5E%5E%261.2.3.4%26ISO&patientName=Doe%5EJane&patientBirthDate=1970-03-01\
         &keyImagesOnly=true",
    );
    assert_eq!(p.id, PatientCx { id: "99998410".into(), assigning_authority: hd(None, Some("1.2.3.4"), Some("ISO")) });
    assert_eq!(p.name.as_deref(), Some("Doe^Jane"));
    assert_eq!(p.birth_date.map(|d| d.to_string()).as_deref(), Some("1970-03-01"));
    assert_eq!(options.key_images_only, Some(true));
}

#[test]
fn unknown_parameters_are_ignored() {
    let r = parse("requestType=STUDY&studyUID=1.2&containsInDescription=head&seriesUID=1.2.3&foo=1&foo=2").unwrap();
    assert_eq!(r.request_type(), RequestType::Study);
}

#[test]
fn malformed_requests_each_get_their_error() {
    use IidError::*;
    let s = "requestType=STUDY&studyUID=1.2";
    let p = "requestType=PATIENT&patientID=1%5E%5E%5EA";
    let cases: Vec<(String, IidError)> = vec![
        (String::new(), MissingRequestType),
        ("studyUID=1.2".into(), MissingRequestType),
        ("requestType=SERIES&studyUID=1.2".into(), UnknownRequestType("SERIES".into())),
        ("requestType=study&studyUID=1.2".into(), UnknownRequestType("study".into())),
        ("requestType=STUDYBASE64&studyUID=MS4y".into(), UnknownRequestType("STUDYBASE64".into())),
        ("requesttype=STUDY&studyUID=1.2".into(), WrongCase { given: "requesttype".into(), expected: "requestType" }),
        (format!("{s}&studyuid=1.3"), WrongCase { given: "studyuid".into(), expected: "studyUID" }),
        ("requestType=PATIENT&PatientID=1".into(), WrongCase { given: "PatientID".into(), expected: "patientID" }),
        (format!("{s}&studyUID=1.3"), Repeated("studyUID")),
        (format!("{s}&requestType=STUDY"), Repeated("requestType")),
        (format!("{s}&access_token=secret"), TokenNotStripped),
        ("requestType=STUDY".into(), StudyKeyMissing),
        (format!("{s}&accessionNumber=A1"), StudyKeyBoth),
        ("requestType=STUDY&studyUID=".into(), EmptyValue("studyUID")),
        (format!("{s}&viewerType="), EmptyValue("viewerType")),
        ("requestType=STUDY&studyUID=1.2,,1.3".into(), EmptyListEntry { name: "studyUID", position: 2 }),
        ("requestType=STUDY&studyUID=1.2,".into(), EmptyListEntry { name: "studyUID", position: 2 }),
        ("requestType=STUDY&accessionNumber=,A".into(), EmptyListEntry { name: "accessionNumber", position: 1 }),
        ("requestType=STUDY&studyUID=1.2,1.02".into(), InvalidUid(2)),
        ("requestType=STUDY&studyUID=1.2;1.3".into(), InvalidUid(1)),
        ("requestType=STUDY&studyUID=1.2,%201.3".into(), InvalidUid(2)),
        ("requestType=STUDY&accessionNumber=A,12345678901234567".into(), InvalidAccessionNumber(2)),
        ("requestType=STUDY&accessionNumber=A%5CB".into(), InvalidAccessionNumber(1)),
        (format!("{s}&patientID=1"), NotForRequestType { name: "patientID", request_type: RequestType::Study }),
        (format!("{p}&studyUID=1.2"), NotForRequestType { name: "studyUID", request_type: RequestType::Patient }),
        ("requestType=PATIENT".into(), MissingPatientId),
        ("requestType=PATIENT&patientID=%5E%5E%5EA".into(), InvalidPatientId(CxError::MissingId)),
        ("requestType=PATIENT&patientID=1%5E%5E%5E%261.2.3".into(), InvalidPatientId(CxError::UniversalIdWithoutType)),
        (format!("{p}&lowerDateTime=2010-13-01"), InvalidDateTime("lowerDateTime")),
        (format!("{p}&upperDateTime=2010-01-01 12:00"), InvalidDateTime("upperDateTime")),
        (format!("{p}&patientBirthDate=19700301"), InvalidDateTime("patientBirthDate")),
        (format!("{p}&mostRecentResults=0"), InvalidMostRecentResults),
        (format!("{p}&mostRecentResults=%2B1"), InvalidMostRecentResults),
        (format!("{p}&mostRecentResults=4294967296"), InvalidMostRecentResults),
        (format!("{p}&modalitiesInStudy=MR,ct"), InvalidModality(2)),
        (format!("{p}&modalitiesInStudy=ABCDEFGHIJKLMNOPQ"), InvalidModality(1)),
        (format!("{p}&patientName=Doe%5CJane"), InvalidPatientName),
        (format!("{p}&patientName=A%5EB%5EC%5ED%5EE%5EF"), InvalidPatientName),
        (format!("{s}&viewerType=IHE_BIR2"), InvalidViewerType("IHE_BIR2".into())),
        (format!("{s}&viewerType=ihe_bir"), InvalidViewerType("ihe_bir".into())),
        (format!("{s}&diagnosticQuality=yes"), InvalidFlag("diagnosticQuality")),
        (format!("{s}&keyImagesOnly=TRUE"), InvalidFlag("keyImagesOnly")),
    ];
    for (query, expected) in &cases {
        assert_eq!(parse(query).as_ref(), Err(expected), "{query}");
    }
    let codes: std::collections::BTreeSet<&str> = cases.iter().map(|(_, e)| e.code()).collect();
    assert_eq!(codes.len(), 20, "every variant is covered: {codes:?}");
}

#[test]
fn messages_name_the_parameter_and_never_repeat_patient_data() {
    let cases = [
        ("requestType=PATIENT&patientID=SECRET99%5E%5E%5E%26notanoid%26ISO", "patientID"),
        ("requestType=PATIENT&patientID=SECRET99%5E%5E%5EA&patientName=SECRET%5CX", "patientName"),
        ("requestType=PATIENT&patientID=SECRET99%5E%5E%5EA&patientBirthDate=SECRET", "patientBirthDate"),
        ("requestType=STUDY&accessionNumber=SECRET%01", "accessionNumber"),
    ];
    for (query, name) in cases {
        let message = parse(query).unwrap_err().to_string();
        assert!(message.contains(name) && !message.contains("SECRET"), "{message}");
        assert!(message.ends_with('.') && message.matches(". ").count() == 0, "one sentence: {message}");
    }
    let long = format!("requestType={}", "X".repeat(500));
    assert!(parse(&long).unwrap_err().to_string().len() < 120, "echoed values are cut short");
}

#[test]
fn every_error_has_a_stable_code_and_one_public_code() {
    let e = IidError::StudyKeyBoth;
    assert_eq!((e.code(), e.public_code()), ("iid-study-key-both", "iid-invalid-request"));
    assert_eq!(IidError::InvalidPatientId(CxError::BadEscape).code(), "iid-invalid-patient-id");
}

#[test]
fn cx_forms() {
    let cx = |text: &str| PatientCx::parse(text);
    let plain = |id: &str, authority: Option<Hd>| Ok(PatientCx { id: id.into(), assigning_authority: authority });
    assert_eq!(cx("12345"), plain("12345", None));
    assert_eq!(cx("12345^^^"), plain("12345", None));
    assert_eq!(cx("12345^^^&&"), plain("12345", None));
    assert_eq!(cx("12345^^^Acme"), plain("12345", hd(Some("Acme"), None, None)));
    assert_eq!(cx("12345^^^&1.2.3.4&ISO"), plain("12345", hd(None, Some("1.2.3.4"), Some("ISO"))));
    assert_eq!(cx("12345^^^Acme&1.2.3.4&ISO"), plain("12345", hd(Some("Acme"), Some("1.2.3.4"), Some("ISO"))));
    assert_eq!(cx("12345^4^M10^Acme^MR^Ward"), plain("12345", hd(Some("Acme"), None, None)), "other components are ignored");
    assert_eq!(cx("A\\S\\B\\T\\C\\E\\D\\F\\E\\R\\^^^Acme"), plain("A^B&C\\D|E~", hd(Some("Acme"), None, None)));
    assert_eq!(cx("\\X4A6FC3A9\\^^^St\\T\\Mary"), plain("Joé", hd(Some("St&Mary"), None, None)));
    assert_eq!(cx(""), Err(CxError::MissingId));
    assert_eq!(cx("^^^Acme"), Err(CxError::MissingId));
    assert_eq!(cx("  ^^^Acme"), Err(CxError::MissingId));
    assert_eq!(cx("\\E"), Err(CxError::BadEscape));
    assert_eq!(cx("1\\H\\2"), Err(CxError::BadEscape));
    assert_eq!(cx("1\\XFF\\"), Err(CxError::BadEscape), "hex must be UTF-8");
    assert_eq!(cx("1\\X4\\"), Err(CxError::BadEscape));
    assert_eq!(cx("1~2"), Err(CxError::Unescaped("~")));
    assert_eq!(cx("1|2"), Err(CxError::Unescaped("|")));
    assert_eq!(cx("1&2^^^A"), Err(CxError::Unescaped("&")));
    assert_eq!(cx("1^^^A&1.2&ISO&X"), Err(CxError::TooManySubcomponents));
    assert_eq!(cx("1^^^&&ISO"), Err(CxError::UniversalIdWithoutType));
    assert_eq!(cx("1^^^&1.02&ISO"), Err(CxError::InvalidOid));
    assert_eq!(cx("1^^^&7.2&ISO"), Err(CxError::InvalidOid));
    assert_eq!(cx("1^^^&example.org&DNS"), plain("1", hd(None, Some("example.org"), Some("DNS"))));
}

#[test]
fn cx_encoding_escapes_what_parsing_unescapes() {
    let cx = PatientCx { id: "A^B&C\\D|E~F".into(), assigning_authority: hd(Some("St&Mary"), Some("1.2.3"), Some("ISO")) };
    assert_eq!(cx.encode(), "A\\S\\B\\T\\C\\E\\D\\F\\E\\R\\F^^^St\\T\\Mary&1.2.3&ISO");
    assert_eq!(PatientCx::parse(&cx.encode()), Ok(cx));
    assert_eq!(PatientCx { id: "1".into(), assigning_authority: None }.encode(), "1");
    assert_eq!(hd(None, Some("1.2"), Some("ISO")).unwrap().encode(), "&1.2&ISO");
}

fn systems(entries: &[(&str, &str)]) -> PatientIdSystems {
    let map: BTreeMap<String, String> = entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    PatientIdSystems::try_from(map).unwrap()
}

#[test]
fn cx_to_fhir_identifier() {
    let sites = systems(&[("Acme", "http://acme.org/mrn"), ("1.2.3.4", "http://hospital.example/patients")]);
    let token = |text: &str| PatientCx::parse(text).unwrap().fhir_identifier(&sites).map(|i| i.search_token());
    assert_eq!(token("12345^^^Acme"), Ok("http://acme.org/mrn|12345".into()));
    assert_eq!(token("12345^^^&1.2.3.4&ISO"), Ok("http://hospital.example/patients|12345".into()));
    assert_eq!(token("12345^^^Acme&1.2.3.4&ISO"), Ok("http://hospital.example/patients|12345".into()), "the universal ID wins");
    assert_eq!(token("12345^^^Acme&2.9&ISO"), Ok("http://acme.org/mrn|12345".into()), "a listed namespace beats urn:oid");
    assert_eq!(token("12345^^^&2.16.840.1.113883.19.5&ISO"), Ok("urn:oid:2.16.840.1.113883.19.5|12345".into()));
    assert_eq!(token("1\\F\\2,3$4\\E\\5^^^Acme"), Ok("http://acme.org/mrn|1\\|2\\,3\\$4\\\\5".into()), "FHIR search escapes");
    assert_eq!(token("12345"), Err(IdentifierError::NoAuthority));
    assert_eq!(token("12345^^^Other"), Err(IdentifierError::UnknownAuthority("Other".into())));
    assert_eq!(token("12345^^^&example.org&DNS"), Err(IdentifierError::UnknownAuthority("&example.org&DNS".into())));
}

#[test]
fn patient_id_systems_come_from_site_json_and_refuse_non_uris() {
    let sites: PatientIdSystems = serde_json::from_str(r#"{"Acme": "urn:oid:1.2.3", "1.2.840.1": "https://x.example/id"}"#).unwrap();
    assert_eq!(sites, systems(&[("Acme", "urn:oid:1.2.3"), ("1.2.840.1", "https://x.example/id")]));
    for bad in [r#"{"Acme": "mrn"}"#, r#"{"Acme": "http://a|b"}"#, r#"{"Acme": "http://a b"}"#, r#"{"": "urn:x:y"}"#, r#"{"A": "1x:y"}"#] {
        let error = serde_json::from_str::<PatientIdSystems>(bad).unwrap_err().to_string();
        assert!(error.contains("iid.patientIdSystems"), "{bad}: {error}");
    }
}

#[test]
fn date_times_follow_xml_schema() {
    for ok in [
        "2010-01-01",
        "2010-01-01Z",
        "2010-01-01+05:30",
        "2010-01-01T12:00:00",
        "2010-01-01T12:00:00Z",
        "2010-01-01T12:00:00.5-08:00",
        "2024-02-29T23:59:59.000123+14:00",
        "2000-02-29",
    ] {
        assert_eq!(IidDateTime::parse(ok).map(|d| d.to_string()).as_deref(), Some(ok), "{ok}");
    }
    for bad in [
        "",
        "2010",
        "2010-01",
        "10-01-01",
        "0000-01-01",
        "2010-00-01",
        "2010-02-30",
        "1900-02-29",
        "2010-04-31",
        "2010-01-01T",
        "2010-01-01T12:00",
        "2010-01-01T24:00:00",
        "2010-01-01T12:60:00",
        "2010-01-01T12:00:60",
        "2010-01-01T12:00:00.",
        "2010-01-01T12:00:00+15:00",
        "2010-01-01T12:00:00+14:30",
        "2010-01-01T12:00:00+0100",
        "2010-01-01T12:00:00z",
        "2010-01-01 12:00:00",
        "2010-01-01T12:00:00Z ",
        "２010-01-01",
    ] {
        assert_eq!(IidDateTime::parse(bad), None, "{bad}");
    }
    let d = IidDateTime::parse("2010-01-01T12:00:00-00:00").unwrap();
    assert_eq!((d.zone(), d.is_date()), (Some(Zone::Offset(0)), false));
    assert_eq!(d.fhir_search_value(Bound::Upper), "le2010-01-01T12:00:00+00:00");
}

#[test]
fn person_names_and_accession_numbers() {
    for ok in ["Doe^Jane", "Doe", "van Dyke^Jan^^Dr", "Yamada^Tarou=山田^太郎=やまだ^たろう", "^Jane"] {
        assert!(is_valid_person_name(ok), "{ok}");
    }
    for bad in ["^", "^^=^", "A=B=C=D", "A\\B", "A\nB", &"X".repeat(65)] {
        assert!(!is_valid_person_name(bad), "{bad}");
    }
    assert!(is_valid_accession_number("A B") && is_valid_accession_number("1234567890123456"));
    assert!(!is_valid_accession_number(" A") && !is_valid_accession_number("A\t"));
}

#[test]
fn uid_rules() {
    assert!(is_valid_uid("1.2.840.10008.1.2.1"));
    assert!(is_valid_uid("2.25.0"));
    assert!(!is_valid_uid("1..2") && !is_valid_uid("1.a") && !is_valid_uid(&"1.".repeat(40)));
}

#[test]
fn parameter_names_are_classified_exactly() {
    assert_eq!(ParamName::classify("studyUID"), ParamName::Known(Param::StudyUid));
    assert_eq!(ParamName::classify("STUDYUID"), ParamName::WrongCase(Param::StudyUid));
    assert_eq!(ParamName::classify("access_token"), ParamName::Token);
    assert_eq!(ParamName::classify("studyUIDs"), ParamName::Other);
    for (i, p) in Param::ALL.iter().enumerate() {
        assert_eq!(*p as usize, i, "Param::ALL is in declaration order");
    }
}
