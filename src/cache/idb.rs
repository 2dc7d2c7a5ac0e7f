//! The IndexedDB tier: image bytes that survive a reload.
//!
//! Two object stores: `blobs` (the bytes) and `meta` (size and times, indexed by partition), so
//! eviction decisions never read image bytes. Every entry id is `{partition}|{key}`.
//!
//! Every operation runs as its own task ([`detached`]): the IndexedDB wrapper's request futures
//! own the callbacks the browser will call, so dropping one mid-request (a load superseded by
//! a patient switch drops its pending reads) would have the browser call a dropped closure.
//! A caller that stops waiting now only drops the receiving end.

use super::policy::{CachePolicy, EntryMeta};
use super::{LocalFuture, PersistentTier};
use js_sys::{Object, Reflect, Uint8Array};
use rexie::{Index, KeyRange, ObjectStore, Rexie, TransactionMode};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

const DB_NAME: &str = "emr-imaging-cache";
const BLOBS: &str = "blobs";
const META: &str = "meta";

/// The persistent tier for one partition (FHIR server + user).
pub struct IdbTier(Rc<Idb>);

struct Idb {
    db: Rexie,
    partition: String,
    policy: CachePolicy,
    clock: Rc<dyn Fn() -> f64>,
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
        Some(IdbTier(Rc::new(Idb { db, partition, policy, clock })))
    }

    /// Bytes held by this partition (for tests and diagnostics).
    pub async fn used_bytes(&self) -> u64 {
        let idb = self.0.clone();
        detached(async move { idb.metas().await.map(|m| m.iter().map(|e| e.size).sum()).unwrap_or(0) }).await.unwrap_or(0)
    }
}

impl Idb {
    fn id(&self, key: &str) -> JsValue {
        JsValue::from_str(&format!("{}|{key}", self.partition))
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

    async fn try_get(&self, key: &str) -> Result<Option<Vec<u8>>, rexie::Error> {
        let id = self.id(key);
        let now = (self.clock)();
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadWrite)?;
        let meta_store = tx.store(META)?;
        let Some(meta) = meta_store.get(id.clone()).await? else { return Ok(None) };
        let entry = EntryMeta {
            key: key.to_string(),
            size: get_f64(&meta, "size").unwrap_or(0.0) as u64,
            stored_at: get_f64(&meta, "storedAt").unwrap_or(0.0),
            last_used: get_f64(&meta, "lastUsed").unwrap_or(0.0),
        };
        let blobs = tx.store(BLOBS)?;
        if !self.policy.is_fresh(&entry, now) {
            meta_store.delete(id.clone()).await?;
            blobs.delete(id).await?;
            tx.done().await?;
            return Ok(None);
        }
        let bytes = blobs
            .get(id)
            .await?
            .and_then(|record| Reflect::get(&record, &JsValue::from_str("bytes")).ok())
            .and_then(|b| b.dyn_into::<Uint8Array>().ok())
            .map(|array| array.to_vec());
        set(meta.unchecked_ref(), "lastUsed", &JsValue::from_f64(now));
        meta_store.put(&meta, None).await?;
        tx.done().await?;
        Ok(bytes)
    }

    async fn try_put(&self, key: &str, bytes: &[u8]) -> Result<(), rexie::Error> {
        let now = (self.clock)();
        let Some(evict) = self.policy.evictions(&self.metas().await?, bytes.len() as u64, now) else { return Ok(()) };
        let tx = self.db.transaction(&[BLOBS, META], TransactionMode::ReadWrite)?;
        let (blobs, metas) = (tx.store(BLOBS)?, tx.store(META)?);
        for id in evict {
            let id = JsValue::from_str(&id);
            metas.delete(id.clone()).await?;
            blobs.delete(id).await?;
        }
        let id = self.id(key);
        let blob = Object::new();
        set(&blob, "id", &id);
        set(&blob, "bytes", &Uint8Array::from(bytes).into());
        let meta = Object::new();
        set(&meta, "id", &id);
        set(&meta, "partition", &JsValue::from_str(&self.partition));
        set(&meta, "size", &JsValue::from_f64(bytes.len() as f64));
        set(&meta, "storedAt", &JsValue::from_f64(now));
        set(&meta, "lastUsed", &JsValue::from_f64(now));
        blobs.put(&blob.into(), None).await?;
        metas.put(&meta.into(), None).await?;
        tx.done().await?;
        Ok(())
    }
}

impl PersistentTier for IdbTier {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Option<Vec<u8>>> {
        let (idb, key) = (self.0.clone(), key.to_string());
        Box::pin(async move { detached(async move { idb.try_get(&key).await.ok().flatten() }).await.flatten() })
    }

    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> LocalFuture<'a, ()> {
        let (idb, key, bytes) = (self.0.clone(), key.to_string(), bytes.to_vec());
        Box::pin(async move {
            detached(async move {
                let _ = idb.try_put(&key, &bytes).await;
            })
            .await;
        })
    }

    /// Wipes every partition: `clearCache()` and logout leave no image on disk.
    fn clear(&self) -> LocalFuture<'_, ()> {
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
