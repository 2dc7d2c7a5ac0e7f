//! Which request goes next: priorities, a concurrency limit per origin, and cancellation.
//!
//! Browsers allow ~6 connections per origin over HTTP/1.1; a CT prefetch of 300 slices must not
//! queue the image the user is looking at behind it. Every request first takes a [`Permit`] for
//! its origin: the visible image before thumbnails before prefetch, first come first served
//! within a priority. Work for a patient or series the user has left is cancelled through its
//! [`CancelToken`]: waiting requests are dropped, running ones aborted (AbortController in the
//! browser). Pure single-threaded logic, tested natively.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// How urgent a request is. Declaration order is urgency order (`Visible` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// The image on screen (or about to be).
    Visible,
    /// A series thumbnail.
    Thumbnail,
    /// Slices the user may scroll to.
    Prefetch,
}

type Hook = Box<dyn FnOnce()>;

#[derive(Default)]
struct CancelState {
    cancelled: Cell<bool>,
    next_hook: Cell<u64>,
    hooks: RefCell<Vec<(u64, Hook)>>,
}

/// Cancels a group of requests at once (a patient's or a series' work). Cheap to clone; all
/// clones share one state. Cancelling runs the registered hooks once (abort a fetch, wake a
/// waiting request).
#[derive(Clone, Default)]
pub struct CancelToken(Rc<CancelState>);

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    /// Marks the token cancelled and runs every hook (once). Idempotent.
    pub fn cancel(&self) {
        if self.0.cancelled.replace(true) {
            return;
        }
        let hooks = std::mem::take(&mut *self.0.hooks.borrow_mut());
        for (_, hook) in hooks {
            hook();
        }
    }

    /// Runs `hook` on cancellation (at once if already cancelled). Dropping the guard
    /// unregisters it, so finished requests leave nothing behind.
    pub fn on_cancel(&self, hook: impl FnOnce() + 'static) -> HookGuard {
        if self.is_cancelled() {
            hook();
            return HookGuard { token: None, id: 0 };
        }
        let id = self.0.next_hook.get();
        self.0.next_hook.set(id + 1);
        self.0.hooks.borrow_mut().push((id, Box::new(hook)));
        HookGuard { token: Some(self.clone()), id }
    }

    /// A token cancelled with this one and also on its own (a part of the work that may end
    /// early); the link lasts as long as the guard.
    pub fn child(&self) -> (CancelToken, HookGuard) {
        let child = CancelToken::new();
        let link = self.on_cancel({
            let child = child.clone();
            move || child.cancel()
        });
        (child, link)
    }
}

/// Unregisters a cancel hook when dropped.
pub struct HookGuard {
    token: Option<CancelToken>,
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.0.hooks.borrow_mut().retain(|(id, _)| *id != self.id);
        }
    }
}

struct Waiter {
    id: u64,
    priority: Priority,
    granted: bool,
    waker: Option<Waker>,
}

#[derive(Default)]
struct OriginQueue {
    running: usize,
    /// In arrival order; the best waiter is found by (priority, position).
    waiting: Vec<Waiter>,
}

struct State {
    limit: usize,
    next_id: u64,
    origins: HashMap<String, OriginQueue>,
}

impl State {
    /// Grants free slots to the most urgent waiters of `origin`.
    fn pump(&mut self, origin: &str) {
        let limit = self.limit;
        let Some(queue) = self.origins.get_mut(origin) else { return };
        while queue.running < limit {
            let best = queue.waiting.iter_mut().filter(|w| !w.granted).min_by_key(|w| (w.priority, w.id));
            let Some(waiter) = best else { break };
            waiter.granted = true;
            queue.running += 1;
            if let Some(waker) = waiter.waker.take() {
                waker.wake();
            }
        }
        if queue.running == 0 && queue.waiting.is_empty() {
            self.origins.remove(origin);
        }
    }

    /// Removes a waiter; if it had been granted a slot it never used, frees the slot.
    fn withdraw(&mut self, origin: &str, id: u64) {
        let Some(queue) = self.origins.get_mut(origin) else { return };
        if let Some(index) = queue.waiting.iter().position(|w| w.id == id) {
            let waiter = queue.waiting.remove(index);
            if waiter.granted {
                queue.running = queue.running.saturating_sub(1);
            }
        }
        self.pump(origin);
    }
}

/// The request scheduler shared by everything that talks to servers.
#[derive(Clone)]
pub struct Scheduler(Rc<RefCell<State>>);

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("limit", &self.0.borrow().limit).finish()
    }
}

