//! ImageCache: a memory LRU over a persistent tier (IndexedDB in the browser).
//!
//! Keys follow `img:{study}:{series}:{instance}:{frame}:{accept}` in both tiers. The persistent
//! tier is partitioned by FHIR server and user, expires entries after a TTL, keeps a byte budget
//! by evicting the least recently used, and never stores what the server marked `no-store`.

#[cfg(target_arch = "wasm32")]
pub mod idb;
mod memory;
pub mod policy;
mod series_reads;

pub use memory::MemoryCache;
pub use policy::{BatchPlan, CachePolicy, EntryMeta};
pub use series_reads::SeriesReads;

use std::future::Future;
use std::pin::Pin;

/// The cache key of an image resource.
pub fn image_key(study: &str, series: &str, instance: &str, frame: u32, accept: &str) -> String {
    format!("img:{study}:{series}:{instance}:{frame}:{accept}")
}

/// The prefix every key of a series' images starts with (and no other series' key does: UIDs
/// hold no `:`), so the persistent tier can read a series as one key range.
pub fn series_prefix(study: &str, series: &str) -> String {
    format!("img:{study}:{series}:")
}

/// `(key, bytes)` pairs read from a tier.
pub type Entries = Vec<(String, Vec<u8>)>;

pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A persistent store of image bytes. Failures are swallowed by design: a cache that cannot
/// read or write must degrade to the network, never fail a display.
pub trait PersistentTier {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Option<Vec<u8>>>;
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> LocalFuture<'a, ()>;
    fn clear(&self) -> LocalFuture<'_, ()>;

    /// Every fresh entry whose key starts with `prefix` (a series: [`series_prefix`]), read at
    /// once, as `(key, bytes)`; `None` where the tier reads key by key only.
    fn get_prefixed<'a>(&'a self, _prefix: &'a str) -> LocalFuture<'a, Option<Entries>> {
        Box::pin(async { None })
    }

    /// Queues a write and returns at once, so no display waits for its cache write. `false`:
    /// this tier does not queue; the caller awaits [`PersistentTier::put`] instead.
    fn queue(&self, _key: &str, _bytes: std::rc::Rc<Vec<u8>>, _when: WriteWhen) -> bool {
        false
    }
}

/// When a queued write goes to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteWhen {
    /// Just after the display: the image on screen, which a reload a moment later asks for
    /// first. It also takes whatever is queued with it.
    Shown,
    /// With the series' next images, in one batch after a short wait.
    Batched,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape() {
        assert_eq!(image_key("1", "2", "3", 0, "application/dicom"), "img:1:2:3:0:application/dicom");
        assert!(image_key("1.2", "3.4", "5", 0, "application/dicom").starts_with(&series_prefix("1.2", "3.4")));
        assert!(!image_key("1.2", "3.45", "5", 0, "application/dicom").starts_with(&series_prefix("1.2", "3.4")));
    }
}
