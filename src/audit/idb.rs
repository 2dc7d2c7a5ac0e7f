//! The outbox in IndexedDB (`emr-imaging-audit`), so events wait across reloads and network
//! loss. Events of every FHIR server share one store; each drain reads its own server's.
//! Where IndexedDB is unavailable (a private mode, a sandboxed frame) the events wait in memory
//! for as long as the page lives.

use super::outbox::{MemoryStore, OutboxStore, Queued};
use js_sys::{Object, Reflect};
use rexie::{ObjectStore, Rexie, TransactionMode};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

const DB_NAME: &str = "emr-imaging-audit";
const STORE: &str = "outbox";

pub struct IdbOutbox {
    /// The audit server these events go to.
    base: String,
    /// `None` until opened; `Some(None)` when IndexedDB refused.
    db: RefCell<Option<Option<Rc<Rexie>>>>,
    memory: MemoryStore,
}

fn text(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

impl IdbOutbox {
    pub fn new(base: &str) -> Self {
        IdbOutbox { base: base.to_string(), db: RefCell::new(None), memory: MemoryStore::default() }
    }

    async fn db(&self) -> Option<Rc<Rexie>> {
        if let Some(opened) = self.db.borrow().clone() {
            return opened;
        }
        let opened =
            Rexie::builder(DB_NAME).version(1).add_object_store(ObjectStore::new(STORE).key_path("id")).build().await.ok().map(Rc::new);
        self.db.borrow_mut().get_or_insert(opened).clone()
    }
}

impl OutboxStore for IdbOutbox {
    async fn put(&self, queued: Queued) -> Result<(), String> {
        let Some(db) = self.db().await else { return self.memory.put(queued).await };
        let record = Object::new();
        for (key, value) in [
            ("id", JsValue::from_str(&queued.id)),
            ("base", JsValue::from_str(&self.base)),
            ("seq", JsValue::from_f64(queued.seq)),
            ("event", JsValue::from_str(&queued.event.to_string())),
        ] {
            let _ = Reflect::set(&record, &JsValue::from_str(key), &value);
        }
        let tx = db.transaction(&[STORE], TransactionMode::ReadWrite).map_err(text)?;
        tx.store(STORE).map_err(text)?.put(&record.into(), None).await.map_err(text)?;
        tx.done().await.map_err(text)?;
        Ok(())
    }

    async fn oldest(&self, limit: usize) -> Result<Vec<Queued>, String> {
        let Some(db) = self.db().await else { return self.memory.oldest(limit).await };
        let tx = db.transaction(&[STORE], TransactionMode::ReadOnly).map_err(text)?;
        let all = tx.store(STORE).map_err(text)?.get_all(None, None).await.map_err(text)?;
        let field = |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).ok();
        let mut mine: Vec<Queued> = all
            .iter()
            .filter(|v| field(v, "base").and_then(|b| b.as_string()).as_deref() == Some(self.base.as_str()))
            .filter_map(|v| {
                Some(Queued {
                    id: field(v, "id")?.as_string()?,
                    seq: field(v, "seq")?.as_f64()?,
                    event: serde_json::from_str(&field(v, "event")?.as_string()?).ok()?,
                })
            })
            .collect();
        crate::sorting::sort_by(&mut mine, |a, b| a.seq.total_cmp(&b.seq));
        mine.truncate(limit);
        Ok(mine)
    }

    async fn remove(&self, ids: &[String]) -> Result<(), String> {
        let Some(db) = self.db().await else { return self.memory.remove(ids).await };
        let tx = db.transaction(&[STORE], TransactionMode::ReadWrite).map_err(text)?;
        let store = tx.store(STORE).map_err(text)?;
        for id in ids {
            store.delete(JsValue::from_str(id)).await.map_err(text)?;
        }
        tx.done().await.map_err(text)?;
        Ok(())
    }
}
