//! The upload queue in IndexedDB (`emr-imaging-upload`): a file waits here, with its bytes,
//! from "Send" until the server confirmed it, across reloads and network loss. The small
//! records (`queue`) and the bytes (`bytes`) are two stores, so listing the queue never loads
//! a CD's worth of pixels. Where IndexedDB is unavailable (a private mode, a sandboxed frame)
//! the queue lives in memory for as long as the page does.

use super::queue::{QueueError, QueueStore, Waiting};
use super::stow::InstanceOutcome;
use js_sys::{Object, Reflect, Uint8Array};
use rexie::{ObjectStore, Rexie, TransactionMode};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

const DB_NAME: &str = "emr-imaging-upload";
const QUEUE: &str = "queue";
const BYTES: &str = "bytes";

/// A file to keep until it is confirmed.
#[derive(Debug, Clone)]
pub struct Queued {
    pub sop_instance_uid: String,
    pub name: String,
    /// Increasing: the order files are sent in.
    pub seq: f64,
    pub bytes: Vec<u8>,
}

/// The queue of one patient's files to one STOW-RS service. Another patient's files wait
/// until that patient is open again: every upload is sent, and audited, under the patient it
/// was checked against.
pub struct IdbQueue {
    base: String,
    patient_id: String,
    /// Set on a patient switch: the run stops after the request in flight.
    closed: std::cell::Cell<bool>,
    /// `None` until opened; `Some(None)` when IndexedDB refused.
    db: RefCell<Option<Option<Rc<Rexie>>>>,
    memory: RefCell<Vec<Queued>>,
}

fn store_error(e: impl std::fmt::Debug) -> QueueError {
    QueueError::Store(format!("{e:?}"))
}

impl IdbQueue {
    pub fn new(base: &str, patient_id: &str) -> Self {
        IdbQueue {
            base: base.to_string(),
            patient_id: patient_id.to_string(),
            closed: std::cell::Cell::new(false),
            db: RefCell::new(None),
            memory: RefCell::new(Vec::new()),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }

    /// No further batch is started (the files stay for the patient's next visit).
    pub fn close(&self) {
        self.closed.set(true);
    }

    /// Both stores share one key: the service and the instance.
    fn key(&self, sop_instance_uid: &str) -> JsValue {
        JsValue::from_str(&format!("{} {sop_instance_uid}", self.base))
    }

    async fn db(&self) -> Option<Rc<Rexie>> {
        if let Some(opened) = self.db.borrow().clone() {
            return opened;
        }
        let opened = Rexie::builder(DB_NAME)
            .version(1)
            .add_object_store(ObjectStore::new(QUEUE).key_path("key"))
            .add_object_store(ObjectStore::new(BYTES))
            .build()
            .await
            .ok()
            .map(Rc::new);
        self.db.borrow_mut().get_or_insert(opened).clone()
    }

    /// Keeps the files, in one transaction: after it, a reload finds all of them or none.
    pub async fn put(&self, files: &[Queued]) -> Result<(), QueueError> {
        let Some(db) = self.db().await else {
            let mut memory = self.memory.borrow_mut();
            for f in files {
                memory.retain(|m| m.sop_instance_uid != f.sop_instance_uid);
                memory.push(f.clone());
            }
            return Ok(());
        };
        let tx = db.transaction(&[QUEUE, BYTES], TransactionMode::ReadWrite).map_err(store_error)?;
        let (queue, bytes) = (tx.store(QUEUE).map_err(store_error)?, tx.store(BYTES).map_err(store_error)?);
        for f in files {
            let record = Object::new();
            for (k, v) in [
                ("key", self.key(&f.sop_instance_uid)),
                ("base", JsValue::from_str(&self.base)),
                ("sop", JsValue::from_str(&f.sop_instance_uid)),
                ("patient", JsValue::from_str(&self.patient_id)),
                ("name", JsValue::from_str(&f.name)),
                ("seq", JsValue::from_f64(f.seq)),
                ("size", JsValue::from_f64(f.bytes.len() as f64)),
            ] {
                let _ = Reflect::set(&record, &JsValue::from_str(k), &v);
            }
            queue.put(&record.into(), None).await.map_err(store_error)?;
            bytes.put(&Uint8Array::from(f.bytes.as_slice()).into(), Some(&self.key(&f.sop_instance_uid))).await.map_err(store_error)?;
        }
        tx.done().await.map_err(store_error)?;
        Ok(())
    }

    /// This service's and patient's records, in queue order: (SOP Instance UID, name, size, seq).
    async fn records(&self) -> Result<Vec<(String, String, usize, f64)>, QueueError> {
        let Some(db) = self.db().await else {
            let memory = self.memory.borrow();
            return Ok(memory.iter().map(|q| (q.sop_instance_uid.clone(), q.name.clone(), q.bytes.len(), q.seq)).collect());
        };
        let tx = db.transaction(&[QUEUE], TransactionMode::ReadOnly).map_err(store_error)?;
        let all = tx.store(QUEUE).map_err(store_error)?.get_all(None, None).await.map_err(store_error)?;
        let field = |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).ok();
        let mut mine: Vec<_> = all
            .iter()
            .filter(|v| field(v, "base").and_then(|b| b.as_string()).as_deref() == Some(self.base.as_str()))
            .filter(|v| field(v, "patient").and_then(|b| b.as_string()).as_deref() == Some(self.patient_id.as_str()))
            .filter_map(|v| {
                Some((
                    field(v, "sop")?.as_string()?,
                    field(v, "name")?.as_string()?,
                    field(v, "size")?.as_f64()? as usize,
                    field(v, "seq")?.as_f64()?,
                ))
            })
            .collect();
        crate::sorting::sort_by(&mut mine, |a, b| a.3.total_cmp(&b.3));
        Ok(mine)
    }

