//! TestAuditRepository: a FHIR R4 store of AuditEvents for the tests, because the Helios FHIR
//! Server (0.2.7) refuses every client write of AuditEvent (405, in a batch too: it keeps the
//! audit trail it writes itself) and no other FHIR server is reachable from our registries.
//!
//! It follows the specification on its own, for AuditEvent only:
//! - `POST /` a `batch` (or `transaction`) Bundle whose entries are `POST AuditEvent`, each with
//!   an optional `ifNoneExist`; `POST /AuditEvent` with an `If-None-Exist` header. A conditional
//!   create with no match stores the event (201), with one match stores nothing (200 OK), with
//!   several fails (412), as R4 http.html#ccreate says.
//! - `GET /AuditEvent?…` with `patient` (a reference in `agent.who` or `entity.what`),
//!   `entity:identifier` (`system|value` of `entity.what.identifier`), `_id` and `_count`; any
//!   other parameter is refused (400), as a strict server may, so a client's typo is not a match.
//! - `GET /AuditEvent/{id}` and `GET /metadata`.
//!
//! Loopback only; everything lives in memory and is gone when the repository is dropped.

#[cfg(test)]
mod tests;

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running repository; stopped when dropped.
pub struct TestAuditRepository {
    pub port: u16,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
}

impl TestAuditRepository {
    /// The FHIR base, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for TestAuditRepository {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
    }
}

/// The stored events, in the order they were created.
#[derive(Default)]
struct Store {
    events: Vec<Value>,
}

/// Starts a repository on `port` (0: any free port).
pub fn start(port: u16) -> Result<TestAuditRepository> {
    let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| anyhow!("could not listen on 127.0.0.1:{port}: {e}"))?);
    let port = server.server_addr().to_ip().ok_or_else(|| anyhow!("not an IP socket"))?.port();
    let stop = Arc::new(AtomicBool::new(false));
    let store = Arc::new(Mutex::new(Store::default()));
    {
        let (server, stop) = (server.clone(), stop.clone());
        std::thread::Builder::new().name("test-audit-repository".into()).spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(Some(rq)) = server.recv_timeout(Duration::from_millis(200)) {
                    serve(&store, rq);
                }
            }
        })?;
    }
    Ok(TestAuditRepository { port, stop, server })
}

/// An answer: status and a FHIR JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub location: Option<String>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, body, location: None }
}

fn outcome(status: u16, text: &str) -> Answer {
    let code = if status == 405 {
        "not-supported"
    } else if status == 404 {
        "not-found"
    } else {
        "invalid"
    };
    answer(status, json!({ "resourceType": "OperationOutcome", "issue": [{ "severity": "error", "code": code, "diagnostics": text }] }))
}

fn serve(store: &Mutex<Store>, mut rq: tiny_http::Request) {
    let method = rq.method().as_str().to_string();
    let (path, query) = match rq.url().split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (rq.url().to_string(), String::new()),
    };
    let if_none_exist = rq.headers().iter().find(|h| h.field.equiv("If-None-Exist")).map(|h| h.value.as_str().to_string());
    let mut body = Vec::new();
    let answer = match rq.as_reader().read_to_end(&mut body) {
        Ok(_) => {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            handle(&mut store, &method, &path, &query, if_none_exist.as_deref(), &body)
        }
        Err(e) => outcome(400, &format!("the body could not be read: {e}")),
    };
    let mut response = tiny_http::Response::from_data(serde_json::to_vec(&answer.body).unwrap_or_default()).with_status_code(answer.status);
    let mut headers = vec![("Content-Type", "application/fhir+json".to_string())];
    if let Some(location) = answer.location {
        headers.push(("Location", location));
    }
    for (name, value) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = rq.respond(response);
}

/// One request, without the network: what the repository answers.
fn handle(store: &mut Store, method: &str, path: &str, query: &str, if_none_exist: Option<&str>, body: &[u8]) -> Answer {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        ("GET", ["metadata"]) => answer(200, capability()),
        ("POST", []) => match serde_json::from_slice::<Value>(body) {
            Ok(bundle) => bundle_answer(store, &bundle),
            Err(e) => outcome(400, &format!("not JSON: {e}")),
        },
        ("POST", ["AuditEvent"]) => match serde_json::from_slice::<Value>(body) {
            Ok(resource) => create(store, resource, if_none_exist),
            Err(e) => outcome(400, &format!("not JSON: {e}")),
        },
        ("GET", ["AuditEvent"]) => search(store, query),
        ("GET", ["AuditEvent", id]) => match store.events.iter().find(|e| e["id"] == *id) {
            Some(event) => answer(200, event.clone()),
            None => outcome(404, "no such AuditEvent"),
        },
        (_, ["AuditEvent", ..]) => outcome(405, "AuditEvents are only created and read"),
        _ => outcome(404, "this repository holds AuditEvents only"),
    }
}

