//! A map with a budget that, when full, forgets what was used least recently: the one
//! eviction rule of the shop's in-process caches (pages, catalog reads, header parts).
//!
//! Reads take `&self`: the entry's last use is an atomic stamp, so a cache behind an
//! `RwLock` serves hits under the shared read lock (an LRU list would need the write
//! lock on every hit, serialising the hottest path). When an insert goes over the budget,
//! the least recently stamped entries are dropped until a tenth of the budget is free,
//! so the sort that finds them runs once per many inserts. A flood of one-off keys
//! therefore pushes out other one-off keys, never the pages everyone asks for.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

struct Entry<V> {
    value: V,
    weight: usize,
    used: AtomicU64,
}

/// Entries by key within `budget` (the sum of the weights given at insert: bytes, or 1
/// per entry for a count).
pub struct RecencyMap<K, V> {
    entries: HashMap<K, Entry<V>>,
    clock: AtomicU64,
    weight: usize,
    budget: usize,
}

impl<K: Hash + Eq + Clone, V> RecencyMap<K, V> {
    pub fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            clock: AtomicU64::new(0),
            weight: 0,
            budget,
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The value, marked as used now.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.entries.get(key)?;
        entry.used.store(self.tick(), Ordering::Relaxed);
        Some(&entry.value)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    /// Inserts (or replaces) `key`; over the budget, the least recently used entries go
    /// first. An entry heavier than the whole budget is not kept.
    pub fn insert(&mut self, key: K, value: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        let entry = Entry {
            value,
            weight,
            used: AtomicU64::new(self.tick()),
        };
        if let Some(old) = self.entries.insert(key.clone(), entry) {
            self.weight -= old.weight;
        }
        self.weight += weight;
        if self.weight > self.budget {
            self.evict(&key);
        }
    }

    /// Mutable access to the value, marked as used, inserting `make()` if absent (`None`
    /// only when `weight` is over the whole budget).
    pub fn get_mut_or_insert_with(
        &mut self,
        key: K,
        weight: usize,
        make: impl FnOnce() -> V,
    ) -> Option<&mut V> {
        if !self.entries.contains_key(&key) {
            self.insert(key.clone(), make(), weight);
        }
        let stamp = self.tick();
        let entry = self.entries.get_mut(&key)?;
        *entry.used.get_mut() = stamp;
        Some(&mut entry.value)
    }

    /// Drops the least recently used entries (never `keep`, just inserted) until a
    /// tenth of the budget is free.
    fn evict(&mut self, keep: &K) {
        let target = self.budget - self.budget / 10;
        let mut by_age: Vec<(u64, K)> = self
            .entries
            .iter()
            .filter(|(k, _)| *k != keep)
            .map(|(k, e)| (e.used.load(Ordering::Relaxed), k.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.weight <= target {
                break;
            }
            if let Some(old) = self.entries.remove(&key) {
                self.weight -= old.weight;
            }
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.weight = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sum of the weights kept.
    pub fn weight(&self) -> usize {
        self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_new_keys_keeps_what_is_used() {
        let mut map = RecencyMap::new(100);
        map.insert("home".to_owned(), 0, 10);
        for i in 0..1_000 {
            map.insert(format!("junk-{i}"), i, 10);
            // The home page is asked for between the junk.
            assert!(map.get("home").is_some(), "kept after {i} one-off keys");
            assert!(map.weight() <= 100);
        }
        assert!(map.get("junk-999").is_some(), "the newest stays");
        assert!(map.get("junk-0").is_none(), "the oldest went");
    }

    #[test]
    fn weights_are_accounted_on_replace_and_oversized_entries_are_refused() {
        let mut map = RecencyMap::new(100);
        map.insert("a", 1, 60);
        map.insert("a", 2, 30);
        assert_eq!(map.weight(), 30);
        map.insert("huge", 3, 101);
        assert!(!map.contains_key("huge"));
        *map.get_mut_or_insert_with("b", 1, || 5).expect("fits") += 1;
        assert_eq!(map.get("b"), Some(&6));
        map.clear();
        assert!(map.is_empty() && map.weight() == 0);
    }
}