    /// The files still waiting: (name, bytes), for the panel to list again after a reload.
    /// Every file's bytes, read in one transaction.
    pub async fn listed(&self) -> Result<Vec<(String, Vec<u8>)>, QueueError> {
        let records = self.records().await?;
        let Some(db) = self.db().await else {
            let memory = self.memory.borrow();
            let bytes_of = |sop: &str| memory.iter().find(|q| q.sop_instance_uid == sop).map(|q| q.bytes.clone());
            return Ok(records.into_iter().filter_map(|(sop, name, _, _)| Some((name, bytes_of(&sop)?))).collect());
        };
        let tx = db.transaction(&[BYTES], TransactionMode::ReadOnly).map_err(store_error)?;
        let store = tx.store(BYTES).map_err(store_error)?;
        let mut out = Vec::with_capacity(records.len());
        for (sop, name, _, _) in records {
            if let Some(value) = store.get(self.key(&sop)).await.map_err(store_error)?.filter(JsValue::is_object) {
                out.push((name, Uint8Array::new(&value).to_vec()));
            }
        }
        Ok(out)
    }
}

impl QueueStore for IdbQueue {
    async fn waiting(&self) -> Result<Vec<Waiting>, QueueError> {
        if self.closed.get() {
            return Ok(Vec::new());
        }
        Ok(self.records().await?.into_iter().map(|(sop_instance_uid, _, size, _)| Waiting { sop_instance_uid, size }).collect())
    }

    async fn bytes(&self, sop_instance_uid: &str) -> Result<Option<Vec<u8>>, QueueError> {
        let Some(db) = self.db().await else {
            return Ok(self.memory.borrow().iter().find(|q| q.sop_instance_uid == sop_instance_uid).map(|q| q.bytes.clone()));
        };
        let tx = db.transaction(&[BYTES], TransactionMode::ReadOnly).map_err(store_error)?;
        let value = tx.store(BYTES).map_err(store_error)?.get(self.key(sop_instance_uid)).await.map_err(store_error)?;
        Ok(value.filter(|v| v.is_object()).map(|v| Uint8Array::new(&v).to_vec()))
    }

    async fn finish(&self, sop_instance_uid: &str, _outcome: &InstanceOutcome) -> Result<(), QueueError> {
        let Some(db) = self.db().await else {
            self.memory.borrow_mut().retain(|q| q.sop_instance_uid != sop_instance_uid);
            return Ok(());
        };
        let tx = db.transaction(&[QUEUE, BYTES], TransactionMode::ReadWrite).map_err(store_error)?;
        tx.store(QUEUE).map_err(store_error)?.delete(self.key(sop_instance_uid)).await.map_err(store_error)?;
        tx.store(BYTES).map_err(store_error)?.delete(self.key(sop_instance_uid)).await.map_err(store_error)?;
        tx.done().await.map_err(store_error)?;
        Ok(())
    }
}
