//! After a study's first image: the rest of its series as a stack in display order, the
//! study's reports beside it, then a thumbnail of every other series, then those series
//! fetched into the cache (so choosing one in the strip waits for no network). A series mostly
//! not cached comes in one streamed series retrieve (`bridge::streamed`).
//!
//! Each instance is decoded on its own turn of the event loop (a yield between instances), or
//! by the decode workers, so input and redraws are served while a series loads. Every decoded instance is verified
//! against the patient in context before it joins the stack; one that is not this patient's
//! blocks the viewport.

use super::{Generation, Reports, Scope, Screen, SeriesItem, Session, SessionError, Update};
use crate::bridge::{worth_streaming, BridgeError, InstanceRef, Streamed, Study, FETCH_AHEAD};
use crate::imaging::decoder::Offload;
use crate::imaging::{decode_for, decode_frame_for, geometry, verify_frame, PatientContext, VerifiedImage, VerifyError};
use crate::net::{CancelToken, Priority, Transport};
use futures_util::StreamExt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Decoded samples a stack may hold (about 1,500 512² 16-bit slices); later slices are not kept.
pub(super) const STACK_BUDGET_BYTES: usize = 768 * 1024 * 1024;

/// Worker-decoded instances stacked back to back before input and paint get a turn.
const TURN_EVERY: usize = 8;

/// Instances fetched one by one around the slice the user went to while the series streams:
/// the wanted one and its nearest neighbours, one request in flight left to the stream.
const AROUND_WANTED: usize = FETCH_AHEAD - 1;

/// What a series load fetches, and for whom.
#[derive(Clone, Copy)]
struct Fetch<'a> {
    study: &'a Study,
    series_uid: &'a str,
    /// The series' instances in display order.
    instances: &'a [InstanceRef],
    token: &'a CancelToken,
    context: &'a Arc<PatientContext>,
    /// Per instance: whether a fetcher (the stream, the cache, one by one) has it in hand.
    taken: &'a std::cell::RefCell<Vec<bool>>,
}

impl Fetch<'_> {
    /// Claims instance `index` for the caller; `false` if another fetcher has it.
    fn take(&self, index: usize) -> bool {
        self.taken.borrow_mut().get_mut(index).is_some_and(|taken| !std::mem::replace(taken, true))
    }
}

/// Indices of `0..total` from `at` outward: `at`, `at + 1`, `at − 1`, `at + 2`, …
fn outward(at: usize, total: usize) -> impl Iterator<Item = usize> {
    let at = at.min(total.saturating_sub(1));
    (0..total.saturating_mul(2))
        .filter_map(move |k| if k % 2 == 0 { at.checked_add(k / 2) } else { at.checked_sub(k / 2 + 1) })
        .filter(move |&i| i < total)
}

/// One instance of the stack as it arrived (in any order): its place in display order, its
/// bytes, and its first frame when a worker decoded it (`Some(None)`: cancelled meanwhile).
struct Arrival {
    index: usize,
    bytes: Result<Rc<Vec<u8>>, BridgeError>,
    decoded: Option<Option<Result<VerifiedImage, VerifyError>>>,
}

type Arrivals = futures_channel::mpsc::UnboundedSender<Arrival>;

/// The stack as it fills: its frames (with their instance's place), its instances stacked,
/// the bytes they hold decoded and the bytes received.
#[derive(Default)]
struct StackFill {
    frames: Vec<(usize, VerifiedImage)>,
    loaded: usize,
    bytes_held: usize,
    bytes_received: u64,
}

/// The strip's entries for a study, in display order, before anything is loaded: its image
/// series, then its document series (key objects, reports, …), listed for what they are.
fn series_items(study: &Study) -> Vec<SeriesItem> {
    let all = study.series_in_order();
    let (images, documents): (Vec<_>, Vec<_>) = all.into_iter().partition(|s| s.holds_images());
    images
        .into_iter()
        .chain(documents)
        .map(|s| SeriesItem {
            uid: s.uid.clone(),
            number: s.number,
            modality: s.modality.clone(),
            description: s.description.clone(),
            count: s.number_of_instances,
            kind: s.kind(),
            thumb: None,
            loaded: 0,
            total: s.number_of_instances.unwrap_or(0) as usize,
        })
        .collect()
}

