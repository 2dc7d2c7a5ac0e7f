//! Fills the view from the bridge: the series stack in display order, the strip's thumbnails
//! and the study's reports. Every bridge call the viewer makes is here, so a scheduler or
//! prefetcher in the bridge can replace them in one place.
//!
//! Each instance is decoded on its own turn of the event loop (a yield between instances), so
//! input and redraws are served while a series loads. Every decoded instance is checked against
//! the patient in context before it joins the stack; one that is not this patient's blocks the
//! viewport. Every await is followed by a check that the load is still wanted (same patient
//! generation, same study, same series), so a late answer never draws over a newer choice.

use super::store::{Reports, SeriesItem, Stack, StackFrame, Store};
use crate::bridge::{BridgeError, ImagingBridge, Study};
use crate::imaging::{check_patient, geometry, DecodedImage, ImagingError};
use crate::net::Transport;
use futures_util::StreamExt;
use leptos::prelude::*;
use std::sync::Arc;
use thiserror::Error;

/// Decoded samples a stack may hold (about 1,500 512² 16-bit slices); later slices are not kept.
const STACK_BUDGET_BYTES: usize = 768 * 1024 * 1024;

/// Instances requested ahead of the one being decoded.
const FETCH_AHEAD: usize = 4;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error(transparent)]
    Imaging(#[from] ImagingError),
    #[error("{0}")]
    Mismatch(String),
    #[error("series {0} is not part of the study")]
    UnknownSeries(String),
    #[error("superseded by a newer request")]
    Superseded,
}

