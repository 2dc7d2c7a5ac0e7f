//! The follow rules on the session, natively, with the session tests' in-memory servers
//! (answers held back on purpose, which real servers cannot be made to do).
#![cfg(not(target_arch = "wasm32"))]

use super::*;
use crate::context::fhircast::{parse_notification, Notification};
use crate::net::native::block_on;
use crate::session::tests::{images_since_clear, interleave, session, Recorder};
use crate::session::Update;
use serde_json::json;
use std::cell::RefCell;

fn event(id: &str, ts: &str, name: &str, context: serde_json::Value) -> Notification {
    parse_notification(json!({"timestamp": ts, "id": id, "event": {"hub.topic": "t", "hub.event": name, "context": context}})).unwrap()
}

fn patient(id: &str) -> serde_json::Value {
    json!({"key": "patient", "resource": {"resourceType": "Patient", "id": id}})
}

fn study(uid: &str) -> serde_json::Value {
    json!({"key": "study", "resource": {"resourceType": "ImagingStudy", "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:{uid}")}]}})
}

/// Where in the screen's updates each acknowledgement was sent, and with what status.
#[derive(Default)]
struct Acks(RefCell<Vec<(usize, u16)>>);

impl Acks {
    fn ack<'a>(&'a self, screen: &'a Recorder) -> impl FnOnce(u16) + 'a {
        move |status| self.0.borrow_mut().push((screen.0.borrow().len(), status))
    }
}

#[test]
fn patient_open_during_a_load_clears_before_the_ack_and_shows_only_the_new_patient() {
    let (session, servers, screen) = session();
    servers.hold("/instances/1.1.1.1");
    let mut follower = Follower::default();
    let acks = Acks::default();
    let open_b = event("e1", "2026-01-01T10:00:00Z", "Patient-open", json!([patient("b")]));
    let decision = follower.decide(&open_b, session.patient_id().as_deref());
    assert_eq!(decision, Decision::SwitchPatient("b".into()));
    let (a, followed) =
        interleave(session.open_patient("a"), || servers.seen("/instances/1.1.1.1") > 0, || follow(&session, decision, acks.ack(&screen)));
    assert_eq!(a, Err(SessionError::Superseded));
    assert_eq!(followed.status, FOLLOWED);
    let (at, status) = acks.0.borrow()[0];
    assert_eq!(status, 200);
    let cleared = screen.0.borrow().iter().rposition(|u| matches!(u, Update::Cleared { patient_changed: true })).unwrap();
    assert!(cleared < at, "cleared (update {cleared}) before the acknowledgement (after update {at})");
    let shown = images_since_clear(&screen);
    assert!(!shown.is_empty() && shown.iter().all(|(_, p)| p == "b"), "{shown:?}");
}

#[test]
fn a_study_of_another_patient_is_refused_and_nothing_changes() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).unwrap();
    let before = screen.0.borrow().len();
    let mut follower = Follower::default();
    for context in [json!([study("2.1"), patient("a")]), json!([study("2.1")])] {
        let acks = Acks::default();
        let decision = follower.decide(&event("e2", "2026-01-01T10:00:00Z", "ImagingStudy-open", context), Some("a"));
        let followed = block_on(follow(&session, decision, acks.ack(&screen)));
        assert_eq!(followed.status, REFUSED, "{followed:?}");
        assert_eq!(acks.0.borrow()[0].1, 409);
    }
    assert_eq!(screen.0.borrow().len(), before, "nothing drawn or cleared");
    assert_eq!(session.selected_study_uid().as_deref(), Some("1.1"));
}

