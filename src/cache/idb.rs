//! The IndexedDB tier: image bytes that survive a reload.
//!
//! Two object stores: `blobs` (the bytes) and `meta` (size and times, indexed by partition), so
//! eviction decisions never read image bytes. Every entry id is `{partition}|{key}`; image keys
//! of one series share a prefix ([`super::series_prefix`]), so the ids themselves are the
//! per-series index: a series is read as one key range, in one transaction.
//!
//! Writes are queued and written in batches, one transaction each, after the display that
//! fetched them: a batch goes when enough entries wait, or shortly after the first one, and a
//! batch that fails loses only its cache entries (the images are in memory and on screen).
//!
//! Every operation runs as its own task ([`detached`]): the IndexedDB wrapper's request futures
//! own the callbacks the browser will call, so dropping one mid-request (a load superseded by
//! a patient switch drops its pending reads) would have the browser call a dropped closure.
//! A caller that stops waiting now only drops the receiving end.

use super::policy::{CachePolicy, EntryMeta};
use super::{Entries, LocalFuture, PersistentTier, WriteWhen};
use futures_channel::oneshot;
use js_sys::{Object, Reflect, Uint8Array};
use rexie::{Index, KeyRange, ObjectStore, Rexie, TransactionMode};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};

const DB_NAME: &str = "emr-imaging-cache";
const BLOBS: &str = "blobs";
const META: &str = "meta";

/// Queued entries that make a batch go at once rather than after [`FLUSH_DELAY`].
const BATCH_ENTRIES: usize = 16;
/// Queued bytes that make a batch go at once.
const BATCH_BYTES: usize = 16 << 20;
/// How long the first queued entry waits for others: a series' next images, not the display.
const FLUSH_DELAY: Duration = Duration::from_millis(250);
/// The longest the image on screen waits: past its own decode and draw (the write's copy would
/// otherwise run between the response and the display), well before a reload could ask again.
const SHOWN_DELAY: Duration = Duration::from_millis(40);

/// The persistent tier for one partition (FHIR server + user).
pub struct IdbTier(Rc<Idb>);

struct Idb {
    db: Rexie,
    partition: String,
    policy: CachePolicy,
    clock: Rc<dyn Fn() -> f64>,
    queue: RefCell<Queue>,
    held: RefCell<Held>,
}

/// Which ids the database may hold, so a read of one it cannot hold (a first image never seen)
/// goes to the network without a transaction first. What other tabs wrote since this tier
/// opened is not known here: those are then fetched again, never shown wrong.
#[derive(Default)]
struct Held {
    /// This partition's ids when the tier opened; `None` until read (every read asks the
    /// database meanwhile).
    at_open: Option<HashSet<String>>,
    /// Ids this tier wrote since.
    written: HashSet<String>,
}

impl Held {
    fn may_hold(&self, id: &str) -> bool {
        self.at_open.as_ref().is_none_or(|ids| ids.contains(id)) || self.written.contains(id)
    }
}

/// Writes waiting for their batch.
#[derive(Default)]
struct Queue {
    /// Keys (without the partition) and bytes, in arrival order.
    pending: Vec<(String, Rc<Vec<u8>>)>,
    pending_bytes: usize,
    /// Callers of `put`, told when the queue is next empty (their entry's batch is done).
    waiters: Vec<oneshot::Sender<()>>,
    /// A flush task runs (it takes every batch until the queue is empty).
    flushing: bool,
    /// Wakes the flush task before its delay: the batch is full, or a caller waits.
    kick: Option<oneshot::Sender<()>>,
    /// Bumped by `clear`: a batch taken before it is not written.
    epoch: u64,
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn get_f64(o: &JsValue, k: &str) -> Option<f64> {
    Reflect::get(o, &JsValue::from_str(k)).ok()?.as_f64()
}

fn get_string(o: &JsValue, k: &str) -> Option<String> {
    Reflect::get(o, &JsValue::from_str(k)).ok()?.as_string()
}

/// An entry's size and times as its stored meta record gives them.
fn entry_meta(meta: &JsValue, id: &str) -> EntryMeta {
    EntryMeta {
        key: id.to_string(),
        size: get_f64(meta, "size").unwrap_or(0.0) as u64,
        stored_at: get_f64(meta, "storedAt").unwrap_or(0.0),
        last_used: get_f64(meta, "lastUsed").unwrap_or(0.0),
    }
}

impl IdbTier {
    /// Opens (creating if needed) the database; `None` where IndexedDB is unavailable (some
    /// private modes, sandboxed iframes): the caller then runs memory-only.
    pub async fn open(partition: String, policy: CachePolicy) -> Option<IdbTier> {
        Self::open_with_clock(partition, policy, Rc::new(|| js_sys::Date::now() / 1000.0)).await
    }

