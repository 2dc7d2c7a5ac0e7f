//! ImageCache: a memory LRU over a persistent tier (IndexedDB in the browser).
//!
//! Keys follow `img:{study}:{series}:{instance}:{frame}:{accept}` in both tiers. The persistent
//! tier is partitioned by FHIR server and user, expires entries after a TTL, keeps a byte budget
//! by evicting the least recently used, and never stores what the server marked `no-store`.

#[cfg(target_arch = "wasm32")]
pub mod idb;
mod memory;
pub mod policy;

pub use memory::MemoryCache;
pub use policy::{CachePolicy, EntryMeta};

use std::future::Future;
use std::pin::Pin;

/// The cache key of an image resource.
pub fn image_key(study: &str, series: &str, instance: &str, frame: u32, accept: &str) -> String {
    format!("img:{study}:{series}:{instance}:{frame}:{accept}")
}

pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A persistent store of image bytes. Failures are swallowed by design: a cache that cannot
/// read or write must degrade to the network, never fail a display.
pub trait PersistentTier {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Option<Vec<u8>>>;
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> LocalFuture<'a, ()>;
    fn clear(&self) -> LocalFuture<'_, ()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape() {
        assert_eq!(image_key("1", "2", "3", 0, "application/dicom"), "img:1:2:3:0:application/dicom");
    }
}
