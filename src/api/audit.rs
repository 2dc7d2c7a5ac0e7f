//! The browser side of the audit trail: each access the session records becomes an
//! AuditEvent, goes to the host (`onAudit`, `on("audit")`, the `emr-imaging:audit` DOM event)
//! and, with `audit: { enabled: true }`, into the IndexedDB outbox that delivers it to the FHIR
//! server. Nothing of it goes to the console or into a URL.

use super::window_listener::WindowListener;
use crate::audit::idb::IdbOutbox;
use crate::audit::outbox::{Outbox, Queued};
use crate::audit::{audit_event, token_claim, uuid_v4, Access, Actor, AuditSink};
use std::cell::Cell;
use std::rc::Rc;
use url::Url;

/// Events per batch Bundle.
const BATCH: usize = 20;
/// Failed deliveries in a row before a drain stops; the next event or `online` starts another.
const ATTEMPTS: u32 = 12;

pub type AuditOutbox = Outbox<IdbOutbox>;

/// What the auditor needs of the component, which owns the session it is part of.
pub trait AuditHooks {
    /// To the host: listeners, callbacks and the DOM event.
    fn emit(&self, event: &serde_json::Value);
    /// The token held for the FHIR server, if any (for the user's `fhirUser` or `sub`).
    fn token(&self) -> Option<String>;
    /// Runs the outbox until it is empty (or gives up for now) over the component's transport;
    /// `None` once the component is gone.
    fn drain(&self, outbox: Rc<AuditOutbox>, attempts: u32) -> Option<LocalBoxFuture<'static, ()>>;
}

pub type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

pub struct Auditor {
    user_id: Option<String>,
    fhir_base: Url,
    outbox: Option<Rc<AuditOutbox>>,
    hooks: Rc<dyn AuditHooks>,
    last_seq: Cell<f64>,
    _online: Option<WindowListener>,
}

impl Auditor {
    /// `deliver_to`: the audit FHIR server, when delivery is enabled.
    pub fn new(user_id: Option<String>, fhir_base: Url, deliver_to: Option<Url>, hooks: Rc<dyn AuditHooks>) -> Rc<Auditor> {
        let outbox = deliver_to.map(|base| Rc::new(Outbox::new(IdbOutbox::new(base.as_str()), base, BATCH)));
        Rc::new_cyclic(|weak: &std::rc::Weak<Auditor>| {
            // The network is back: a waiting drain sends now, or a new one starts.
            let online = outbox.as_ref().and_then(|_| {
                let weak = weak.clone();
                WindowListener::new("online", move || {
                    if let Some(auditor) = weak.upgrade() {
                        auditor.kick();
                    }
                })
            });
            Auditor { user_id, fhir_base, outbox, hooks, last_seq: Cell::new(0.0), _online: online }
        })
    }

    /// Delivers what earlier pages left in the outbox (a reload, a crash, the network down).
    pub fn resume(&self) {
        self.kick();
    }

    fn kick(&self) {
        if let Some(outbox) = self.outbox.clone() {
            start(&self.hooks, outbox);
        }
    }

    /// Increasing within a page and across reloads: the order events are sent in.
    fn next_seq(&self) -> f64 {
        let seq = js_sys::Date::now().max(self.last_seq.get() + 0.001);
        self.last_seq.set(seq);
        seq
    }
}

/// Nudges the running drain, or starts one.
fn start(hooks: &Rc<dyn AuditHooks>, outbox: Rc<AuditOutbox>) {
    if outbox.is_running() {
        outbox.nudge();
    } else if let Some(drain) = hooks.drain(outbox, ATTEMPTS) {
        wasm_bindgen_futures::spawn_local(drain);
    }
}

/// 16 random bytes: an event id must be unique, not secret.
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    for b in bytes.iter_mut() {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
    bytes
}

impl AuditSink for Auditor {
    fn record(&self, access: Access) {
        let token = self.hooks.token();
        let claim = |name: &str| token.as_deref().and_then(|t| token_claim(t, name));
        let actor = Actor::new(claim("fhirUser").as_deref(), self.user_id.as_deref(), claim("sub").as_deref(), self.fhir_base.as_str());
        let id = uuid_v4(random_bytes());
        let event = audit_event(&access, &actor, &id, js_sys::Date::now() / 1000.0);
        self.hooks.emit(&event);
        let Some(outbox) = self.outbox.clone() else { return };
        let queued = Queued { id, seq: self.next_seq(), event };
        let hooks = self.hooks.clone();
        // Stored first, then sent: an event is in the outbox before any request for it leaves.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = outbox.enqueue(queued).await;
            start(&hooks, outbox);
        });
    }
}
