//! The hub against the STU3 specification's own examples (tests/fixtures/fhircast), with a
//! plain HTTP client and a plain WebSocket client: not the widget's code, so the hub and the
//! client cannot agree by accident.

use super::*;
use std::net::TcpStream;
use tungstenite::stream::MaybeTlsStream;

type Socket = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

macro_rules! example {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/fhircast/", $name))
    };
}

const TOPIC: &str = "fdb2f928-5546-4f52-87a0-0648e9ded065";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn post(url: &str, content_type: &str, body: &str) -> (u16, String) {
    let mut r = agent().post(url).header("Content-Type", content_type).header("Authorization", "Bearer t").send(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

fn get(url: &str) -> (u16, Value) {
    let mut r = agent().get(url).call().unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null))
}

fn hub(ack_timeout: Duration) -> TestFhircastHub {
    start(HubOptions { ack_timeout, ..HubOptions::default() }).unwrap()
}

/// Subscribes with the example's form body (plus a name) and connects.
fn subscribe(hub: &TestFhircastHub, events: &str, name: &str, lease: Option<u64>) -> (String, Socket) {
    let mut body = example!("subscribe-request.txt").replace("hub.events=patient-open,patient-close", &format!("hub.events={events}"));
    body.push_str(&format!("&subscriber.name={name}"));
    if let Some(lease) = lease {
        body.push_str(&format!("&hub.lease_seconds={lease}"));
    }
    let (status, answer) = post(&hub.url(), "application/x-www-form-urlencoded", &body);
    assert_eq!(status, 202, "{answer}");
    let endpoint = serde_json::from_str::<Value>(&answer).unwrap()["hub.channel.endpoint"].as_str().unwrap().to_string();
    let (socket, _) = tungstenite::connect(&endpoint).unwrap();
    if let MaybeTlsStream::Plain(s) = socket.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    (endpoint, socket)
}

fn next(socket: &mut Socket) -> Value {
    loop {
        match socket.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(_) => return Value::Null,
            _ => {}
        }
    }
}

fn ack(socket: &mut Socket, id: &str, status: &str) {
    socket
        .send(Message::text(example!("acknowledgement.json").replace("q9v3jubddqt63n1", id).replace("\"200\"", &format!("\"{status}\""))))
        .unwrap();
}

fn publish(hub: &TestFhircastHub, example: &str) -> u16 {
    post(&hub.url(), "application/fhir+json", example).0
}

#[test]
fn subscribe_answers_202_with_a_random_endpoint_and_confirms_like_the_example() {
    let hub = hub(Duration::from_secs(10));
    let (a, mut socket) = subscribe(&hub, "patient-open,patient-close", "A", None);
    let (b, _other) = subscribe(&hub, "patient-open,patient-close", "B", None);
    assert_ne!(a, b);
    assert_eq!(endpoint_key(&a).map(|k| k.len()), Some(32), "{a}");
    let confirmation = next(&mut socket);
    let spec: Value = serde_json::from_str(example!("confirmation.json")).unwrap();
    for field in ["hub.mode", "hub.topic", "hub.events", "hub.lease_seconds"] {
        assert_eq!(confirmation[field], spec[field], "{field}");
    }
}

