//! TestFhircastHub: a FHIRcast STU3 hub for the tests, because no hub ships in a registry we
//! can reach. It follows the specification on its own (it does not share the client's parser):
//! subscribe answers 202 with a random WebSocket endpoint; the socket gets the confirmation and
//! then the current open event; published events go to every subscriber of the topic and
//! event, the sender included, with the same `id`; acknowledgements are tracked, and a refusal
//! (4xx/5xx) or no answer within the timeout becomes a SyncError to the others; leases expire
//! with a denial; `GET <hub>/<topic>` is Get Current Context.
//!
//! Test-only extras under `/_test/` (acknowledgements and events seen, live subscribers) let
//! the end-to-end tests check what the widget answered. It speaks `ws://` on loopback only.

#[cfg(test)]
mod tests;

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// The hub's path: `hub.url` is `http://127.0.0.1:<port>/hub`.
pub const HUB_PATH: &str = "/hub";

#[derive(Debug, Clone)]
pub struct HubOptions {
    /// 0: any free port.
    pub port: u16,
    pub ws_port: u16,
    /// How long a subscriber may take to acknowledge (STU3: about 10 s).
    pub ack_timeout: Duration,
    /// The longest lease granted; also the lease when none is asked for.
    pub max_lease_seconds: u64,
    /// Refuse requests without `Authorization: Bearer …` (401).
    pub require_token: bool,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions { port: 0, ws_port: 0, ack_timeout: Duration::from_secs(10), max_lease_seconds: 7200, require_token: false }
    }
}

/// A running hub; stopped when dropped.
pub struct TestFhircastHub {
    pub port: u16,
    pub ws_port: u16,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
}

impl TestFhircastHub {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{HUB_PATH}", self.port)
    }
}

impl Drop for TestFhircastHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        // Wakes the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.ws_port));
    }
}

struct Subscription {
    topic: String,
    /// Lower case: event names are case-insensitive.
    events: Vec<String>,
    name: Option<String>,
    lease_seconds: u64,
    expires: Instant,
    socket: Option<Sender<Outgoing>>,
}

enum Outgoing {
    Text(String),
    /// Send this text, then close with 1000 (denial, unsubscribe, expiry).
    Deny(String),
}

struct Awaited {
    endpoint: String,
    event_id: String,
    event_name: String,
    topic: String,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    subscriptions: HashMap<String, Subscription>,
    /// Per topic: the most recent `*-open` per anchor type with no close since, oldest first.
    open: HashMap<String, Vec<(String, Value)>>,
    awaited: Vec<Awaited>,
    /// `/_test/acks`: (event id, status, subscriber name).
    acks: Vec<Value>,
    /// `/_test/events`: every event accepted, as distributed.
    events: Vec<Value>,
}

struct Hub {
    options: HubOptions,
    ws_port: u16,
    state: Mutex<State>,
}

impl Hub {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts the hub's HTTP and WebSocket listeners and its timer.
pub fn start(options: HubOptions) -> Result<TestFhircastHub> {
    let server = Arc::new(tiny_http::Server::http(("127.0.0.1", options.port)).map_err(|e| anyhow!("hub HTTP listener: {e}"))?);
    let port = server.server_addr().to_ip().map(|a| a.port()).ok_or_else(|| anyhow!("hub has no TCP address"))?;
    let listener = TcpListener::bind(("127.0.0.1", options.ws_port))?;
    let ws_port = listener.local_addr()?.port();
    let hub = Arc::new(Hub { options, ws_port, state: Mutex::new(State::default()) });
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (hub, server, stop) = (hub.clone(), server.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match server.recv() {
                    Ok(rq) => handle_http(&hub, rq),
                    Err(_) => break,
                }
            }
        });
    }
    {
        let (hub, stop) = (hub.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let hub = hub.clone();
                    let stop = stop.clone();
                    std::thread::spawn(move || serve_socket(&hub, stream, &stop));
                }
            }
        });
    }
    {
        let (hub, stop) = (hub.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                tick(&hub);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    }
    Ok(TestFhircastHub { port, ws_port, stop, server })
}

