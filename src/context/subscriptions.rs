//! FHIR topic-based Subscriptions for new studies of the patient on screen, the protocol only:
//! the R4 Backport Subscription we create, `$get-ws-binding-token`, the bind message (text and
//! JSON forms) and the notification bundles (R4 backport `history` with a Parameters status,
//! R4B `history` with a SubscriptionStatus, R5 `subscription-notification`).
//!
//! Coded to the Backport IG; the Helios FHIR Server's deviations are noted where they matter.

use serde_json::{json, Value};
use std::time::Duration;
use thiserror::Error;

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SubscriptionError {
    #[error("the FHIR server's subscription answer is unusable: {0}")]
    Malformed(String),
}

/// The Subscription for ImagingStudy changes of `patient_id` on `topic` (a SubscriptionTopic
/// canonical), over a WebSocket, with the focus ids only (the list is read again anyway).
pub fn subscription_resource(topic: &str, patient_id: &str) -> Value {
    let filter = json!({ "url": format!("{BACKPORT}/backport-filter-criteria"), "valueString": format!("ImagingStudy?patient=Patient/{patient_id}") });
    json!({
        "resourceType": "Subscription",
        "meta": { "profile": [format!("{BACKPORT}/backport-subscription")] },
        "status": "requested",
        "reason": "emr-imaging: new studies of the patient on screen",
        "criteria": topic,
        // The IG puts the filter on `_criteria`; Helios reads it only from the root extension
        // list. Both carry it, and each event's focus is checked against the screen anyway.
        "_criteria": { "extension": [filter.clone()] },
        "extension": [filter],
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": { "extension": [{ "url": format!("{BACKPORT}/backport-payload-content"), "valueCode": "id-only" }] }
        }
    })
}

/// The answer of `$get-ws-binding-token`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub token: String,
    /// When the token stops binding (FHIR dateTime), if given.
    pub expiration: Option<String>,
    pub websocket_url: String,
}

/// `GET [base]/Subscription/[id]/$get-ws-binding-token` (Helios routes GET only: POST is 405).
pub fn binding_token_path(subscription_id: &str) -> String {
    format!("Subscription/{subscription_id}/$get-ws-binding-token")
}

pub fn parse_binding(body: &[u8]) -> Result<Binding, SubscriptionError> {
    let json: Value = serde_json::from_slice(body).map_err(|e| SubscriptionError::Malformed(e.to_string()))?;
    if json.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(SubscriptionError::Malformed("$get-ws-binding-token did not answer a Parameters resource".into()));
    }
    let param = |name: &str| {
        json.get("parameter")
            .and_then(Value::as_array)
            .and_then(|ps| ps.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name)))
            .and_then(|p| {
                ["valueString", "valueUrl", "valueUri", "valueDateTime", "valueInstant"]
                    .iter()
                    .find_map(|k| p.get(*k).and_then(Value::as_str))
            })
    };
    let token = param("token").ok_or_else(|| SubscriptionError::Malformed("no token".into()))?.to_string();
    let websocket_url = param("websocket-url").ok_or_else(|| SubscriptionError::Malformed("no websocket-url".into()))?.to_string();
    if !(websocket_url.starts_with("ws://") || websocket_url.starts_with("wss://")) {
        return Err(SubscriptionError::Malformed(format!("websocket-url {websocket_url:?} is not a ws(s) URL")));
    }
    Ok(Binding { token, expiration: param("expiration").map(str::to_string), websocket_url })
}

/// The bind message as the IG's diagram sends it (Helios reads this form).
pub fn bind_text(token: &str) -> String {
    format!("bind-with-token {token}")
}

/// The JSON bind message some servers expect instead (Medplum's R4 endpoint).
pub fn bind_json(token: &str) -> String {
    json!({ "type": "bind-with-token", "payload": { "token": token } }).to_string()
}

