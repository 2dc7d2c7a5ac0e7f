//! FHIRcast STU3, the protocol only: what goes over HTTP and the WebSocket, as values. The
//! browser glue owns the socket and the timers; the rules of when to renew, retry and resend
//! live here so they are tested natively against the specification's own examples.
//!
//! The client is strict about what STU3 requires (an event has an `id`, a `timestamp` and a
//! `hub.event`) and tolerant of what hubs vary in (event-name case, `status` as a string or a
//! number, the well-known capability spelled either way, `ws://` on loopback).

use serde_json::{json, Value};
use std::time::Duration;
use thiserror::Error;

/// How long after a SyncError on our own event it may be sent again (STU3 2-6).
pub const RESEND_AFTER: Duration = Duration::from_secs(10);
/// Our own event is sent at most this often in all (the first send and one resend): a
/// subscriber that refuses it twice will refuse it again.
pub const MAX_SENDS: u32 = 2;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum FhircastError {
    #[error("the FHIRcast hub refused the request ({status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("the FHIRcast hub denied the subscription to {topic}: {reason}")]
    Denied { topic: String, reason: String },
    #[error("the FHIRcast hub's message is not STU3: {0}")]
    Malformed(String),
}

/// What a subscriber asks the hub for.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub topic: String,
    /// Event names as the hub's catalogue spells them (matched case-insensitively).
    pub events: Vec<String>,
    pub lease_seconds: Option<u32>,
    /// Named in the hub's SyncErrors about us.
    pub subscriber_name: Option<String>,
}

/// The events the widget follows when the host names none.
pub const DEFAULT_EVENTS: [&str; 9] = [
    "Patient-open",
    "Patient-close",
    "ImagingStudy-open",
    "ImagingStudy-close",
    "DiagnosticReport-open",
    "DiagnosticReport-close",
    "UserLogout",
    "UserHibernate",
    "SyncError",
];

impl Subscription {
    /// The `application/x-www-form-urlencoded` body of the subscribe POST.
    pub fn subscribe_body(&self) -> String {
        let events = self.events.join(",");
        let lease = self.lease_seconds.map(|s| s.to_string());
        let mut pairs: Vec<(&str, &str)> =
            vec![("hub.channel.type", "websocket"), ("hub.mode", "subscribe"), ("hub.topic", &self.topic), ("hub.events", &events)];
        if let Some(lease) = &lease {
            pairs.push(("hub.lease_seconds", lease));
        }
        if let Some(name) = &self.subscriber_name {
            pairs.push(("subscriber.name", name));
        }
        form(&pairs)
    }

    /// The unsubscribe POST body: the topic and the endpoint, no events (STU3: "SHALL NOT").
    pub fn unsubscribe_body(&self, endpoint: &str) -> String {
        form(&[
            ("hub.channel.type", "websocket"),
            ("hub.channel.endpoint", endpoint),
            ("hub.mode", "unsubscribe"),
            ("hub.topic", &self.topic),
        ])
    }
}

/// Form encoding that keeps the comma of `hub.events` literal, as the specification's
/// examples write it; everything but unreserved characters is percent-encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' | b',' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The WebSocket endpoint of a subscribe answer: 202 (any 2xx) with `hub.channel.endpoint`.
pub fn parse_subscribe_response(status: u16, body: &[u8]) -> Result<String, FhircastError> {
    if !(200..300).contains(&status) {
        let reason = String::from_utf8_lossy(body).chars().take(300).collect::<String>();
        return Err(FhircastError::Refused { status, reason });
    }
    let json: Value = serde_json::from_slice(body).map_err(|e| FhircastError::Malformed(format!("subscribe answer: {e}")))?;
    let endpoint = json
        .get("hub.channel.endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| FhircastError::Malformed("the subscribe answer has no hub.channel.endpoint".into()))?;
    match url::Url::parse(endpoint) {
        Ok(u) if matches!(u.scheme(), "ws" | "wss") => Ok(endpoint.to_string()),
        _ => Err(FhircastError::Malformed(format!("hub.channel.endpoint {endpoint:?} is not a ws(s) URL"))),
    }
}

/// The events FHIRcast names and the widget acts on; any other is [`EventKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    PatientOpen,
    PatientClose,
    ImagingStudyOpen,
    ImagingStudyClose,
    DiagnosticReportOpen,
    DiagnosticReportClose,
    UserLogout,
    UserHibernate,
    SyncError,
    Other(String),
}

