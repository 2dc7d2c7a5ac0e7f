//! Decoding off the main thread, without the browser in it: what a decoder promises, how
//! queued decodes are handed to workers, and how a study or patient switch drops what is
//! still queued.
//!
//! A worker only turns a frame's bytes into stored values ([`Frame`]). The image itself, its
//! LUTs and the identity check are made on the main thread from the instance's own header
//! ([`super::verify_frame`]), so there is one rule in one place whichever thread decoded.

use super::ImagingError;
use crate::net::CancelToken;
use dicom_parser_lite::pixel::Frame;
use futures_util::future::LocalBoxFuture;
use std::collections::VecDeque;

/// What an offloaded decode came to.
#[derive(Debug)]
pub enum Offload {
    Done(Result<Frame, ImagingError>),
    /// Its load stopped being current before a worker took it: nothing was decoded.
    Cancelled,
    /// No worker could take it (none started, or the one running it died): decode it here.
    Unavailable,
}

/// A decoder that runs elsewhere. `decode` reads `bytes` before it returns (a copy is queued),
/// so the caller keeps its buffer; the future resolves when a worker answered.
pub trait FrameDecoder {
    fn decode(&self, bytes: &[u8], index: u32, cancel: &CancelToken) -> LocalBoxFuture<'static, Offload>;
    /// Whether it takes this instance now; if not, the caller decodes it here (no worker is
    /// ready yet or any more, or the decode is not worth the round trip).
    fn takes(&self, bytes: &[u8]) -> bool;
}

/// Whether a worker is worth its copies for this instance: an encapsulated (compressed) frame,
/// whose decode is the cost. A native frame's decode is about one copy of its samples, less
/// than the copies of a round trip to a worker.
pub fn worth_offloading(bytes: &[u8]) -> bool {
    dicom_parser_lite::DicomBuffer::new(bytes)
        .parse()
        .is_ok_and(|file| !dicom_parser_lite::transfer_syntax::is_native(file.transfer_syntax_uid()))
}

/// Workers for a machine with `hardware_concurrency` logical cores: one core stays with the
/// page, at least one worker, at most four (more buys little for one viewport's series).
pub fn pool_size(hardware_concurrency: Option<u32>) -> usize {
    hardware_concurrency.unwrap_or(2).saturating_sub(1).clamp(1, 4) as usize
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Starting,
    Idle,
    Busy,
    Dead,
}

/// What the pool must do next.
#[derive(Debug, PartialEq)]
pub enum Step<J> {
    /// Post `J` to worker `usize`.
    Run(usize, J),
    /// Resolve `J` as [`Offload::Cancelled`].
    Cancelled(J),
    /// Resolve `J` as [`Offload::Unavailable`].
    Unavailable(J),
}

/// The queue of decodes and which worker is free, first in first out (the session submits in
/// display order). A job whose token was cancelled is never run.
#[derive(Debug)]
pub struct Dispatcher<J> {
    slots: Vec<Slot>,
    queue: VecDeque<(J, CancelToken)>,
}

impl<J> Dispatcher<J> {
    pub fn new(workers: usize) -> Self {
        Dispatcher { slots: vec![Slot::Starting; workers], queue: VecDeque::new() }
    }

    /// Workers that started and have not died.
    pub fn ready_workers(&self) -> usize {
        self.slots.iter().filter(|s| matches!(s, Slot::Idle | Slot::Busy)).count()
    }

