//! A series in one WADO-RS request, streamed: each instance is cached and handed on as soon as
//! its multipart part is complete. One response is served far faster than one request per
//! instance by the servers we target and by the browser (bench/README, bench-fetch), so a
//! series that is mostly not cached is loaded this way.

use super::{instance_key, BridgeError, ImagingBridge, InstanceRef, Prefetched, SeriesRef, Study};
use crate::cache::{series_prefix, WriteWhen};
use crate::net::{CancelToken, NetError, Priority, Transport};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::rc::Rc;

/// Requests in flight for a series fetched instance by instance: the scheduler's per-origin
/// limit (the bridge's scheduler has the default), so none waits for a permit.
pub const FETCH_AHEAD: usize = crate::net::DEFAULT_PER_ORIGIN;

/// Whether a series with `uncached` of its `total` instances not cached is worth one streamed
/// request: most of it, and more than the requests in flight would fetch as fast one by one.
pub(crate) fn worth_streaming(uncached: usize, total: usize) -> bool {
    uncached >= FETCH_AHEAD.max(total.div_ceil(2))
}

/// How a streamed series retrieve ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Streamed {
    /// The whole response was read: every instance the server holds was handed on.
    Complete,
    /// `work` was cancelled: nothing more was cached.
    Cancelled,
    /// The request failed, or the response was cut short or malformed, after the instances
    /// already handed on (each of them whole). The caller fetches the rest one by one.
    Failed(BridgeError),
    /// Not asked: the server refused a series retrieve before. The caller fetches one by one.
    NotServed,
}

impl<T: Transport> ImagingBridge<T> {
    /// Of `instances` (a series' list), the indices not cached: neither in memory nor, by the
    /// series' bulk read of the persistent tier (done here first), there. One the tier may hold
    /// (its read failed, or memory could not keep the whole series) counts as cached: it is
    /// asked for alone rather than fetched again.
    pub(crate) async fn uncached(&self, study: &Study, series_uid: &str, instances: &[InstanceRef], work: &CancelToken) -> Vec<usize> {
        let tier = self.persistent.borrow().clone();
        let prefix = series_prefix(&study.study_uid, series_uid);
        if let Some(tier) = &tier {
            self.series_reads.ensure(tier, &prefix, &self.memory, &|| !work.is_cancelled()).await;
        }
        let memory = self.memory.borrow();
        let cached = |uid: &str| {
            let key = instance_key(&study.study_uid, series_uid, uid);
            memory.contains(&key) || (tier.is_some() && self.series_reads.may_hold(&prefix, &key))
        };
        (0..instances.len()).filter(|&i| !cached(&instances[i].uid)).collect()
    }

    /// The whole series in one WADO-RS request (one of the origin's requests, at `priority`). `on_instance` receives each instance's SOP Instance UID (read from its data
    /// set, so a part is placed by what it is, not by where it came) and bytes as its part
    /// completes; each is also cached as [`ImagingBridge::get_image`] caches, so later reads
    /// and reopens find it. A part that cannot be parsed is skipped (fetched one by one later).
    pub(crate) async fn stream_series(
        &self,
        study: &Study,
        series_uid: &str,
        priority: Priority,
        work: &CancelToken,
        on_instance: &mut dyn FnMut(&str, Rc<Vec<u8>>),
    ) -> Streamed {
        let client = match self.client_for_series(study, Some(series_uid)) {
            Ok(client) => client,
            Err(e) => return Streamed::Failed(e),
        };
        let origin = client.base().origin().ascii_serialization();
        if self.no_series_retrieve.borrow().contains(&origin) {
            return Streamed::NotServed;
        }
        let Some(_permit) = self.scheduler.acquire(&origin, priority, work).await else { return Streamed::Cancelled };
        let tier = self.persistent.borrow().clone();
        // A clear (patient switch, `clearCache()`) during the stream: nothing more is kept.
        let epoch = self.cache_epoch.get();
        let kept = || !work.is_cancelled() && self.cache_epoch.get() == epoch;
        let mut unqueued = Vec::new();
        let mut deliver = |retrieved: crate::dicomweb::Retrieved| {
            if !kept() {
                return;
            }
            // Placed by what it says it is; a part of another study or series is not this one's.
            let Some(part) = crate::imaging::PartIdentity::read(&retrieved.bytes) else { return };
            if part.study_uid != study.study_uid || part.series_uid != series_uid {
                return;
            }
            let uid = part.sop_instance_uid;
            let key = instance_key(&study.study_uid, series_uid, &uid);
            let bytes = Rc::new(retrieved.bytes);
            // Queued, written in a batch after the display; a tier that cannot queue is written
            // once the response has been read (the stream's reader cannot wait).
            if tier.as_ref().is_some_and(|tier| retrieved.may_store && !tier.queue(&key, bytes.clone(), WriteWhen::Batched)) {
                unqueued.push((key.clone(), bytes.clone()));
            }
            self.memory.borrow_mut().put(key, bytes.clone());
            on_instance(&uid, bytes);
        };
        let result = client.retrieve_series(&self.http, &study.study_uid, series_uid, Some(work), &mut deliver).await;
        if let Some(tier) = tier {
            for (key, bytes) in unqueued {
                if !kept() {
                    break;
                }
                tier.put(&key, &bytes).await;
            }
        }
        match result {
            _ if work.is_cancelled() => Streamed::Cancelled,
            Ok(_) => Streamed::Complete,
            Err(e) => {
                // The server does not do it (not a fault of the moment, nor a series it lacks,
                // which is a 404): its series are read one by one from now on.
                if matches!(&e, crate::dicomweb::DicomWebError::Net(NetError::Status { status: 405 | 406 | 501, .. })) {
                    self.no_series_retrieve.borrow_mut().insert(origin);
                }
                Streamed::Failed(e.into())
            }
        }
    }