impl EventKind {
    /// Event names are case-insensitive (STU3 2-4).
    pub fn parse(name: &str) -> EventKind {
        match name.to_ascii_lowercase().as_str() {
            "patient-open" => EventKind::PatientOpen,
            "patient-close" => EventKind::PatientClose,
            "imagingstudy-open" => EventKind::ImagingStudyOpen,
            "imagingstudy-close" => EventKind::ImagingStudyClose,
            "diagnosticreport-open" => EventKind::DiagnosticReportOpen,
            "diagnosticreport-close" => EventKind::DiagnosticReportClose,
            "userlogout" => EventKind::UserLogout,
            "userhibernate" => EventKind::UserHibernate,
            "syncerror" => EventKind::SyncError,
            _ => EventKind::Other(name.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            EventKind::PatientOpen => "Patient-open",
            EventKind::PatientClose => "Patient-close",
            EventKind::ImagingStudyOpen => "ImagingStudy-open",
            EventKind::ImagingStudyClose => "ImagingStudy-close",
            EventKind::DiagnosticReportOpen => "DiagnosticReport-open",
            EventKind::DiagnosticReportClose => "DiagnosticReport-close",
            EventKind::UserLogout => "UserLogout",
            EventKind::UserHibernate => "UserHibernate",
            EventKind::SyncError => "SyncError",
            EventKind::Other(name) => name,
        }
    }

    /// An `*-open` or `*-close`: what sets the current context (and its timestamp).
    pub fn is_context_change(&self) -> bool {
        matches!(
            self,
            EventKind::PatientOpen
                | EventKind::PatientClose
                | EventKind::ImagingStudyOpen
                | EventKind::ImagingStudyClose
                | EventKind::DiagnosticReportOpen
                | EventKind::DiagnosticReportClose
        )
    }
}

/// One item of an event's `context`: a lower-case key and a resource, reference or string.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextItem {
    pub key: String,
    pub value: ContextValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    Resource(Value),
    /// A FHIR Reference (`{"reference": "Patient/x"}`).
    Reference(Value),
    String(String),
}

/// An event notification (STU3 2-5).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: String,
    pub timestamp: String,
    pub topic: String,
    pub kind: EventKind,
    pub version_id: Option<String>,
    pub context: Vec<ContextItem>,
    /// The message as received, for the host's `emr-imaging:context` event.
    pub raw: Value,
}

/// What the hub sends over the WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum HubMessage {
    Confirmation {
        topic: String,
        events: Vec<String>,
        lease_seconds: Option<u64>,
    },
    /// The subscription ended (refused, expired, unsubscribed); the hub closes the socket.
    Denial {
        topic: String,
        events: Vec<String>,
        reason: Option<String>,
    },
    Event(Notification),
}

/// Reads one WebSocket text message from the hub.
pub fn parse_message(text: &str) -> Result<HubMessage, FhircastError> {
    let json: Value = serde_json::from_str(text).map_err(|e| FhircastError::Malformed(e.to_string()))?;
    let field = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_string);
    let events = |v: Option<String>| v.map(|e| split_events(&e)).unwrap_or_default();
    if let Some(mode) = field("hub.mode") {
        let topic = field("hub.topic").unwrap_or_default();
        return match mode.as_str() {
            "subscribe" => Ok(HubMessage::Confirmation {
                topic,
                events: events(field("hub.events")),
                lease_seconds: json.get("hub.lease_seconds").and_then(number),
            }),
            "denied" | "unsubscribe" => Ok(HubMessage::Denial { topic, events: events(field("hub.events")), reason: field("hub.reason") }),
            other => Err(FhircastError::Malformed(format!("hub.mode {other:?}"))),
        };
    }
    Ok(HubMessage::Event(parse_notification(json)?))
}