/// A load's hold on the user's wishes: ends with the load, however it ends. Ours only: a later
/// load of the same series (opened again) has its own.
struct Wishes<'a> {
    state: &'a std::cell::RefCell<super::State>,
    ours: futures_channel::mpsc::UnboundedSender<usize>,
}

impl Drop for Wishes<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.try_borrow_mut() {
            if state.wanted.as_ref().is_some_and(|(_, theirs)| theirs.same_receiver(&self.ours)) {
                state.wanted = None;
            }
        }
    }
}

impl<T: Transport, S: Screen> Session<T, S> {
    /// Gives the platform a turn (input, paint) before the next piece of work.
    pub(super) async fn yield_now(&self) {
        self.bridge.http().transport().sleep(Duration::ZERO).await;
    }

    /// The series stack, the reports and the thumbnails of the study `generation` opened.
    pub(super) async fn after_first_image(&self, study: &Study, series_uid: &str, generation: &Generation) -> Result<(), SessionError> {
        self.screen.apply(Update::Series(series_items(study)));
        let (_, stack, keys) = futures_util::future::join3(
            self.load_reports(study, generation),
            self.load_series(study, series_uid, false),
            self.mark_key_images(study, generation),
        )
        .await;
        keys?;
        match stack {
            // Another series was chosen meanwhile: the study's thumbnails are still wanted.
            Err(SessionError::Superseded) if generation.is_current() => {}
            other => other?,
        }
        self.load_thumbnails(study, generation).await?;
        self.fetch_ahead(study, generation).await
    }

    /// Loads a series of the selected study into the stack in display order, showing its first
    /// frame as soon as it is decoded (unless the viewport already shows it). `fresh_view`: the
    /// user chose it, so the view starts anew. An earlier series' load stops.
    ///
    /// A series mostly not cached comes in one streamed series request (one response is served
    /// far faster than one request per instance); the cached instances come from the cache, and
    /// whatever the stream did not bring (it failed, was cut short, or left an instance out) is
    /// fetched instance by instance. A series mostly cached is read instance by instance.
    pub(super) async fn load_series(&self, study: &Study, series_uid: &str, fresh_view: bool) -> Result<(), SessionError> {
        let series =
            study.series.iter().find(|s| s.uid == series_uid).ok_or_else(|| SessionError::UnknownSeries(series_uid.to_string()))?;
        let generation = self.generations.begin(Scope::Series);
        let started = self.now_ms();
        // The user's wishes are taken from the stack's start: one made while the series is
        // looked up waits in the channel for the fetching (see `follow_wanted`).
        let (wanted, wishes) = futures_channel::mpsc::unbounded();
        let hold = Wishes { state: &self.state, ours: wanted.clone() };
        {
            let mut state = self.state.borrow_mut();
            state.stack = Some((study.study_uid.clone(), series_uid.to_string()));
            state.wanted = Some((series_uid.to_string(), wanted));
        }
        self.screen.apply(Update::StackStarted { study_uid: study.study_uid.clone(), series_uid: series_uid.to_string(), fresh_view });
        let instances = self.bridge.series_instances(study, series).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let instances = instances?;
        let total = instances.len();
        self.screen.apply(Update::StackTotal(total));
        self.screen.apply(Update::SeriesProgress { series_uid: series_uid.to_string(), loaded: 0, total });
        // The fetching's own token: it also ends when the stacking ends early (over budget).
        let (token, _link) = generation.token().child();
        let context = self.context().ok_or(SessionError::Superseded)?;
        let uncached = self.bridge.uncached(study, series_uid, &instances, &token).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let taken = std::cell::RefCell::new(vec![false; total]);
        let fetch = Fetch { study, series_uid, instances: &instances, token: &token, context: &context, taken: &taken };
        // Arrivals in any order, each stacked at its place. With decode workers, each
        // instance's first frame is decoded as soon as it arrives, so the workers decode side by
        // side while the main thread only verifies and stacks. The fetching runs beside the
        // stacking, so requests go on while an instance is decoded here or the load yields.
        let (arrived, arrivals) = futures_channel::mpsc::unbounded();
        let fetch = &fetch;
        let fetching = async move {
            let (done, finished) = futures_channel::oneshot::channel::<()>();
            let in_order = async {
                if worth_streaming(uncached.len(), total) {
                    self.fetch_streamed(fetch, &uncached, &arrived).await;
                } else {
                    self.fetch_each(fetch, (0..total).filter(|&i| fetch.take(i)), &arrived).await;
                }
                let _ = done.send(());
            };
            futures_util::future::join(in_order, self.follow_wanted(fetch, wishes, finished, &arrived)).await;
        };
        let mut stack = StackFill::default();
        let stacking = self.stack_each(fetch, &generation, arrivals, &mut stack);
        // The stacking decides: when it ends (done, over budget, superseded, failed), the
        // fetching's requests still in flight are aborted.
        let stacked = {
            let stacking = std::pin::pin!(stacking);
            let fetching = std::pin::pin!(fetching);
            match futures_util::future::select(stacking, fetching).await {
                futures_util::future::Either::Left((stacked, _)) => stacked,
                futures_util::future::Either::Right(((), stacking)) => stacking.await,
            }
        };
        token.cancel();
        drop(hold);
        stacked?;
        crate::sorting::sort_by_key(&mut stack.frames, |(position, image)| (*position, image.frame_index));
        if let Some((_, middle)) = stack.frames.get(geometry::middle(stack.frames.len())) {
            self.screen.apply(Update::Thumbnail { series_uid: series_uid.to_string(), image: middle.clone(), total: None });
        }
        self.screen.apply(Update::SeriesLoaded {
            study_uid: study.study_uid.clone(),
            series_uid: series_uid.to_string(),
            instances: stack.loaded,
            bytes: stack.bytes_received,
            ms: self.now_ms() - started,
        });
        Ok(())
    }

