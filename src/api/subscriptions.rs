//! New studies of the patient on screen while they are open: a FHIR topic-based Subscription
//! (R4 Backport) over a WebSocket when the host names a topic, else polling when it asks for
//! it (`studyPollSeconds`). Either way the list is read again and "New study available" shown;
//! the viewport is never taken.
//!
//! The Subscription we create is deleted on a patient switch and on `destroy()`. After a drop
//! the socket is bound again with a fresh token and the list read again, which catches up on
//! whatever was missed (whether or not the server keeps `$events`).

use super::component::Inner;
use crate::context::fhircast::Backoff;
use crate::context::subscriptions::{self, Binding, NoticeKind};
use crate::net::browser::sleep;
use crate::net::{Method, Request};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use url::Url;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

/// `subscriptions: { topic, subscriptionId? }` and `studyPollSeconds`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchConfig {
    /// The SubscriptionTopic canonical for ImagingStudy changes (the site's).
    pub topic: Option<String>,
    /// A Subscription the host created already: used as it is, never deleted.
    pub subscription_id: Option<String>,
    pub poll: Option<Duration>,
}

impl WatchConfig {
    pub fn from_js(subscriptions: &JsValue, poll_seconds: &JsValue) -> Result<WatchConfig, String> {
        let mut config = WatchConfig::default();
        if !subscriptions.is_undefined() && !subscriptions.is_null() {
            if !subscriptions.is_object() {
                return Err("subscriptions must be { topic, subscriptionId? }".into());
            }
            let get = |k: &str| js_sys::Reflect::get(subscriptions, &k.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
            config.topic = get("topic").map(|v| v.as_string().ok_or("subscriptions.topic must be a string")).transpose()?;
            config.subscription_id =
                get("subscriptionId").map(|v| v.as_string().ok_or("subscriptions.subscriptionId must be a string")).transpose()?;
            if config.topic.is_none() && config.subscription_id.is_none() {
                return Err("subscriptions needs a topic or a subscriptionId".into());
            }
        }
        if !poll_seconds.is_undefined() && !poll_seconds.is_null() {
            match poll_seconds.as_f64() {
                Some(s) if (1.0..=86_400.0).contains(&s) => config.poll = Some(Duration::from_secs_f64(s)),
                _ => return Err("studyPollSeconds must be a number of seconds from 1 to 86400".into()),
            }
        }
        Ok(config)
    }

    pub fn is_on(&self) -> bool {
        self.topic.is_some() || self.subscription_id.is_some() || self.poll.is_some()
    }
}

pub struct StudyWatch {
    inner: Weak<Inner>,
    config: WatchConfig,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    patient: Option<String>,
    /// Bumped on every new watch and stop: older timers and sockets do nothing.
    epoch: u64,
    /// The Subscription we created, to delete.
    created: Option<String>,
    subscription: Option<String>,
    socket: Option<web_sys::WebSocket>,
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    backoff: Backoff,
    /// A handshake came before: the next one follows a rebind or a drop.
    bound: bool,
}

impl StudyWatch {
    pub fn new(inner: Weak<Inner>, config: WatchConfig) -> Rc<StudyWatch> {
        Rc::new(StudyWatch { inner, config, state: RefCell::new(State::default()) })
    }

    /// The patient on screen is now `patient_id` (their banner was read).
    pub fn on_patient(self: &Rc<Self>, patient_id: &str) {
        if self.state.borrow().patient.as_deref() == Some(patient_id) {
            return;
        }
        self.stop();
        let epoch = {
            let mut state = self.state.borrow_mut();
            state.patient = Some(patient_id.to_string());
            state.epoch
        };
        let me = self.clone();
        let patient = patient_id.to_string();
        spawn_local(async move { me.start(epoch, &patient).await });
    }