/// A conditional (or plain) create: 201 stored, 200 one match (nothing stored), 412 several.
fn create(store: &mut Store, mut resource: Value, if_none_exist: Option<&str>) -> Answer {
    if resource.get("resourceType").and_then(Value::as_str) != Some("AuditEvent") {
        return outcome(400, "not an AuditEvent");
    }
    if let Some(criteria) = if_none_exist {
        let matches = match matching(store, criteria) {
            Ok(m) => m,
            Err(e) => return outcome(400, &e),
        };
        match matches.as_slice() {
            [] => {}
            [one] => {
                let mut found = answer(200, (*one).clone());
                found.location = one["id"].as_str().map(|id| format!("AuditEvent/{id}/_history/1"));
                return found;
            }
            _ => return outcome(412, "the If-None-Exist criteria match several AuditEvents"),
        }
    }
    let id = format!("{}", store.events.len() + 1);
    resource["id"] = json!(id);
    resource["meta"]["versionId"] = json!("1");
    store.events.push(resource.clone());
    let mut created = answer(201, resource);
    created.location = Some(format!("AuditEvent/{id}/_history/1"));
    created
}

/// A batch or transaction: each entry's answer in a `…-response` Bundle, in order.
fn bundle_answer(store: &mut Store, bundle: &Value) -> Answer {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return outcome(400, "POST to the base takes a Bundle");
    }
    let kind = match bundle.get("type").and_then(Value::as_str) {
        Some(kind @ ("batch" | "transaction")) => kind,
        _ => return outcome(400, "the Bundle must be a batch or a transaction"),
    };
    let entries = bundle.get("entry").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut answers = Vec::new();
    for entry in &entries {
        let method = entry.pointer("/request/method").and_then(Value::as_str);
        let url = entry.pointer("/request/url").and_then(Value::as_str);
        let one = match (method, url, entry.get("resource")) {
            (Some("POST"), Some("AuditEvent"), Some(resource)) => {
                create(store, resource.clone(), entry.pointer("/request/ifNoneExist").and_then(Value::as_str))
            }
            (Some("POST"), Some(_), _) => outcome(404, "this repository holds AuditEvents only"),
            _ => outcome(405, "entries must POST an AuditEvent"),
        };
        if kind == "transaction" && one.status >= 400 {
            // All or nothing: a transaction with a failing entry changes nothing.
            return one;
        }
        answers.push(one);
    }
    let entry: Vec<Value> = answers
        .into_iter()
        .map(|a| {
            let mut response = json!({ "status": status_line(a.status) });
            if let Some(location) = a.location {
                response["location"] = json!(location);
            }
            if a.status >= 400 {
                response["outcome"] = a.body;
            }
            json!({ "response": response })
        })
        .collect();
    answer(200, json!({ "resourceType": "Bundle", "type": format!("{kind}-response"), "entry": entry }))
}

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        _ => "",
    };
    format!("{status} {reason}").trim_end().to_string()
}

/// The searches this repository understands.
fn matching<'a>(store: &'a Store, query: &str) -> Result<Vec<&'a Value>, String> {
    let mut keep: Vec<&Value> = store.events.iter().collect();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "patient" => {
                let wanted = if value.contains('/') { value.clone() } else { format!("Patient/{value}") };
                keep.retain(|e| references(e).iter().any(|r| *r == wanted));
            }
            "entity:identifier" => {
                let (system, id) = value.split_once('|').map_or((None, value.as_str()), |(s, v)| (Some(s), v));
                keep.retain(|e| entities(e).any(|w| identifier_is(&w["identifier"], system, id)));
            }
            "_id" => keep.retain(|e| e["id"] == value.as_str()),
            "_count" => {}
            other => return Err(format!("unknown search parameter {other:?}")),
        }
    }
    Ok(keep)
}

fn entities(event: &Value) -> impl Iterator<Item = &Value> {
    event["entity"].as_array().into_iter().flatten().map(|e| &e["what"])
}

/// Patient references in `agent.who` and `entity.what` (the R4 `patient` parameter's paths).
fn references(event: &Value) -> Vec<&str> {
    let agents = event["agent"].as_array().into_iter().flatten().map(|a| &a["who"]);
    agents.chain(entities(event)).filter_map(|r| r["reference"].as_str()).filter(|r| r.starts_with("Patient/")).collect()
}

fn identifier_is(identifier: &Value, system: Option<&str>, value: &str) -> bool {
    identifier["value"] == value && system.is_none_or(|s| identifier["system"] == s)
}

fn search(store: &Store, query: &str) -> Answer {
    match matching(store, query) {
        Ok(found) => {
            let entry: Vec<Value> = found
                .iter()
                .map(|e| json!({ "fullUrl": format!("AuditEvent/{}", e["id"].as_str().unwrap_or_default()), "resource": e, "search": { "mode": "match" } }))
                .collect();
            answer(200, json!({ "resourceType": "Bundle", "type": "searchset", "total": entry.len(), "entry": entry }))
        }
        Err(e) => outcome(400, &e),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn capability() -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "software": { "name": "TestAuditRepository" },
        "rest": [{
            "mode": "server",
            "resource": [{
                "type": "AuditEvent",
                "interaction": [{ "code": "create" }, { "code": "read" }, { "code": "search-type" }],
                "conditionalCreate": true,
                "searchParam": [
                    { "name": "patient", "type": "reference" },
                    { "name": "entity", "type": "reference" },
                    { "name": "_id", "type": "token" }
                ]
            }],
            "interaction": [{ "code": "batch" }, { "code": "transaction" }]
        }]
    })
}