    /// Instances `indices` of the series (claimed by the caller, lazily: the next is asked for
    /// when a request ends), requested or read from the cache `FETCH_AHEAD` at a time in that
    /// order, each sent on with its first frame when a worker decoded it.
    async fn fetch_each(&self, fetch: &Fetch<'_>, indices: impl Iterator<Item = usize>, arrived: &Arrivals) {
        let mut fetched = futures_util::stream::iter(indices)
            .map(|index| async move {
                let uid = &fetch.instances[index].uid;
                let bytes = self.bridge.get_slice(fetch.study, fetch.series_uid, uid, fetch.token).await;
                let decoded = match &bytes {
                    Ok(bytes) => self.decode_off_thread(bytes, fetch).await,
                    Err(_) => None,
                };
                Arrival { index, bytes, decoded }
            })
            .buffered(FETCH_AHEAD);
        while let Some(arrival) = fetched.next().await {
            if arrived.unbounded_send(arrival).is_err() {
                return;
            }
        }
    }

    /// The series in one streamed request, the cached instances (not `uncached`) from the cache
    /// meanwhile; then, one by one, every instance none of them brought.
    async fn fetch_streamed(&self, fetch: &Fetch<'_>, uncached: &[usize], arrived: &Arrivals) {
        let uncached: std::collections::HashSet<usize> = uncached.iter().copied().collect();
        let total = fetch.instances.len();
        let by_uid: std::collections::HashMap<&str, usize> = fetch.instances.iter().enumerate().map(|(i, r)| (r.uid.as_str(), i)).collect();
        let (parts, received) = futures_channel::mpsc::unbounded();
        let streaming = async {
            let parts = parts;
            let ended = self
                .bridge
                .stream_series(fetch.study, fetch.series_uid, Priority::Visible, fetch.token, &mut |uid, bytes| {
                    // The first time only: a server may repeat a part, and the cache or a
                    // request for a wanted slice may have brought it.
                    if let Some(&index) = by_uid.get(uid).filter(|&&i| fetch.take(i)) {
                        let _ = parts.unbounded_send((index, bytes));
                    }
                })
                .await;
            drop(parts);
            ended
        };
        let decoding = received
            .map(|(index, bytes): (usize, Rc<Vec<u8>>)| async move {
                let decoded = self.decode_off_thread(&bytes, fetch).await;
                Arrival { index, bytes: Ok(bytes), decoded }
            })
            .buffer_unordered(FETCH_AHEAD)
            .for_each(|arrival| {
                let _ = arrived.unbounded_send(arrival);
                std::future::ready(())
            });
        let cached = (0..total).filter(|i| !uncached.contains(i)).filter(|&i| fetch.take(i));
        let (ended, (), ()) = futures_util::future::join3(streaming, decoding, self.fetch_each(fetch, cached, arrived)).await;
        if ended == Streamed::Cancelled {
            return;
        }
        self.fetch_each(fetch, (0..total).filter(|&i| fetch.take(i)), arrived).await;
    }