/// `cargo xtask fhircast-hub`: runs until killed (the end-to-end tests kill and restart it).
pub fn run_forever(options: HubOptions) -> Result<()> {
    let hub = start(options)?;
    println!("TestFhircastHub at {} (WebSocket port {})", hub.url(), hub.ws_port);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

struct Reply {
    status: u16,
    body: String,
    content_type: &'static str,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply { status, body: body.to_string(), content_type: "application/json" }
}

fn text(status: u16, body: &str) -> Reply {
    Reply { status, body: body.to_string(), content_type: "text/plain" }
}

fn handle_http(hub: &Hub, mut rq: tiny_http::Request) {
    let method = rq.method().as_str().to_ascii_uppercase();
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let header = |name: &str| {
        rq.headers().iter().find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name)).map(|h| h.value.as_str().to_string())
    };
    let authorized = header("Authorization").is_some_and(|v| v.strip_prefix("Bearer ").is_some_and(|t| !t.trim().is_empty()));
    let content_type = header("Content-Type").unwrap_or_default();
    let mut body = Vec::new();
    let _ = rq.as_reader().take(8 << 20).read_to_end(&mut body);
    let answer = if method == "OPTIONS" {
        text(204, "")
    } else if path.starts_with("/_test/") {
        test_route(hub, path, query)
    } else if hub.options.require_token && !authorized {
        text(401, "a bearer token is required")
    } else {
        route(hub, &method, path, &content_type, &body)
    };
    let mut response = tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
    for (name, value) in [
        ("Content-Type", answer.content_type),
        // A real hub serves the browser apps of other origins.
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ] {
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = rq.respond(response);
}

fn route(hub: &Hub, method: &str, path: &str, content_type: &str, body: &[u8]) -> Reply {
    let Some(rest) = path.strip_prefix(HUB_PATH) else { return text(404, "not a hub path") };
    match (method, rest.trim_end_matches('/')) {
        ("GET", "/.well-known/fhircast-configuration") => reply(
            200,
            json!({
                "eventsSupported": ["Patient-open", "Patient-close", "ImagingStudy-open", "ImagingStudy-close",
                    "DiagnosticReport-open", "DiagnosticReport-close", "UserLogout", "UserHibernate", "SyncError"],
                "websocketSupport": true,
                "fhircastVersion": "STU3",
                "getCurrentSupport": true,
                "capabilities": { "supportsGetCurrentContext": true, "supportsNonCurrentContextUpdates": false },
                "fhirVersion": "R4"
            }),
        ),
        ("POST", "") if content_type.starts_with("application/x-www-form-urlencoded") => subscription_request(hub, body),
        ("POST", "") if content_type.contains("json") => publish(hub, body),
        ("POST", "") => text(415, "subscriptions are form-encoded, events JSON"),
        ("GET", topic) if topic.len() > 1 => current_context(hub, &decode(&topic[1..])),
        _ => text(404, "unknown hub request"),
    }
}

