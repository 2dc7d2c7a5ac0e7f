//! A series mostly not cached comes in one streamed series retrieve: it is stacked in display
//! order whatever order the server sends, what the stream did not bring is fetched instance by
//! instance, a server without series retrieve is read instance by instance, and a study switch
//! aborts the stream.

use super::*;

/// The bridge's own memory budget when none is given.
const DEFAULT_MEMORY: usize = crate::bridge::DEFAULT_MEMORY_BUDGET;

const SERIES_RETRIEVE: &str = "/studies/1.1/series/1.1.1$";

/// Patient a's study 1.1 with series 1.1.1 of ten instances, numbered as stored, answered as `how`.
fn ten_slices(how: SeriesRetrieve) -> World {
    let mut w = world();
    w.studies[0].instances.splice(0..3, (1..=10).map(|n| instance("1.1.1", &format!("1.1.1.{n}"), A)));
    w.series_retrieve = how;
    w
}

/// A session on `servers` over a persistent tier that outlives it (another page load: empty
/// memory of `memory_budget` bytes).
fn kept_session(servers: &HeldServers, tier: Rc<dyn crate::cache::PersistentTier>, memory_budget: usize) -> (TestSession, Rc<Recorder>) {
    let config = BridgeConfig { memory_budget, ..BridgeConfig::new(url::Url::parse(FHIR).expect("test URL")) };
    let bridge = ImagingBridge::new(servers.clone(), &config);
    bridge.set_persistent(Some(tier));
    let screen = Rc::new(Recorder::default());
    (Session::new(bridge, SessionConfig::default(), screen.clone()), screen)
}

/// Whether `ready` holds within a bounded number of turns (what follows a wish comes in a few;
/// without it, it waits for a held request and never does).
async fn soon(ready: impl Fn() -> bool) -> bool {
    for _ in 0..1000 {
        if ready() {
            return true;
        }
        turns(2).await;
    }
    ready()
}

fn series_retrieves(servers: &HeldServers) -> usize {
    servers.0.seen.borrow().iter().filter(|u| u.ends_with("/studies/1.1/series/1.1.1")).count()
}

/// The SOP Instance UIDs stacked since the last stack began, as the stack places them (by
/// position); each stacked once, at its place in display order.
fn stacked(screen: &Recorder) -> Vec<String> {
    let mut placed = arrivals(screen);
    placed.sort();
    let uids: Vec<String> = placed.iter().map(|(_, uid)| uid.clone()).collect();
    let positions: Vec<usize> = placed.iter().map(|(position, _)| *position).collect();
    assert_eq!(positions, (0..placed.len()).collect::<Vec<_>>(), "each instance once, at its place: {placed:?}");
    uids
}

/// (position, SOP Instance UID) of every frame stacked since the last stack began, in arrival order.
fn arrivals(screen: &Recorder) -> Vec<(usize, String)> {
    let updates = screen.0.borrow();
    let from = updates.iter().rposition(|u| matches!(u, Update::StackStarted { .. })).map_or(0, |i| i + 1);
    updates[from..]
        .iter()
        .filter_map(|u| match u {
            Update::StackFrame { instance_uid, position, .. } => Some((*position, instance_uid.clone())),
            _ => None,
        })
        .collect()
}

fn display_order() -> Vec<String> {
    (1..=10).map(|n| format!("1.1.1.{n}")).collect()
}

#[test]
fn a_series_mostly_not_cached_comes_in_one_streamed_request() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(series_retrieves(&servers), 1, "one series retrieve");
    assert_eq!(servers.seen("/instances/1.1.1."), 1, "and only the first image on its own, before it");
    assert_eq!(stacked(&screen), display_order());
    let loaded = screen.0.borrow().iter().find_map(|u| match u {
        Update::SeriesLoaded { series_uid, instances, .. } if series_uid == "1.1.1" => Some(*instances),
        _ => None,
    });
    assert_eq!(loaded, Some(10), "series-loaded counts every instance");
}

