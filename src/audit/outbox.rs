//! The outbox rules: events wait in a store (IndexedDB in the browser) until the FHIR server
//! confirmed them, and are sent oldest first, in batches, with backoff while it cannot be reached.
//!
//! Never twice: every entry is a conditional create on the event's stable id, so a batch resent
//! after its answer was lost stores nothing new; and one [`Outbox::drain`] runs at a time.
//! Never lost: an event leaves the store only after the batch answer confirmed it (201 created,
//! or 200/412 found already present).

use super::batch_bundle;
use crate::net::{HttpClient, NetError, Request, Transport};
use serde_json::Value;
use std::cell::Cell;
use std::time::Duration;
use thiserror::Error;
use url::Url;

/// One event waiting for the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The event's stable id (a UUID), also the store's key.
    pub id: String,
    /// Order of recording: sent in this order.
    pub seq: f64,
    pub event: Value,
}

/// Where waiting events are kept. Implementations keep them across reloads (IndexedDB), or in
/// memory for tests.
#[allow(async_fn_in_trait)]
pub trait OutboxStore {
    /// Adds an event (a second put of the same id replaces it).
    async fn put(&self, queued: Queued) -> Result<(), String>;
    /// Up to `limit` events, oldest first.
    async fn oldest(&self, limit: usize) -> Result<Vec<Queued>, String>;
    async fn remove(&self, ids: &[String]) -> Result<(), String>;
}

/// What the server said about one entry of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Stored now (201), or found stored already (200 for a matched `ifNoneExist`, 412 for
    /// several matches): safe to remove.
    Confirmed,
    /// A transient failure (408, 429, 5xx, or no status): sent again later.
    Retry,
    /// The server refuses the event (another 4xx): kept, and reported; sent again later, as a
    /// server's configuration may change.
    Refused(u16),
}

/// The outcome of an entry's `response.status` ("201 Created").
pub fn entry_outcome(status: &str) -> EntryOutcome {
    let code = status.split_whitespace().next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(200..=299 | 412) => EntryOutcome::Confirmed,
        Some(408 | 429) | Some(500..) | None => EntryOutcome::Retry,
        Some(code) => EntryOutcome::Refused(code),
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum OutboxError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the audit server's batch answer is not a batch-response: {0}")]
    BadResponse(String),
    #[error("the audit outbox could not be read or written: {0}")]
    Store(String),
    /// The server refused events (they stay in the outbox).
    #[error("the audit server refused {count} event(s) with HTTP {status}")]
    Refused { count: usize, status: u16 },
}

/// The outcomes of a batch's entries, in order, from a `batch-response` Bundle.
pub fn batch_outcomes(body: &[u8], sent: usize) -> Result<Vec<EntryOutcome>, OutboxError> {
    let bundle: Value = serde_json::from_slice(body).map_err(|e| OutboxError::BadResponse(e.to_string()))?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(OutboxError::BadResponse("not a Bundle".into()));
    }
    let entries = bundle.get("entry").and_then(Value::as_array).cloned().unwrap_or_default();
    if entries.len() != sent {
        return Err(OutboxError::BadResponse(format!("{} entries answer {sent}", entries.len())));
    }
    Ok(entries
        .iter()
        .map(|e| e.pointer("/response/status").and_then(Value::as_str).map(entry_outcome).unwrap_or(EntryOutcome::Retry))
        .collect())
}

/// How long to wait before the `attempt`-th resend (1-based): doubling from `first`, capped at
/// `max`, spread by `jitter` in [0, 1) over the upper half so many clients do not resend at once.
pub fn backoff(attempt: u32, first: Duration, max: Duration, jitter: f64) -> Duration {
    let doubled = first.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(max);
    doubled.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    pub confirmed: usize,
    /// Batches sent (a resend counts again).
    pub batches: usize,
    /// The outbox was empty at the end.
    pub empty: bool,
}

/// Delivery of one outbox to one FHIR server.
pub struct Outbox<S> {
    store: S,
    base: Url,
    batch: usize,
    first_wait: Duration,
    max_wait: Duration,
    running: Cell<bool>,
    /// Set by [`Outbox::nudge`] (the browser's `online` event): the current wait ends early.
    nudged: Cell<bool>,
}

impl<S: OutboxStore> Outbox<S> {
    /// Events for `base` (the FHIR base the Bundle is posted to), `batch` per request.
    pub fn new(store: S, base: Url, batch: usize) -> Self {
        Outbox {
            store,
            base,
            batch: batch.max(1),
            first_wait: Duration::from_secs(2),
            max_wait: Duration::from_secs(300),
            running: Cell::new(false),
            nudged: Cell::new(false),
        }
    }

