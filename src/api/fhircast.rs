//! FHIRcast in the browser: the hub's HTTP, the WebSocket and the timers around the
//! platform-free protocol ([`crate::context::fhircast`]) and follow rules
//! ([`crate::context::follow`]). Every event is followed through the component's one session.
//!
//! The token goes to the hub only when its origin may receive it (the FHIR base's, or one in
//! `allowedOrigins`), in the `Authorization` header, never in the socket URL.

use super::component::Inner;
use super::events::Event;
use crate::bridge::Study;
use crate::context::fhircast::{
    self, acknowledgement, imaging_study_event, parse_message, Backoff, EventKind, HubMessage, Notification, PublishedStudy, Subscription,
    RESEND_AFTER,
};
use crate::context::follow::{follow, Decision, Follower};
use crate::net::browser::{sleep, FetchTransport};
use crate::net::{Request, Transport};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use url::Url;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

/// The `fhircast` option and `connectFhircast(options)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FhircastConfig {
    pub hub_url: Url,
    pub topic: String,
    pub events: Vec<String>,
    /// Send ImagingStudy-open/-close when the user opens or leaves a study here.
    pub publish: bool,
    pub subscriber_name: Option<String>,
}

impl FhircastConfig {
    /// `{ hubUrl, topic, events?, publish?, subscriberName? }`; `hubUrl` resolved against `page`.
    pub fn from_js(value: &JsValue, page: Option<&Url>) -> Result<FhircastConfig, String> {
        if !value.is_object() {
            return Err("fhircast must be { hubUrl, topic, events?, publish?, subscriberName? }".into());
        }
        let get = |k: &str| {
            Some(js_sys::Reflect::get(value, &k.into()).unwrap_or(JsValue::UNDEFINED)).filter(|v| !v.is_undefined() && !v.is_null())
        };
        let string = |k: &str| get(k).map(|v| v.as_string().ok_or(format!("fhircast.{k} must be a string"))).transpose();
        let hub = string("hubUrl")?.filter(|h| !h.trim().is_empty()).ok_or("fhircast.hubUrl is required")?;
        let hub_url = match page {
            Some(page) => page.join(hub.trim()),
            None => Url::parse(hub.trim()),
        }
        .map_err(|_| format!("fhircast.hubUrl {hub:?} is not a URL"))?;
        if !matches!(hub_url.scheme(), "http" | "https") {
            return Err("fhircast.hubUrl must be http or https".into());
        }
        let topic = string("topic")?.filter(|t| !t.trim().is_empty()).ok_or("fhircast.topic is required")?;
        let events = match get("events") {
            None => fhircast::DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect(),
            Some(list) if js_sys::Array::is_array(&list) => js_sys::Array::from(&list)
                .iter()
                .map(|v| v.as_string().filter(|e| !e.contains(',')).ok_or_else(|| "fhircast.events must hold event names".to_string()))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("fhircast.events must be an array of event names".into()),
        };
        let publish = get("publish").map(|v| v.as_bool().ok_or("fhircast.publish must be a boolean")).transpose()?.unwrap_or(false);
        Ok(FhircastConfig { hub_url, topic, events, publish, subscriber_name: string("subscriberName")? })
    }

    fn subscription(&self) -> Subscription {
        Subscription {
            topic: self.topic.clone(),
            events: self.events.clone(),
            lease_seconds: None,
            subscriber_name: Some(self.subscriber_name.clone().unwrap_or_else(|| "emr-imaging".into())),
        }
    }
}

/// One subscription to one hub, kept alive until [`Fhircast::disconnect`].
pub struct Fhircast {
    inner: Weak<Inner>,
    config: FhircastConfig,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    socket: Option<web_sys::WebSocket>,
    /// The socket's callbacks, alive while it is.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    endpoint: Option<String>,
    follower: Follower,
    backoff: Backoff,
    /// Bumped by every new socket and by disconnect: an older socket's timers do nothing.
    epoch: u64,
    stopped: bool,
    /// Waiting for the first confirmation (`connectFhircast()`'s Promise).
    waiting: Vec<futures_channel::oneshot::Sender<Result<(), String>>>,
    /// Read the hub's current context after the next confirmation (a reconnect).
    reread: bool,
    /// The hub's `.well-known/fhircast-configuration`, when it offers one.
    configuration: Option<fhircast::HubConfiguration>,
    /// The study the shared context has open, as we know it: not published again.
    context_study: Option<String>,
    /// The study we published as open, closed when the user leaves it.
    published: Option<Study>,
    /// Inside a followed event's synchronous part: what the screen does is not the user's.
    following: bool,
}