    /// While the series loads, the slice the user went to (`wishes`, the latest counts) and
    /// its nearest neighbours, one by one, ahead of the rest; ends once `finished` (the rest
    /// is in hand) after the requests it has made.
    async fn follow_wanted(
        &self,
        fetch: &Fetch<'_>,
        mut wishes: futures_channel::mpsc::UnboundedReceiver<usize>,
        mut finished: futures_channel::oneshot::Receiver<()>,
        arrived: &Arrivals,
    ) {
        let total = fetch.instances.len();
        loop {
            let wish = futures_util::future::select(wishes.next(), &mut finished).await;
            let futures_util::future::Either::Left((Some(mut at), _)) = wish else { return };
            while let Ok(later) = wishes.try_recv() {
                at = later;
            }
            let around: Vec<usize> = outward(at, total).filter(|&i| fetch.take(i)).take(AROUND_WANTED).collect();
            self.fetch_each(fetch, around.into_iter(), arrived).await;
        }
    }

    /// The first frame of `bytes` decoded by a worker, if the workers take it: `Some(None)` when
    /// the load was cancelled first. `None`: it is decoded here, as it is stacked.
    async fn decode_off_thread(&self, bytes: &[u8], fetch: &Fetch<'_>) -> Option<Option<Result<VerifiedImage, VerifyError>>> {
        self.offload(bytes)?;
        Some(self.decode_verified(bytes, 0, fetch.context, fetch.token).await)
    }

