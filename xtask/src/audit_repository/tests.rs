//! The repository against the R4 rules it follows (http.html#ccreate, #transaction, search).

use super::{handle, Store};
use serde_json::{json, Value};

/// An AuditEvent shaped as the R4 specification's example `example-search` (a query by a user),
/// with the stable id entity the client adds.
fn event(patient: &str, request_id: &str) -> Value {
    json!({
        "resourceType": "AuditEvent",
        "type": { "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110112", "display": "Query" },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": "search", "display": "search" }],
        "action": "E",
        "recorded": "2015-08-22T23:42:24Z",
        "outcome": "0",
        "agent": [{ "who": { "identifier": { "value": "95" } }, "requestor": true }],
        "source": { "site": "Cloud", "observer": { "display": "hl7connect.healthintersections.com.au" } },
        "entity": [
            { "what": { "reference": format!("Patient/{patient}") }, "type": { "code": "1" }, "role": { "code": "1" } },
            { "what": { "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{request_id}") } } }
        ]
    })
}

fn batch(events: &[(&str, &str)]) -> Vec<u8> {
    let entry: Vec<Value> = events
        .iter()
        .map(|(patient, id)| {
            json!({
                "resource": event(patient, id),
                "request": { "method": "POST", "url": "AuditEvent",
                    "ifNoneExist": format!("entity:identifier=urn:ietf:rfc:3986|urn:uuid:{id}") }
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "resourceType": "Bundle", "type": "batch", "entry": entry })).unwrap()
}

fn statuses(body: &Value) -> Vec<String> {
    body["entry"].as_array().unwrap().iter().map(|e| e["response"]["status"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_batch_resent_stores_nothing_new() {
    let mut store = Store::default();
    let body = batch(&[("p1", "a"), ("p1", "b")]);
    let first = handle(&mut store, "POST", "/", "", None, &body);
    assert_eq!(first.status, 200);
    assert_eq!(first.body["type"], "batch-response");
    assert_eq!(statuses(&first.body), ["201 Created", "201 Created"]);
    // The answer was lost, the client sends again: one match each, 200 OK, nothing stored.
    let again = handle(&mut store, "POST", "/", "", None, &body);
    assert_eq!(statuses(&again.body), ["200 OK", "200 OK"]);
    assert_eq!(store.events.len(), 2);
}

#[test]
fn a_conditional_create_matching_several_fails_with_412() {
    let mut store = Store::default();
    let resource = serde_json::to_vec(&event("p1", "same")).unwrap();
    assert_eq!(handle(&mut store, "POST", "/AuditEvent", "", None, &resource).status, 201);
    assert_eq!(handle(&mut store, "POST", "/AuditEvent", "", None, &resource).status, 201, "unconditional: stored again");
    let criteria = "entity:identifier=urn:ietf:rfc:3986%7Curn:uuid:same";
    assert_eq!(handle(&mut store, "POST", "/AuditEvent", "", Some(criteria), &resource).status, 412);
}

#[test]
fn search_by_patient_finds_that_patients_events_only() {
    let mut store = Store::default();
    handle(&mut store, "POST", "/", "", None, &batch(&[("p1", "a"), ("p2", "b"), ("p1", "c")]));
    let found = handle(&mut store, "GET", "/AuditEvent", "patient=Patient/p1", None, b"");
    assert_eq!(found.body["type"], "searchset");
    assert_eq!(found.body["total"], 2);
    let bare = handle(&mut store, "GET", "/AuditEvent", "patient=p2", None, b"");
    assert_eq!(bare.body["total"], 1);
    let unknown = handle(&mut store, "GET", "/AuditEvent", "patiet=p2", None, b"");
    assert_eq!(unknown.status, 400, "a strict server refuses what it does not know");
}

#[test]
fn a_transaction_with_a_bad_entry_changes_nothing_and_writes_other_than_create_are_refused() {
    let mut store = Store::default();
    let bundle = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        { "resource": event("p1", "a"), "request": { "method": "POST", "url": "AuditEvent" } },
        { "resource": event("p1", "b"), "request": { "method": "PUT", "url": "AuditEvent/1" } }
    ]});
    let answer = handle(&mut store, "POST", "/", "", None, &serde_json::to_vec(&bundle).unwrap());
    assert_eq!(answer.status, 405);
    assert_eq!(handle(&mut store, "DELETE", "/AuditEvent/1", "", None, b"").status, 405);
    assert_eq!(handle(&mut store, "GET", "/metadata", "", None, b"").body["resourceType"], "CapabilityStatement");
}
