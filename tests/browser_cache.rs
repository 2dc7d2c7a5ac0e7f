//! The IndexedDB tier in headless Chromium: entries survive a reopen (a page reload opens the
//! database anew), expire after the TTL, are evicted least-recently-used beyond the byte
//! budget, stay inside their partition, are wiped by clear, are read a series at a time, and
//! are written in batches (a queued write is read as written, and dropped by a clear).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use emr_imaging::cache::idb::IdbTier;
use emr_imaging::cache::{CachePolicy, PersistentTier, WriteWhen};
use emr_imaging::net::CancelToken;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn tier(partition: &str, policy: &CachePolicy, clock: &Rc<Cell<f64>>) -> IdbTier {
    let clock = clock.clone();
    IdbTier::open_with_clock(partition.into(), policy.clone(), Rc::new(move || clock.get())).await.expect("IndexedDB opens")
}

fn policy(ttl: f64, budget: u64) -> CachePolicy {
    CachePolicy { ttl_seconds: ttl, budget_bytes: budget }
}

#[wasm_bindgen_test]
async fn an_entry_survives_reopening_the_database() {
    let clock = Rc::new(Cell::new(1000.0));
    let first = tier("reopen", &policy(60.0, 1 << 20), &clock).await;
    first.put("img:1:2:3:0:application/dicom", &[1, 2, 3]).await;
    drop(first);
    let second = tier("reopen", &policy(60.0, 1 << 20), &clock).await;
    assert_eq!(second.get("img:1:2:3:0:application/dicom").await, Some(vec![1, 2, 3]));
    assert_eq!(second.get("img:1:2:3:1:application/dicom").await, None);
}

#[wasm_bindgen_test]
async fn entries_expire_after_the_ttl() {
    let clock = Rc::new(Cell::new(5000.0));
    let t = tier("ttl", &policy(10.0, 1 << 20), &clock).await;
    t.put("k", &[7; 16]).await;
    clock.set(5009.0);
    assert_eq!(t.get("k").await, Some(vec![7; 16]));
    clock.set(5010.0);
    assert_eq!(t.get("k").await, None, "expired");
    assert_eq!(t.used_bytes().await, 0, "an expired entry is deleted when met");
}

#[wasm_bindgen_test]
async fn the_budget_evicts_the_least_recently_used() {
    let clock = Rc::new(Cell::new(100.0));
    let t = tier("budget", &policy(3600.0, 10), &clock).await;
    t.put("a", &[1; 4]).await;
    clock.set(101.0);
    t.put("b", &[2; 4]).await;
    clock.set(102.0);
    assert!(t.get("a").await.is_some(), "touch a: b is now least recently used");
    clock.set(103.0);
    t.put("c", &[3; 4]).await;
    assert_eq!(t.get("b").await, None, "b evicted");
    assert!(t.get("a").await.is_some() && t.get("c").await.is_some());
    assert_eq!(t.used_bytes().await, 8);
    t.put("huge", &[0; 11]).await;
    assert_eq!(t.get("huge").await, None, "larger than the budget: not stored");
}

#[wasm_bindgen_test]
async fn partitions_do_not_see_each_other_and_clear_wipes_all() {
    let clock = Rc::new(Cell::new(100.0));
    let alice = tier("server-a|alice", &policy(3600.0, 1 << 20), &clock).await;
    let bob = tier("server-a|bob", &policy(3600.0, 1 << 20), &clock).await;
    alice.put("k", &[1]).await;
    bob.put("k", &[2]).await;
    assert_eq!(alice.get("k").await, Some(vec![1]));
    assert_eq!(bob.get("k").await, Some(vec![2]));
    bob.put("only-bob", &[3]).await;
    assert_eq!(alice.get("only-bob").await, None);
    alice.clear().await;
    assert_eq!(alice.get("k").await, None);
    assert_eq!(bob.get("k").await, None, "clear wipes every partition");
}

