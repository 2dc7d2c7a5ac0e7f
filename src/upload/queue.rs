//! The resumable upload queue: files wait in a store (IndexedDB in the browser) until the
//! server confirmed each SOP Instance, and a run sends what is still waiting, in bounded
//! batches, backing off while the server cannot be reached. A confirmed file leaves the store
//! before the next batch goes, so nothing confirmed is ever sent again, after a reload either.

use super::stow::{batches, send_batch, InstanceOutcome};
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::net::{HttpClient, Transport};
use std::time::Duration;
use thiserror::Error;

/// Why a run stopped before the queue was empty for a reason other than the network.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QueueError {
    /// The store (IndexedDB in the browser) could not be read or written; the files stay.
    #[error("the upload queue could not be read or written: {0}")]
    Store(String),
}

/// A file waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub sop_instance_uid: String,
    pub size: usize,
}

/// Where waiting files are kept.
#[allow(async_fn_in_trait)]
pub trait QueueStore {
    /// The files still waiting, in the order they were queued.
    async fn waiting(&self) -> Result<Vec<Waiting>, QueueError>;
    async fn bytes(&self, sop_instance_uid: &str) -> Result<Option<Vec<u8>>, QueueError>;
    /// The server answered for this file for good: it leaves the queue with its outcome.
    async fn finish(&self, sop_instance_uid: &str, outcome: &InstanceOutcome) -> Result<(), QueueError>;
}

/// Batch bounds and the backoff.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_bytes: usize,
    pub max_batch_files: usize,
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// Failed requests in a row before a run stops (the next `online` or reload resumes).
    pub attempts: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch_bytes: 32 << 20,
            max_batch_files: 20,
            first_wait: Duration::from_secs(2),
            max_wait: Duration::from_secs(120),
            attempts: 8,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    pub finished: Vec<(String, InstanceOutcome)>,
    pub requests: usize,
    pub failures: usize,
    /// Nothing is waiting any more.
    pub empty: bool,
}

/// What a run tells as it goes (the panel's progress bars).
pub trait Observer {
    /// These files are in the request about to leave.
    fn sending(&self, _sop_instance_uids: &[String]) {}
    /// A file's outcome as it is known (a file to resend is told [`InstanceOutcome::Retry`]).
    fn outcome(&self, _sop_instance_uid: &str, _outcome: &InstanceOutcome) {}
    /// A request failed (the network, a 5xx); its files go again after a wait.
    fn failed(&self, _error: &DicomWebError) {}
}

/// An observer of outcomes and failures only, from two closures.
pub struct Watch<'a> {
    pub outcome: &'a dyn Fn(&str, &InstanceOutcome),
    pub failed: &'a dyn Fn(&DicomWebError),
}

impl Observer for Watch<'_> {
    fn outcome(&self, sop_instance_uid: &str, outcome: &InstanceOutcome) {
        (self.outcome)(sop_instance_uid, outcome)
    }
    fn failed(&self, error: &DicomWebError) {
        (self.failed)(error)
    }
}

/// Sends the waiting files until none waits or `limits.attempts` requests failed in a row.
pub async fn run<T: Transport, S: QueueStore>(
    http: &HttpClient<T>,
    client: &DicomWebClient,
    store: &S,
    limits: Limits,
    observer: &dyn Observer,
) -> Result<Ran, QueueError> {
    let mut ran = Ran::default();
    let mut in_a_row = 0u32;
    'resume: loop {
        let waiting = store.waiting().await?;
        if waiting.is_empty() {
            ran.empty = true;
            return Ok(ran);
        }
        let sizes: Vec<usize> = waiting.iter().map(|w| w.size).collect();
        let mut progressed = false;
        for range in batches(&sizes, limits.max_batch_bytes, limits.max_batch_files) {
            let mut batch = Vec::new();
            for w in &waiting[range] {
                if let Some(bytes) = store.bytes(&w.sop_instance_uid).await? {
                    batch.push((w.sop_instance_uid.clone(), bytes));
                }
            }
            ran.requests += 1;
            let uids: Vec<String> = batch.iter().map(|(uid, _)| uid.clone()).collect();
            observer.sending(&uids);
            match send_batch(http, client, &batch).await {
                Ok(outcomes) => {
                    in_a_row = 0;
                    for ((uid, _), outcome) in batch.iter().zip(&outcomes) {
                        if outcome.is_done() {
                            store.finish(uid, outcome).await?;
                            ran.finished.push((uid.clone(), outcome.clone()));
                            progressed = true;
                        }
                        observer.outcome(uid, outcome);
                    }
                }
                Err(e) => {
                    observer.failed(&e);
                    ran.failures += 1;
                    in_a_row += 1;
                    if in_a_row >= limits.attempts {
                        return Ok(ran);
                    }
                    let wait = crate::audit::outbox::backoff(in_a_row, limits.first_wait, limits.max_wait, http.transport().jitter());
                    http.transport().sleep(wait).await;
                    continue 'resume;
                }
            }
        }
        if !progressed {
            // Every answer said "not yet" (0xA7xx): wait before asking again.
            in_a_row += 1;
            if in_a_row >= limits.attempts {
                return Ok(ran);
            }
            http.transport().sleep(crate::audit::outbox::backoff(in_a_row, limits.first_wait, limits.max_wait, 1.0)).await;
        }
    }
}

/// A queue in memory (tests; a browser without IndexedDB).
#[derive(Default)]
pub struct MemoryQueue {
    files: std::cell::RefCell<Vec<(String, Vec<u8>)>>,
    pub outcomes: std::cell::RefCell<Vec<(String, InstanceOutcome)>>,
}

impl MemoryQueue {
    pub fn push(&self, sop_instance_uid: &str, bytes: Vec<u8>) {
        self.files.borrow_mut().push((sop_instance_uid.to_string(), bytes));
    }

    /// Files still waiting.
    pub fn waiting_now(&self) -> usize {
        self.files.borrow().len()
    }
}

impl QueueStore for MemoryQueue {
    async fn waiting(&self) -> Result<Vec<Waiting>, QueueError> {
        Ok(self.files.borrow().iter().map(|(uid, b)| Waiting { sop_instance_uid: uid.clone(), size: b.len() }).collect())
    }
    async fn bytes(&self, sop_instance_uid: &str) -> Result<Option<Vec<u8>>, QueueError> {
        Ok(self.files.borrow().iter().find(|(u, _)| u == sop_instance_uid).map(|(_, b)| b.clone()))
    }
    async fn finish(&self, sop_instance_uid: &str, outcome: &InstanceOutcome) -> Result<(), QueueError> {
        self.files.borrow_mut().retain(|(u, _)| u != sop_instance_uid);
        self.outcomes.borrow_mut().push((sop_instance_uid.to_string(), outcome.clone()));
        Ok(())
    }
}