    /// No patient, or another one: the socket closes and our Subscription is deleted.
    pub fn stop(&self) {
        let (socket, created) = {
            let mut state = self.state.borrow_mut();
            state.epoch += 1;
            state.patient = None;
            state.subscription = None;
            state.bound = false;
            (state.socket.take(), state.created.take())
        };
        if let Some(socket) = socket {
            close(&socket);
        }
        self.state.borrow_mut().handlers.clear();
        if let (Some(id), Some(inner)) = (created, self.inner.upgrade()) {
            spawn_local(async move {
                if let Ok(url) = fhir_url(&inner, &format!("Subscription/{id}")) {
                    let _ = inner.session.bridge().http().send(Request { method: Method::Delete, ..Request::get(url) }).await;
                }
            });
        }
    }

    fn current(&self, epoch: u64) -> bool {
        self.state.borrow().epoch == epoch
    }

    async fn start(self: &Rc<Self>, epoch: u64, patient: &str) {
        let subscribed = match (&self.config.subscription_id, &self.config.topic) {
            (Some(id), _) => Ok(id.clone()),
            (None, Some(topic)) => self.create(topic, patient).await,
            (None, None) => Err("no topic".into()),
        };
        match subscribed {
            Ok(id) if self.current(epoch) => {
                self.state.borrow_mut().subscription = Some(id);
                self.bind(epoch).await;
            }
            Ok(_) => {}
            // No server support (Helios without its engine answers 501): poll, if asked to.
            Err(_) => self.poll(epoch).await,
        }
    }

    async fn create(&self, topic: &str, patient: &str) -> Result<String, String> {
        let inner = self.inner.upgrade().ok_or("gone")?;
        let url = fhir_url(&inner, "Subscription")?;
        let body = subscriptions::subscription_resource(topic, patient).to_string().into_bytes();
        let request = Request::post(url, "application/fhir+json", body).header("Accept", "application/fhir+json");
        let response = inner.session.bridge().http().send(request).await.map_err(|e| e.to_string())?;
        let json: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
        let id = json.get("id").and_then(|v| v.as_str()).ok_or("the created Subscription has no id")?.to_string();
        let still = {
            let mut state = self.state.borrow_mut();
            let still = state.patient.as_deref() == Some(patient);
            if still {
                state.created = Some(id.clone());
            }
            still
        };
        if !still {
            // Switched meanwhile: ours to delete at once.
            if let Ok(url) = fhir_url(&inner, &format!("Subscription/{id}")) {
                let _ = inner.session.bridge().http().send(Request { method: Method::Delete, ..Request::get(url) }).await;
            }
            return Err("superseded".into());
        }
        Ok(id)
    }

    /// A fresh token, a new socket, the bind; the list read again (a catch-up after a drop).
    async fn bind(self: &Rc<Self>, epoch: u64) {
        let Some(binding) = self.binding(epoch).await else {
            self.retry(epoch);
            return;
        };
        if !self.current(epoch) {
            return;
        }
        if let Err(e) = self.open(epoch, &binding) {
            leptos::logging::warn!("emr-imaging: subscription socket: {e}");
            self.retry(epoch);
            return;
        }
        // Rebind before the token ends: Helios sends no heartbeats, so this is the keep-alive.
        let me = self.clone();
        let after = subscriptions::rebind_after(binding.expiration.as_deref(), js_sys::Date::now() / 1000.0);
        spawn_local(async move {
            sleep(after).await;
            if me.current(epoch) {
                me.bind(epoch).await;
            }
        });
    }

    /// `$get-ws-binding-token`; a Subscription is `requested` for a moment after its creation.
    async fn binding(&self, epoch: u64) -> Option<Binding> {
        let id = self.state.borrow().subscription.clone()?;
        for attempt in 0..20 {
            if !self.current(epoch) {
                return None;
            }
            let inner = self.inner.upgrade()?;
            let url = fhir_url(&inner, &subscriptions::binding_token_path(&id)).ok()?;
            let answer = inner.session.bridge().http().send(Request::get(url).header("Accept", "application/fhir+json")).await;
            if let Ok(response) = answer {
                if let Ok(binding) = subscriptions::parse_binding(&response.body) {
                    return Some(binding);
                }
            }
            sleep(Duration::from_millis(100 * (attempt + 1).min(10))).await;
        }
        None
    }