impl Fhircast {
    pub fn new(inner: Weak<Inner>, config: FhircastConfig) -> Rc<Fhircast> {
        Rc::new(Fhircast { inner, config, state: RefCell::new(State::default()) })
    }

    /// Subscribes and connects; resolves at the hub's confirmation. After a drop it reconnects
    /// by itself, with backoff, until [`Fhircast::disconnect`].
    pub async fn connect(self: &Rc<Self>) -> Result<(), String> {
        if let Ok(url) = Url::parse(&fhircast::well_known_url(self.config.hub_url.as_str())) {
            if let Ok(response) = self.send(Request::get(url)).await {
                let configuration = (response.status == 200).then(|| fhircast::parse_configuration(&response.body).ok()).flatten();
                self.state.borrow_mut().configuration = configuration;
            }
        }
        let (tx, rx) = futures_channel::oneshot::channel();
        self.state.borrow_mut().waiting.push(tx);
        if let Err(e) = self.subscribe_and_open().await {
            self.state.borrow_mut().waiting.clear();
            self.schedule_reconnect();
            return Err(e);
        }
        rx.await.unwrap_or_else(|_| Err("the FHIRcast connection was closed".into()))
    }

    /// Unsubscribes, then closes the socket with 1000 (STU3: normal shutdown).
    pub async fn disconnect(&self) {
        let (socket, endpoint) = {
            let mut state = self.state.borrow_mut();
            state.stopped = true;
            state.epoch += 1;
            (state.socket.take(), state.endpoint.take())
        };
        if let Some(endpoint) = endpoint {
            let _ = self.post_form(&self.config.subscription().unsubscribe_body(&endpoint)).await;
        }
        if let Some(socket) = socket {
            super::subscriptions::close(&socket);
        }
        self.state.borrow_mut().handlers.clear();
    }

    async fn subscribe_and_open(self: &Rc<Self>) -> Result<(), String> {
        let (status, body) = self.post_form(&self.config.subscription().subscribe_body()).await?;
        let endpoint = fhircast::parse_subscribe_response(status, &body).map_err(|e| e.to_string())?;
        if self.state.borrow().stopped {
            return Err("disconnected".into());
        }
        self.open_socket(&endpoint)
    }