#[test]
fn a_stream_in_another_order_is_stacked_in_display_order() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::Reversed));
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(series_retrieves(&servers), 1);
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn what_a_cut_short_stream_did_not_bring_is_fetched_one_by_one() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::CutShort(4)));
    block_on(session.open_patient("a")).expect("opens: nothing lost");
    assert_eq!(stacked(&screen), display_order());
    // The first image on its own, the stream's 4 (the first among them), then the other 6.
    for n in 2..=4 {
        assert_eq!(servers.seen(&format!("/instances/1.1.1.{n}")), 0, "1.1.1.{n} came in the stream");
    }
    for n in 5..=10 {
        assert_eq!(servers.seen(&format!("/instances/1.1.1.{n}")), 1, "1.1.1.{n} was fetched on its own");
    }
    assert!(screen.1.borrow().is_empty(), "no failure reported: {:?}", screen.1.borrow());
}

#[test]
fn a_server_without_series_retrieve_is_read_instance_by_instance() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::Unsupported));
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(series_retrieves(&servers), 1, "asked once");
    assert_eq!(servers.seen("/instances/1.1.1."), 10, "then every instance on its own");
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn a_server_that_refused_a_series_retrieve_is_not_asked_again() {
    let mut w = ten_slices(SeriesRetrieve::Unsupported);
    w.studies[0].instances.retain(|i| i.series != "1.1.2");
    w.studies[0].instances.extend((1..=10).map(|n| instance("1.1.2", &format!("1.1.2.{n}"), A)));
    let (session, servers, screen) = session_with(w);
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(series_retrieves(&servers), 1, "the stack's series asked once");
    let asked = servers.0.seen.borrow().iter().filter(|u| u.ends_with("/studies/1.1/series/1.1.2")).count();
    assert_eq!(asked, 0, "the series fetched ahead was not asked for in one request");
    assert_eq!(servers.seen("/instances/1.1.2."), 10, "but instance by instance");
    assert!(screen.1.borrow().is_empty(), "{:?}", screen.1.borrow());
}

#[test]
fn a_series_mostly_cached_is_read_from_the_cache() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.open_series("1.1.2")).expect("another series");
    block_on(session.open_series("1.1.1")).expect("back");
    assert_eq!(series_retrieves(&servers), 1, "no second stream: memory holds the series");
    assert_eq!(servers.seen("/instances/1.1.1."), 1);
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn a_streamed_series_is_kept_in_the_persistent_tier() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(KeptTier::default());
    let (session, _) = kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    block_on(session.open_patient("a")).expect("opens");
    let kept = (1..=10).filter(|n| tier.0.borrow().keys().any(|k| k.contains(&format!(":1.1.1.{n}:")))).count();
    assert_eq!(kept, 10, "every instance of the stream was written");
}

#[test]
fn the_image_on_screen_is_written_at_once_the_rest_batched() {
    use crate::cache::WriteWhen;
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier::queueing());
    let (session, _) = kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(series_retrieves(&servers), 1, "the series streamed");
    // The other series' thumbnail is on screen too, and written at once: not counted here.
    let queued: Vec<(String, WriteWhen)> = tier.queued.borrow().iter().filter(|(key, _)| key.contains(":1.1.1:")).cloned().collect();
    let shown: Vec<&String> = queued.iter().filter(|(_, when)| *when == WriteWhen::Shown).map(|(key, _)| key).collect();
    // A reload right after the display asks for that image first: it does not wait for a batch.
    assert_eq!(shown.len(), 1, "one image of the series on screen: {queued:?}");
    assert!(shown[0].contains(":1.1.1.1:"), "the first image shown, written at once: {queued:?}");
    // The stream writes its parts again (memory holding one does not say the tier does).
    let mut keys: Vec<&String> = queued.iter().map(|(key, _)| key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 10, "every image of the series queued: {queued:?}");
}

