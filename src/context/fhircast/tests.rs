//! Every message shape against the STU3 specification's own examples
//! (tests/fixtures/fhircast, copied as published).

use super::*;

macro_rules! example {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/fhircast/", $name))
    };
}

fn event(text: &str) -> Notification {
    match parse_message(text).unwrap() {
        HubMessage::Event(n) => n,
        other => panic!("not an event: {other:?}"),
    }
}

#[test]
fn subscribe_body_is_the_example_byte_for_byte() {
    let s = Subscription {
        topic: "fdb2f928-5546-4f52-87a0-0648e9ded065".into(),
        events: vec!["patient-open".into(), "patient-close".into()],
        lease_seconds: None,
        subscriber_name: None,
    };
    assert_eq!(s.subscribe_body(), example!("subscribe-request.txt"));
    let with = Subscription { lease_seconds: Some(7200), subscriber_name: Some("emr imaging".into()), ..s };
    assert!(with.subscribe_body().ends_with("&hub.lease_seconds=7200&subscriber.name=emr+imaging"));
}

#[test]
fn unsubscribe_body_has_the_examples_fields_and_no_events() {
    let s = Subscription {
        topic: "fdb2f928-5546-4f52-87a0-0648e9ded065".into(),
        events: vec!["x".into()],
        lease_seconds: None,
        subscriber_name: None,
    };
    // The example's endpoint ends in an encoded newline (%0A), a slip of the page.
    let expected = example!("unsubscribe-request.txt").replace("%0A", "");
    assert_eq!(s.unsubscribe_body("wss://hub.example.com/ee30d3b9-1558-464f-a299-cbad6f8135de"), expected);
    assert!(!expected.contains("hub.events"));
}