/// `application/x-www-form-urlencoded` pairs.
fn form_pairs(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => out.push(b),
                    None => out.extend(&bytes[i..i + 3]),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_err() {
        // Never expected on Linux; still unique per process and moment.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        bytes = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
    emr_imaging::context::fhircast::format_timestamp(now)
}

fn subscription_request(hub: &Hub, body: &[u8]) -> Reply {
    let form = form_pairs(body);
    let field = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if field("hub.channel.type").as_deref() != Some("websocket") {
        return text(400, "hub.channel.type must be websocket");
    }
    let Some(topic) = field("hub.topic") else { return text(400, "hub.topic is required") };
    match field("hub.mode").as_deref() {
        Some("subscribe") => {
            let Some(events) = field("hub.events") else { return text(400, "hub.events is required to subscribe") };
            let events: Vec<String> = events.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).collect();
            let max = hub.options.max_lease_seconds;
            let lease = field("hub.lease_seconds").and_then(|l| l.parse::<u64>().ok()).filter(|l| *l > 0).map_or(max, |l| l.min(max));
            let mut state = hub.state();
            // Re-subscribing on an endpoint replaces its events (STU3 2-4).
            let existing = field("hub.channel.endpoint").and_then(|e| endpoint_key(&e)).filter(|k| state.subscriptions.contains_key(k));
            let key = existing.clone().unwrap_or_else(random_hex);
            let socket = existing.and_then(|k| state.subscriptions.get(&k).and_then(|s| s.socket.clone()));
            let subscription = Subscription {
                topic,
                events,
                name: field("subscriber.name"),
                lease_seconds: lease,
                expires: Instant::now() + Duration::from_secs(lease),
                socket: socket.clone(),
            };
            if let Some(socket) = socket {
                let _ = socket.send(Outgoing::Text(confirmation(&subscription)));
            }
            state.subscriptions.insert(key.clone(), subscription);
            reply(202, json!({ "hub.channel.endpoint": format!("ws://127.0.0.1:{}/{key}", hub.ws_port) }))
        }
        Some("unsubscribe") => {
            let Some(key) = field("hub.channel.endpoint").and_then(|e| endpoint_key(&e)) else {
                return text(400, "hub.channel.endpoint is required to unsubscribe");
            };
            let mut state = hub.state();
            match state.subscriptions.remove(&key) {
                Some(sub) if sub.topic == topic => {
                    if let Some(socket) = &sub.socket {
                        let _ = socket.send(Outgoing::Deny(denial(&sub, "unsubscribed")));
                    }
                    state.awaited.retain(|a| a.endpoint != key);
                    reply(202, json!({ "hub.channel.endpoint": format!("ws://127.0.0.1:{}/{key}", hub.ws_port) }))
                }
                Some(sub) => {
                    state.subscriptions.insert(key, sub);
                    text(400, "that endpoint is subscribed to another topic")
                }
                None => text(404, "no such subscription"),
            }
        }
        _ => text(400, "hub.mode must be subscribe or unsubscribe"),
    }
}

/// The random part of one of our endpoint URLs.
fn endpoint_key(endpoint: &str) -> Option<String> {
    let key = endpoint.trim().rsplit('/').next()?;
    (key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())).then(|| key.to_string())
}

fn confirmation(sub: &Subscription) -> String {
    let left = (sub.expires.saturating_duration_since(Instant::now()).as_secs_f64().ceil() as u64).max(1);
    json!({ "hub.mode": "subscribe", "hub.topic": sub.topic, "hub.events": sub.events.join(","), "hub.lease_seconds": left.min(sub.lease_seconds) })
        .to_string()
}

fn denial(sub: &Subscription, reason: &str) -> String {
    json!({ "hub.mode": "denied", "hub.topic": sub.topic, "hub.events": sub.events.join(","), "hub.reason": reason }).to_string()
}

/// `X-open` → ("X", true), `X-close` → ("X", false); other events have no anchor.
fn anchor(event: &str) -> Option<(String, bool)> {
    let lower = event.to_ascii_lowercase();
    if let Some(t) = lower.strip_suffix("-open") {
        return Some((t.to_string(), true));
    }
    lower.strip_suffix("-close").map(|t| (t.to_string(), false))
}

fn publish(hub: &Hub, body: &[u8]) -> Reply {
    let Ok(mut event) = serde_json::from_slice::<Value>(body) else { return text(400, "the event is not JSON") };
    let id = event.get("id").and_then(Value::as_str).map(str::to_string);
    let has_timestamp = event.get("timestamp").and_then(Value::as_str).is_some();
    let topic = event.pointer("/event/hub.topic").and_then(Value::as_str).map(str::to_string);
    let name = event.pointer("/event/hub.event").and_then(Value::as_str).map(str::to_string);
    let context_ok = event.pointer("/event/context").is_some_and(Value::is_array);
    let (Some(id), true, Some(topic), Some(name), true) = (id, has_timestamp, topic, name, context_ok) else {
        return text(400, "an event needs id, timestamp, event.hub.topic, event.hub.event and event.context");
    };
    let mut state = hub.state();
    if let Some((anchor_type, opens)) = anchor(&name) {
        let open = state.open.entry(topic.clone()).or_default();
        open.retain(|(t, _)| *t != anchor_type);
        if opens {
            // The hub assigns the context version at every open (STU3 2-10).
            event["event"]["context.versionId"] = json!(random_hex());
            open.push((anchor_type, event.clone()));
        }
    }
    state.events.push(event.clone());
    distribute(hub, &mut state, &topic, &name, &id, &event, None);
    reply(202, json!({}))
}