/// When to bind again with a fresh token: a minute before `expiration`, at least 5 s from
/// `now` (both Unix seconds); a token without expiry is renewed every 10 minutes. Helios sends
/// no heartbeats, so silence is no sign of a dead socket and this timer keeps it honest.
pub fn rebind_after(expiration: Option<&str>, now_unix: f64) -> Duration {
    let at = expiration.and_then(super::fhircast::timestamp_seconds).map(|e| e - 60.0 - now_unix).unwrap_or(600.0);
    Duration::from_secs_f64(at.max(5.0))
}

/// What a notification bundle says.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub events_since_start: Option<u64>,
    /// The focus references (`ImagingStudy/x`) of its events.
    pub focus: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NoticeKind {
    Handshake,
    Heartbeat,
    EventNotification,
    QueryStatus,
    QueryEvent,
    Other(String),
}

/// Reads one WebSocket message: a notification Bundle, or `None` for anything else (a
/// server's own text such as a bind acknowledgement).
pub fn parse_notice(text: &str) -> Result<Option<Notice>, SubscriptionError> {
    let Ok(json) = serde_json::from_str::<Value>(text) else { return Ok(None) };
    if json.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Ok(None);
    }
    let entries: Vec<&Value> = json.get("entry").and_then(Value::as_array).map(|e| e.iter().collect()).unwrap_or_default();
    let status = entries
        .first()
        .and_then(|e| e.get("resource"))
        .ok_or_else(|| SubscriptionError::Malformed("a notification without its status".into()))?;
    let (kind, since, mut focus) = match status.get("resourceType").and_then(Value::as_str) {
        // R4 backport: Parameters shaped like SubscriptionStatus.
        Some("Parameters") => {
            let params: Vec<&Value> = status.get("parameter").and_then(Value::as_array).map(|p| p.iter().collect()).unwrap_or_default();
            let value = |name: &str| params.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name)).copied();
            let kind = value("type").and_then(|p| p.get("valueCode").and_then(Value::as_str)).unwrap_or_default().to_string();
            let since = value("events-since-subscription-start").and_then(|p| {
                p.get("valueString")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .or_else(|| p.get("valueInteger64").and_then(Value::as_u64))
            });
            let focus = params
                .iter()
                .filter(|p| p.get("name").and_then(Value::as_str) == Some("notification-event"))
                .filter_map(|p| p.get("part")?.as_array()?.iter().find(|part| part.get("name").and_then(Value::as_str) == Some("focus")))
                .filter_map(|part| part.pointer("/valueReference/reference").and_then(Value::as_str).map(str::to_string))
                .collect::<Vec<_>>();
            (kind, since, focus)
        }
        // R4B and R5.
        Some("SubscriptionStatus") => {
            let kind = status.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
            let since =
                status.get("eventsSinceSubscriptionStart").and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
            let focus = status
                .get("notificationEvent")
                .and_then(Value::as_array)
                .map(|events| {
                    events.iter().filter_map(|e| e.pointer("/focus/reference").and_then(Value::as_str).map(str::to_string)).collect()
                })
                .unwrap_or_default();
            (kind, since, focus)
        }
        _ => return Err(SubscriptionError::Malformed("the first entry is no subscription status".into())),
    };
    if focus.is_empty() {
        // id-only payloads name the focus in the entries' request or fullUrl too.
        focus = entries
            .iter()
            .skip(1)
            .filter_map(|e| e.pointer("/request/url").or_else(|| e.get("fullUrl")).and_then(Value::as_str))
            .map(|u| u.trim_start_matches('/').to_string())
            .collect();
    }
    let kind = match kind.as_str() {
        "handshake" => NoticeKind::Handshake,
        "heartbeat" => NoticeKind::Heartbeat,
        "event-notification" => NoticeKind::EventNotification,
        "query-status" => NoticeKind::QueryStatus,
        "query-event" => NoticeKind::QueryEvent,
        other => NoticeKind::Other(other.to_string()),
    };
    Ok(Some(Notice { kind, events_since_start: since, focus }))
}

impl Notice {
    /// Whether an event names an ImagingStudy (the list is worth reading again).
    pub fn names_a_study(&self) -> bool {
        self.kind == NoticeKind::EventNotification && (self.focus.is_empty() || self.focus.iter().any(|f| f.contains("ImagingStudy/")))
    }
}

#[cfg(test)]
mod tests;
