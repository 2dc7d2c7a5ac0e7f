//! The BALP shapes, the batch's conditional creates, and the outbox rules (order, backoff,
//! removal only after confirmation, no duplicate after a lost answer).
//!
//! The FHIR server here is in memory: these tests lose answers after the server stored the
//! batch and cut the network for a chosen number of requests, which a real server cannot be
//! made to do. `tests/servers.rs` sends the same batches to the real Helios FHIR Server.
#![cfg(not(target_arch = "wasm32"))]

use super::outbox::{backoff, batch_outcomes, entry_outcome, EntryOutcome, MemoryStore, Outbox, OutboxError, Queued};
use super::*;
use crate::net::native::block_on;
use crate::net::{AuthMapper, HttpClient, NetError, Request, Response, Transport};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use url::Url;

fn actor() -> Actor {
    Actor::new(Some("Practitioner/dr-1"), Some("u-1"), None, "https://ehr.test/fhir/")
}

fn study() -> StudyRef {
    StudyRef { uid: "1.2.3".into(), accession: Some("ACC-9".into()), fhir_id: Some("is-1".into()) }
}

fn access(kind: AccessKind) -> Access {
    let mut a = Access::new(kind, Some("p-1".into()));
    if kind != AccessKind::Query {
        a.studies.push(study());
        a.series_uid = Some("1.2.3.4".into());
    }
    a
}

fn codes(v: &Value) -> (String, String) {
    (v["system"].as_str().unwrap_or_default().to_string(), v["code"].as_str().unwrap_or_default().to_string())
}

fn entity_by_role<'a>(event: &'a Value, role: &str) -> Option<&'a Value> {
    event["entity"].as_array()?.iter().find(|e| e["role"]["code"] == role)
}

#[test]
fn each_access_has_its_balp_type_subtype_and_action() {
    let cases = [
        (AccessKind::Query, "PatientQuery", "110112", Some("search-type"), "E"),
        (AccessKind::Read, "PatientRead", "rest", Some("read"), "R"),
        (AccessKind::Create, "PatientCreate", "rest", Some("create"), "C"),
        (AccessKind::Export, "PatientRead", "110106", None, "R"),
        (AccessKind::Blocked, "PatientRead", "rest", Some("read"), "R"),
    ];
    for (kind, profile, code, subtype, action) in cases {
        let e = audit_event(&access(kind), &actor(), "0b9e-1", 1_796_287_200.5);
        assert_eq!(e["resourceType"], "AuditEvent");
        assert!(e["meta"]["profile"][0].as_str().unwrap().ends_with(&format!("IHE.BasicAudit.{profile}")), "{kind}");
        assert_eq!(e["type"]["code"], code, "{kind}");
        assert_eq!(e["subtype"][0]["code"].as_str(), subtype, "{kind}");
        assert_eq!(e["action"], action, "{kind}");
        assert_eq!(e["recorded"], "2026-12-03T08:40:00.500Z");
        assert_eq!(e["outcome"], if kind == AccessKind::Blocked { "4" } else { "0" }, "{kind}");
        assert_eq!(e["source"]["observer"]["display"], format!("emr-imaging {}", env!("CARGO_PKG_VERSION")));
        let patient = entity_by_role(&e, "1").expect("patient entity");
        assert_eq!(patient["what"]["reference"], "Patient/p-1");
        assert_eq!(codes(&patient["type"]).1, "1");
    }
}

#[test]
fn the_user_client_and_server_are_agents() {
    let e = audit_event(&access(AccessKind::Read), &actor(), "id", 0.0);
    let agents = e["agent"].as_array().unwrap();
    assert_eq!(agents.len(), 3);
    assert_eq!(
        codes(&agents[0]["type"]["coding"][0]),
        ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType".into(), "IRCP".into())
    );
    assert_eq!(agents[0]["who"]["reference"], "Practitioner/dr-1", "fhirUser wins over userId");
    assert_eq!(agents[0]["requestor"], true);
    assert_eq!(agents[1]["type"]["coding"][0]["code"], "110153");
    assert_eq!(agents[2]["type"]["coding"][0]["code"], "110152");
    assert_eq!(agents[2]["network"]["address"], "ehr.test");
    // userId, else the token's subject, as an identifier.
    let by_id = Actor::new(None, Some("u-1"), Some("sub-1"), "https://ehr.test/fhir/");
    assert_eq!(by_id.user, Some(User::Id("u-1".into())));
    assert_eq!(Actor::new(None, Some(" "), Some("sub-1"), "x").user, Some(User::Id("sub-1".into())));
    assert_eq!(Actor::new(None, None, None, "x").user, None);
    let anonymous = audit_event(&access(AccessKind::Read), &Actor::new(None, None, None, "https://ehr.test/"), "id", 0.0);
    assert_eq!(anonymous["agent"].as_array().unwrap().len(), 2);
    assert_eq!(anonymous["agent"][0]["requestor"], true, "the app is the requestor without a user");
}

