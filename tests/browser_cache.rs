//! The IndexedDB tier in headless Chromium: entries survive a reopen (a page reload opens the
//! database anew), expire after the TTL, are evicted least-recently-used beyond the byte
//! budget, stay inside their partition, and are wiped by clear.
#![cfg(target_arch = "wasm32")]

use emr_imaging::cache::idb::IdbTier;
use emr_imaging::cache::{CachePolicy, PersistentTier};
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