/// An event notification object, as a hub sends it and as a publisher POSTs it.
pub fn parse_notification(json: Value) -> Result<Notification, FhircastError> {
    let missing = |what: &str| FhircastError::Malformed(format!("an event without {what}"));
    let id = json.get("id").and_then(Value::as_str).ok_or_else(|| missing("id"))?.to_string();
    let timestamp = json.get("timestamp").and_then(Value::as_str).ok_or_else(|| missing("timestamp"))?.to_string();
    let event = json.get("event").filter(|e| e.is_object()).ok_or_else(|| missing("event"))?;
    let name = event.get("hub.event").and_then(Value::as_str).ok_or_else(|| missing("hub.event"))?;
    let topic = event.get("hub.topic").and_then(Value::as_str).unwrap_or_default().to_string();
    let context = parse_context(event.get("context"))?;
    Ok(Notification {
        id,
        timestamp,
        topic,
        kind: EventKind::parse(name),
        version_id: event.get("context.versionId").and_then(Value::as_str).map(str::to_string),
        context,
        raw: json,
    })
}

fn parse_context(value: Option<&Value>) -> Result<Vec<ContextItem>, FhircastError> {
    let Some(items) = value else { return Ok(Vec::new()) };
    let items = items.as_array().ok_or_else(|| FhircastError::Malformed("context is not an array".into()))?;
    items
        .iter()
        .map(|item| {
            let key =
                item.get("key").and_then(Value::as_str).ok_or_else(|| FhircastError::Malformed("a context item without key".into()))?;
            let value = if let Some(r) = item.get("resource").filter(|r| r.is_object()) {
                ContextValue::Resource(r.clone())
            } else if let Some(r) = item.get("reference") {
                ContextValue::Reference(r.clone())
            } else if let Some(s) = item.get("string").and_then(Value::as_str) {
                ContextValue::String(s.to_string())
            } else {
                return Err(FhircastError::Malformed(format!("context item {key:?} has no resource, reference or string")));
            };
            Ok(ContextItem { key: key.to_ascii_lowercase(), value })
        })
        .collect()
}

fn split_events(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect()
}

/// A JSON number, or a string holding one (hubs differ).
fn number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