#[test]
fn the_study_is_named_by_dicom_uid_accession_and_fhir_resource() {
    let e = audit_event(&access(AccessKind::Read), &actor(), "id", 0.0);
    let entity = entity_by_role(&e, "3").expect("study entity");
    assert_eq!(entity["what"]["identifier"], json!({ "system": "urn:dicom:uid", "value": "urn:oid:1.2.3" }));
    assert_eq!(entity["what"]["reference"], "ImagingStudy/is-1");
    let detail = entity["detail"].as_array().unwrap();
    assert!(detail.contains(&json!({ "type": "accession", "valueString": "ACC-9" })));
    assert!(detail.contains(&json!({ "type": "series", "valueString": "1.2.3.4" })));
}

#[test]
fn a_query_carries_its_search_and_no_study() {
    let e = audit_event(&access(AccessKind::Query), &actor(), "id", 0.0);
    let query = entity_by_role(&e, "24").expect("query entity");
    // The search, base64 (RFC 4648 with padding), as BALP carries it.
    assert_eq!(query["query"], "SW1hZ2luZ1N0dWR5P3BhdGllbnQ9UGF0aWVudC9wLTE=");
    assert!(entity_by_role(&e, "3").is_none());
}

#[test]
fn a_blocked_display_fails_with_a_reason_free_of_phi() {
    let mut blocked = access(AccessKind::Blocked);
    blocked.failure = Some("the image's Patient ID is not an identifier of this patient".into());
    let e = audit_event(&blocked, &actor(), "id", 0.0);
    assert_eq!(e["outcome"], "4");
    assert_eq!(e["outcomeDesc"], "the image's Patient ID is not an identifier of this patient");
}

#[test]
fn the_batch_creates_each_event_unless_its_id_is_stored() {
    let a = audit_event(&access(AccessKind::Read), &actor(), "aaaa", 0.0);
    let b = audit_event(&access(AccessKind::Export), &actor(), "bbbb", 1.0);
    let bundle = batch_bundle([("aaaa", &a), ("bbbb", &b)]);
    assert_eq!(bundle["type"], "batch");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["request"],
        json!({ "method": "POST", "url": "AuditEvent", "ifNoneExist": "entity:identifier=urn:ietf:rfc:3986|urn:uuid:aaaa" })
    );
    assert_eq!(entries[1]["resource"]["type"]["code"], "110106", "in order");
    // The id the search looks for is in the event.
    let own = a["entity"].as_array().unwrap().iter().find(|e| e["what"]["identifier"]["system"] == EVENT_ID_SYSTEM).unwrap();
    assert_eq!(own["what"]["identifier"]["value"], "urn:uuid:aaaa");
}

#[test]
fn batch_answers_are_read_per_entry() {
    assert_eq!(entry_outcome("201 Created"), EntryOutcome::Confirmed);
    assert_eq!(entry_outcome("200 OK"), EntryOutcome::Confirmed, "ifNoneExist matched");
    assert_eq!(entry_outcome("412 Precondition Failed"), EntryOutcome::Confirmed, "several matches: stored already");
    assert_eq!(entry_outcome("503"), EntryOutcome::Retry);
    assert_eq!(entry_outcome("429 Too Many Requests"), EntryOutcome::Retry);
    assert_eq!(entry_outcome("nonsense"), EntryOutcome::Retry);
    assert_eq!(entry_outcome("405 Method Not Allowed"), EntryOutcome::Refused(405));
    let body = br#"{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201"}},{"response":{}}]}"#;
    assert_eq!(batch_outcomes(body, 2).unwrap(), [EntryOutcome::Confirmed, EntryOutcome::Retry]);
    assert!(matches!(batch_outcomes(body, 3), Err(OutboxError::BadResponse(_))));
    assert!(matches!(batch_outcomes(b"<html>", 1), Err(OutboxError::BadResponse(_))));
}

