//! The fetch benchmark's entry point (`cargo xtask bench-fetch`): a crate of its own, never
//! part of the shipped component.
//!
//! One call discovers a patient's study through FHIR, then times loading one series through
//! the bridge exactly as the viewer would (scheduler, memory, IndexedDB, WADO-RS). A page
//! reload between two calls makes the second one an IndexedDB read. Another opens a study in
//! a session, as the viewer does, and times its first image and its series decoded.

#![cfg(target_arch = "wasm32")]

use emr_imaging::bridge::{BridgeConfig, ImagingBridge};
use emr_imaging::cache::idb::IdbTier;
use emr_imaging::cache::{CachePolicy, PersistentTier, WriteWhen};
use emr_imaging::net::browser::FetchTransport;
use emr_imaging::net::{CancelToken, Priority};
use emr_imaging::session::{Screen, Session, SessionConfig, SessionError, Update};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

fn now_ms() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok();
    let now = performance.as_ref().and_then(|p| js_sys::Reflect::get(p, &JsValue::from_str("now")).ok());
    match (performance, now.and_then(|f| f.dyn_into::<js_sys::Function>().ok())) {
        (Some(p), Some(f)) => f.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or_else(js_sys::Date::now),
        _ => js_sys::Date::now(),
    }
}

/// Loads every instance of the first series of `study_uid` and returns
/// `{ms, bytes, instances, persistent}`: the time from the first image request to the last
/// byte, discovery excluded. `partition` names the IndexedDB partition (empty: memory only).
#[wasm_bindgen(js_name = benchFetchSeries)]
pub async fn bench_fetch_series(fhir_base: String, patient_id: String, study_uid: String, partition: String) -> Result<JsValue, JsValue> {
    let err = |e: &dyn std::fmt::Display| JsValue::from_str(&e.to_string());
    let base = url::Url::parse(&fhir_base).map_err(|e| err(&e))?;
    // A stalled request fails in 20 s rather than the component's 120 s, so the driver can retry
    // (the dev server's connection pool can leave a new keep-alive connection unserved).
    let limit = std::time::Duration::from_secs(20);
    let config = BridgeConfig { memory_budget: 1 << 30, timeouts: emr_imaging::net::Timeouts::all(limit), ..BridgeConfig::new(base) };
    let bridge = ImagingBridge::new(FetchTransport::with_timeout(limit), &config);
    let persistent = !partition.is_empty();
    let tier = if persistent { IdbTier::open(partition, CachePolicy::default()).await.map(Rc::new) } else { None };
    bridge.set_persistent(tier.clone().map(|t| t as Rc<dyn PersistentTier>));
    let studies = bridge.get_patient_studies(&patient_id).await.map_err(|e| err(&e))?;
    let study = studies.iter().find(|s| s.study_uid == study_uid).ok_or_else(|| JsValue::from_str("study not found"))?;
    let series = study.series_in_order().first().cloned().cloned().ok_or_else(|| JsValue::from_str("no series"))?;
    let instances = bridge.series_instances(study, &series).await.map_err(|e| err(&e))?;
    let started = now_ms();
    let report = bridge.prefetch_series(study, &series, &CancelToken::new(), &mut |_| true).await.map_err(|e| err(&e))?;
    let ms = now_ms() - started;
    if let Some((uid, e)) = report.failed.first() {
        return Err(JsValue::from_str(&format!("{uid}: {e}")));
    }
    let mut bytes = 0usize;
    for instance in &instances {
        let image = bridge
            .get_image(study, &series.uid, &instance.uid, Priority::Visible, WriteWhen::Batched, &CancelToken::new())
            .await
            .map_err(|e| err(&e))?;
        bytes += image.map_or(0, |b| b.len());
    }
    // Untimed: the next sample starts from a quiet database, not beside this one's writes.
    if let Some(tier) = &tier {
        tier.flushed().await;
    }
    let out = js_sys::Object::new();
    for (k, v) in
        [("ms", ms), ("bytes", bytes as f64), ("instances", report.cached as f64), ("persistent", if persistent { 1.0 } else { 0.0 })]
    {
        js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))?;
    }
    Ok(out.into())
}