#[wasm_bindgen_test]
async fn a_series_is_read_in_one_go_and_queued_writes_count_until_a_clear() {
    let key = |series: &str, sop: &str| format!("img:1:{series}:{sop}:0:application/dicom");
    let clock = Rc::new(Cell::new(100.0));
    let t = tier("bulk", &policy(10.0, 1 << 20), &clock).await;
    t.put(&key("2", "a"), &[1]).await;
    t.put(&key("2", "b"), &[2]).await;
    t.put(&key("23", "c"), &[3]).await;
    let mut read = t.get_prefixed("img:1:2:").await.expect("the tier reads in bulk");
    read.sort();
    assert_eq!(read, vec![(key("2", "a"), vec![1]), (key("2", "b"), vec![2])], "the series, and no other");
    // Queued and not yet written: read as if written, alone and in bulk.
    assert!(t.queue(&key("2", "d"), Rc::new(vec![4]), WriteWhen::Batched));
    assert_eq!(t.get(&key("2", "d")).await, Some(vec![4]));
    assert_eq!(t.get_prefixed("img:1:2:").await.map(|r| r.len()), Some(3));
    t.put(&key("2", "e"), &[5]).await; // flushes d with it
    assert_eq!(t.used_bytes().await, 5);
    clock.set(110.0);
    assert_eq!(t.get_prefixed("img:1:2:").await, Some(vec![]), "expired entries are not read");
    assert_eq!(t.used_bytes().await, 1, "and are deleted when met; the other series stays");
    // A clear drops what is still queued: nothing reaches the disk after it.
    assert!(t.queue(&key("2", "f"), Rc::new(vec![6]), WriteWhen::Batched));
    t.clear().await;
    t.put(&key("2", "g"), &[7]).await;
    assert_eq!(t.get(&key("2", "f")).await, None);
    assert_eq!(t.get(&key("2", "g")).await, Some(vec![7]));
}

/// "Reload" above is a new `IdbTier` on the same database in the same page (what a reload
/// does: open the database anew); a true page reload is exercised by the end-to-end tier.
#[wasm_bindgen_test]
async fn an_unopenable_database_means_memory_only_not_failure() {
    // A database already at a newer version cannot be opened at ours: the open fails, as it
    // does where IndexedDB is unavailable, and the tier is None rather than an error.
    let name = "emr-imaging-cache-fallback-test";
    let newer = rexie::Rexie::builder(name).version(7).add_object_store(rexie::ObjectStore::new("other")).build().await.expect("newer db");
    newer.close();
    let clock = Rc::new(Cell::new(1.0));
    let c = clock.clone();
    let tier = IdbTier::open_database(name, "p".into(), policy(60.0, 1 << 20), Rc::new(move || c.get())).await;
    assert!(tier.is_none(), "the open failed and was reported as no tier");

    // The bridge without a persistent tier still shows images (memory only).
    let Some(server) = option_env!("EMR_TEST_SAMPLE_SERVER") else { panic!("EMR_TEST_SAMPLE_SERVER: run with `cargo xtask test`") };
    use emr_imaging::bridge::{BridgeConfig, ImagingBridge};
    let config = BridgeConfig { memory_budget: 64 << 20, ..BridgeConfig::new(url::Url::parse(&format!("{server}/fhir/")).unwrap()) };
    let bridge = ImagingBridge::new(emr_imaging::net::browser::FetchTransport::default(), &config);
    bridge.set_persistent(None);
    let resp = gloo_net::http::Request::get(&format!("{server}/fhir/Patient")).send().await.unwrap();
    let bundle: serde_json::Value = resp.json().await.unwrap();
    let patient = bundle["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
    let studies = bridge.get_patient_studies(&patient).await.expect("studies");
    let study = studies.first().expect("a study");
    let (series, instance) = bridge.first_image(study).await.expect("first image");
    let bytes = bridge.get_instance(study, &series.uid, &instance.uid, &CancelToken::new()).await.expect("instance over the network");
    let again = bridge.get_instance(study, &series.uid, &instance.uid, &CancelToken::new()).await.unwrap();
    assert!(Rc::ptr_eq(&bytes, &again), "served from memory");
}

#[wasm_bindgen_test]
async fn a_cancelled_fetch_is_aborted_and_reported_as_cancelled() {
    use emr_imaging::net::{CancelToken, Request, Transport};
    use std::future::Future;
    let Some(server) = option_env!("EMR_TEST_SAMPLE_SERVER") else { panic!("EMR_TEST_SAMPLE_SERVER: run with `cargo xtask test`") };
    let token = CancelToken::new();
    let request = Request::get(url::Url::parse(&format!("{server}/fhir/Patient")).unwrap()).cancellable(&token);
    let transport = emr_imaging::net::browser::FetchTransport::default();
    let mut fetch = Box::pin(transport.send(request));
    // Start the fetch (one poll), then cancel while it is in flight.
    let first = futures_util::future::poll_fn(|cx| std::task::Poll::Ready(fetch.as_mut().poll(cx).is_pending())).await;
    assert!(first, "the fetch is in flight after one poll");
    token.cancel();
    match fetch.await {
        Err(emr_imaging::net::NetError::Cancelled { .. }) => {}
        other => panic!("expected a cancelled fetch, got {other:?}"),
    }
}