#[test]
fn a_study_of_the_patient_on_screen_opens_and_another_patients_study_switches() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).unwrap();
    let mut follower = Follower::default();
    let d = follower.decide(&event("e3", "2026-01-01T10:00:00Z", "imagingstudy-open", json!([study("1.2"), patient("a")])), Some("a"));
    assert_eq!(block_on(follow(&session, d, |_| {})).status, FOLLOWED);
    assert_eq!(session.selected_study_uid().as_deref(), Some("1.2"));
    assert!(
        matches!(screen.0.borrow().iter().rev().find(|u| matches!(u, Update::Image(_))), Some(Update::Image(s)) if s.instance_uid == "1.2.1.1")
    );
    let d = follower.decide(&event("e4", "2026-01-01T10:00:01Z", "ImagingStudy-open", json!([study("2.1"), patient("b")])), Some("a"));
    assert_eq!(block_on(follow(&session, d, |_| {})).status, FOLLOWED);
    assert_eq!(session.patient_id().as_deref(), Some("b"));
    assert!(images_since_clear(&screen).iter().all(|(_, p)| p == "b"));
}

#[test]
fn an_older_event_is_ignored_and_our_own_event_confirms() {
    let mut follower = Follower::default();
    let newer = event("n", "2026-01-01T10:00:05Z", "Patient-open", json!([patient("b")]));
    let older = event("o", "2026-01-01T10:00:01Z", "Patient-open", json!([patient("a")]));
    assert_eq!(follower.decide(&newer, None), Decision::SwitchPatient("b".into()));
    assert_eq!(follower.decide(&older, Some("b")), Decision::Nothing);
    follower.outbox.sent("mine", json!({"id": "mine"}));
    let echo = event("mine", "2026-01-01T10:00:06Z", "ImagingStudy-open", json!([study("1.1"), patient("b")]));
    assert_eq!(follower.decide(&echo, Some("b")), Decision::Nothing);
    assert!(follower.outbox.is_empty());
}

#[test]
fn a_syncerror_about_our_event_resends_it_once_then_shows() {
    let mut follower = Follower::default();
    let body = json!({"id": "mine", "timestamp": "2026-01-01T10:00:00.000Z"});
    follower.outbox.sent("mine", body.clone());
    let outcome = |id: &str| {
        json!([{"key": "operationoutcome", "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "processing",
            "diagnostics": "refused", "details": {"coding": [{"system": "https://fhircast.hl7.org/events/syncerror/eventid", "code": id}]}}]}}])
    };
    let error = event("s1", "2026-01-01T10:00:01Z", "syncerror", outcome("mine"));
    assert_eq!(follower.decide(&error, None), Decision::Resend(body));
    assert!(matches!(follower.decide(&error, None), Decision::ShowSyncError(_)));
    let (session, _, screen) = session();
    let d = follower.decide(&event("s2", "2026-01-01T10:00:02Z", "syncerror", outcome("other")), None);
    block_on(follow(&session, d, |_| {}));
    assert!(matches!(screen.1.borrow().last(), Some((_, SessionError::ContextOutOfSync { .. }))));
}

#[test]
fn close_logout_and_hibernate_leave_nothing_shown() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).unwrap();
    let mut follower = Follower::default();
    let d = follower.decide(&event("c1", "2026-01-01T10:00:00Z", "ImagingStudy-close", json!([study("1.1"), patient("a")])), Some("a"));
    block_on(follow(&session, d, |_| {}));
    assert_eq!((session.selected_study_uid(), session.patient_id().as_deref()), (None, Some("a")), "the study goes, the patient stays");
    assert!(images_since_clear(&screen).is_empty());
    // A close of another patient is not ours.
    assert_eq!(follower.decide(&event("c2", "2026-01-01T10:00:01Z", "Patient-close", json!([patient("b")])), Some("a")), Decision::Nothing);
    session.put_token("t".into());
    let d = follower.decide(&event("l", "2019-11-25T13:16:00.00", "userLogout", json!([])), Some("a"));
    assert_eq!(d, Decision::Logout, "followed whatever its time");
    block_on(follow(&session, d, |_| {}));
    assert_eq!(session.patient_id(), None);
    assert!(!session.bridge().http().auth().has_token());
    assert!(matches!(screen.0.borrow().last(), Some(Update::Cleared { patient_changed: true })));
    let d = follower.decide(&event("p", "2026-01-01T10:00:02Z", "Patient-open", json!([])), None);
    assert!(matches!(d, Decision::Bad(_)));
    assert_eq!(block_on(follow(&session, d, |_| {})).status, BAD_EVENT);
}
