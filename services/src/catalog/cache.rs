//! In-process cache of catalog reads.
//!
//! Entries carry the generation they were read under. A write bumps the generation and
//! clears the maps; a read that started before the write cannot store its (possibly
//! stale) result afterwards, because the insert checks the generation under the lock.
//! Listings and products are bounded: when full, the least recently read go first, so
//! a flood of odd filters or unknown slugs never empties the cache of what shoppers read.

use super::tree::CategoryTree;
use crate::recency::RecencyMap;
use domain::{HomePage, ListingPage, ListingQuery, ProductDetail};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Upper bound on cached listing pages (distinct filter combinations).
const MAX_LISTINGS: usize = 5_000;
const MAX_PRODUCTS: usize = 20_000;

#[derive(Default)]
pub(super) struct CatalogCache {
    generation: AtomicU64,
    inner: RwLock<Maps>,
}

struct Maps {
    tree: Option<Arc<CategoryTree>>,
    home: Option<Arc<HomePage>>,
    listings: RecencyMap<(String, ListingQuery), Arc<ListingPage>>,
    products: RecencyMap<String, Arc<Option<ProductDetail>>>,
}

impl Default for Maps {
    fn default() -> Self {
        Self {
            tree: None,
            home: None,
            listings: RecencyMap::new(MAX_LISTINGS),
            products: RecencyMap::new(MAX_PRODUCTS),
        }
    }
}

impl CatalogCache {
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(super) fn invalidate(&self) {
        let mut maps = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        *maps = Maps::default();
    }

    fn read<T>(&self, f: impl FnOnce(&Maps) -> Option<T>) -> Option<T> {
        let maps = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&maps)
    }

    fn store(&self, generation: u64, f: impl FnOnce(&mut Maps)) {
        let mut maps = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            f(&mut maps);
        }
    }

    pub(super) fn tree(&self) -> Option<Arc<CategoryTree>> {
        self.read(|m| m.tree.clone())
    }

    pub(super) fn put_tree(&self, generation: u64, tree: Arc<CategoryTree>) {
        self.store(generation, |m| m.tree = Some(tree));
    }

    pub(super) fn home(&self) -> Option<Arc<HomePage>> {
        self.read(|m| m.home.clone())
    }

    pub(super) fn put_home(&self, generation: u64, home: Arc<HomePage>) {
        self.store(generation, |m| m.home = Some(home));
    }

    pub(super) fn listing(&self, slug: &str, query: &ListingQuery) -> Option<Arc<ListingPage>> {
        // The key is built only on a hit path that needs it; listing keys are small.
        self.read(|m| m.listings.get(&(slug.to_owned(), query.clone())).cloned())
    }

    pub(super) fn put_listing(
        &self,
        generation: u64,
        slug: &str,
        query: &ListingQuery,
        page: Arc<ListingPage>,
    ) {
        self.store(generation, |m| {
            m.listings.insert((slug.to_owned(), query.clone()), page, 1);
        });
    }

    pub(super) fn product(&self, slug: &str) -> Option<Arc<Option<ProductDetail>>> {
        self.read(|m| m.products.get(slug).cloned())
    }

    pub(super) fn put_product(
        &self,
        generation: u64,
        slug: &str,
        product: Arc<Option<ProductDetail>>,
    ) {
        self.store(generation, |m| {
            m.products.insert(slug.to_owned(), product, 1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_started_before_a_write_is_not_stored() {
        let cache = CatalogCache::default();
        let before = cache.generation();
        cache.invalidate();
        cache.put_product(before, "tee", Arc::new(None));
        assert!(cache.product("tee").is_none());
        cache.put_product(cache.generation(), "tee", Arc::new(None));
        assert!(cache.product("tee").is_some());
        cache.invalidate();
        assert!(cache.product("tee").is_none());
    }

    #[test]
    fn unknown_slugs_do_not_push_out_a_product_shoppers_read() {
        let cache = CatalogCache::default();
        let generation = cache.generation();
        cache.put_product(generation, "tee", Arc::new(None));
        for i in 0..(MAX_PRODUCTS * 2) {
            cache.put_product(generation, &format!("no-such-{i}"), Arc::new(None));
            if i % 1000 == 0 {
                assert!(
                    cache.product("tee").is_some(),
                    "gone after {i} unknown slugs"
                );
            }
        }
        assert!(cache.product("tee").is_some());
    }
}