    /// True once every worker died (or failed to start): decoding stays on the main thread.
    pub fn all_dead(&self) -> bool {
        self.slots.iter().all(|s| *s == Slot::Dead)
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn submit(&mut self, job: J, cancel: CancelToken) -> Vec<Step<J>> {
        if self.all_dead() {
            return vec![Step::Unavailable(job)];
        }
        self.queue.push_back((job, cancel));
        self.dispatch()
    }

    /// Worker `w` has loaded the module.
    pub fn ready(&mut self, w: usize) -> Vec<Step<J>> {
        self.set(w, Slot::Starting, Slot::Idle);
        self.dispatch()
    }

    /// Worker `w` answered its job.
    pub fn finished(&mut self, w: usize) -> Vec<Step<J>> {
        self.set(w, Slot::Busy, Slot::Idle);
        self.dispatch()
    }

    /// Worker `w` failed to start or died (its running job, if any, is the caller's to resolve).
    /// When none is left, every queued job becomes [`Step::Unavailable`].
    pub fn failed(&mut self, w: usize) -> Vec<Step<J>> {
        if let Some(slot) = self.slots.get_mut(w) {
            *slot = Slot::Dead;
        }
        if self.all_dead() {
            return self.queue.drain(..).map(|(job, _)| Step::Unavailable(job)).collect();
        }
        self.dispatch()
    }

    fn set(&mut self, w: usize, from: Slot, to: Slot) {
        if let Some(slot) = self.slots.get_mut(w).filter(|s| **s == from) {
            *slot = to;
        }
    }

    /// Cancelled jobs out of the queue, then the next live ones to idle workers.
    fn dispatch(&mut self) -> Vec<Step<J>> {
        let mut steps = Vec::new();
        let mut live = VecDeque::with_capacity(self.queue.len());
        for (job, cancel) in self.queue.drain(..) {
            if cancel.is_cancelled() {
                steps.push(Step::Cancelled(job));
            } else {
                live.push_back((job, cancel));
            }
        }
        self.queue = live;
        while let Some(w) = self.slots.iter().position(|s| *s == Slot::Idle) {
            let Some((job, _)) = self.queue.pop_front() else { break };
            self.slots[w] = Slot::Busy;
            steps.push(Step::Run(w, job));
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_leaves_a_core_and_stays_within_one_to_four() {
        assert_eq!(pool_size(Some(2)), 1);
        assert_eq!(pool_size(Some(1)), 1);
        assert_eq!(pool_size(Some(0)), 1);
        assert_eq!(pool_size(None), 1);
        assert_eq!(pool_size(Some(4)), 3);
        assert_eq!(pool_size(Some(16)), 4);
    }

    #[test]
    fn jobs_wait_for_a_started_worker_and_go_in_order() {
        let mut d = Dispatcher::new(2);
        let live = CancelToken::new();
        assert!(d.submit("a", live.clone()).is_empty());
        assert!(d.submit("b", live.clone()).is_empty());
        assert!(d.submit("c", live.clone()).is_empty());
        assert_eq!(d.ready(1), vec![Step::Run(1, "a")]);
        assert_eq!(d.ready(0), vec![Step::Run(0, "b")]);
        assert_eq!(d.finished(1), vec![Step::Run(1, "c")]);
        assert!(d.finished(0).is_empty());
        // A second answer from the same worker changes nothing.
        assert!(d.finished(0).is_empty());
        assert_eq!(d.ready_workers(), 2);
    }

    #[test]
    fn a_switch_drops_queued_jobs_and_never_runs_them() {
        let mut d = Dispatcher::new(1);
        let old = CancelToken::new();
        let new = CancelToken::new();
        assert!(d.submit("old-1", old.clone()).is_empty());
        assert_eq!(d.ready(0), vec![Step::Run(0, "old-1")]);
        assert!(d.submit("old-2", old.clone()).is_empty());
        assert!(d.submit("old-3", old.clone()).is_empty());
        old.cancel();
        // The next look at the queue drops them, before any worker is free.
        assert_eq!(d.submit("new-1", new), vec![Step::Cancelled("old-2"), Step::Cancelled("old-3")]);
        assert_eq!(d.finished(0), vec![Step::Run(0, "new-1")]);
        assert_eq!(d.queued(), 0);
    }

    #[test]
    fn when_every_worker_fails_the_queue_goes_back_to_the_main_thread() {
        let mut d = Dispatcher::new(2);
        let live = CancelToken::new();
        d.submit("a", live.clone());
        d.submit("b", live.clone());
        assert!(d.failed(0).is_empty());
        assert!(!d.all_dead());
        assert_eq!(d.failed(1), vec![Step::Unavailable("a"), Step::Unavailable("b")]);
        assert_eq!(d.submit("c", live), vec![Step::Unavailable("c")]);
        assert_eq!(d.ready_workers(), 0);
    }

    #[test]
    fn a_dead_worker_is_not_revived_by_a_late_ready() {
        let mut d: Dispatcher<&str> = Dispatcher::new(1);
        d.failed(0);
        assert!(d.ready(0).is_empty());
        assert!(d.all_dead());
    }
}