    /// Loads a series into the cache at prefetch priority (after what is visible): streamed
    /// when [`worth_streaming`], then instance by instance, [`FETCH_AHEAD`] at a time, whatever
    /// is still missing. `on_progress` hears how far it is once the series is listed and after
    /// each instance cached; `false` from it stops the prefetch, as `work` cancelled does (the
    /// user moved on).
    pub async fn prefetch_series(
        &self,
        study: &Study,
        series: &SeriesRef,
        work: &CancelToken,
        on_progress: &mut dyn FnMut(&Prefetched) -> bool,
    ) -> Result<Prefetched, BridgeError> {
        let instances = self.series_instances(study, series).await?;
        let uncached = self.uncached(study, &series.uid, &instances, work).await;
        let mut report = Prefetched { instances: instances.len(), cached: instances.len() - uncached.len(), ..Default::default() };
        report.bytes = {
            let mut memory = self.memory.borrow_mut();
            let mut held = |i: &InstanceRef| memory.get(&instance_key(&study.study_uid, &series.uid, &i.uid)).map_or(0, |b| b.len() as u64);
            instances.iter().map(&mut held).sum::<u64>()
        };
        let (work, _link) = work.child();
        if !on_progress(&report) {
            work.cancel();
        }
        let mut on_cached = |report: &mut Prefetched, bytes: usize| {
            report.cached += 1;
            report.bytes += bytes as u64;
            if !on_progress(report) {
                work.cancel();
            }
        };
        let mut missing: HashSet<&str> = uncached.iter().map(|&i| instances[i].uid.as_str()).collect();
        if worth_streaming(uncached.len(), instances.len()) {
            // What the stream fails to bring is fetched below; its failure is not the series'.
            let _ = self
                .stream_series(study, &series.uid, Priority::Prefetch, &work, &mut |uid, bytes| {
                    if missing.remove(uid) {
                        on_cached(&mut report, bytes.len());
                    }
                })
                .await;
        }
        // Asked in display order: the scheduler serves equal priorities first come, first served.
        let rest = instances.iter().filter(|i| missing.contains(i.uid.as_str()));
        let mut fetched = futures_util::stream::iter(rest)
            .map(|i| {
                let work = &work;
                async move { (i, self.get_image(study, &series.uid, &i.uid, Priority::Prefetch, WriteWhen::Batched, work).await) }
            })
            .buffer_unordered(FETCH_AHEAD);
        while let Some((instance, result)) = fetched.next().await {
            match result {
                Ok(Some(bytes)) => on_cached(&mut report, bytes.len()),
                Ok(None) => {}
                Err(e) => report.failed.push((instance.uid.clone(), e)),
            }
            if work.is_cancelled() {
                break;
            }
        }
        report.cancelled = work.is_cancelled();
        Ok(report)
    }
}