#[test]
fn an_image_fetched_during_a_clear_is_neither_kept_nor_written() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier::queueing());
    let (session, _) = kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    let bridge = session.bridge();
    let studies = block_on(bridge.get_patient_studies("a")).expect("studies");
    let study = studies.iter().find(|s| s.study_uid == "1.1").expect("study 1.1");
    let token = crate::net::CancelToken::new();
    const ONE: &str = "/instances/1.1.1.3";
    servers.hold(ONE);
    // `clearCache()` while the image's request is out (it cancels no load).
    let (fetched, ()) = interleave(
        bridge.get_instance(study, "1.1.1", "1.1.1.3", &token),
        || servers.seen(ONE) > 0,
        || async {
            block_on(session.clear_cache());
            servers.release(ONE);
        },
    );
    assert!(fetched.is_ok(), "the caller still gets the image it asked for");
    assert!(tier.queued.borrow().is_empty(), "nothing reaches the disk after the wipe: {:?}", tier.queued.borrow());
    block_on(bridge.get_instance(study, "1.1.1", "1.1.1.3", &token)).expect("asked again");
    assert_eq!(servers.seen(ONE), 2, "nor was it kept in memory");
}

#[test]
fn opening_another_study_aborts_the_stream() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    servers.hold(SERIES_RETRIEVE);
    let (first, second) = interleave(session.open_patient("a"), || series_retrieves(&servers) > 0, || session.open_study("1.2"));
    second.expect("the second study opens");
    first.expect("the first call resolves once its study is left");
    assert!(servers.0.cancelled.borrow().iter().any(|u| u.ends_with("/series/1.1.1")), "the stream was aborted");
    let updates = screen.0.borrow();
    let opened = updates.iter().rposition(|u| matches!(u, Update::StudyOpened(s) if s.study_uid == "1.2")).expect("opened");
    assert!(
        !updates[opened..].iter().any(|u| matches!(u, Update::StackFrame { instance_uid, .. } if instance_uid.starts_with("1.1."))),
        "nothing of study 1.1 after 1.2 opened"
    );
    assert_eq!(servers.seen("/instances/1.1.1."), 1, "and nothing of the series was fetched on its own instead");
}

#[test]
fn a_series_fetched_ahead_comes_in_one_streamed_request() {
    let mut w = world();
    w.studies[0].instances.splice(3..4, (1..=10).map(|n| instance("1.1.2", &format!("1.1.2.{n}"), A)));
    let (session, servers, screen) = session_with(w);
    block_on(session.open_patient("a")).expect("opens");
    let retrieves = servers.0.seen.borrow().iter().filter(|u| u.ends_with("/studies/1.1/series/1.1.2")).count();
    assert_eq!(retrieves, 1, "one series retrieve for the series fetched ahead");
    assert_eq!(servers.seen("/instances/1.1.2."), 1, "besides its thumbnail's instance");
    let progress: Vec<(usize, usize)> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::SeriesProgress { series_uid, loaded, total } if series_uid == "1.1.2" => Some((*loaded, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress, (1..=10).map(|n| (n, 10)).collect::<Vec<_>>(), "its progress, instance by instance");
    let loaded = screen.0.borrow().iter().find_map(|u| match u {
        Update::SeriesLoaded { series_uid, instances, bytes, .. } if series_uid == "1.1.2" => Some((*instances, *bytes > 0)),
        _ => None,
    });
    assert_eq!(loaded, Some((10, true)));
    let requests = servers.0.seen.borrow().len();
    block_on(session.open_series("1.1.2")).expect("the series fetched ahead");
    assert_eq!(servers.0.seen.borrow().len(), requests, "it was in the cache");
    assert_eq!(stacked(&screen), (1..=10).map(|n| format!("1.1.2.{n}")).collect::<Vec<_>>());
}

/// A kept series (another page load: empty memory) that says how it was read and, if it
/// `queues`, what was queued and how soon it was to be written. Its bulk reads wait while
/// `held` (the stack's load is then between its start and its fetching).
#[derive(Default)]
struct ProbeTier {
    kept: KeptTier,
    /// `get:<key>` and `series:<prefix>`, in order.
    reads: RefCell<Vec<String>>,
    queues: bool,
    queued: RefCell<Vec<(String, crate::cache::WriteWhen)>>,
    held: Cell<bool>,
}

impl ProbeTier {
    fn queueing() -> Self {
        ProbeTier { queues: true, ..ProbeTier::default() }
    }
}

impl crate::cache::PersistentTier for ProbeTier {
    fn get<'a>(&'a self, key: &'a str) -> crate::cache::LocalFuture<'a, Option<Vec<u8>>> {
        self.reads.borrow_mut().push(format!("get:{key}"));
        self.kept.get(key)
    }
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> crate::cache::LocalFuture<'a, ()> {
        self.kept.put(key, bytes)
    }
    fn clear(&self) -> crate::cache::LocalFuture<'_, ()> {
        self.kept.clear()
    }
    fn get_prefixed<'a>(&'a self, prefix: &'a str) -> crate::cache::LocalFuture<'a, Option<crate::cache::Entries>> {
        self.reads.borrow_mut().push(format!("series:{prefix}"));
        Box::pin(async move {
            until_true(|| !self.held.get()).await;
            Some(self.kept.0.borrow().iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect())
        })
    }
    fn queue(&self, key: &str, bytes: Rc<Vec<u8>>, when: crate::cache::WriteWhen) -> bool {
        if self.queues {
            self.queued.borrow_mut().push((key.to_string(), when));
            self.kept.0.borrow_mut().insert(key.to_string(), bytes.to_vec());
        }
        self.queues
    }
}

