//! Help when a search finds nothing: a spelling suggestion ("Did you mean …?") and the
//! products people buy. Both come from PostgreSQL, so they work the same on every engine.

use super::{edit_distance, Expiring};
use domain::ProductCard;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The words of the catalog and the popular products are re-read at most this often.
const TTL: Duration = Duration::from_secs(300);
pub(crate) const POPULAR: i64 = 8;

/// Words of published products' names, brands and categories, with how many products
/// use each.
type Vocabulary = HashMap<String, i64>;

#[derive(Clone)]
pub(crate) struct Fallback {
    vocabulary: Expiring<Vocabulary>,
    popular: Expiring<Vec<ProductCard>>,
    /// One reload at a time: requests arriving meanwhile wait for it instead of running
    /// the same query again.
    loading: Arc<tokio::sync::Mutex<()>>,
}

impl Default for Fallback {
    fn default() -> Self {
        Self {
            vocabulary: Expiring::new(TTL),
            popular: Expiring::new(TTL),
            loading: Arc::default(),
        }
    }
}

impl Fallback {
    async fn vocabulary(&self, pool: &PgPool) -> Result<Arc<Vocabulary>, sqlx::Error> {
        if let Some(words) = self.vocabulary.get() {
            return Ok(words);
        }
        let _loading = self.loading.lock().await;
        if let Some(words) = self.vocabulary.get() {
            return Ok(words);
        }
        let rows = sqlx::query!(
            r#"SELECT w.word AS "word!", count(*) AS "uses!"
               FROM products p
               JOIN categories c ON c.id = p.category_id,
               LATERAL regexp_split_to_table(lower(p.name || ' ' || p.brand || ' ' || c.name), '[^[:alnum:]]+') AS w(word)
               WHERE p.published AND length(w.word) >= 2
               GROUP BY w.word"#
        )
        .fetch_all(pool)
        .await?;
        let words = Arc::new(rows.into_iter().map(|r| (r.word, r.uses)).collect());
        self.vocabulary.put(Arc::clone(&words));
        Ok(words)
    }

    /// `text` with each word the catalog does not know replaced by the closest one it
    /// does (the most used among equally close ones); `None` when nothing changes.
    pub(crate) async fn correct(
        &self,
        pool: &PgPool,
        text: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let vocabulary = self.vocabulary(pool).await?;
        let text = text.to_owned();
        // Comparing with every word of the catalog is CPU work: off the async threads.
        Ok(
            tokio::task::spawn_blocking(move || correct_with(&vocabulary, &text))
                .await
                .ok()
                .flatten(),
        )
    }

    pub(crate) async fn popular(
        &self,
        catalog: &crate::CatalogService,
    ) -> Result<Arc<Vec<ProductCard>>, crate::catalog::CatalogError> {
        if let Some(products) = self.popular.get() {
            return Ok(products);
        }
        let _loading = self.loading.lock().await;
        if let Some(products) = self.popular.get() {
            return Ok(products);
        }
        let products = Arc::new(catalog.popular(POPULAR).await?);
        self.popular.put(Arc::clone(&products));
        Ok(products)
    }
}

fn correct_with(vocabulary: &Vocabulary, text: &str) -> Option<String> {
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(domain::search::MAX_QUERY_WORDS)
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    let corrected: Vec<String> = words
        .into_iter()
        .map(|word| {
            let length = word.chars().count();
            if vocabulary.contains_key(&word) || length < 3 {
                return word;
            }
            let budget = match length {
                0..=4 => 1,
                5..=8 => 2,
                _ => 3,
            };
            let best = vocabulary
                .iter()
                .filter(|(candidate, _)| candidate.chars().count().abs_diff(length) <= budget)
                .filter_map(|(candidate, uses)| {
                    let d = edit_distance(&word, candidate);
                    (d <= budget).then_some((d, -uses, candidate))
                })
                .min();
            match best {
                Some((_, _, candidate)) => {
                    changed = true;
                    candidate.clone()
                }
                None => word,
            }
        })
        .collect();
    changed.then(|| corrected.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_are_corrected_to_the_closest_most_used() {
        let vocabulary: Vocabulary = [
            ("linen".to_owned(), 40),
            ("liner".to_owned(), 3),
            ("shirt".to_owned(), 90),
            ("blue".to_owned(), 20),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            correct_with(&vocabulary, "Blue lnien shrits").as_deref(),
            Some("blue linen shirt")
        );
        // Known words and nothing close: no suggestion.
        assert_eq!(correct_with(&vocabulary, "blue shirt"), None);
        assert_eq!(correct_with(&vocabulary, "zzzzqqqq"), None);
        // "linex" is one edit from both: the more used word wins.
        assert_eq!(correct_with(&vocabulary, "linex").as_deref(), Some("linen"));
    }
}
