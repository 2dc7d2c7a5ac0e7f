//! The fetch benchmark's entry point (`cargo xtask bench-fetch`): a crate of its own, never
//! part of the shipped component.
//!
//! One call discovers a patient's study through FHIR, then times loading one series through
//! the bridge exactly as the viewer would (scheduler, memory, IndexedDB, WADO-RS). A page
//! reload between two calls makes the second one an IndexedDB read.

#![cfg(target_arch = "wasm32")]

use emr_imaging::bridge::{BridgeConfig, ImagingBridge};
use emr_imaging::cache::idb::IdbTier;
use emr_imaging::cache::{CachePolicy, PersistentTier};
use emr_imaging::net::browser::FetchTransport;
use emr_imaging::net::{CancelToken, Priority};
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
    if persistent {
        let tier = IdbTier::open(partition, CachePolicy::default()).await;
        bridge.set_persistent(tier.map(|t| Rc::new(t) as Rc<dyn PersistentTier>));
    }
    let studies = bridge.get_patient_studies(&patient_id).await.map_err(|e| err(&e))?;
    let study = studies.iter().find(|s| s.study_uid == study_uid).ok_or_else(|| JsValue::from_str("study not found"))?;
    let series = study.series_in_order().first().cloned().cloned().ok_or_else(|| JsValue::from_str("no series"))?;
    let instances = bridge.series_instances(study, &series).await.map_err(|e| err(&e))?;
    let started = now_ms();
    let report = bridge.prefetch_series(study, &series, &CancelToken::new()).await.map_err(|e| err(&e))?;
    let ms = now_ms() - started;
    if let Some((uid, e)) = report.failed.first() {
        return Err(JsValue::from_str(&format!("{uid}: {e}")));
    }
    let mut bytes = 0usize;
    for instance in &instances {
        let image =
            bridge.get_image(study, &series.uid, &instance.uid, Priority::Visible, &CancelToken::new()).await.map_err(|e| err(&e))?;
        bytes += image.map_or(0, |b| b.len());
    }
    let out = js_sys::Object::new();
    for (k, v) in
        [("ms", ms), ("bytes", bytes as f64), ("instances", report.cached as f64), ("persistent", if persistent { 1.0 } else { 0.0 })]
    {
        js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))?;
    }
    Ok(out.into())
}