/// Six: what browsers open per origin over HTTP/1.1, so nothing queues invisibly in the browser.
pub const DEFAULT_PER_ORIGIN: usize = 6;

impl Default for Scheduler {
    fn default() -> Self {
        Self::new(DEFAULT_PER_ORIGIN)
    }
}

impl Scheduler {
    /// `per_origin` concurrent requests per origin (at least one).
    pub fn new(per_origin: usize) -> Self {
        Scheduler(Rc::new(RefCell::new(State { limit: per_origin.max(1), next_id: 0, origins: HashMap::new() })))
    }

    /// Waits for a slot on `origin` (an origin string such as `https://pacs:443`). Resolves to
    /// `None` if `cancel` fires first. The place in the queue is taken now, not at first poll,
    /// so requests created in display order are served in display order.
    pub fn acquire(&self, origin: &str, priority: Priority, cancel: &CancelToken) -> Acquire {
        let id = {
            let mut state = self.0.borrow_mut();
            let id = state.next_id;
            state.next_id += 1;
            state.origins.entry(origin.to_string()).or_default().waiting.push(Waiter { id, priority, granted: false, waker: None });
            state.pump(origin);
            id
        };
        Acquire { scheduler: self.clone(), origin: origin.to_string(), id, cancel: cancel.clone(), hook: None, done: false }
    }

    /// Requests running on `origin` (for tests and diagnostics).
    pub fn running(&self, origin: &str) -> usize {
        self.0.borrow().origins.get(origin).map_or(0, |q| q.running)
    }

    /// Requests waiting for a slot on `origin`.
    pub fn waiting(&self, origin: &str) -> usize {
        self.0.borrow().origins.get(origin).map_or(0, |q| q.waiting.iter().filter(|w| !w.granted).count())
    }
}

/// The future of [`Scheduler::acquire`].
pub struct Acquire {
    scheduler: Scheduler,
    origin: String,
    id: u64,
    cancel: CancelToken,
    hook: Option<HookGuard>,
    done: bool,
}

impl Future for Acquire {
    type Output = Option<Permit>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Permit>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.cancel.is_cancelled() {
            self.done = true;
            self.scheduler.0.borrow_mut().withdraw(&self.origin, self.id);
            return Poll::Ready(None);
        }
        let granted = {
            let mut state = self.scheduler.0.borrow_mut();
            let queue = state.origins.get_mut(&self.origin);
            match queue.and_then(|q| q.waiting.iter().position(|w| w.id == self.id).map(|i| (q, i))) {
                Some((queue, index)) if queue.waiting[index].granted => {
                    queue.waiting.remove(index);
                    true
                }
                Some((queue, index)) => {
                    queue.waiting[index].waker = Some(cx.waker().clone());
                    false
                }
                None => false,
            }
        };
        if granted {
            self.done = true;
            self.hook = None;
            return Poll::Ready(Some(Permit { scheduler: self.scheduler.clone(), origin: self.origin.clone() }));
        }
        if self.hook.is_none() {
            let waker = cx.waker().clone();
            let hook = self.cancel.on_cancel(move || waker.wake());
            self.hook = Some(hook);
        }
        Poll::Pending
    }
}

impl Drop for Acquire {
    /// A dropped, unfinished acquire leaves the queue (and frees a slot granted to it).
    fn drop(&mut self) {
        if !self.done {
            if let Ok(mut state) = self.scheduler.0.try_borrow_mut() {
                state.withdraw(&self.origin, self.id);
            }
        }
    }
}