    pub fn with_waits(mut self, first: Duration, max: Duration) -> Self {
        self.first_wait = first;
        self.max_wait = max;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Keeps `event` until the server confirms it.
    pub async fn enqueue(&self, queued: Queued) -> Result<(), OutboxError> {
        self.store.put(queued).await.map_err(OutboxError::Store)
    }

    /// The network is back: a drain waiting out its backoff sends now.
    pub fn nudge(&self) {
        self.nudged.set(true);
    }

    pub fn is_running(&self) -> bool {
        self.running.get()
    }

    /// Sends the oldest batch once; removes what the server confirmed. A failed request or a
    /// retryable entry is an error; a refused entry is reported as [`OutboxError::Refused`]
    /// after the confirmed ones were removed.
    pub async fn send_once<T: Transport>(&self, http: &HttpClient<T>) -> Result<(usize, bool), OutboxError> {
        let queued = self.store.oldest(self.batch).await.map_err(OutboxError::Store)?;
        if queued.is_empty() {
            return Ok((0, true));
        }
        let bundle = batch_bundle(queued.iter().map(|q| (q.id.as_str(), &q.event)));
        let body = serde_json::to_vec(&bundle).map_err(|e| OutboxError::BadResponse(e.to_string()))?;
        let request = Request::post(self.base.clone(), "application/fhir+json", body).header("Accept", "application/fhir+json");
        let response = http.send(request).await?;
        let outcomes = batch_outcomes(&response.body, queued.len())?;
        let confirmed: Vec<String> =
            queued.iter().zip(&outcomes).filter(|(_, o)| **o == EntryOutcome::Confirmed).map(|(q, _)| q.id.clone()).collect();
        if !confirmed.is_empty() {
            self.store.remove(&confirmed).await.map_err(OutboxError::Store)?;
        }
        let refused: Vec<u16> = outcomes.iter().filter_map(|o| if let EntryOutcome::Refused(s) = o { Some(*s) } else { None }).collect();
        if let Some(status) = refused.first() {
            return Err(OutboxError::Refused { count: refused.len(), status: *status });
        }
        if outcomes.contains(&EntryOutcome::Retry) {
            return Err(OutboxError::BadResponse("the server could not store some events now".into()));
        }
        Ok((confirmed.len(), queued.len() < self.batch))
    }

    /// Sends batches until the outbox is empty, waiting with backoff after each failure, for at
    /// most `attempts` failures in a row (`None`: while the page lives). One drain at a time: a
    /// second call while one runs nudges it and returns. Each failure goes to `report`.
    pub async fn drain<T: Transport>(&self, http: &HttpClient<T>, attempts: Option<u32>, report: &dyn Fn(&OutboxError)) -> Drained {
        if self.running.replace(true) {
            self.nudge();
            return Drained::default();
        }
        let mut done = Drained::default();
        let mut failures = 0u32;
        loop {
            done.batches += 1;
            match self.send_once(http).await {
                Ok((confirmed, last)) => {
                    done.confirmed += confirmed;
                    failures = 0;
                    if last {
                        done.empty = self.store.oldest(1).await.map(|q| q.is_empty()).unwrap_or(false);
                        if done.empty {
                            break;
                        }
                    }
                }
                Err(e) => {
                    report(&e);
                    failures += 1;
                    if attempts.is_some_and(|a| failures >= a) {
                        break;
                    }
                    let wait = backoff(failures, self.first_wait, self.max_wait, http.transport().jitter());
                    self.wait(http.transport(), wait).await;
                }
            }
        }
        self.running.set(false);
        done
    }

    /// Sleeps `total`, in steps, ending early when nudged.
    async fn wait<T: Transport>(&self, transport: &T, total: Duration) {
        let step = Duration::from_millis(500);
        let mut left = total;
        self.nudged.set(false);
        while !left.is_zero() && !self.nudged.replace(false) {
            let now = left.min(step);
            transport.sleep(now).await;
            left -= now;
        }
    }
}

/// An outbox in memory: for tests, and where IndexedDB is unavailable (events then last as
/// long as the page).
#[derive(Default)]
pub struct MemoryStore(std::cell::RefCell<Vec<Queued>>);

impl MemoryStore {
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

impl OutboxStore for MemoryStore {
    async fn put(&self, queued: Queued) -> Result<(), String> {
        let mut all = self.0.borrow_mut();
        all.retain(|q| q.id != queued.id);
        all.push(queued);
        crate::sorting::sort_by(&mut all, |a, b| a.seq.total_cmp(&b.seq));
        Ok(())
    }
    async fn oldest(&self, limit: usize) -> Result<Vec<Queued>, String> {
        Ok(self.0.borrow().iter().take(limit).cloned().collect())
    }
    async fn remove(&self, ids: &[String]) -> Result<(), String> {
        self.0.borrow_mut().retain(|q| !ids.contains(&q.id));
        Ok(())
    }
}

impl<S: OutboxStore + ?Sized> OutboxStore for std::rc::Rc<S> {
    async fn put(&self, queued: Queued) -> Result<(), String> {
        (**self).put(queued).await
    }
    async fn oldest(&self, limit: usize) -> Result<Vec<Queued>, String> {
        (**self).oldest(limit).await
    }
    async fn remove(&self, ids: &[String]) -> Result<(), String> {
        (**self).remove(ids).await
    }
}
