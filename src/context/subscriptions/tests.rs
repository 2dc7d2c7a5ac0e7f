//! The Backport IG's message shapes (R4 Parameters status, R4B/R5 SubscriptionStatus) and the
//! Helios FHIR Server's id-only event bundle.

use super::*;

#[test]
fn the_subscription_names_the_topic_the_channel_and_the_patient_filter_twice() {
    let s = subscription_resource("http://example.org/topic/imagingstudy", "p1");
    assert_eq!(s["criteria"], "http://example.org/topic/imagingstudy");
    assert_eq!(s["channel"]["type"], "websocket");
    assert_eq!(s["channel"]["_payload"]["extension"][0]["valueCode"], "id-only");
    assert_eq!(s["extension"][0]["valueString"], "ImagingStudy?patient=Patient/p1");
    assert_eq!(s["_criteria"]["extension"][0], s["extension"][0]);
    assert_eq!(s["meta"]["profile"][0], "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription");
}

#[test]
fn a_binding_token_answer() {
    let body = br#"{"resourceType":"Parameters","parameter":[
        {"name":"token","valueString":"abc"},
        {"name":"expiration","valueDateTime":"2026-01-01T10:10:00Z"},
        {"name":"subscription","valueString":"Subscription/s1"},
        {"name":"websocket-url","valueUrl":"ws://127.0.0.1:8080/ws"}]}"#;
    let b = parse_binding(body).unwrap();
    assert_eq!(
        (b.token.as_str(), b.websocket_url.as_str(), b.expiration.as_deref()),
        ("abc", "ws://127.0.0.1:8080/ws", Some("2026-01-01T10:10:00Z"))
    );
    assert!(parse_binding(br#"{"resourceType":"Parameters","parameter":[{"name":"token","valueString":"abc"}]}"#).is_err());
    assert!(parse_binding(br#"{"resourceType":"OperationOutcome"}"#).is_err());
    assert!(parse_binding(
        br#"{"resourceType":"Parameters","parameter":[{"name":"token","valueString":"a"},{"name":"websocket-url","valueUrl":"http://x"}]}"#
    )
    .is_err());
    assert_eq!(binding_token_path("s1"), "Subscription/s1/$get-ws-binding-token");
}

#[test]
fn bind_in_both_forms_and_rebind_before_expiry() {
    assert_eq!(bind_text("abc"), "bind-with-token abc");
    assert_eq!(serde_json::from_str::<Value>(&bind_json("abc")).unwrap(), json!({"type": "bind-with-token", "payload": {"token": "abc"}}));
    let now = super::super::fhircast::timestamp_seconds("2026-01-01T10:00:00Z").unwrap();
    assert_eq!(rebind_after(Some("2026-01-01T10:10:00Z"), now), Duration::from_secs(540));
    assert_eq!(rebind_after(Some("2026-01-01T10:00:30Z"), now), Duration::from_secs(5));
    assert_eq!(rebind_after(None, now), Duration::from_secs(600));
}

fn r4_status(kind: &str, focus: Option<&str>) -> Value {
    let mut params = vec![
        json!({"name": "subscription", "valueReference": {"reference": "Subscription/s1"}}),
        json!({"name": "topic", "valueCanonical": "http://example.org/topic"}),
        json!({"name": "status", "valueCode": "active"}),
        json!({"name": "type", "valueCode": kind}),
        json!({"name": "events-since-subscription-start", "valueString": "3"}),
    ];
    if let Some(f) = focus {
        params.push(json!({"name": "notification-event", "part": [
            {"name": "event-number", "valueString": "3"}, {"name": "timestamp", "valueInstant": "2026-01-01T10:00:00Z"},
            {"name": "focus", "valueReference": {"reference": f}}]}));
    }
    json!({"resourceType": "Parameters", "parameter": params})
}

#[test]
fn r4_backport_handshake_and_event() {
    let handshake = json!({"resourceType": "Bundle", "type": "history", "entry": [{"resource": r4_status("handshake", None)}]});
    let n = parse_notice(&handshake.to_string()).unwrap().unwrap();
    assert_eq!((n.kind.clone(), n.events_since_start), (NoticeKind::Handshake, Some(3)));
    assert!(!n.names_a_study());
    let event = json!({"resourceType": "Bundle", "type": "history", "entry": [
        {"resource": r4_status("event-notification", Some("ImagingStudy/new-1"))},
        {"fullUrl": "http://fhir/ImagingStudy/new-1", "request": {"method": "POST", "url": "ImagingStudy/new-1"}, "response": {"status": "201"}}]});
    let n = parse_notice(&event.to_string()).unwrap().unwrap();
    assert_eq!(n.focus, ["ImagingStudy/new-1"]);
    assert!(n.names_a_study());
}

#[test]
fn a_focus_only_in_the_entries_is_read_from_there() {
    let event = json!({"resourceType": "Bundle", "type": "history", "entry": [
        {"resource": r4_status("event-notification", None)}, {"request": {"method": "POST", "url": "ImagingStudy/x"}}]});
    assert_eq!(parse_notice(&event.to_string()).unwrap().unwrap().focus, ["ImagingStudy/x"]);
}

#[test]
fn r4b_and_r5_subscription_status() {
    for bundle_type in ["history", "subscription-notification"] {
        let b = json!({"resourceType": "Bundle", "type": bundle_type, "entry": [{"resource": {"resourceType": "SubscriptionStatus",
            "status": "active", "type": "event-notification", "eventsSinceSubscriptionStart": "7",
            "notificationEvent": [{"eventNumber": "7", "focus": {"reference": "ImagingStudy/s7"}}]}}]});
        let n = parse_notice(&b.to_string()).unwrap().unwrap();
        assert_eq!((n.kind, n.events_since_start, n.focus), (NoticeKind::EventNotification, Some(7), vec!["ImagingStudy/s7".to_string()]));
    }
    let heartbeat = json!({"resourceType": "Bundle", "type": "history", "entry": [{"resource": {"resourceType": "SubscriptionStatus", "type": "heartbeat"}}]});
    assert_eq!(parse_notice(&heartbeat.to_string()).unwrap().unwrap().kind, NoticeKind::Heartbeat);
}

#[test]
fn other_messages_are_not_notices() {
    assert_eq!(parse_notice("bound").unwrap(), None);
    assert_eq!(parse_notice(r#"{"type":"pong"}"#).unwrap(), None);
    assert!(parse_notice(r#"{"resourceType":"Bundle","type":"history","entry":[]}"#).is_err());
    let other = json!({"resourceType": "Bundle", "entry": [{"resource": r4_status("event-notification", Some("Patient/p"))}]});
    assert!(!parse_notice(&other.to_string()).unwrap().unwrap().names_a_study());
}