/// Sends `event` to every subscriber of `topic` and `name` except `except`, awaiting their acks.
fn distribute(hub: &Hub, state: &mut State, topic: &str, name: &str, id: &str, event: &Value, except: Option<&str>) {
    let lower = name.to_ascii_lowercase();
    let text = event.to_string();
    let deadline = Instant::now() + hub.options.ack_timeout;
    let mut awaited = Vec::new();
    for (key, sub) in &state.subscriptions {
        if sub.topic != topic || !sub.events.contains(&lower) || Some(key.as_str()) == except {
            continue;
        }
        if let Some(socket) = &sub.socket {
            if socket.send(Outgoing::Text(text.clone())).is_ok() && lower != "syncerror" {
                awaited.push(Awaited {
                    endpoint: key.clone(),
                    event_id: id.to_string(),
                    event_name: name.to_string(),
                    topic: topic.to_string(),
                    deadline,
                });
            }
        }
    }
    state.awaited.extend(awaited);
}

/// A SyncError about `event_id` from subscriber `endpoint`, to everyone else on the topic.
fn sync_error(hub: &Hub, state: &mut State, awaited: &Awaited, why: &str) {
    let name = state.subscriptions.get(&awaited.endpoint).and_then(|s| s.name.clone()).unwrap_or_else(|| "a subscriber".into());
    let id = random_hex();
    let event = json!({
        "timestamp": now_timestamp(),
        "id": id,
        "event": {
            "hub.topic": awaited.topic,
            "hub.event": "SyncError",
            "context": [{ "key": "operationoutcome", "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": "warning",
                    "code": "processing",
                    "diagnostics": format!("{name} {why} {}", awaited.event_name),
                    "details": { "coding": [
                        { "system": "https://fhircast.hl7.org/events/syncerror/eventid", "code": awaited.event_id },
                        { "system": "https://fhircast.hl7.org/events/syncerror/eventname", "code": awaited.event_name },
                        { "system": "https://fhircast.hl7.org/events/syncerror/subscriber", "code": name }
                    ]}
                }]
            }}]
        }
    });
    state.events.push(event.clone());
    let topic = awaited.topic.clone();
    distribute(hub, state, &topic, "SyncError", &id, &event, Some(&awaited.endpoint));
}

fn current_context(hub: &Hub, topic: &str) -> Reply {
    let state = hub.state();
    let latest = state.open.get(topic).and_then(|open| open.last());
    match latest {
        Some((_, event)) => {
            let name = event.pointer("/event/hub.event").and_then(Value::as_str).unwrap_or_default();
            let resource_type = name.rsplit_once('-').map(|(t, _)| t).unwrap_or(name);
            reply(
                200,
                json!({
                    "context.type": resource_type,
                    "context.versionId": event.pointer("/event/context.versionId").cloned().unwrap_or(Value::Null),
                    "context": event.pointer("/event/context").cloned().unwrap_or(json!([]))
                }),
            )
        }
        None => reply(200, json!({ "context.type": "", "context": [] })),
    }
}

fn test_route(hub: &Hub, path: &str, query: &str) -> Reply {
    let state = hub.state();
    match path {
        "/_test/acks" => reply(200, Value::Array(state.acks.clone())),
        "/_test/events" => reply(200, Value::Array(state.events.clone())),
        "/_test/subscribers" => {
            let topic = form_pairs(query.as_bytes()).get("topic").cloned();
            let live: Vec<Value> = state
                .subscriptions
                .values()
                .filter(|s| s.socket.is_some() && topic.as_ref().is_none_or(|t| *t == s.topic))
                .map(|s| json!({ "topic": s.topic, "events": s.events, "name": s.name }))
                .collect();
            reply(200, Value::Array(live))
        }
        _ => text(404, "unknown test path"),
    }
}