impl Notification {
    /// The resources under `key` (`study` may occur several times in a DiagnosticReport-open).
    pub fn resources<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.context.iter().filter(move |c| c.key == key).filter_map(|c| match &c.value {
            ContextValue::Resource(r) => Some(r),
            _ => None,
        })
    }

    /// The FHIR id of the `patient` context: the resource's `id`, or a `Patient/x` reference.
    pub fn patient_id(&self) -> Option<String> {
        let item = self.context.iter().find(|c| c.key == "patient")?;
        match &item.value {
            ContextValue::Resource(r) => r.get("id").and_then(Value::as_str).map(str::to_string),
            ContextValue::Reference(r) => reference_id(r, "Patient"),
            ContextValue::String(_) => None,
        }
    }

    /// Every study the event names (`study` items), as keys to find them by.
    pub fn studies(&self) -> Vec<StudyKey> {
        self.context
            .iter()
            .filter(|c| c.key == "study")
            .filter_map(|c| match &c.value {
                ContextValue::Resource(r) => Some(StudyKey::of_resource(r)),
                ContextValue::Reference(r) => {
                    reference_id(r, "ImagingStudy").map(|id| StudyKey { fhir_id: Some(id), ..StudyKey::default() })
                }
                ContextValue::String(_) => None,
            })
            .collect()
    }

    /// What a SyncError says: about which event, from whom, why.
    pub fn sync_error(&self) -> Option<SyncError> {
        let outcome = self.resources("operationoutcome").next()?;
        let issue = outcome.get("issue").and_then(Value::as_array).and_then(|i| i.first())?;
        let coding = issue.pointer("/details/coding").and_then(Value::as_array).cloned().unwrap_or_default();
        let code_of = |suffix: &str| {
            coding
                .iter()
                .find(|c| c.get("system").and_then(Value::as_str) == Some(&format!("https://fhircast.hl7.org/events/syncerror/{suffix}")))
                .and_then(|c| c.get("code").and_then(Value::as_str))
                .map(str::to_string)
        };
        Some(SyncError {
            event_id: code_of("eventid"),
            event_name: code_of("eventname"),
            subscriber: code_of("subscriber"),
            diagnostics: issue.get("diagnostics").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// The id of a Reference to `resource_type` (`Patient/x`, or an absolute URL ending so).
fn reference_id(reference: &Value, resource_type: &str) -> Option<String> {
    let text = reference.get("reference").and_then(Value::as_str).or_else(|| reference.as_str())?;
    let mut parts = text.trim_end_matches('/').rsplit('/');
    let id = parts.next()?;
    (parts.next() == Some(resource_type) && !id.is_empty()).then(|| id.to_string())
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncError {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub subscriber: Option<String>,
    pub diagnostics: Option<String>,
}

/// How an event names a study: its Study Instance UID (`urn:dicom:uid`, with or without
/// `urn:oid:`), its accession number (an `ACSN` identifier or `basedOn`), its FHIR id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyKey {
    pub uid: Option<String>,
    pub accession: Option<String>,
    pub fhir_id: Option<String>,
    /// The patient its `subject` names.
    pub patient_id: Option<String>,
}

impl StudyKey {
    pub fn of_resource(study: &Value) -> StudyKey {
        let identifiers: Vec<&Value> = study.get("identifier").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        let based_on: Vec<&Value> = study
            .get("basedOn")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|b| b.get("identifier")).collect())
            .unwrap_or_default();
        let uid = identifiers
            .iter()
            .find(|i| i.get("system").and_then(Value::as_str) == Some("urn:dicom:uid"))
            .and_then(|i| i.get("value").and_then(Value::as_str))
            .map(|v| v.trim().strip_prefix("urn:oid:").unwrap_or(v.trim()).to_string());
        let is_acsn = |i: &&&Value| {
            i.pointer("/type/coding")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c.get("code").and_then(Value::as_str) == Some("ACSN")))
        };
        let accession = identifiers
            .iter()
            .find(is_acsn)
            .or_else(|| based_on.iter().find(is_acsn))
            .and_then(|i| i.get("value").and_then(Value::as_str))
            .map(str::to_string);
        StudyKey {
            uid,
            accession,
            fhir_id: study.get("id").and_then(Value::as_str).map(str::to_string),
            patient_id: study.get("subject").and_then(|s| reference_id(s, "Patient")),
        }
    }
}

/// The acknowledgement of event `id` (STU3 2-5: the status as the example writes it, a string).
pub fn acknowledgement(id: &str, status: u16) -> String {
    json!({ "id": id, "status": status.to_string() }).to_string()
}

/// An acknowledgement read back (by the test hub): the event id and its status.
pub fn parse_acknowledgement(text: &str) -> Option<(String, u16)> {
    let json: Value = serde_json::from_str(text).ok()?;
    let id = json.get("id")?.as_str()?.to_string();
    let status = json.get("status").and_then(number)?;
    (json.get("event").is_none()).then_some((id, status as u16))
}

/// The study we publish, as its ImagingStudy-open/-close names it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedStudy {
    pub uid: String,
    pub accession: Option<String>,
    pub fhir_id: Option<String>,
    pub patient_id: Option<String>,
    /// The Patient resource of the banner, when read (else a reference is sent).
    pub patient: Option<Value>,
}

