//! Reads of the persistent tier a series at a time: the first image wanted of a series reads
//! every entry the tier holds for it in one go (one IndexedDB transaction, not one per
//! instance) into the memory tier; later images of the series find memory, and one the tier
//! did not hold goes to the network without asking the tier again.

use super::{MemoryCache, PersistentTier};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Per series (by key prefix): read, being read, or a tier that cannot read in bulk.
#[derive(Default)]
pub struct SeriesReads {
    state: RefCell<HashMap<String, Read>>,
    /// Bumped by [`SeriesReads::clear`]: a read begun before it puts nothing in memory.
    epoch: Cell<u64>,
}

enum Read {
    /// Another image of the series is reading it; these wait for it.
    Reading(Vec<Waker>),
    /// The keys the tier held for the series when it was read.
    Done(HashSet<String>),
    /// The tier reads key by key only.
    Unsupported,
}

impl SeriesReads {
    /// Forgets every read (patient switch, memory cleared, another tier): what was read is
    /// not known to be in memory any more. Readers waiting are woken; the next to ask reads again.
    pub fn clear(&self) {
        self.epoch.set(self.epoch.get() + 1);
        let all: Vec<Read> = self.state.borrow_mut().drain().map(|(_, read)| read).collect();
        all.into_iter().for_each(|read| wake(Some(read)));
    }

    /// Reads the series `prefix` from `tier` into `memory` unless that was done (or is being
    /// done: then waits for it). `wanted` is asked before anything is put in memory: a load
    /// the user has left leaves nothing behind.
    pub async fn ensure(&self, tier: &Rc<dyn PersistentTier>, prefix: &str, memory: &RefCell<MemoryCache>, wanted: &dyn Fn() -> bool) {
        let reading = matches!(self.state.borrow().get(prefix), Some(Read::Reading(_)));
        if reading {
            futures_util::future::poll_fn(|cx| match self.state.borrow_mut().get_mut(prefix) {
                Some(Read::Reading(waiters)) => {
                    waiters.push(cx.waker().clone());
                    Poll::Pending
                }
                _ => Poll::Ready(()),
            })
            .await;
        }
        if self.state.borrow().get(prefix).is_some() {
            return;
        }
        let epoch = self.epoch.get();
        self.state.borrow_mut().insert(prefix.to_string(), Read::Reading(Vec::new()));
        // A reader dropped midway (its load superseded) hands the read to whoever waits.
        let mut guard = Abandoned { reads: self, prefix, epoch, armed: true };
        let entries = tier.get_prefixed(prefix).await;
        if self.epoch.get() != epoch || !wanted() {
            return;
        }
        let read = match entries {
            None => Read::Unsupported,
            Some(entries) => {
                let mut memory = memory.borrow_mut();
                let mut keys = HashSet::with_capacity(entries.len());
                for (key, bytes) in entries {
                    keys.insert(key.clone());
                    memory.put(key, Rc::new(bytes));
                }
                Read::Done(keys)
            }
        };
        guard.armed = false;
        let previous = self.state.borrow_mut().insert(prefix.to_string(), read);
        wake(previous);
    }

    /// Whether the tier may hold `key` of the series `prefix`: not when the series was read in
    /// bulk without it.
    pub fn may_hold(&self, prefix: &str, key: &str) -> bool {
        match self.state.borrow().get(prefix) {
            Some(Read::Done(keys)) => keys.contains(key),
            _ => true,
        }
    }
}

/// Wakes the readers that waited on a read now ended (done, abandoned or cleared).
fn wake(read: Option<Read>) {
    if let Some(Read::Reading(waiters)) = read {
        waiters.into_iter().for_each(Waker::wake);
    }
}

struct Abandoned<'a> {
    reads: &'a SeriesReads,
    prefix: &'a str,
    epoch: u64,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed && self.reads.epoch.get() == self.epoch {
            let previous = self.reads.state.borrow_mut().remove(self.prefix);
            wake(previous);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::cache::{Entries, LocalFuture};
    use crate::net::native::block_on;

    /// A tier of fixed entries that counts its bulk reads.
    struct Held(Vec<(String, Vec<u8>)>, Cell<usize>, bool);

    impl PersistentTier for Held {
        fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Option<Vec<u8>>> {
            Box::pin(async move { self.0.iter().find(|(k, _)| k == key).map(|(_, b)| b.clone()) })
        }
        fn put<'a>(&'a self, _: &'a str, _: &'a [u8]) -> LocalFuture<'a, ()> {
            Box::pin(async {})
        }
        fn clear(&self) -> LocalFuture<'_, ()> {
            Box::pin(async {})
        }
        fn get_prefixed<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Option<Entries>> {
            self.1.set(self.1.get() + 1);
            let bulk = self.2;
            Box::pin(async move { bulk.then(|| self.0.iter().filter(|(k, _)| k.starts_with(prefix)).cloned().collect()) })
        }
    }

    #[test]
    fn a_series_is_read_once_into_memory_and_its_misses_skip_the_tier() {
        let held = Rc::new(Held(vec![("s1:a".into(), vec![1]), ("s1:b".into(), vec![2]), ("s2:a".into(), vec![3])], Cell::new(0), true));
        let tier: Rc<dyn PersistentTier> = held.clone();
        let (reads, memory) = (SeriesReads::default(), RefCell::new(MemoryCache::new(1 << 20)));
        let (first, second) = (reads.ensure(&tier, "s1:", &memory, &|| true), reads.ensure(&tier, "s1:", &memory, &|| true));
        block_on(futures_util::future::join(first, second));
        assert_eq!(held.1.get(), 1, "one read for the series, however many images ask");
        assert_eq!(memory.borrow_mut().get("s1:b").as_deref(), Some(&vec![2]));
        assert!(memory.borrow_mut().get("s2:a").is_none(), "another series is not read");
        assert!(reads.may_hold("s1:", "s1:a") && !reads.may_hold("s1:", "s1:c"), "a miss of a read series goes to the network");
        assert!(reads.may_hold("s2:", "s2:x"), "an unread series may hold anything");
        reads.clear();
        block_on(reads.ensure(&tier, "s1:", &memory, &|| true));
        assert_eq!(held.1.get(), 2, "after a clear the series is read again");
    }

    #[test]
    fn a_load_left_meanwhile_puts_nothing_in_memory_and_a_tier_without_bulk_reads_is_asked_per_key() {
        let held = Rc::new(Held(vec![("s1:a".into(), vec![1])], Cell::new(0), true));
        let tier: Rc<dyn PersistentTier> = held.clone();
        let (reads, memory) = (SeriesReads::default(), RefCell::new(MemoryCache::new(1 << 20)));
        block_on(reads.ensure(&tier, "s1:", &memory, &|| false));
        assert!(memory.borrow().is_empty(), "not wanted any more: nothing kept");
        assert!(reads.may_hold("s1:", "s1:zz"), "and the series counts as not read");
        let keyed: Rc<dyn PersistentTier> = Rc::new(Held(vec![("s1:a".into(), vec![1])], Cell::new(0), false));
        block_on(reads.ensure(&keyed, "s3:", &memory, &|| true));
        assert!(reads.may_hold("s3:", "s3:anything"), "a tier without bulk reads is asked key by key");
    }
}
