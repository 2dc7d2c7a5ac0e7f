//! The persistent tier's rules, as pure functions: freshness, eviction (of one write or a
//! batch), partitions, no-store.

/// TTL and byte budget of the persistent tier.
#[derive(Debug, Clone, PartialEq)]
pub struct CachePolicy {
    /// Seconds an entry stays valid after it was stored.
    pub ttl_seconds: f64,
    /// Bytes the tier may hold in all (per partition store).
    pub budget_bytes: u64,
}

impl Default for CachePolicy {
    /// A day and 1 GiB: a clinic day's worth of reopened studies without filling the disk.
    fn default() -> Self {
        CachePolicy { ttl_seconds: 86_400.0, budget_bytes: 1 << 30 }
    }
}

/// What the tier knows about one entry without reading its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryMeta {
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub stored_at: f64,
    pub last_used: f64,
}

impl CachePolicy {
    pub fn is_fresh(&self, entry: &EntryMeta, now: f64) -> bool {
        now - entry.stored_at < self.ttl_seconds
    }

    /// Keys to delete so that `incoming` more bytes fit: every expired entry, then the least
    /// recently used until the total fits. `None` when `incoming` alone exceeds the budget (do
    /// not store it; evicting everything would not help).
    pub fn evictions(&self, entries: &[EntryMeta], incoming: u64, now: f64) -> Option<Vec<String>> {
        if incoming > self.budget_bytes {
            return None;
        }
        let (expired, mut live): (Vec<&EntryMeta>, Vec<&EntryMeta>) = entries.iter().partition(|e| !self.is_fresh(e, now));
        let mut out: Vec<String> = expired.iter().map(|e| e.key.clone()).collect();
        let mut used: u64 = live.iter().map(|e| e.size).sum();
        crate::sorting::sort_by(&mut live, |a, b| a.last_used.total_cmp(&b.last_used).then_with(|| a.key.cmp(&b.key)));
        for entry in live {
            if used + incoming <= self.budget_bytes {
                break;
            }
            used -= entry.size;
            out.push(entry.key.clone());
        }
        Some(out)
    }
}

/// What one batched write does: which stored entries go, and which of the incoming are written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchPlan {
    /// Ids to delete (expired, least recently used, or written earlier in the batch and then
    /// evicted by a later one: those are simply not written).
    pub delete: Vec<String>,
    /// Indices into the incoming list, in order, of the entries to write.
    pub write: Vec<usize>,
}

impl CachePolicy {
    /// The outcome of writing `incoming` (id, size) one after another as [`CachePolicy::evictions`]
    /// decides for each, computed once for a whole batch so it fits in one transaction.
    pub fn plan_batch(&self, stored: &[EntryMeta], incoming: &[(String, u64)], now: f64) -> BatchPlan {
        let mut entries: Vec<EntryMeta> = stored.to_vec();
        let mut written: Vec<Option<usize>> = Vec::new();
        let mut plan = BatchPlan::default();
        for (index, (id, size)) in incoming.iter().enumerate() {
            let Some(evict) = self.evictions(&entries, *size, now) else { continue };
            for gone in evict {
                entries.retain(|e| e.key != gone);
                match written.iter().position(|w| w.is_some_and(|i| incoming[i].0 == gone)) {
                    Some(at) => written[at] = None,
                    None => plan.delete.push(gone),
                }
            }
            // A key written again replaces its entry (and an earlier write of it in the batch).
            entries.retain(|e| e.key != *id);
            for w in written.iter_mut() {
                if w.is_some_and(|i| incoming[i].0 == *id) {
                    *w = None;
                }
            }
            entries.push(EntryMeta { key: id.clone(), size: *size, stored_at: now, last_used: now });
            written.push(Some(index));
        }
        crate::sorting::sort_by(&mut plan.delete, |a, b| a.cmp(b));
        plan.delete.dedup();
        plan.write = written.into_iter().flatten().collect();
        plan
    }
}