/// An `ImagingStudy-open`/`-close` of `study`: identifier `urn:dicom:uid` (`urn:oid:` form) and
/// the accession, the subject and the `patient` context (STU3 3-5).
pub fn imaging_study_event(kind: &EventKind, topic: &str, id: &str, timestamp: &str, study: &PublishedStudy) -> Value {
    let mut identifiers = vec![json!({ "system": "urn:dicom:uid", "value": format!("urn:oid:{}", study.uid) })];
    if let Some(accession) = &study.accession {
        identifiers.push(json!({
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN" }] },
            "value": accession
        }));
    }
    let mut resource = json!({ "resourceType": "ImagingStudy", "identifier": identifiers, "status": "available" });
    if let Some(id) = &study.fhir_id {
        resource["id"] = json!(id);
    }
    if let Some(patient) = &study.patient_id {
        resource["subject"] = json!({ "reference": format!("Patient/{patient}") });
    }
    let mut context = vec![json!({ "key": "study", "resource": resource })];
    match (&study.patient, &study.patient_id) {
        (Some(p), _) => context.push(json!({ "key": "patient", "resource": p })),
        (None, Some(id)) => context.push(json!({ "key": "patient", "resource": { "resourceType": "Patient", "id": id } })),
        (None, None) => {}
    }
    json!({ "timestamp": timestamp, "id": id, "event": { "hub.topic": topic, "hub.event": kind.name(), "context": context } })
}