#[test]
fn backoff_doubles_to_its_cap_with_jitter() {
    let (first, max) = (Duration::from_secs(2), Duration::from_secs(60));
    assert_eq!(backoff(1, first, max, 1.0), Duration::from_secs(2));
    assert_eq!(backoff(3, first, max, 1.0), Duration::from_secs(8));
    assert_eq!(backoff(30, first, max, 1.0), max);
    assert_eq!(backoff(1, first, max, 0.0), Duration::from_secs(1));
}

#[test]
fn instants_are_utc_with_milliseconds() {
    assert_eq!(iso_instant(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_instant(951_782_400.0), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso_instant(f64::NAN), "1970-01-01T00:00:00.000Z");
}

/// A FHIR batch endpoint in memory that stores AuditEvents by their `ifNoneExist` id, and can
/// be told to be unreachable, or to store and then lose the answer.
#[derive(Default)]
struct AuditServer {
    stored: RefCell<Vec<(String, Value)>>,
    /// Requests that fail before reaching the server.
    unreachable: Cell<u32>,
    /// Requests stored whose answer never comes back.
    lose_answers: Cell<u32>,
    /// Every entry status answers this instead of a create.
    refuse: Cell<Option<u16>>,
    batches: RefCell<Vec<Vec<String>>>,
    slept: Cell<Duration>,
    /// The Authorization header of each request.
    authorizations: RefCell<Vec<Option<String>>>,
}

#[derive(Clone, Default)]
struct Fake(Rc<AuditServer>);

impl Transport for Fake {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let s = &self.0;
        s.authorizations.borrow_mut().push(request.header_value("authorization").map(str::to_string));
        if s.unreachable.get() > 0 {
            s.unreachable.set(s.unreachable.get() - 1);
            return Err(NetError::Unreachable { url: request.url.to_string(), message: "refused".into() });
        }
        let bundle: Value = serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap();
        let mut statuses = Vec::new();
        let mut ids = Vec::new();
        for entry in bundle["entry"].as_array().unwrap() {
            let id = entry["request"]["ifNoneExist"].as_str().unwrap().rsplit(':').next().unwrap().to_string();
            ids.push(id.clone());
            if let Some(code) = s.refuse.get() {
                statuses.push(format!("{code}"));
            } else if s.stored.borrow().iter().any(|(i, _)| *i == id) {
                statuses.push("200 OK".into());
            } else {
                s.stored.borrow_mut().push((id, entry["resource"].clone()));
                statuses.push("201 Created".into());
            }
        }
        s.batches.borrow_mut().push(ids);
        if s.lose_answers.get() > 0 {
            s.lose_answers.set(s.lose_answers.get() - 1);
            return Err(NetError::Unreachable { url: request.url.to_string(), message: "connection reset".into() });
        }
        let entry: Vec<Value> = statuses.iter().map(|s| json!({ "response": { "status": s } })).collect();
        let body = serde_json::to_vec(&json!({ "resourceType": "Bundle", "type": "batch-response", "entry": entry })).unwrap();
        Ok(Response { status: 200, headers: Vec::new(), body })
    }
    async fn sleep(&self, duration: Duration) {
        self.0.slept.set(self.0.slept.get() + duration);
    }
    fn now_unix(&self) -> f64 {
        0.0
    }
    fn jitter(&self) -> f64 {
        1.0
    }
}

fn setup(batch: usize) -> (Fake, HttpClient<Fake>, Outbox<MemoryStore>) {
    let fake = Fake::default();
    let base = Url::parse("https://ehr.test/fhir/").unwrap();
    let http = HttpClient::new(fake.clone(), AuthMapper::new(&base, &[]));
    (fake, http, Outbox::new(MemoryStore::default(), base, batch))
}

fn enqueue(outbox: &Outbox<MemoryStore>, n: usize) {
    for i in 0..n {
        let id = format!("id-{i}");
        let event = audit_event(&access(AccessKind::Read), &actor(), &id, i as f64);
        block_on(outbox.enqueue(Queued { id, seq: i as f64, event })).unwrap();
    }
}