    /// As [`IdbTier::open`], with an injected clock (Unix seconds) for tests of expiry.
    pub async fn open_with_clock(partition: String, policy: CachePolicy, clock: Rc<dyn Fn() -> f64>) -> Option<IdbTier> {
        Self::open_database(DB_NAME, partition, policy, clock).await
    }

    /// As [`IdbTier::open_with_clock`], on the database `name` (tests use their own).
    pub async fn open_database(name: &str, partition: String, policy: CachePolicy, clock: Rc<dyn Fn() -> f64>) -> Option<IdbTier> {
        let db = Rexie::builder(name)
            .version(1)
            .add_object_store(ObjectStore::new(BLOBS).key_path("id"))
            .add_object_store(ObjectStore::new(META).key_path("id").add_index(Index::new("partition", "partition")))
            .build()
            .await
            .ok()?;
        let idb = Rc::new(Idb { db, partition, policy, clock, queue: RefCell::default(), held: RefCell::default() });
        let loading = idb.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // Without it, every read is asked of the database, as before.
            if let Ok(ids) = loading.stored_ids().await {
                loading.held.borrow_mut().at_open = Some(ids);
            }
        });
        Some(IdbTier(idb))
    }

    /// Bytes held by this partition (for tests and diagnostics).
    pub async fn used_bytes(&self) -> u64 {
        let idb = self.0.clone();
        detached(async move { idb.metas().await.map(|m| m.iter().map(|e| e.size).sum()).unwrap_or(0) }).await.unwrap_or(0)
    }

    /// Resolves once every write queued before the call has landed (or was dropped by a
    /// clear): benchmarks and tests start the next measurement from a quiet database.
    pub async fn flushed(&self) {
        let (done, landed) = oneshot::channel();
        self.0.wait_for_writes(done);
        let _ = landed.await;
    }
}