    /// Takes the arrivals into the stack, each at its place in display order: each instance
    /// verified against the patient in context, the frames after its first decoded one per
    /// turn of the event loop. Ends when every instance is stacked (or over budget).
    async fn stack_each(
        &self,
        fetch: &Fetch<'_>,
        generation: &Generation,
        mut arrivals: futures_channel::mpsc::UnboundedReceiver<Arrival>,
        stack: &mut StackFill,
    ) -> Result<(), SessionError> {
        let (study, series_uid, context, total) = (fetch.study, fetch.series_uid, fetch.context, fetch.instances.len());
        // Instances stacked since the last turn given to input and paint.
        let mut since_turn = 0;
        while stack.loaded < total {
            let Some(Arrival { index, bytes, decoded }) = arrivals.next().await else { break };
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            let instance_uid = &fetch.instances[index].uid;
            let bytes = bytes?;
            stack.bytes_received += bytes.len() as u64;
            let decoded_elsewhere = decoded.is_some();
            let first = match decoded {
                Some(decoded) => self.verified(decoded.ok_or(SessionError::Superseded)?)?,
                None => self.verified(decode_for(&bytes, context))?,
            };
            let frame_count = first.header.number_of_frames;
            let frame_bytes = first.rows() as usize * first.columns() as usize * usize::from(first.info.bits_allocated.div_ceil(8)).max(1);
            stack.bytes_held += frame_bytes.saturating_mul(frame_count as usize);
            if let Some(ms) = first.header.frame_time_ms.filter(|_| frame_count > 1) {
                self.screen.apply(Update::FrameRate((1000.0 / ms).round().clamp(1.0, 60.0) as u32));
            }
            let was_empty = stack.frames.is_empty();
            stack.frames.push((index, first.clone()));
            self.screen.apply(Update::StackFrame { instance_uid: instance_uid.clone(), image: first, position: index });
            // Further frames of a multi-frame instance: one per turn of the event loop.
            for frame in 1..frame_count {
                self.yield_now().await;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                let decoded = self.decode_verified(&bytes, frame, context, fetch.token).await.ok_or(SessionError::Superseded)?;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                let image = self.verified(decoded)?;
                stack.frames.push((index, image.clone()));
                self.screen.apply(Update::StackFrame { instance_uid: instance_uid.clone(), image, position: index });
            }
            stack.loaded += 1;
            self.screen.apply(Update::StackInstanceDone);
            self.screen.apply(Update::SeriesProgress { series_uid: series_uid.to_string(), loaded: stack.loaded, total });
            if was_empty {
                self.audit_read(study, series_uid);
                let showing = self.state.borrow().shown.clone();
                // The first image shown by `open_study` stays; its decoded frame is now the stack's.
                if showing.as_ref().is_none_or(|(series, instance)| series != series_uid || instance != instance_uid) {
                    self.screen.apply(Update::ShowFrame(0));
                }
            }
            if stack.bytes_held > STACK_BUDGET_BYTES {
                let through = stack.frames.iter().map(|(position, _)| position + 1).max().unwrap_or(0);
                self.screen.apply(Update::StackTotal(through));
                return Ok(());
            }
            // Decoded here: give input and paint a turn. A worker's answer was a turn already,
            // unless answers queued up while the stream delivered: then every few.
            since_turn += 1;
            if !decoded_elsewhere || since_turn >= TURN_EVERY {
                since_turn = 0;
                self.yield_now().await;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
            }
        }
        // The fetching ended: every instance arrived unless the load was cancelled.
        if !generation.is_current() || stack.loaded < total {
            return Err(SessionError::Superseded);
        }
        Ok(())
    }

    /// The user went to slice `position` (in display order) of the series loading into the
    /// stack: it and its neighbours are fetched next, ahead of the rest. Nothing otherwise.
    pub fn want_slice(&self, series_uid: &str, position: usize) {
        if let Some((series, wanted)) = self.state.borrow().wanted.as_ref() {
            if series == series_uid {
                let _ = wanted.unbounded_send(position);
            }
        }
    }

    /// Milliseconds on the transport's clock, for the `series-loaded` timings.
    fn now_ms(&self) -> f64 {
        self.bridge.http().transport().now_unix() * 1000.0
    }

    /// Every other image series of the study, into the cache at prefetch priority (after what
    /// is visible), one series after another, each with its progress in the strip. Nothing is
    /// decoded or shown here: a series chosen later is decoded and verified as it is stacked.
    /// A series that cannot be fetched is left for its own load to report; the study's
    /// generation ends it all on a study or patient switch.
    async fn fetch_ahead(&self, study: &Study, generation: &Generation) -> Result<(), SessionError> {
        for series in study.image_series() {
            if self.is_stacked(&series.uid) {
                continue;
            }
            let started = self.now_ms();
            let mut on_progress = |report: &crate::bridge::Prefetched| {
                // The user chose this series meanwhile: its stack reports from here on.
                if self.is_stacked(&series.uid) {
                    return false;
                }
                self.screen.apply(Update::SeriesProgress {
                    series_uid: series.uid.clone(),
                    loaded: report.cached,
                    total: report.instances,
                });
                true
            };
            let report = self.bridge.prefetch_series(study, series, generation.token(), &mut on_progress).await;
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            // A series that cannot be listed or fetched is left for its own load to report.
            let Ok(report) = report else { continue };
            if !report.cancelled && report.failed.is_empty() {
                let ms = self.now_ms() - started;
                self.screen.apply(Update::SeriesLoaded {
                    study_uid: study.study_uid.clone(),
                    series_uid: series.uid.clone(),
                    instances: report.cached,
                    bytes: report.bytes,
                    ms,
                });
            }
        }
        Ok(())
    }