#[test]
fn a_kept_series_shows_its_first_image_read_alone_then_is_stacked_from_one_bulk_read() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier::default());
    let fresh = || kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    block_on(fresh().0.open_patient("a")).expect("the first visit keeps the series");
    let requests = servers.0.seen.borrow().len();
    tier.reads.borrow_mut().clear();
    let (session, screen) = fresh();
    block_on(session.open_patient("a")).expect("the second visit");
    let reads = tier.reads.borrow();
    let series_reads: Vec<&String> = reads.iter().filter(|r| r.starts_with("series:") && r.contains(":1.1.1:")).collect();
    assert!(reads[0].starts_with("get:") && reads[0].contains(":1.1.1.1:"), "the first image alone, first: {reads:?}");
    assert_eq!(series_reads.len(), 1, "then the series in one read: {reads:?}");
    assert_eq!(stacked(&screen), display_order());
    let instance_requests = servers.0.seen.borrow()[requests..].iter().filter(|u| u.contains("/instances/1.1.1.")).count();
    assert_eq!(instance_requests, 0, "no image of the series from the network");
    assert_eq!(series_retrieves(&servers), 1, "nor a second series retrieve");
}

#[test]
fn the_slice_the_user_goes_to_comes_first_then_its_neighbours() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    servers.hold(SERIES_RETRIEVE);
    let at_eight = || arrivals(&screen).iter().any(|(position, _)| *position == 7);
    let (opened, before_stream) = interleave(
        session.open_patient("a"),
        || series_retrieves(&servers) > 0,
        || async {
            // The user drags the scrollbar to slice 8 while the series still streams.
            session.want_slice("1.1.1", 7);
            // Bounded: without the wish followed, slice 8 would wait for the held stream.
            soon(at_eight).await;
            let early = arrivals(&screen);
            servers.release(SERIES_RETRIEVE);
            early
        },
    );
    opened.expect("opens");
    let early: Vec<usize> = before_stream.iter().map(|(position, _)| *position).collect();
    assert!(early.contains(&7), "slice 8 came before the stream: {early:?}");
    for n in [8, 7, 9, 10, 6] {
        assert_eq!(servers.seen(&format!("/instances/1.1.1.{n}")), 1, "1.1.1.{n} (slice 8 and its neighbours) on its own");
    }
    assert_eq!(servers.seen("/instances/1.1.1."), 1 + 5, "the first image and those five, no more");
    assert_eq!(stacked(&screen), display_order(), "then the rest from the stream, each once");
}

#[test]
fn a_wish_for_another_series_or_after_the_load_changes_nothing() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    block_on(session.open_patient("a")).expect("opens");
    let requests = servers.0.seen.borrow().len();
    session.want_slice("1.1.1", 7);
    session.want_slice("1.1.2", 0);
    assert_eq!(servers.0.seen.borrow().len(), requests);
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn a_part_of_another_series_in_the_stream_is_neither_stacked_nor_kept() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::OneFromElsewhere(4)));
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(stacked(&screen), display_order());
    let series: Vec<Option<String>> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::StackFrame { image, .. } => Some(image.header.series_uid.clone()),
            _ => None,
        })
        .collect();
    assert!(series.iter().all(|s| s.as_deref() == Some("1.1.1")), "only series 1.1.1's data sets: {series:?}");
    assert_eq!(servers.seen("/instances/1.1.1.5"), 1, "its slice was fetched on its own instead");
}