impl Idb {
    /// This partition's ids, keys only.
    async fn stored_ids(&self) -> Result<HashSet<String>, rexie::Error> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let range = KeyRange::only(&JsValue::from_str(&self.partition))?;
        let ids = tx.store(META)?.index("partition")?.get_all_keys(Some(range), None).await?;
        Ok(ids.iter().filter_map(JsValue::as_string).collect())
    }

    async fn metas(&self) -> Result<Vec<EntryMeta>, rexie::Error> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let range = KeyRange::only(&JsValue::from_str(&self.partition))?;
        let all = tx.store(META)?.index("partition")?.get_all(Some(range), None).await?;
        Ok(all
            .iter()
            .filter_map(|m| {
                Some(EntryMeta {
                    key: get_string(m, "id")?,
                    size: get_f64(m, "size")? as u64,
                    stored_at: get_f64(m, "storedAt")?,
                    last_used: get_f64(m, "lastUsed")?,
                })
            })
            .collect())
    }

    /// One entry, read in a read-only transaction (its record and bytes asked at once), so a
    /// miss or a hit waits for no batch being written; it is marked used, or deleted if
    /// expired, afterwards in a transaction of its own, as bulk reads are.
    async fn try_get(self: &Rc<Self>, key: &str) -> Result<Option<Vec<u8>>, rexie::Error> {
        if let Some(bytes) = self.queued(key) {
            return Ok(Some(bytes));
        }
        let id_string = self.id_string(key);
        if !self.held.borrow().may_hold(&id_string) {
            return Ok(None);
        }
        let id = JsValue::from_str(&id_string);
        let now = (self.clock)();
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadOnly)?;
        let (meta_store, blobs) = (tx.store(META)?, tx.store(BLOBS)?);
        let (meta, record) = futures_util::future::join(meta_store.get(id.clone()), blobs.get(id)).await;
        let Some(meta) = meta? else { return Ok(None) };
        let fresh = self.policy.is_fresh(&entry_meta(&meta, key), now);
        let bytes = record?
            .filter(|_| fresh)
            .and_then(|record| Reflect::get(&record, &JsValue::from_str("bytes")).ok())
            .and_then(|b| b.dyn_into::<Uint8Array>().ok())
            .map(|array| array.to_vec());
        let (mut used, mut expired) = (HashSet::new(), HashSet::new());
        if !fresh {
            expired.insert(id_string.clone());
        } else if bytes.is_some() {
            used.insert(id_string.clone());
        }
        let (idb, epoch) = (self.clone(), self.queue.borrow().epoch);
        wasm_bindgen_futures::spawn_local(async move {
            // Only a lost mark of use or a later deletion if it fails.
            let _ = idb.mark_read(&id_string, used, expired, now, epoch).await;
        });
        Ok(bytes)
    }

    /// Queues an entry; `urgent` (a caller waits) sends the batch now, and an entry `when`
    /// [`WriteWhen::Shown`] within [`SHOWN_DELAY`].
    fn enqueue(self: &Rc<Self>, key: &str, bytes: Rc<Vec<u8>>, when: WriteWhen, waiter: Option<oneshot::Sender<()>>) {
        if when == WriteWhen::Shown {
            let idb = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                crate::net::browser::sleep(SHOWN_DELAY).await;
                if let Some(kick) = idb.queue.borrow_mut().kick.take() {
                    let _ = kick.send(());
                }
            });
        }
        let mut q = self.queue.borrow_mut();
        q.pending_bytes += bytes.len();
        q.pending.push((key.to_string(), bytes));
        let urgent = waiter.is_some() || q.pending.len() >= BATCH_ENTRIES || q.pending_bytes >= BATCH_BYTES;
        q.waiters.extend(waiter);
        if urgent {
            if let Some(kick) = q.kick.take() {
                let _ = kick.send(());
            }
        }
        if !q.flushing {
            q.flushing = true;
            let (kick, kicked) = oneshot::channel();
            q.kick = if urgent { None } else { Some(kick) };
            drop(q);
            let idb = self.clone();
            wasm_bindgen_futures::spawn_local(async move { idb.flush(urgent, kicked).await });
        }
    }

    /// `waiter` is told when the queue is next empty: at once if nothing is queued or being
    /// written, else after the batches in hand (sent now, not after their delay).
    fn wait_for_writes(self: &Rc<Self>, waiter: oneshot::Sender<()>) {
        let mut q = self.queue.borrow_mut();
        if !q.flushing {
            drop(q);
            let _ = waiter.send(());
            return;
        }
        q.waiters.push(waiter);
        if let Some(kick) = q.kick.take() {
            let _ = kick.send(());
        }
    }

    /// Writes batches until the queue is empty: the first after [`FLUSH_DELAY`] unless kicked.
    async fn flush(&self, urgent: bool, kicked: oneshot::Receiver<()>) {
        if !urgent {
            let delay = Box::pin(crate::net::browser::sleep(FLUSH_DELAY));
            let _ = futures_util::future::select(delay, kicked).await;
        } else {
            // One turn first: the display that queued the entry goes before its write.
            crate::net::browser::sleep(Duration::ZERO).await;
        }
        loop {
            let (batch, epoch) = {
                let mut q = self.queue.borrow_mut();
                q.kick = None;
                if q.pending.is_empty() {
                    q.flushing = false;
                    let waiters = std::mem::take(&mut q.waiters);
                    drop(q);
                    waiters.into_iter().for_each(|w| {
                        let _ = w.send(());
                    });
                    return;
                }
                // At most a batch's worth per transaction: one task builds each transaction's
                // copies, and a whole streamed series at once was a 315 ms task.
                let mut bytes = 0;
                let cut = q
                    .pending
                    .iter()
                    .take(BATCH_ENTRIES)
                    .take_while(|(_, b)| {
                        let first = bytes == 0;
                        bytes += b.len();
                        first || bytes <= BATCH_BYTES
                    })
                    .count();
                let batch: Vec<_> = q.pending.drain(..cut).collect();
                q.pending_bytes -= batch.iter().map(|(_, b)| b.len()).sum::<usize>();
                (batch, q.epoch)
            };
            // A failed batch loses only these cache entries.
            let _ = self.write_batch(&batch, epoch).await;
            // Input and paint between batches.
            crate::net::browser::sleep(Duration::ZERO).await;
        }
    }

    /// One transaction for the batch: evictions as one write after another would make them,
    /// then every entry that stays.
    async fn write_batch(&self, batch: &[(String, Rc<Vec<u8>>)], epoch: u64) -> Result<(), rexie::Error> {
        let now = (self.clock)();
        let stored = self.metas().await?;
        let incoming: Vec<(String, u64)> = batch.iter().map(|(key, bytes)| (self.id_string(key), bytes.len() as u64)).collect();
        let plan = self.policy.plan_batch(&stored, &incoming, now);
        // Checked with no await before the transaction exists: a clear meanwhile wins.
        if self.queue.borrow().epoch != epoch || (plan.write.is_empty() && plan.delete.is_empty()) {
            return Ok(());
        }
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadWrite)?;
        let (blobs, metas) = (tx.store(BLOBS)?, tx.store(META)?);
        for id in &plan.delete {
            let id = JsValue::from_str(id);
            metas.delete(id.clone()).await?;
            blobs.delete(id).await?;
        }
        let partition = JsValue::from_str(&self.partition);
        let records = plan.write.iter().filter_map(|&i| Some((incoming.get(i)?, batch.get(i)?)));
        let (mut blob_records, mut meta_records) = (Vec::new(), Vec::new());
        for ((id, size), (_, bytes)) in records {
            let id = JsValue::from_str(id);
            let blob = Object::new();
            set(&blob, "id", &id);
            set(&blob, "bytes", &Uint8Array::from(bytes.as_slice()).into());
            let meta = Object::new();
            set(&meta, "id", &id);
            set(&meta, "partition", &partition);
            set(&meta, "size", &JsValue::from_f64(*size as f64));
            set(&meta, "storedAt", &JsValue::from_f64(now));
            set(&meta, "lastUsed", &JsValue::from_f64(now));
            blob_records.push((JsValue::from(blob), None));
            meta_records.push((JsValue::from(meta), None));
        }
        blobs.put_all(blob_records.into_iter()).await?;
        metas.put_all(meta_records.into_iter()).await?;
        tx.done().await?;
        let written = plan.write.iter().filter_map(|&i| incoming.get(i)).map(|(id, _)| id.clone());
        self.held.borrow_mut().written.extend(written);
        Ok(())
    }

    fn id_string(&self, key: &str) -> String {
        format!("{}|{key}", self.partition)
    }

    /// Drops every queued write (their batch would land after the wipe) and the flush's
    /// batch in hand, synchronously.
    fn forget_queued(&self) {
        *self.held.borrow_mut() = Held { at_open: Some(HashSet::new()), written: HashSet::new() };
        let mut q = self.queue.borrow_mut();
        q.epoch += 1;
        q.pending.clear();
        q.pending_bytes = 0;
        let waiters = std::mem::take(&mut q.waiters);
        drop(q);
        waiters.into_iter().for_each(|w| {
            let _ = w.send(());
        });
    }

    /// A queued entry, not yet written: read as if it were.
    fn queued(&self, key: &str) -> Option<Vec<u8>> {
        self.queue.borrow().pending.iter().rev().find(|(k, _)| k == key).map(|(_, b)| b.as_ref().clone())
    }

    /// Every fresh entry of the key range `prefix…`, read in one read-only transaction (both
    /// stores asked at once); expired ones are deleted and the others marked used now (as single
    /// reads do) afterwards, in a transaction of their own, so the answer does not wait for a
    /// write to commit.
    async fn try_get_prefixed(self: &Rc<Self>, prefix: &str) -> Result<Entries, rexie::Error> {
        let now = (self.clock)();
        let lower = self.id_string(prefix);
        let range = self.range_of(&lower)?;
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadOnly)?;
        let (meta_store, blobs) = (tx.store(META)?, tx.store(BLOBS)?);
        let (metas, records) =
            futures_util::future::join(meta_store.get_all(Some(range.clone()), None), blobs.get_all(Some(range), None)).await;
        let (metas, records) = (metas?, records?);
        let mut bytes_of: HashMap<String, Uint8Array> = records
            .iter()
            .filter_map(|r| Some((get_string(r, "id")?, Reflect::get(r, &JsValue::from_str("bytes")).ok()?.dyn_into::<Uint8Array>().ok()?)))
            .collect();
        let key_start = self.partition.len() + 1;
        let mut out = Vec::with_capacity(metas.len());
        let (mut used, mut expired) = (HashSet::new(), HashSet::new());
        for meta in metas {
            let Some(id) = get_string(&meta, "id") else { continue };
            if !self.policy.is_fresh(&entry_meta(&meta, &id), now) {
                expired.insert(id);
                continue;
            }
            let Some(array) = bytes_of.remove(&id) else { continue };
            out.push((id.get(key_start..).unwrap_or_default().to_string(), array.to_vec()));
            used.insert(id);
        }
        let (idb, epoch) = (self.clone(), self.queue.borrow().epoch);
        wasm_bindgen_futures::spawn_local(async move {
            // Only a lost mark of use or a later deletion if it fails.
            let _ = idb.mark_read(&lower, used, expired, now, epoch).await;
        });
        // Entries still queued are this tier's too.
        let queued: Entries = self
            .queue
            .borrow()
            .pending
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, b)| (k.clone(), b.as_ref().clone()))
            .collect();
        out.extend(queued);
        Ok(out)
    }

    /// The ids from `lower` (a partition and key prefix) through every id that starts with it.
    fn range_of(&self, lower: &str) -> Result<KeyRange, rexie::Error> {
        Ok(KeyRange::bound(&JsValue::from_str(lower), &JsValue::from_str(&format!("{lower}\u{ffff}")), Some(false), Some(false))?)
    }

    /// After a read of the range `lower…` (a series, or one entry's id): the entries `used` marked used at `now`, the
    /// `expired` ones deleted, each as its meta stands now. Entries evicted meanwhile stay gone
    /// (only metas still there are marked), one written again meanwhile is fresh and stays,
    /// and a clear meanwhile (`epoch` moved on) leaves it all undone.
    async fn mark_read(
        &self,
        lower: &str,
        used: HashSet<String>,
        expired: HashSet<String>,
        now: f64,
        epoch: u64,
    ) -> Result<(), rexie::Error> {
        // Nothing read (a series or an entry not there): no read-write transaction for later
        // reads and writes to queue behind.
        if self.queue.borrow().epoch != epoch || (used.is_empty() && expired.is_empty()) {
            return Ok(());
        }
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadWrite)?;
        let (meta_store, blobs) = (tx.store(META)?, tx.store(BLOBS)?);
        let metas = meta_store.get_all(Some(self.range_of(lower)?), None).await?;
        let mut touched = Vec::new();
        for meta in metas {
            let Some(id) = get_string(&meta, "id") else { continue };
            if expired.contains(&id) && !self.policy.is_fresh(&entry_meta(&meta, &id), now) {
                let id = JsValue::from_str(&id);
                meta_store.delete(id.clone()).await?;
                blobs.delete(id).await?;
            } else if used.contains(&id) {
                set(meta.unchecked_ref(), "lastUsed", &JsValue::from_f64(now));
                touched.push((meta, None));
            }
        }
        meta_store.put_all(touched.into_iter()).await?;
        tx.done().await?;
        Ok(())
    }
}