/// False when `Cache-Control` forbids storing (`no-store`, any case, any position).
pub fn may_store(cache_control: Option<&str>) -> bool {
    !cache_control.is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")))
}

/// The partition of a FHIR server and user: an opaque hex name, so neither the server address
/// nor the user's identity appears in the browser's storage list.
pub fn partition(fhir_base: &str, user: &str) -> String {
    // FNV-1a 64 twice with different offsets: not a security boundary (the origin is), only a
    // stable, non-readable name.
    let hash = |seed: u64| {
        let mut h = seed;
        for b in fhir_base.bytes().chain([0u8]).chain(user.bytes()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    format!("{:016x}{:016x}", hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, size: u64, stored_at: f64, last_used: f64) -> EntryMeta {
        EntryMeta { key: key.into(), size, stored_at, last_used }
    }

    #[test]
    fn ttl() {
        let p = CachePolicy { ttl_seconds: 10.0, budget_bytes: 100 };
        assert!(p.is_fresh(&entry("a", 1, 100.0, 100.0), 109.9));
        assert!(!p.is_fresh(&entry("a", 1, 100.0, 100.0), 110.0));
    }

    #[test]
    fn evicts_expired_then_least_recently_used() {
        let p = CachePolicy { ttl_seconds: 100.0, budget_bytes: 10 };
        let entries = [entry("old", 2, 0.0, 50.0), entry("a", 4, 90.0, 95.0), entry("b", 4, 90.0, 91.0)];
        // now = 120: "old" expired; a + b = 8 live; +3 incoming needs 1 more → b (least recent).
        assert_eq!(p.evictions(&entries, 3, 120.0), Some(vec!["old".into(), "b".into()]));
        assert_eq!(p.evictions(&entries, 2, 120.0), Some(vec!["old".into()]));
        assert_eq!(p.evictions(&entries, 11, 120.0), None, "larger than the budget: not stored");
    }

    #[test]
    fn no_store_is_honoured() {
        assert!(may_store(None));
        assert!(may_store(Some("max-age=60, private")));
        assert!(!may_store(Some("private, No-Store")));
    }

    #[test]
    fn partitions_differ_by_server_and_user_and_hide_both() {
        let a = partition("https://a/fhir", "u1");
        assert_eq!(a, partition("https://a/fhir", "u1"));
        assert_ne!(a, partition("https://a/fhir", "u2"));
        assert_ne!(a, partition("https://b/fhir", "u1"));
        assert_ne!(partition("ab", "c"), partition("a", "bc"), "the separator matters");
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()) && a.len() == 32);
    }
    #[test]
    fn a_batch_plans_what_puts_one_by_one_would_leave() {
        let p = CachePolicy { ttl_seconds: 100.0, budget_bytes: 10 };
        let stored = [entry("old", 2, 0.0, 50.0), entry("a", 4, 90.0, 95.0), entry("b", 4, 90.0, 91.0)];
        let incoming = [("c".to_string(), 3), ("huge".to_string(), 11), ("d".to_string(), 3), ("e".to_string(), 3)];
        let plan = p.plan_batch(&stored, &incoming, 120.0);
        // c evicts old and b; d fits beside a and c (10); e then evicts a (least recent stored).
        assert_eq!(plan, BatchPlan { delete: vec!["a".into(), "b".into(), "old".into()], write: vec![0, 2, 3] });
        // Later writes of the batch evicting earlier ones: those are not written at all.
        let tight = CachePolicy { ttl_seconds: 100.0, budget_bytes: 4 };
        let plan = tight.plan_batch(&[], &[("x".into(), 3), ("y".into(), 3), ("x".into(), 1)], 120.0);
        assert_eq!(plan, BatchPlan { delete: vec![], write: vec![1, 2] }, "x's first write was evicted by y, then x written again");
        assert_eq!(p.plan_batch(&stored, &[], 120.0), BatchPlan::default());
    }
}