/// A timestamp as seconds on one scale, for ordering events: ISO 8601 with any number of
/// digits per field (the STU3 examples write the hour `011`), UTC unless an offset is given.
pub fn timestamp_seconds(ts: &str) -> Option<f64> {
    let ts = ts.trim();
    let (date, time) = ts.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => {
            let (c, o) = time.split_at(at);
            let offset = match o.as_bytes().first() {
                Some(b'Z' | b'z') => 0.0,
                Some(sign) => {
                    let mut p = o[1..].split(':').map(|p| p.parse::<f64>().ok());
                    let (h, mm) = (p.next()??, p.next().flatten().unwrap_or(0.0));
                    let s = h * 3600.0 + mm * 60.0;
                    if *sign == b'-' {
                        -s
                    } else {
                        s
                    }
                }
                None => 0.0,
            };
            (c, offset)
        }
        None => (time, 0.0),
    };
    let mut c = clock.split(':');
    let h: f64 = c.next()?.parse().ok()?;
    let min: f64 = c.next()?.parse().ok()?;
    let sec: f64 = c.next().map(str::parse).transpose().ok()?.unwrap_or(0.0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(y, m, day) as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An ISO 8601 UTC timestamp of Unix seconds, milliseconds kept.
pub fn format_timestamp(unix_seconds: f64) -> String {
    let ms = (unix_seconds * 1000.0).round() as i64;
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, min, s, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// "Ignore messages with older timestamps than the message that established the current
/// context" (STU3 2-5). An unreadable timestamp is not older than anything.
#[derive(Debug, Default, Clone)]
pub struct ContextClock {
    current: Option<f64>,
}

impl ContextClock {
    pub fn is_stale(&self, timestamp: &str) -> bool {
        matches!((self.current, timestamp_seconds(timestamp)), (Some(current), Some(t)) if t < current)
    }

    /// The event with `timestamp` set the context.
    pub fn set(&mut self, timestamp: &str) {
        if let Some(t) = timestamp_seconds(timestamp) {
            self.current = Some(self.current.map_or(t, |c| c.max(t)));
        }
    }

    /// After a reconnect the hub's current context is the truth, whatever its time.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// When to renew a lease of `lease_seconds`: at four fifths of it, and at least 5 s before
/// its end when it is long enough to allow that.
pub fn renew_after(lease_seconds: u64) -> Duration {
    let lease = lease_seconds as f64;
    let at = (lease * 0.8).min(lease - 5.0).max(lease * 0.5).max(1.0);
    Duration::from_secs_f64(at)
}

/// Reconnect delays after a drop: 0.5 s doubling to 30 s, with up to a quarter more at random
/// so that many viewers do not return at the same instant.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(500);
    pub const MAX: Duration = Duration::from_secs(30);

    /// The next delay; `jitter` in [0, 1).
    pub fn next(&mut self, jitter: f64) -> Duration {
        let base = Self::FIRST.as_secs_f64() * 2f64.powi(self.attempt.min(16) as i32);
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_secs_f64(base.min(Self::MAX.as_secs_f64()) * (1.0 + 0.25 * jitter.clamp(0.0, 1.0)))
    }

    /// A confirmed subscription starts the series again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Our own published events until the hub sends them back (the confirmation) or refuses them.
#[derive(Debug, Default)]
pub struct Outbox {
    pending: Vec<Pending>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: String,
    /// The event exactly as first sent: a resend keeps its timestamp (STU3 2-6).
    pub body: Value,
    pub sends: u32,
}

/// What to do about a SyncError.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncAction {
    /// About our event: send `body` again after [`RESEND_AFTER`].
    Resend(Value),
    /// About our event, sent [`MAX_SENDS`] times: give up and show it.
    GiveUp(String),
    /// About someone else's event: show it.
    Show,
}

impl Outbox {
    pub fn sent(&mut self, id: &str, body: Value) {
        self.pending.retain(|p| p.id != id);
        self.pending.push(Pending { id: id.to_string(), body, sends: 1 });
    }

    /// Whether `id` is ours; the hub's broadcast of it confirms it.
    pub fn confirm(&mut self, id: &str) -> bool {
        let before = self.pending.len();
        self.pending.retain(|p| p.id != id);
        before != self.pending.len()
    }

    pub fn on_sync_error(&mut self, error: &SyncError) -> SyncAction {
        let Some(id) = error.event_id.as_deref() else { return SyncAction::Show };
        let Some(at) = self.pending.iter().position(|p| p.id == id) else { return SyncAction::Show };
        if self.pending[at].sends >= MAX_SENDS {
            self.pending.remove(at);
            return SyncAction::GiveUp(id.to_string());
        }
        self.pending[at].sends += 1;
        SyncAction::Resend(self.pending[at].body.clone())
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// `.well-known/fhircast-configuration`, read when the hub offers it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HubConfiguration {
    pub events_supported: Vec<String>,
    pub version: Option<String>,
    /// Get Current Context offered (`getCurrentSupport`, or `capabilities.supportsGetCurrentContext`).
    pub get_current_context: bool,
}

pub fn well_known_url(hub_url: &str) -> String {
    format!("{}/.well-known/fhircast-configuration", hub_url.trim_end_matches('/'))
}

pub fn parse_configuration(body: &[u8]) -> Result<HubConfiguration, FhircastError> {
    let json: Value = serde_json::from_slice(body).map_err(|e| FhircastError::Malformed(format!("fhircast-configuration: {e}")))?;
    let events_supported = json
        .get("eventsSupported")
        .and_then(Value::as_array)
        .ok_or_else(|| FhircastError::Malformed("fhircast-configuration has no eventsSupported".into()))?
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    let get_current_context = json.get("getCurrentSupport").and_then(Value::as_bool).unwrap_or(false)
        || json.pointer("/capabilities/supportsGetCurrentContext").and_then(Value::as_bool).unwrap_or(false);
    Ok(HubConfiguration {
        events_supported,
        version: json.get("fhircastVersion").and_then(Value::as_str).map(str::to_string),
        get_current_context,
    })
}

/// `GET <hub.url>/<topic>` (Get Current Context).
pub fn current_context_url(hub_url: &str, topic: &str) -> String {
    format!("{}/{}", hub_url.trim_end_matches('/'), form_component(topic))
}

fn form_component(s: &str) -> String {
    form(&[("", s)]).trim_start_matches('=').to_string()
}

/// The current context as the `*-open` that set it, or `None` when nothing is open.
pub fn parse_current_context(body: &[u8]) -> Result<Option<(EventKind, Vec<ContextItem>)>, FhircastError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let json: Value = serde_json::from_slice(body).map_err(|e| FhircastError::Malformed(format!("current context: {e}")))?;
    let context = parse_context(json.get("context"))?;
    let kind = match json.get("context.type").and_then(Value::as_str).unwrap_or_default() {
        "" => return Ok(None),
        t => EventKind::parse(&format!("{t}-open")),
    };
    Ok((!context.is_empty()).then_some((kind, context)))
}

#[cfg(test)]
mod tests;