impl PersistentTier for IdbTier {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Option<Vec<u8>>> {
        let (idb, key) = (self.0.clone(), key.to_string());
        Box::pin(async move { detached(async move { idb.try_get(&key).await.ok().flatten() }).await.flatten() })
    }

    /// Queues the entry and waits until its batch is written (or dropped by a clear).
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> LocalFuture<'a, ()> {
        let (done, written) = oneshot::channel();
        self.0.enqueue(key, Rc::new(bytes.to_vec()), WriteWhen::Batched, Some(done));
        Box::pin(async move {
            let _ = written.await;
        })
    }

    fn queue(&self, key: &str, bytes: Rc<Vec<u8>>, when: WriteWhen) -> bool {
        self.0.enqueue(key, bytes, when, None);
        true
    }

    fn get_prefixed<'a>(&'a self, prefix: &'a str) -> LocalFuture<'a, Option<Entries>> {
        let (idb, prefix) = (self.0.clone(), prefix.to_string());
        // A failed read answers `None`: the images are then asked for one by one.
        Box::pin(async move { detached(async move { idb.try_get_prefixed(&prefix).await.ok() }).await.flatten() })
    }

    /// Wipes every partition: `clearCache()` and logout leave no image on disk.
    fn clear(&self) -> LocalFuture<'_, ()> {
        // At the call, not when awaited: no queued image reaches the disk after a wipe.
        self.0.forget_queued();
        let idb = self.0.clone();
        Box::pin(async move {
            detached(async move {
                let Ok(tx) = idb.db.transaction(&[BLOBS, META], TransactionMode::ReadWrite) else { return };
                for name in [BLOBS, META] {
                    if let Ok(store) = tx.store(name) {
                        let _ = store.clear().await;
                    }
                }
                let _ = tx.done().await;
            })
            .await;
        })
    }
}

/// Runs `work` as a task of its own and waits for its result; dropping the returned future
/// leaves the task running to its end. `None` only if the task ended without an answer.
async fn detached<T: 'static>(work: impl std::future::Future<Output = T> + 'static) -> Option<T> {
    let (tx, rx) = futures_channel::oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = tx.send(work.await);
    });
    rx.await.ok()
}