#[test]
fn events_go_oldest_first_in_batches_and_leave_once_confirmed() {
    let (fake, http, outbox) = setup(2);
    enqueue(&outbox, 5);
    let drained = block_on(outbox.drain(&http, Some(3), &|e| panic!("{e}")));
    assert_eq!(drained.confirmed, 5);
    assert!(drained.empty && outbox.store().is_empty());
    let ids: Vec<String> = fake.0.stored.borrow().iter().map(|(i, _)| i.clone()).collect();
    assert_eq!(ids, ["id-0", "id-1", "id-2", "id-3", "id-4"]);
    assert_eq!(fake.0.batches.borrow().len(), 3);
}

#[test]
fn a_network_cut_keeps_events_and_backs_off_until_it_is_back() {
    let (fake, http, outbox) = setup(10);
    enqueue(&outbox, 3);
    fake.0.unreachable.set(3);
    let failures = Cell::new(0);
    let drained = block_on(outbox.drain(&http, Some(10), &|e| {
        assert!(matches!(e, OutboxError::Net(NetError::Unreachable { .. })));
        failures.set(failures.get() + 1);
    }));
    assert_eq!(failures.get(), 3);
    assert_eq!(drained.confirmed, 3);
    assert_eq!(fake.0.stored.borrow().len(), 3);
    // 2 + 4 + 8 s of backoff.
    assert_eq!(fake.0.slept.get(), Duration::from_secs(14));
}

#[test]
fn a_lost_answer_is_resent_and_stores_nothing_twice() {
    let (fake, http, outbox) = setup(10);
    enqueue(&outbox, 4);
    fake.0.lose_answers.set(1);
    let drained = block_on(outbox.drain(&http, Some(5), &|_| {}));
    assert_eq!(fake.0.batches.borrow().len(), 2, "sent twice");
    assert_eq!(fake.0.stored.borrow().len(), 4, "stored once");
    assert!(drained.empty);
}

#[test]
fn refused_events_stay_in_the_outbox() {
    let (fake, http, outbox) = setup(10);
    enqueue(&outbox, 2);
    fake.0.refuse.set(Some(405));
    let seen = RefCell::new(Vec::new());
    let drained = block_on(outbox.drain(&http, Some(2), &|e| seen.borrow_mut().push(e.clone())));
    assert_eq!(seen.borrow()[0], OutboxError::Refused { count: 2, status: 405 });
    assert!(!drained.empty);
    assert_eq!(outbox.store().len(), 2, "never wiped without confirmation");
}

#[test]
fn one_drain_at_a_time() {
    let (_fake, http, outbox) = setup(10);
    enqueue(&outbox, 1);
    // A drain already running (its flag set): a second call only nudges it.
    let again = block_on(async {
        let first = outbox.drain(&http, Some(1), &|_| {});
        let second = outbox.drain(&http, Some(1), &|_| {});
        let (a, b) = futures_util::future::join(first, second).await;
        (a, b)
    });
    assert_eq!(again.0.confirmed + again.1.confirmed, 1);
}

#[test]
fn ids_are_version_4_uuids_and_claims_are_read_from_the_token() {
    assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
    // {"alg":"none"} . {"sub":"dr-who","fhirUser":"Practitioner/7"}
    let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkci13aG8iLCJmaGlyVXNlciI6IlByYWN0aXRpb25lci83In0.";
    assert_eq!(token_claim(token, "fhirUser").as_deref(), Some("Practitioner/7"));
    assert_eq!(token_claim(token, "sub").as_deref(), Some("dr-who"));
    assert_eq!(token_claim("opaque", "sub"), None);
}

/// The audit server gets the token only when its origin is the FHIR base's or allowed.
#[test]
fn the_token_goes_to_the_audit_server_only_when_its_origin_is_allowed() {
    let base = Url::parse("https://ehr.test/fhir/").unwrap();
    let audit = Url::parse("https://audit.test/fhir/").unwrap();
    for (allowed, expected) in [(vec![], None), (vec!["https://audit.test".to_string()], Some("Bearer t-1"))] {
        let fake = Fake::default();
        let http = HttpClient::new(fake.clone(), AuthMapper::new(&base, &allowed));
        http.auth().set_token(Some("t-1".into()));
        let outbox = Outbox::new(MemoryStore::default(), audit.clone(), 10);
        enqueue(&outbox, 1);
        assert!(block_on(outbox.drain(&http, Some(1), &|e| panic!("{e}"))).empty);
        assert_eq!(fake.0.authorizations.borrow().as_slice(), [expected.map(str::to_string)], "allowed: {allowed:?}");
    }
}
