//! The memory tier: an LRU of byte buffers bounded by bytes.

use std::collections::HashMap;

/// A least-recently-used map of byte buffers with a total byte budget.
#[derive(Debug)]
pub struct MemoryCache {
    budget: usize,
    used: usize,
    clock: u64,
    entries: HashMap<String, (u64, std::rc::Rc<Vec<u8>>)>,
}

impl MemoryCache {
    pub fn new(budget_bytes: usize) -> Self {
        MemoryCache { budget: budget_bytes, used: 0, clock: 0, entries: HashMap::new() }
    }

    pub fn get(&mut self, key: &str) -> Option<std::rc::Rc<Vec<u8>>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(used_at, bytes)| {
            *used_at = clock;
            bytes.clone()
        })
    }

    /// Whether `key` is held (without counting as a use).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Stores `bytes`; evicts least recently used entries to stay within budget. A value larger
    /// than the whole budget is not stored (it would evict everything and still not fit).
    pub fn put(&mut self, key: String, bytes: std::rc::Rc<Vec<u8>>) {
        if bytes.len() > self.budget {
            return;
        }
        self.remove(&key);
        while self.used + bytes.len() > self.budget {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| k.clone()) else { break };
            self.remove(&oldest);
        }
        self.clock += 1;
        self.used += bytes.len();
        self.entries.insert(key, (self.clock, bytes));
    }

    pub fn remove(&mut self, key: &str) {
        if let Some((_, old)) = self.entries.remove(key) {
            self.used -= old.len();
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.used = 0;
    }

    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn lru_eviction_by_bytes() {
        let mut c = MemoryCache::new(10);
        c.put("a".into(), Rc::new(vec![0; 4]));
        c.put("b".into(), Rc::new(vec![0; 4]));
        assert!(c.get("a").is_some()); // a is now more recent than b
        c.put("c".into(), Rc::new(vec![0; 4]));
        assert!(c.get("b").is_none());
        assert!(c.get("a").is_some() && c.get("c").is_some());
        assert_eq!(c.used_bytes(), 8);
        c.put("huge".into(), Rc::new(vec![0; 11]));
        assert!(c.get("huge").is_none());
        assert_eq!(c.len(), 2);
        c.put("a".into(), Rc::new(vec![0; 2])); // replace keeps accounting right
        assert_eq!(c.used_bytes(), 6);
        c.clear();
        assert!(c.is_empty() && c.used_bytes() == 0);
    }
}