    fn open_socket(self: &Rc<Self>, endpoint: &str) -> Result<(), String> {
        let socket = web_sys::WebSocket::new(endpoint).map_err(|e| format!("WebSocket: {e:?}"))?;
        let epoch = {
            let mut state = self.state.borrow_mut();
            if let Some(old) = state.socket.take() {
                super::subscriptions::close(&old);
            }
            state.epoch += 1;
            state.endpoint = Some(endpoint.to_string());
            state.epoch
        };
        let me = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let text = event.dyn_ref::<web_sys::MessageEvent>().and_then(|m| m.data().as_string());
            if let (Some(me), Some(text)) = (me.upgrade(), text) {
                me.on_text(epoch, &text);
            }
        });
        let me = Rc::downgrade(self);
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(me) = me.upgrade() {
                me.on_close(epoch);
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut state = self.state.borrow_mut();
        state.handlers = vec![on_message, on_close];
        state.socket = Some(socket);
        Ok(())
    }

    fn on_close(self: &Rc<Self>, epoch: u64) {
        let current = {
            let state = self.state.borrow();
            !state.stopped && state.epoch == epoch
        };
        if current {
            self.state.borrow_mut().socket = None;
            self.schedule_reconnect();
        }
    }

    /// Subscribes again after a delay that grows with each failure, and re-reads the current
    /// context once confirmed.
    fn schedule_reconnect(self: &Rc<Self>) {
        let (epoch, delay) = {
            let mut state = self.state.borrow_mut();
            if state.stopped {
                return;
            }
            state.reread = true;
            (state.epoch, state.backoff.next(js_sys::Math::random()))
        };
        let me = Rc::downgrade(self);
        spawn_local(async move {
            sleep(delay).await;
            let Some(me) = me.upgrade() else { return };
            if me.state.borrow().stopped || me.state.borrow().epoch != epoch {
                return;
            }
            if me.subscribe_and_open().await.is_err() {
                me.schedule_reconnect();
            }
        });
    }

    fn on_text(self: &Rc<Self>, epoch: u64, text: &str) {
        if self.state.borrow().epoch != epoch {
            return;
        }
        match parse_message(text) {
            Ok(HubMessage::Confirmation { lease_seconds, .. }) => self.confirmed(epoch, lease_seconds),
            Ok(HubMessage::Denial { reason, .. }) => {
                let reason = reason.unwrap_or_else(|| "no reason given".into());
                for tx in self.state.borrow_mut().waiting.drain(..) {
                    let _ = tx.send(Err(format!("the FHIRcast hub denied the subscription: {reason}")));
                }
                // The hub closes the socket next; on_close reconnects (a lease that ran out).
            }
            Ok(HubMessage::Event(event)) => self.on_event(event),
            // Not ours to act on; a hub that sends garbage gets no acknowledgement.
            Err(_) => {}
        }
    }

    fn confirmed(self: &Rc<Self>, epoch: u64, lease_seconds: Option<u64>) {
        let reread = {
            let mut state = self.state.borrow_mut();
            state.backoff.reset();
            for tx in state.waiting.drain(..) {
                let _ = tx.send(Ok(()));
            }
            std::mem::take(&mut state.reread)
        };
        if let Some(lease) = lease_seconds {
            let me = Rc::downgrade(self);
            spawn_local(async move {
                sleep(fhircast::renew_after(lease)).await;
                let Some(me) = me.upgrade() else { return };
                let endpoint = me.state.borrow().endpoint.clone().filter(|_| me.state.borrow().epoch == epoch);
                if let Some(endpoint) = endpoint {
                    // The same endpoint: the hub renews it and confirms again.
                    let mut body = me.config.subscription().subscribe_body();
                    body.push_str(&format!("&{}", fhircast::form(&[("hub.channel.endpoint", &endpoint)])));
                    let _ = me.post_form(&body).await;
                }
            });
        }
        if reread {
            let me = self.clone();
            spawn_local(async move { me.read_current_context().await });
        }
    }

    /// After a reconnect: the hub's current context is the truth, whatever its time.
    async fn read_current_context(self: &Rc<Self>) {
        // A hub that says it has no Get Current Context is not asked (one that says nothing is).
        if self.state.borrow().configuration.as_ref().is_some_and(|c| !c.get_current_context) {
            return;
        }
        let url = fhircast::current_context_url(self.config.hub_url.as_str(), &self.config.topic);
        let Ok(url) = Url::parse(&url) else { return };
        let Ok(response) = self.send(Request::get(url)).await else { return };
        if response.status != 200 {
            return;
        }
        let Ok(Some((kind, context))) = fhircast::parse_current_context(&response.body) else { return };
        let now = fhircast::format_timestamp(js_sys::Date::now() / 1000.0);
        let event = Notification {
            id: String::new(),
            timestamp: now,
            topic: self.config.topic.clone(),
            kind,
            version_id: None,
            context,
            raw: serde_json::Value::Null,
        };
        let Some(inner) = self.inner.upgrade() else { return };
        // Already shown (the hub greeted us with the same open): nothing to redo.
        let same = match event.kind {
            EventKind::PatientOpen => event.patient_id() == inner.session.patient_id(),
            _ => event.studies().first().and_then(|s| s.uid.clone()) == inner.session.selected_study_uid(),
        };
        if same {
            return;
        }
        self.state.borrow_mut().follower.clock.reset();
        self.run(event, false);
    }

    fn on_event(self: &Rc<Self>, event: Notification) {
        self.run(event, true);
    }

    /// Decides and follows `event`; acknowledges it over the socket when `acknowledge`.
    fn run(self: &Rc<Self>, event: Notification, acknowledge: bool) {
        let Some(inner) = self.inner.upgrade() else { return };
        let decision = self.state.borrow_mut().follower.decide(&event, inner.session.patient_id().as_deref());
        if let Decision::Resend(body) = &decision {
            let me = Rc::downgrade(self);
            let body = body.clone();
            spawn_local(async move {
                sleep(RESEND_AFTER).await;
                if let Some(me) = me.upgrade() {
                    let _ = me.post_json(&body).await;
                }
            });
        }
        if let Decision::OpenStudies { studies, .. } = &decision {
            // The context moves there: what we published is no longer ours to close.
            let mut state = self.state.borrow_mut();
            state.context_study = studies.first().and_then(|s| s.uid.clone());
            state.published = None;
        }
        self.state.borrow_mut().following = true;
        let socket = self.state.borrow().socket.clone().filter(|_| acknowledge);
        let me = self.clone();
        spawn_local(async move {
            let id = event.id.clone();
            let ack_me = me.clone();
            let followed = follow(&inner.session, decision, move |status| {
                ack_me.state.borrow_mut().following = false;
                if let Some(socket) = socket {
                    let _ = socket.send_with_str(&acknowledgement(&id, status));
                }
            })
            .await;
            me.state.borrow_mut().following = false;
            let detail = serde_json::json!({
                "event": event.kind.name(),
                "id": event.id,
                "context": event.raw.pointer("/event/context").cloned().unwrap_or(serde_json::json!([])),
                "status": followed.status,
            });
            if let Ok(detail) = js_sys::JSON::parse(&detail.to_string()) {
                inner.face.emit(Event::Context, detail);
            }
        });
    }

    /// The user chose `study` (a click in the list, `openStudy()`): published when `publish`,
    /// with a close of the study they leave. Studies the viewer opens by itself (the newest of
    /// a patient) or because an event said so are not: they are nobody's choice to broadcast.
    pub fn on_user_opened(self: &Rc<Self>, study: &Study) {
        if !self.config.publish {
            return;
        }
        let previous = {
            let mut state = self.state.borrow_mut();
            let previous = state.published.replace(study.clone());
            if state.context_study.as_deref() == Some(study.study_uid.as_str()) {
                return;
            }
            state.context_study = Some(study.study_uid.clone());
            previous.filter(|p| p.study_uid != study.study_uid)
        };
        if let Some(previous) = previous {
            self.publish(EventKind::ImagingStudyClose, &previous);
        }
        self.publish(EventKind::ImagingStudyOpen, study);
    }

    /// The patient went; if the user left them (no event did), their study is closed.
    pub fn on_patient_cleared(self: &Rc<Self>) {
        let previous = {
            let mut state = self.state.borrow_mut();
            let published = state.published.take();
            if state.following {
                state.context_study = None;
                None
            } else {
                state.context_study = None;
                published
            }
        };
        if let (true, Some(previous)) = (self.config.publish, previous) {
            self.publish(EventKind::ImagingStudyClose, &previous);
        }
    }

    fn publish(self: &Rc<Self>, kind: EventKind, study: &Study) {
        let id = random_id();
        let timestamp = fhircast::format_timestamp(js_sys::Date::now() / 1000.0);
        let published = PublishedStudy {
            uid: study.study_uid.clone(),
            accession: study.accession.clone(),
            fhir_id: Some(study.fhir_id.clone()).filter(|i| !i.is_empty()),
            patient_id: study.patient_id.clone(),
            patient: None,
        };
        let body = imaging_study_event(&kind, &self.config.topic, &id, &timestamp, &published);
        self.state.borrow_mut().follower.outbox.sent(&id, body.clone());
        let me = self.clone();
        spawn_local(async move {
            let _ = me.post_json(&body).await;
        });
    }

    async fn post_form(&self, body: &str) -> Result<(u16, Vec<u8>), String> {
        let request = Request::post(self.config.hub_url.clone(), "application/x-www-form-urlencoded", body.as_bytes().to_vec());
        let response = self.send(request).await?;
        Ok((response.status, response.body))
    }

    async fn post_json(&self, body: &serde_json::Value) -> Result<u16, String> {
        let request = Request::post(self.config.hub_url.clone(), "application/json", body.to_string().into_bytes());
        Ok(self.send(request).await?.status)
    }

    /// To the hub, with the token only when its origin may have it.
    async fn send(&self, mut request: Request) -> Result<crate::net::Response, String> {
        let token = self.inner.upgrade().and_then(|inner| inner.session.bridge().http().auth().token_for(&request.url));
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        FetchTransport::default().send(request).await.map_err(|e| e.to_string())
    }
}

/// A random event id (`crypto.randomUUID()`, else time and `Math.random`).
fn random_id() -> String {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok();
    let uuid = crypto.and_then(|c| {
        let f = js_sys::Reflect::get(&c, &"randomUUID".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        f.call0(&c).ok()?.as_string()
    });
    uuid.unwrap_or_else(|| format!("{}-{}", js_sys::Date::now(), js_sys::Math::random().to_bits()))
}