    /// Whether `series_uid` is the one the stack holds (or is filling).
    fn is_stacked(&self, series_uid: &str) -> bool {
        self.state.borrow().stack.as_ref().is_some_and(|(_, series)| series == series_uid)
    }

    /// The decoder off the main thread, if it takes `bytes`.
    fn offload(&self, bytes: &[u8]) -> Option<&std::rc::Rc<dyn crate::imaging::decoder::FrameDecoder>> {
        self.decoder.as_ref().filter(|d| d.takes(bytes))
    }

    /// Frame `index` of `bytes`, decoded by the session's decoder (the decode workers) when it
    /// has one and it could take the job, else here; verified here either way. `None`: the
    /// load was cancelled before a worker took it.
    pub(super) async fn decode_verified(
        &self,
        bytes: &[u8],
        index: u32,
        context: &Arc<PatientContext>,
        cancel: &CancelToken,
    ) -> Option<Result<VerifiedImage, VerifyError>> {
        if let Some(decoder) = self.offload(bytes) {
            match decoder.decode(bytes, index, cancel).await {
                Offload::Done(frame) => return Some(frame.map_err(VerifyError::from).and_then(|f| verify_frame(bytes, index, f, context))),
                Offload::Cancelled => return None,
                Offload::Unavailable => {}
            }
        }
        Some(if index == 0 { decode_for(bytes, context) } else { decode_frame_for(bytes, index, context) })
    }

    /// A decode for the stack: a failure goes back to the caller, another patient's image blocks.
    pub(super) fn verified(&self, decoded: Result<VerifiedImage, VerifyError>) -> Result<VerifiedImage, SessionError> {
        match decoded {
            Ok(image) => Ok(image),
            Err(VerifyError::Imaging(e)) => Err(e.into()),
            Err(VerifyError::Mismatch(m)) => Err(self.block(m)),
        }
    }

    /// The middle image of every series without a thumbnail yet, verified. An image of another
    /// patient blocks; one that cannot be fetched or decoded leaves its series without one.
    async fn load_thumbnails(&self, study: &Study, generation: &Generation) -> Result<(), SessionError> {
        let stacked = self.state.borrow().stack.as_ref().map(|(_, series)| series.clone());
        for series in study.image_series() {
            // The stack's series has its thumbnail from the stack.
            if stacked.as_deref() == Some(series.uid.as_str()) {
                continue;
            }
            let Ok(instances) = self.bridge.series_instances(study, series).await else { continue };
            let Some(middle) = instances.get(geometry::middle(instances.len())) else { continue };
            let bytes = self.bridge.get_instance(study, &series.uid, &middle.uid, generation.token()).await;
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            let Ok(bytes) = bytes else { continue };
            let Some(context) = self.context() else { return Err(SessionError::Superseded) };
            let image = match decode_for(&bytes, &context) {
                Ok(image) => image,
                Err(VerifyError::Imaging(_)) => continue,
                Err(VerifyError::Mismatch(m)) => return Err(self.block(m)),
            };
            self.screen.apply(Update::Thumbnail { series_uid: series.uid.clone(), image, total: Some(instances.len()) });
            self.audit_read(study, &series.uid);
            self.yield_now().await;
        }
        Ok(())
    }

    /// The DiagnosticReports that reference the study.
    async fn load_reports(&self, study: &Study, generation: &Generation) {
        let Some(patient_id) = self.patient_id() else { return };
        self.screen.apply(Update::Reports(Reports::Loading));
        let result = self.bridge.study_reports(&patient_id, study).await;
        if !generation.is_current() {
            return;
        }
        self.screen.apply(Update::Reports(match result {
            Ok(reports) => Reports::Loaded(reports),
            Err(e) => Reports::Failed(e.to_string()),
        }));
    }
}