#[test]
fn a_kept_series_larger_than_memory_is_not_fetched_again() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier::default());
    let visit = |memory_budget: usize| {
        let (session, screen) = kept_session(&servers, tier.clone(), memory_budget);
        block_on(session.open_patient("a")).expect("opens");
        screen
    };
    visit(1 << 24);
    let part = tier.kept.0.borrow().iter().find(|(k, _)| k.contains(":1.1.1.1:")).map(|(_, v)| v.len()).expect("kept");
    let requests = servers.0.seen.borrow().len();
    // Memory for three slices of the ten the tier keeps.
    let screen = visit(3 * part + part / 2);
    assert_eq!(series_retrieves(&servers), 1, "no second series retrieve");
    let fetched = servers.0.seen.borrow()[requests..].iter().filter(|u| u.contains("/instances/1.1.1.")).count();
    assert_eq!(fetched, 0, "no slice from the network");
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn a_clear_during_the_stream_keeps_none_of_its_parts() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier::default());
    let (session, _) = kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    servers.hold(SERIES_RETRIEVE);
    let (_, ()) = interleave(
        session.open_patient("a"),
        || series_retrieves(&servers) > 0,
        || async {
            block_on(session.clear_cache());
            servers.release(SERIES_RETRIEVE);
        },
    );
    // The stream's parts, read before the clear, were dropped: the slices the viewer still
    // shows were fetched again after it, one by one.
    for n in 2..=10 {
        assert_eq!(servers.seen(&format!("/instances/1.1.1.{n}")), 1, "1.1.1.{n} fetched after the clear");
    }
}

#[test]
fn a_wish_reaches_the_load_of_a_study_opened_again() {
    let (session, servers, screen) = session_with(ten_slices(SeriesRetrieve::InOrder));
    servers.hold(SERIES_RETRIEVE);
    let at_eight = || arrivals(&screen).iter().any(|(position, _)| *position == 7);
    let (first, second, came) = block_on(futures_util::future::join3(
        session.open_patient("a"),
        async {
            until_true(|| series_retrieves(&servers) > 0).await;
            // The user clicks the study already opening: its first load ends, a second begins.
            session.open_study("1.1").await
        },
        async {
            until_true(|| series_retrieves(&servers) > 1).await;
            turns(50).await;
            session.want_slice("1.1.1", 7);
            let came = soon(at_eight).await;
            servers.release(SERIES_RETRIEVE);
            came
        },
    ));
    first.expect("the first open resolves");
    second.expect("the second opens");
    assert!(came, "slice 8 came before the stream of the second load");
    assert_eq!(stacked(&screen), display_order());
}

#[test]
fn a_wish_made_while_the_stack_is_looked_up_is_followed() {
    let servers = HeldServers(Rc::new(ten_slices(SeriesRetrieve::InOrder)));
    let tier = Rc::new(ProbeTier { held: Cell::new(true), ..ProbeTier::default() });
    let (session, screen) = kept_session(&servers, tier.clone(), DEFAULT_MEMORY);
    servers.hold(SERIES_RETRIEVE);
    let at_eight = || arrivals(&screen).iter().any(|(position, _)| *position == 7);
    let counted = || screen.0.borrow().iter().any(|u| matches!(u, Update::StackTotal(10)));
    let (opened, came) = interleave(session.open_patient("a"), counted, || async {
        // The scrollbar has its length; the load still reads the cache for what it holds.
        session.want_slice("1.1.1", 7);
        tier.held.set(false);
        let came = soon(at_eight).await;
        servers.release(SERIES_RETRIEVE);
        came
    });
    opened.expect("opens");
    assert!(came, "slice 8 came before the stream");
    assert_eq!(stacked(&screen), display_order());
}