    fn open(self: &Rc<Self>, epoch: u64, binding: &Binding) -> Result<(), String> {
        let socket = web_sys::WebSocket::new(&binding.websocket_url).map_err(|e| format!("{e:?}"))?;
        let token = binding.token.clone();
        let sender = socket.clone();
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let _ = sender.send_with_str(&subscriptions::bind_text(&token));
        });
        let me = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let text = event.dyn_ref::<web_sys::MessageEvent>().and_then(|m| m.data().as_string());
            if let (Some(me), Some(text)) = (me.upgrade(), text) {
                me.on_text(epoch, &text);
            }
        });
        let me = Rc::downgrade(self);
        let socket_id = js_sys::Math::random();
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(me) = me.upgrade() {
                me.on_close(epoch, socket_id);
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let _ = js_sys::Reflect::set(&socket, &"__emrId".into(), &socket_id.into());
        let mut state = self.state.borrow_mut();
        if let Some(old) = state.socket.replace(socket) {
            close(&old);
        }
        state.handlers = vec![on_open, on_message, on_close];
        Ok(())
    }

    fn on_text(self: &Rc<Self>, epoch: u64, text: &str) {
        if !self.current(epoch) {
            return;
        }
        let Ok(Some(notice)) = subscriptions::parse_notice(text) else { return };
        match notice.kind {
            NoticeKind::Handshake => {
                // Bound again: anything missed meanwhile is in a fresh read of the list.
                let again = {
                    let mut state = self.state.borrow_mut();
                    state.backoff.reset();
                    std::mem::replace(&mut state.bound, true)
                };
                if again {
                    self.refresh(epoch);
                }
            }
            _ if notice.names_a_study() => self.refresh(epoch),
            _ => {}
        }
    }

    fn on_close(self: &Rc<Self>, epoch: u64, socket_id: f64) {
        let ours =
            self.state.borrow().socket.as_ref().and_then(|s| js_sys::Reflect::get(s, &"__emrId".into()).ok()).and_then(|v| v.as_f64());
        if self.current(epoch) && ours == Some(socket_id) {
            self.state.borrow_mut().socket = None;
            self.retry(epoch);
        }
    }

    fn retry(self: &Rc<Self>, epoch: u64) {
        let delay = self.state.borrow_mut().backoff.next(js_sys::Math::random());
        let me = self.clone();
        spawn_local(async move {
            sleep(delay).await;
            if me.current(epoch) {
                me.bind(epoch).await;
            }
        });
    }

    fn refresh(&self, epoch: u64) {
        let Some(inner) = self.inner.upgrade() else { return };
        if !self.current(epoch) {
            return;
        }
        spawn_local(async move {
            // Failures are shown and announced by the session.
            let _ = inner.session.refresh_studies().await;
        });
    }

    async fn poll(&self, epoch: u64) {
        let Some(every) = self.config.poll else { return };
        loop {
            sleep(every).await;
            if !self.current(epoch) {
                return;
            }
            let Some(inner) = self.inner.upgrade() else { return };
            let _ = inner.session.refresh_studies().await;
        }
    }
}

/// Closes with 1000 after detaching our callbacks: their closures are dropped next, and the
/// browser must not call them for this socket's late events.
pub(super) fn close(socket: &web_sys::WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
    let _ = socket.close_with_code(1000);
}

fn fhir_url(inner: &Inner, path: &str) -> Result<Url, String> {
    let base = inner.session.bridge().fhir_base().as_str().trim_end_matches('/').to_string();
    Url::parse(&format!("{base}/{path}")).map_err(|e| e.to_string())
}