#[test]
fn malformed_subscriptions_are_refused() {
    let hub = hub(Duration::from_secs(10));
    let form = "application/x-www-form-urlencoded";
    assert_eq!(post(&hub.url(), form, &example!("subscribe-request.txt").replace("hub.channel.type=websocket&", "")).0, 400);
    assert_eq!(post(&hub.url(), form, "hub.channel.type=websocket&hub.mode=subscribe&hub.topic=x").0, 400, "no events");
    assert_eq!(post(&hub.url(), form, "hub.channel.type=websocket&hub.mode=unsubscribe&hub.topic=x").0, 400, "no endpoint");
    let strict = start(HubOptions { require_token: true, ..HubOptions::default() }).unwrap();
    let r = agent().post(&strict.url()).header("Content-Type", form).send(example!("subscribe-request.txt")).unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[test]
fn an_event_reaches_every_subscriber_with_its_id_and_a_refusal_is_a_syncerror() {
    let hub = hub(Duration::from_secs(10));
    let (_, mut a) = subscribe(&hub, "patient-open,patient-close,syncerror", "A", None);
    let (_, mut b) = subscribe(&hub, "patient-open,patient-close", "B", None);
    next(&mut a);
    next(&mut b);
    // The Patient-open example, published with the confirmation example's topic.
    assert_eq!(publish(&hub, example!("patient-open.json")), 202);
    let (got_a, got_b) = (next(&mut a), next(&mut b));
    assert_eq!(got_a["id"], "q9v3jubddqt63n1");
    assert_eq!(got_b["id"], got_a["id"]);
    assert_eq!(got_a["event"]["context"], serde_json::from_str::<Value>(example!("patient-open.json")).unwrap()["event"]["context"]);
    ack(&mut a, "q9v3jubddqt63n1", "200");
    ack(&mut b, "q9v3jubddqt63n1", "409");
    let error = next(&mut a);
    assert_eq!(error["event"]["hub.event"], "SyncError");
    let coding = &error["event"]["context"][0]["resource"]["issue"][0]["details"]["coding"];
    let code = |system: &str| coding.as_array().unwrap().iter().find(|c| c["system"] == system).map(|c| c["code"].clone());
    assert_eq!(code("https://fhircast.hl7.org/events/syncerror/eventid"), Some(json!("q9v3jubddqt63n1")));
    assert_eq!(code("https://fhircast.hl7.org/events/syncerror/eventname"), Some(json!("Patient-open")));
    assert_eq!(code("https://fhircast.hl7.org/events/syncerror/subscriber"), Some(json!("B")));
    let (_, acks) = get(&format!("http://127.0.0.1:{}/_test/acks", hub.port));
    // Each socket has its own reader, so the two acknowledgements may be recorded either way round.
    let mut acks = acks.as_array().cloned().unwrap_or_default();
    acks.sort_by_key(|a| a["subscriber"].as_str().map(str::to_string));
    assert_eq!(
        Value::Array(acks),
        json!([{"id": "q9v3jubddqt63n1", "status": 200, "subscriber": "A"}, {"id": "q9v3jubddqt63n1", "status": 409, "subscriber": "B"}])
    );
}

#[test]
fn no_acknowledgement_in_time_is_a_syncerror() {
    let hub = hub(Duration::from_millis(300));
    let (_, mut a) = subscribe(&hub, "patient-open,syncerror", "A", None);
    let (_, mut b) = subscribe(&hub, "patient-open", "Silent", None);
    next(&mut a);
    next(&mut b);
    publish(&hub, example!("patient-open.json"));
    let id = next(&mut a)["id"].as_str().unwrap().to_string();
    ack(&mut a, &id, "200");
    let error = next(&mut a);
    assert_eq!(error["event"]["hub.event"], "SyncError");
    assert!(error["event"]["context"][0]["resource"]["issue"][0]["diagnostics"].as_str().unwrap().contains("Silent did not acknowledge"));
}

#[test]
fn current_context_follows_opens_and_closes_and_greets_a_new_subscriber() {
    let hub = hub(Duration::from_secs(10));
    let topic_url = format!("{}/{TOPIC}", hub.url());
    assert_eq!(get(&topic_url).1["context"], json!([]));
    assert_eq!(publish(&hub, example!("imagingstudy-open.json")), 202);
    let (status, current) = get(&topic_url);
    assert_eq!(status, 200);
    assert_eq!(current["context.type"], "ImagingStudy");
    assert!(current["context.versionId"].is_string());
    let spec: Value = serde_json::from_str(example!("imagingstudy-open.json")).unwrap();
    assert_eq!(current["context"], spec["event"]["context"]);
    // A new subscriber gets the open event after its confirmation.
    let (_, mut late) = subscribe(&hub, "imagingstudy-open,imagingstudy-close", "Late", None);
    assert_eq!(next(&mut late)["hub.mode"], "subscribe");
    assert_eq!(next(&mut late)["id"], spec["id"]);
    assert_eq!(publish(&hub, example!("imagingstudy-close.json")), 202);
    assert_eq!(get(&topic_url).1["context"], json!([]));
    assert_eq!(publish(&hub, r#"{"id":"x","event":{}}"#), 400);
}

#[test]
fn a_lease_expires_with_a_denial_and_unsubscribe_denies_and_closes() {
    let hub = hub(Duration::from_secs(10));
    let (_, mut short) = subscribe(&hub, "patient-open", "Short", Some(1));
    assert_eq!(next(&mut short)["hub.lease_seconds"], 1);
    let denial = next(&mut short);
    assert_eq!((denial["hub.mode"].clone(), denial["hub.reason"].clone()), (json!("denied"), json!("lease expired")));
    let (endpoint, mut socket) = subscribe(&hub, "patient-open,patient-close", "U", None);
    next(&mut socket);
    let body = example!("unsubscribe-request.txt").replace(
        "wss%3A%2F%2Fhub.example.com%2Fee30d3b9-1558-464f-a299-cbad6f8135de%0A",
        &emr_imaging::context::fhircast::form(&[("", &endpoint)])[1..],
    );
    assert_eq!(post(&hub.url(), "application/x-www-form-urlencoded", &body).0, 202);
    let denial = next(&mut socket);
    let spec: Value = serde_json::from_str(example!("denial.json")).unwrap();
    assert_eq!(denial["hub.mode"], spec["hub.mode"]);
    assert_eq!(denial["hub.events"], spec["hub.events"]);
    assert_eq!(next(&mut socket), Value::Null, "closed");
}

#[test]
fn well_known_configuration_has_the_examples_fields() {
    let hub = hub(Duration::from_secs(10));
    let (status, config) = get(&format!("{}/.well-known/fhircast-configuration", hub.url()));
    assert_eq!(status, 200);
    let spec: Value = serde_json::from_str(example!("fhircast-configuration.json")).unwrap();
    for field in spec.as_object().unwrap().keys() {
        assert!(config.get(field).is_some(), "{field}");
    }
    assert_eq!(config["websocketSupport"], true);
    assert_eq!(decode("wss%3A%2F%2Fh%2Fx%0A+y"), "wss://h/x\n y");
}