/// What the session told its screen, with the time it was told: the first image shown and the
/// stack's series loaded (every slice decoded and verified).
#[derive(Default)]
struct Marks {
    first: std::cell::RefCell<Option<(f64, String, String)>>,
    stacked: std::cell::RefCell<Option<(f64, usize, u64)>>,
    failure: std::cell::RefCell<Option<String>>,
}

impl Screen for Marks {
    fn apply(&self, update: Update) {
        match update {
            Update::Image(shown) if self.first.borrow().is_none() => {
                *self.first.borrow_mut() = Some((now_ms(), shown.series_uid, shown.instance_uid));
            }
            Update::SeriesLoaded { series_uid, instances, bytes, .. }
                if self.stacked.borrow().is_none() && self.first.borrow().as_ref().is_some_and(|(_, series, _)| *series == series_uid) =>
            {
                *self.stacked.borrow_mut() = Some((now_ms(), instances, bytes));
            }
            _ => {}
        }
    }
    fn failed(&self, error: &SessionError) {
        self.failure.borrow_mut().get_or_insert_with(|| error.to_string());
    }
}

/// Opens `study_uid` in a session, as the viewer does (first image, then the series stacked:
/// fetched, decoded and verified), after its list and banner are in. Returns
/// `{firstMs, allMs, instances, bytes, startedAt, seriesUid, instanceUid}`: from the open to the
/// first image shown, and to the last slice of its series decoded; `startedAt` is the open's
/// `performance.now()`, for the page's resource timings.
#[wasm_bindgen(js_name = benchOpenStudy)]
pub async fn bench_open_study(fhir_base: String, patient_id: String, study_uid: String, partition: String) -> Result<JsValue, JsValue> {
    let err = |e: &dyn std::fmt::Display| JsValue::from_str(&e.to_string());
    let base = url::Url::parse(&fhir_base).map_err(|e| err(&e))?;
    let limit = std::time::Duration::from_secs(20);
    let config = BridgeConfig { memory_budget: 1 << 30, timeouts: emr_imaging::net::Timeouts::all(limit), ..BridgeConfig::new(base) };
    let bridge = ImagingBridge::new(FetchTransport::with_timeout(limit), &config);
    let tier = if partition.is_empty() { None } else { IdbTier::open(partition, CachePolicy::default()).await.map(Rc::new) };
    bridge.set_persistent(tier.clone().map(|t| t as Rc<dyn PersistentTier>));
    let marks = Rc::new(Marks::default());
    // Decoded as the component decodes: in the page's decode workers.
    let session =
        Session::new(bridge, SessionConfig::default(), marks.clone()).with_decoder(Rc::new(emr_imaging::imaging::workers::Workers));
    session.fetch_studies(&patient_id).await.map_err(|e| err(&e))?;
    if let Some(banner) = session.show_studies(std::slice::from_ref(&study_uid)).map_err(|e| err(&e))? {
        session.load_banner(&banner).await.map_err(|e| err(&e))?;
    }
    let started = now_ms();
    session.open_study(&study_uid).await.map_err(|e| err(&e))?;
    if let Some(failure) = marks.failure.borrow().clone() {
        return Err(JsValue::from_str(&failure));
    }
    let (first_at, series_uid, instance_uid) = marks.first.borrow().clone().ok_or_else(|| JsValue::from_str("no image shown"))?;
    let (all_at, instances, bytes) = marks.stacked.borrow().ok_or_else(|| JsValue::from_str("the series was not stacked"))?;
    // Untimed: the next sample starts from a quiet database, not beside this one's writes.
    if let Some(tier) = &tier {
        tier.flushed().await;
    }
    let out = js_sys::Object::new();
    let numbers = [
        ("firstMs", first_at - started),
        ("allMs", all_at - started),
        ("instances", instances as f64),
        ("bytes", bytes as f64),
        ("startedAt", started),
    ];
    for (k, v) in numbers {
        js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))?;
    }
    for (k, v) in [("seriesUid", series_uid), ("instanceUid", instance_uid)] {
        js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_str(&v))?;
    }
    Ok(out.into())
}