thread_local! {
    static LOADS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A number no earlier stack load had (stacks reset to 0 on a patient switch; this never does).
fn next_load() -> u64 {
    LOADS.with(|n| {
        n.set(n.get() + 1);
        n.get()
    })
}

/// Gives the browser a turn (input, paint) before the next piece of work.
async fn yield_now() {
    crate::net::browser::sleep(std::time::Duration::ZERO).await;
}

/// The strip's items for a study, in display order, before anything is loaded.
fn series_items(study: &Study) -> Vec<SeriesItem> {
    study
        .series_in_order()
        .into_iter()
        .map(|s| SeriesItem {
            uid: s.uid.clone(),
            number: s.number,
            modality: s.modality.clone(),
            description: s.description.clone(),
            count: s.number_of_instances,
            thumb: None,
            loaded: 0,
            total: s.number_of_instances.unwrap_or(0) as usize,
        })
        .collect()
}

fn update_item(store: &Store, series_uid: &str, f: impl FnOnce(&mut SeriesItem)) {
    store.series.update(|items| {
        if let Some(item) = items.iter_mut().find(|i| i.uid == series_uid) {
            f(item);
        }
    });
}

/// Withholds everything on screen: a wrong image is worse than no image.
fn block(store: &Store, message: String) {
    store.image.set(None);
    store.stack.set(Stack::default());
    store.blocked.set(Some(message.clone()));
    store.status.set(super::Status::Error(message));
}

/// After the api has shown a study's first image: the rest of that series as a stack, the
/// study's reports beside it, then the other series' thumbnails.
pub async fn after_first_image<T: Transport>(
    bridge: &ImagingBridge<T>,
    store: &Store,
    study: &Study,
    series_uid: &str,
    is_current: &dyn Fn() -> bool,
) -> Result<(), LoadError> {
    store.series.set(series_items(study));
    let (_, stack) = futures_util::future::join(
        load_reports(bridge, store, study, is_current),
        load_series(bridge, store, study, series_uid, is_current),
    )
    .await;
    stack?;
    load_thumbnails(bridge, store, study, is_current).await;
    Ok(())
}

/// A series chosen in the strip: replaces the stack and resets the view.
pub async fn open_series<T: Transport>(
    bridge: &ImagingBridge<T>,
    store: &Store,
    study: &Study,
    series_uid: &str,
    is_current: &dyn Fn() -> bool,
) -> Result<(), LoadError> {
    if store.stack.with_untracked(|s| s.series_uid == series_uid && s.study_uid == study.study_uid) {
        return Ok(());
    }
    store.image.set(None);
    store.view.update(|v| {
        v.window = None;
        v.zoom = None;
        v.pan = (0.0, 0.0);
        v.playing = false;
    });
    load_series(bridge, store, study, series_uid, is_current).await
}

/// Loads a series into the stack in display order, showing its first frame as soon as it is
/// decoded (unless the viewport already shows it).
pub async fn load_series<T: Transport>(
    bridge: &ImagingBridge<T>,
    store: &Store,
    study: &Study,
    series_uid: &str,
    is_current: &dyn Fn() -> bool,
) -> Result<(), LoadError> {
    let series = study.series.iter().find(|s| s.uid == series_uid).ok_or_else(|| LoadError::UnknownSeries(series_uid.to_string()))?;
    store.blocked.set(None);
    let load = next_load();
    store.stack.set(Stack { study_uid: study.study_uid.clone(), series_uid: series_uid.to_string(), load, ..Stack::default() });
    store.index.set(0);
    let still = || {
        is_current()
            && store.selected_study.get_untracked().as_deref() == Some(study.study_uid.as_str())
            && store.stack.with_untracked(|s| s.load == load)
    };
    let instances = bridge.series_instances(study, series).await?;
    if !still() {
        return Err(LoadError::Superseded);
    }
    let total = instances.len();
    store.stack.update(|s| s.total_instances = total);
    update_item(store, series_uid, |i| {
        i.total = total;
        i.loaded = 0;
    });
    let mut bytes_held = 0usize;
    // A few requests in flight, results taken in display order (`buffered` keeps order).
    let mut fetched = futures_util::stream::iter(instances.iter())
        .map(|instance| async move { (instance, bridge.get_instance(study, series_uid, &instance.uid).await) })
        .buffered(FETCH_AHEAD);
    while let Some((instance, bytes)) = fetched.next().await {
        if !still() {
            return Err(LoadError::Superseded);
        }
        let bytes = bytes?;
        let first = DecodedImage::decode(&bytes)?;
        let patient = store.patient.get_untracked().ok_or(LoadError::Superseded)?;
        if let Err(mismatch) = check_patient(&first.header, &patient) {
            let message = format!("{} {mismatch}", super::STRINGS.blocked_prefix);
            block(store, message.clone());
            return Err(LoadError::Mismatch(message));
        }
        let frame_count = first.header.number_of_frames;
        let frame_bytes = first.rows() as usize * first.columns() as usize * usize::from(first.info.bits_allocated.div_ceil(8)).max(1);
        bytes_held += frame_bytes.saturating_mul(frame_count as usize);
        if let Some(ms) = first.header.frame_time_ms.filter(|_| frame_count > 1) {
            store.view.update(|v| v.fps = (1000.0 / ms).round().clamp(1.0, 60.0) as u32);
        }
        let was_empty = store.stack.with_untracked(|s| s.frames.is_empty());
        store.stack.update(|s| s.frames.push(StackFrame { instance_uid: instance.uid.clone(), image: Arc::new(first) }));
        // Further frames of a multi-frame instance: one per turn of the event loop.
        for index in 1..frame_count {
            yield_now().await;
            if !still() {
                return Err(LoadError::Superseded);
            }
            let image = DecodedImage::decode_frame(&bytes, index)?;
            store.stack.update(|s| s.frames.push(StackFrame { instance_uid: instance.uid.clone(), image: Arc::new(image) }));
        }
        store.stack.update(|s| s.loaded_instances += 1);
        update_item(store, series_uid, |i| i.loaded += 1);
        if was_empty {
            let showing = store.image.with_untracked(|i| i.as_ref().map(|i| (i.series_uid.clone(), i.instance_uid.clone())));
            if showing != Some((series_uid.to_string(), instance.uid.clone())) {
                store.show_index(0);
            } else {
                // The api's first image stays; its decoded frame is now the stack's first.
                store.index.set(0);
            }
        }
        if bytes_held > STACK_BUDGET_BYTES {
            store.stack.update(|s| s.total_instances = s.loaded_instances);
            break;
        }
        yield_now().await;
    }
    let middle = store.stack.with_untracked(|s| s.frames.get(geometry::middle(s.frames.len())).map(|f| f.image.clone()));
    update_item(store, series_uid, |i| i.thumb = i.thumb.take().or(middle));
    Ok(())
}

/// The middle image of every series without a thumbnail yet, identity-checked.
async fn load_thumbnails<T: Transport>(bridge: &ImagingBridge<T>, store: &Store, study: &Study, is_current: &dyn Fn() -> bool) {
    let still = || is_current() && store.selected_study.get_untracked().as_deref() == Some(study.study_uid.as_str());
    for series in study.series_in_order() {
        if store.series.with_untracked(|items| items.iter().any(|i| i.uid == series.uid && i.thumb.is_some())) {
            continue;
        }
        let Ok(instances) = bridge.series_instances(study, series).await else { continue };
        let Some(middle) = instances.get(geometry::middle(instances.len())) else { continue };
        let Ok(bytes) = bridge.get_instance(study, &series.uid, &middle.uid).await else { continue };
        if !still() {
            return;
        }
        let Ok(image) = DecodedImage::decode(&bytes) else { continue };
        let Some(patient) = store.patient.get_untracked() else { return };
        if let Err(mismatch) = check_patient(&image.header, &patient) {
            block(store, format!("{} {mismatch}", super::STRINGS.blocked_prefix));
            return;
        }
        update_item(store, &series.uid, |i| {
            i.thumb = Some(Arc::new(image));
            i.total = i.total.max(instances.len());
        });
        yield_now().await;
    }
}

/// The DiagnosticReports that reference the study.
async fn load_reports<T: Transport>(bridge: &ImagingBridge<T>, store: &Store, study: &Study, is_current: &dyn Fn() -> bool) {
    let Some(patient_id) = store.patient.with_untracked(|p| p.as_ref().map(|p| p.id.clone())) else { return };
    store.reports.set(Reports::Loading);
    let result = bridge.study_reports(&patient_id, study).await;
    if !is_current() || store.selected_study.get_untracked().as_deref() != Some(study.study_uid.as_str()) {
        return;
    }
    store.reports.set(match result {
        Ok(reports) => Reports::Loaded(reports),
        Err(e) => Reports::Failed(e.to_string()),
    });
}