/// Acknowledgement timeouts and lease expiry.
fn tick(hub: &Hub) {
    let now = Instant::now();
    let mut state = hub.state();
    let (late, waiting): (Vec<Awaited>, Vec<Awaited>) = std::mem::take(&mut state.awaited).into_iter().partition(|a| a.deadline <= now);
    state.awaited = waiting;
    for awaited in &late {
        sync_error(hub, &mut state, awaited, "did not acknowledge");
    }
    let expired: Vec<String> = state.subscriptions.iter().filter(|(_, s)| s.expires <= now).map(|(k, _)| k.clone()).collect();
    for key in expired {
        if let Some(sub) = state.subscriptions.remove(&key) {
            if let Some(socket) = &sub.socket {
                let _ = socket.send(Outgoing::Deny(denial(&sub, "lease expired")));
            }
        }
    }
}

/// One subscriber's WebSocket: confirmation, the current context, then events out and
/// acknowledgements in.
fn serve_socket(hub: &Hub, stream: TcpStream, stop: &AtomicBool) {
    let mut path = String::new();
    // tungstenite's callback signature: its error type is the library's, large or not.
    #[allow(clippy::result_large_err)]
    let callback = |request: &tungstenite::handshake::server::Request, response| {
        path = request.uri().path().to_string();
        Ok(response)
    };
    let Ok(mut ws) = tungstenite::accept_hdr(stream, callback) else { return };
    let key = path.trim_start_matches('/').to_string();
    let (tx, rx) = channel();
    let initial = {
        let mut state = hub.state();
        let Some(sub) = state.subscriptions.get_mut(&key) else {
            let _ = ws.close(Some(CloseFrame { code: CloseCode::Policy, reason: "no such subscription".into() }));
            let _ = ws.flush();
            return;
        };
        sub.socket = Some(tx.clone());
        let mut initial = vec![confirmation(sub)];
        let (topic, events) = (sub.topic.clone(), sub.events.clone());
        // The most recent open per anchor type, as if it had just happened (STU3 2-4).
        for (_, event) in state.open.get(&topic).into_iter().flatten() {
            let name = event.pointer("/event/hub.event").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            if events.contains(&name) {
                initial.push(event.to_string());
            }
        }
        initial
    };
    for text in initial {
        let _ = tx.send(Outgoing::Text(text));
    }
    if let Ok(stream) = ws.get_ref().try_clone() {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    }
    pump(hub, &key, &mut ws, &rx, stop);
    let mut state = hub.state();
    if let Some(sub) = state.subscriptions.get_mut(&key) {
        sub.socket = None;
    }
}

fn pump(hub: &Hub, key: &str, ws: &mut WebSocket<TcpStream>, rx: &Receiver<Outgoing>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        while let Ok(out) = rx.try_recv() {
            match out {
                Outgoing::Text(text) => {
                    if ws.send(Message::text(text)).is_err() {
                        return;
                    }
                }
                Outgoing::Deny(text) => {
                    let _ = ws.send(Message::text(text));
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }));
                    let _ = ws.flush();
                    return;
                }
            }
        }
        match ws.read() {
            Ok(Message::Text(text)) => acknowledged(hub, key, text.as_str()),
            Ok(Message::Close(_)) => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
    let _ = ws.close(Some(CloseFrame { code: CloseCode::Away, reason: "hub stopping".into() }));
    let _ = ws.flush();
}

/// `{"id": …, "status": …}` from a subscriber; a refusal or error becomes a SyncError.
fn acknowledged(hub: &Hub, key: &str, text: &str) {
    let Ok(json) = serde_json::from_str::<Value>(text) else { return };
    let Some(id) = json.get("id").and_then(Value::as_str) else { return };
    let status = json.get("status").and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|t| t.trim().parse().ok())));
    let Some(status) = status else { return };
    let mut state = hub.state();
    let name = state.subscriptions.get(key).and_then(|s| s.name.clone());
    state.acks.push(json!({ "id": id, "status": status, "subscriber": name }));
    let Some(at) = state.awaited.iter().position(|a| a.endpoint == key && a.event_id == id) else { return };
    let awaited = state.awaited.remove(at);
    // 202: the subscriber decides later and sends its own SyncError if it refuses.
    if !(200..300).contains(&status) {
        sync_error(hub, &mut state, &awaited, &format!("refused ({status})"));
    }
}