/// A running slot on one origin; dropping it lets the next waiter run.
pub struct Permit {
    scheduler: Scheduler,
    origin: String,
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").field("origin", &self.origin).finish()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut state) = self.scheduler.0.try_borrow_mut() {
            if let Some(queue) = state.origins.get_mut(&self.origin) {
                queue.running = queue.running.saturating_sub(1);
            }
            let origin = self.origin.clone();
            state.pump(&origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(f: &mut Acquire, waker: &Waker) -> Poll<Option<Permit>> {
        Pin::new(f).poll(&mut Context::from_waker(waker))
    }

    fn ready(f: &mut Acquire, waker: &Waker) -> Option<Permit> {
        match poll(f, waker) {
            Poll::Ready(p) => p,
            Poll::Pending => panic!("expected ready"),
        }
    }

    const PACS: &str = "http://pacs:80";

    #[test]
    fn the_visible_image_overtakes_queued_prefetch_and_thumbnails() {
        let s = Scheduler::new(2);
        let token = CancelToken::new();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut p1 = s.acquire(PACS, Priority::Prefetch, &token);
        let mut p2 = s.acquire(PACS, Priority::Prefetch, &token);
        let mut p3 = s.acquire(PACS, Priority::Prefetch, &token);
        let mut thumb = s.acquire(PACS, Priority::Thumbnail, &token);
        let mut visible = s.acquire(PACS, Priority::Visible, &token);
        let a = ready(&mut p1, &waker).expect("slot 1");
        let b = ready(&mut p2, &waker).expect("slot 2");
        for f in [&mut p3, &mut thumb, &mut visible] {
            assert!(poll(f, &waker).is_pending(), "limit of two per origin");
        }
        assert_eq!((s.running(PACS), s.waiting(PACS)), (2, 3));
        drop(a);
        assert!(counter.0.load(Ordering::SeqCst) >= 1, "the granted waiter was woken");
        let v = ready(&mut visible, &waker).expect("visible first");
        assert!(poll(&mut thumb, &waker).is_pending());
        drop(b);
        let t = ready(&mut thumb, &waker).expect("then the thumbnail");
        assert!(poll(&mut p3, &waker).is_pending(), "prefetch last");
        drop((v, t));
        assert!(ready(&mut p3, &waker).is_some());
    }

    #[test]
    fn same_priority_is_first_come_first_served_and_origins_are_independent() {
        let s = Scheduler::new(1);
        let token = CancelToken::new();
        let waker = Waker::noop();
        let mut first = s.acquire(PACS, Priority::Prefetch, &token);
        let mut second = s.acquire(PACS, Priority::Prefetch, &token);
        let mut third = s.acquire(PACS, Priority::Prefetch, &token);
        let mut other = s.acquire("http://fhir:80", Priority::Prefetch, &token);
        assert!(ready(&mut other, waker).is_some(), "another origin has its own slots");
        let held = ready(&mut first, waker).expect("first");
        assert!(poll(&mut third, waker).is_pending());
        drop(held);
        assert!(poll(&mut third, waker).is_pending(), "second arrived before third");
        assert!(ready(&mut second, waker).is_some());
    }

    #[test]
    fn cancelled_waiters_leave_the_queue_and_wake() {
        let s = Scheduler::new(1);
        let old_patient = CancelToken::new();
        let new_patient = CancelToken::new();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut running = s.acquire(PACS, Priority::Visible, &old_patient);
        let held = ready(&mut running, &waker).expect("runs");
        let mut stale: Vec<Acquire> = (0..5).map(|_| s.acquire(PACS, Priority::Prefetch, &old_patient)).collect();
        for f in &mut stale {
            assert!(poll(f, &waker).is_pending());
        }
        let mut fresh = s.acquire(PACS, Priority::Prefetch, &new_patient);
        assert!(poll(&mut fresh, &waker).is_pending());
        let before = counter.0.load(Ordering::SeqCst);
        old_patient.cancel();
        assert!(counter.0.load(Ordering::SeqCst) >= before + 5, "every stale waiter is woken to finish");
        for f in &mut stale {
            assert!(ready(f, &waker).is_none(), "cancelled: no permit");
        }
        assert_eq!(s.waiting(PACS), 1);
        drop(held);
        assert!(ready(&mut fresh, &waker).is_some(), "the new patient's request runs next");
        assert!(s.acquire(PACS, Priority::Visible, &old_patient).now_or_never_cancelled());
    }

    #[test]
    fn dropping_a_granted_but_unpolled_acquire_frees_its_slot() {
        let s = Scheduler::new(1);
        let token = CancelToken::new();
        let granted = s.acquire(PACS, Priority::Visible, &token);
        let mut next = s.acquire(PACS, Priority::Visible, &token);
        assert_eq!(s.running(PACS), 1);
        drop(granted);
        assert!(ready(&mut next, Waker::noop()).is_some());
    }

    #[test]
    fn cancel_hooks_run_once_and_guards_unregister() {
        let token = CancelToken::new();
        let runs = Rc::new(Cell::new(0));
        let r = runs.clone();
        let kept = token.on_cancel(move || r.set(r.get() + 1));
        let r = runs.clone();
        drop(token.on_cancel(move || r.set(r.get() + 100)));
        token.cancel();
        token.cancel();
        assert_eq!(runs.get(), 1);
        drop(kept);
        let r = runs.clone();
        let _late = token.on_cancel(move || r.set(r.get() + 10));
        assert_eq!(runs.get(), 11, "a hook on a cancelled token runs at once");
    }

    impl Acquire {
        fn now_or_never_cancelled(mut self) -> bool {
            matches!(Pin::new(&mut self).poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(None))
        }
    }
}