#[test]
fn subscribe_response_gives_the_endpoint_or_the_refusal() {
    let endpoint = parse_subscribe_response(202, example!("subscription-response.json").as_bytes()).unwrap();
    assert_eq!(endpoint, "wss://hub.example.com/ee30d3b9-1558-464f-a299-cbad6f8135de");
    assert_eq!(parse_subscribe_response(401, b"no token"), Err(FhircastError::Refused { status: 401, reason: "no token".into() }));
    assert!(matches!(parse_subscribe_response(202, b"{}"), Err(FhircastError::Malformed(_))));
    assert!(matches!(parse_subscribe_response(202, br#"{"hub.channel.endpoint":"https://x/y"}"#), Err(FhircastError::Malformed(_))));
}

#[test]
fn confirmation_and_denial() {
    assert_eq!(
        parse_message(example!("confirmation.json")).unwrap(),
        HubMessage::Confirmation {
            topic: "fdb2f928-5546-4f52-87a0-0648e9ded065".into(),
            events: vec!["patient-open".into(), "patient-close".into()],
            lease_seconds: Some(7200),
        }
    );
    assert_eq!(
        parse_message(example!("denial.json")).unwrap(),
        HubMessage::Denial {
            topic: "fba7b1e2-53e9-40aa-883a-2af57ab4e2c".into(),
            events: vec!["patient-open".into(), "patient-close".into()],
            reason: Some("session unexpectedly stopped".into()),
        }
    );
    assert!(matches!(parse_message(r#"{"hub.mode":"maybe"}"#), Err(FhircastError::Malformed(_))));
}

#[test]
fn patient_open_and_close() {
    let open = event(example!("patient-open.json"));
    assert_eq!((open.kind.clone(), open.id.as_str()), (EventKind::PatientOpen, "q9v3jubddqt63n1"));
    assert_eq!(open.topic, "fdb2f928-5546-4f52-87a0-0648e9ded065");
    assert_eq!(open.patient_id().as_deref(), Some("ewUbXT9RWEbSj5wPEdgRaBw3"));
    let close = event(example!("patient-close.json"));
    assert_eq!(close.kind, EventKind::PatientClose);
    assert_eq!(close.patient_id().as_deref(), Some("503824b8-fe8c-4227-b061-7181ba6c3926"));
}

#[test]
fn imaging_study_open_names_uid_accession_and_patient() {
    let open = event(example!("imagingstudy-open.json"));
    assert_eq!(open.kind, EventKind::ImagingStudyOpen);
    assert_eq!(
        open.studies(),
        vec![StudyKey {
            uid: Some("1.2.840.83474.8.231.875.3.15.661594731".into()),
            accession: Some("GH339884".into()),
            fhir_id: Some("e25c1d31-20a2-41f8-8d85-fe2fdeac74fd".into()),
            patient_id: Some("503824b8-fe8c-4227-b061-7181ba6c3926".into()),
        }]
    );
    assert_eq!(open.patient_id().as_deref(), Some("503824b8-fe8c-4227-b061-7181ba6c3926"));
    let close = event(example!("imagingstudy-close.json"));
    assert_eq!(close.kind, EventKind::ImagingStudyClose);
    assert_eq!(close.studies()[0].uid.as_deref(), Some("1.2.840.83474.8.231.875.3.15.661594731"));
}

#[test]
fn a_uid_without_urn_oid_and_a_study_by_reference() {
    let text = r#"{"timestamp":"2024-01-01T00:00:00Z","id":"e1","event":{"hub.topic":"t","hub.event":"imagingstudy-open",
        "context":[{"key":"study","resource":{"resourceType":"ImagingStudy","identifier":[{"system":"urn:dicom:uid","value":"1.2.3"}]}},
                   {"key":"study","reference":{"reference":"ImagingStudy/abc"}},
                   {"key":"patient","reference":{"reference":"http://fhir.example/Patient/p1"}}]}}"#;
    let n = event(text);
    assert_eq!(n.kind, EventKind::ImagingStudyOpen);
    let studies = n.studies();
    assert_eq!(studies[0].uid.as_deref(), Some("1.2.3"));
    assert_eq!(studies[1].fhir_id.as_deref(), Some("abc"));
    assert_eq!(n.patient_id().as_deref(), Some("p1"));
}

#[test]
fn diagnostic_report_open_names_its_study_by_based_on_accession() {
    let open = event(example!("diagnosticreport-open.json"));
    assert_eq!(open.kind, EventKind::DiagnosticReportOpen);
    assert_eq!(open.version_id.as_deref(), Some("b9574cb0-e9e5-4be1-8957-5fcb51ef33c1"));
    assert_eq!(open.resources("report").count(), 1);
    let study = &open.studies()[0];
    assert_eq!(study.uid.as_deref(), Some("1.2.999.840.83474.8.231.875.3.15.661594731"));
    assert_eq!(study.accession.as_deref(), Some("GH339884"));
    assert_eq!(open.patient_id().as_deref(), Some("503824b8-fe8c-4227-b061-7181ba6c3926"));
}

#[test]
fn syncerror_and_logout() {
    let e = event(example!("syncerror.json"));
    assert_eq!(e.kind, EventKind::SyncError);
    assert_eq!(
        e.sync_error().unwrap(),
        SyncError {
            event_id: Some("fdb2f928-5546-4f52-87a0-0648e9ded065".into()),
            event_name: Some("Patient-open".into()),
            subscriber: Some("Acme Product".into()),
            diagnostics: Some("Acme Product failed to follow context".into()),
        }
    );
    let logout = event(example!("userlogout.json"));
    assert_eq!(logout.kind, EventKind::UserLogout);
    assert!(!logout.kind.is_context_change());
    assert_eq!(EventKind::parse("USERHIBERNATE"), EventKind::UserHibernate);
    assert_eq!(EventKind::parse("com.example.x"), EventKind::Other("com.example.x".into()));
}

#[test]
fn an_event_without_id_or_timestamp_is_refused() {
    for text in [
        r#"{"timestamp":"2024-01-01T00:00:00Z","event":{"hub.event":"Patient-open"}}"#,
        r#"{"id":"x","event":{"hub.event":"Patient-open"}}"#,
        r#"{"id":"x","timestamp":"2024-01-01T00:00:00Z","event":{}}"#,
        r#"{"id":"x","timestamp":"2024-01-01T00:00:00Z","event":{"hub.event":"Patient-open","context":[{"key":"patient"}]}}"#,
        "not json",
    ] {
        assert!(matches!(parse_message(text), Err(FhircastError::Malformed(_))), "{text}");
    }
}

#[test]
fn acknowledgement_is_the_example() {
    let ours: Value = serde_json::from_str(&acknowledgement("q9v3jubddqt63n1", 200)).unwrap();
    let spec: Value = serde_json::from_str(example!("acknowledgement.json")).unwrap();
    assert_eq!(ours, spec);
    assert_eq!(parse_acknowledgement(example!("acknowledgement.json")), Some(("q9v3jubddqt63n1".into(), 200)));
    assert_eq!(parse_acknowledgement(r#"{"id":"a","status":409}"#), Some(("a".into(), 409)));
    assert_eq!(parse_acknowledgement(example!("patient-open.json")), None);
}

#[test]
fn published_imaging_study_open_reads_back_as_the_spec_shape() {
    let study = PublishedStudy {
        uid: "1.2.840.83474.8.231.875.3.15.661594731".into(),
        accession: Some("GH339884".into()),
        fhir_id: Some("e25c1d31-20a2-41f8-8d85-fe2fdeac74fd".into()),
        patient_id: Some("503824b8-fe8c-4227-b061-7181ba6c3926".into()),
        patient: None,
    };
    let body = imaging_study_event(
        &EventKind::ImagingStudyOpen,
        "fdb2f928-5546-4f52-87a0-0648e9ded065",
        "ev1",
        "2024-05-06T07:08:09.010Z",
        &study,
    );
    let ours = parse_notification(body.clone()).unwrap();
    let spec = event(example!("imagingstudy-open.json"));
    assert_eq!(ours.kind, spec.kind);
    assert_eq!(ours.topic, spec.topic);
    assert_eq!(ours.studies(), spec.studies());
    assert_eq!(ours.patient_id(), spec.patient_id());
    // The same fields as the example: the UID identifier in its urn:oid form.
    assert_eq!(body["event"]["context"][0]["resource"]["identifier"][0], spec.raw["event"]["context"][0]["resource"]["identifier"][0]);
}

#[test]
fn timestamps_order_events_even_as_the_examples_write_them() {
    let a = timestamp_seconds("2023-04-01T010:50:22.16").unwrap();
    let b = timestamp_seconds("2023-04-01T011:03:04.08").unwrap();
    assert!(a < b);
    assert_eq!(timestamp_seconds("1970-01-01T00:00:01Z"), Some(1.0));
    assert_eq!(timestamp_seconds("1970-01-01T01:00:00+01:00"), Some(0.0));
    assert_eq!(timestamp_seconds("2018-01-08T01:37:05.14"), Some(1_515_375_425.14));
    assert_eq!(timestamp_seconds("yesterday"), None);
    assert_eq!(format_timestamp(1_515_375_425.14), "2018-01-08T01:37:05.140Z");
    assert_eq!(timestamp_seconds(&format_timestamp(1_700_000_000.5)), Some(1_700_000_000.5));
}

#[test]
fn an_event_older_than_the_current_context_is_stale() {
    let mut clock = ContextClock::default();
    assert!(!clock.is_stale("2023-04-01T011:03:04.08"));
    clock.set("2023-04-01T011:03:04.08");
    assert!(clock.is_stale("2023-04-01T010:50:22.16"));
    assert!(!clock.is_stale("2023-04-01T011:03:04.08"));
    assert!(!clock.is_stale("not a time"));
    clock.reset();
    assert!(!clock.is_stale("2000-01-01T00:00:00Z"));
}

#[test]
fn lease_renewal_and_backoff() {
    assert_eq!(renew_after(7200), Duration::from_secs(5760));
    assert_eq!(renew_after(20), Duration::from_secs(15));
    assert_eq!(renew_after(4), Duration::from_secs(2));
    assert_eq!(renew_after(1), Duration::from_secs(1));
    let mut b = Backoff::default();
    let delays: Vec<u128> = (0..9).map(|_| b.next(0.0).as_millis()).collect();
    assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    b.reset();
    let first = b.next(0.999).as_millis();
    assert!((500..=625).contains(&first));
}

#[test]
fn own_event_confirmed_or_resent_once_with_its_timestamp() {
    let mut out = Outbox::default();
    let body = json!({"id":"mine","timestamp":"2024-01-01T00:00:00.000Z","event":{}});
    out.sent("mine", body.clone());
    let error = SyncError { event_id: Some("mine".into()), ..Default::default() };
    assert_eq!(out.on_sync_error(&error), SyncAction::Resend(body.clone()));
    assert_eq!(out.on_sync_error(&error), SyncAction::GiveUp("mine".into()));
    assert!(out.is_empty());
    out.sent("mine", body);
    assert!(out.confirm("mine") && !out.confirm("mine"));
    assert_eq!(out.on_sync_error(&SyncError { event_id: Some("theirs".into()), ..Default::default() }), SyncAction::Show);
}

#[test]
fn well_known_configuration_in_both_spellings() {
    let c = parse_configuration(example!("fhircast-configuration.json").as_bytes()).unwrap();
    assert_eq!(c.events_supported, ["Patient-open", "Patient-close", "SyncError", "com.example.researchstudy-transmogrify"]);
    assert_eq!(c.version.as_deref(), Some("STU3"));
    assert!(!c.get_current_context);
    let c = parse_configuration(br#"{"eventsSupported":[],"capabilities":{"supportsGetCurrentContext":true}}"#).unwrap();
    assert!(c.get_current_context);
    assert_eq!(well_known_url("https://hub.example.com/"), "https://hub.example.com/.well-known/fhircast-configuration");
}

#[test]
fn current_context_is_the_open_that_set_it() {
    let (kind, context) = parse_current_context(example!("current-context.json").as_bytes()).unwrap().unwrap();
    assert_eq!(kind, EventKind::DiagnosticReportOpen);
    assert_eq!(context.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["report", "patient", "study", "content"]);
    assert_eq!(parse_current_context(b"").unwrap(), None);
    assert_eq!(parse_current_context(br#"{"context.type":"","context":[]}"#).unwrap(), None);
    assert_eq!(current_context_url("http://h/hub/", "a b"), "http://h/hub/a+b");
}
