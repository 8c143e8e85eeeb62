//! The event worker: reads the event log (the transactional outbox) and hands each event
//! to the consumers that want it.
//!
//! Several worker loops (`run_many`) may run in one process and in many.
//!
//! Delivery is at least once. A batch is claimed with `FOR UPDATE SKIP LOCKED` and a lease,
//! so any number of workers (on any number of instances) share the log without taking the
//! same event; an event is marked processed only after every consumer succeeded, a failed
//! one is retried later with exponential backoff, and after 10 attempts it is parked. Consumers record what they did in
//! `event_consumptions` and must themselves be idempotent, because a crash between their
//! side effect and that record delivers the event again.

pub mod consumers;

use async_trait::async_trait;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// One event from the log.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub topic: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

#[async_trait]
pub trait Consumer: Send + Sync {
    /// Stable name, recorded per event once handled.
    fn name(&self) -> &'static str;
    fn wants(&self, topic: &str) -> bool;
    /// Acts on the event. Must be safe to run twice for the same event.
    async fn handle(&self, event: &Event) -> Result<(), String>;
}

/// After this many failed deliveries an event is parked for an operator.
pub const MAX_ATTEMPTS: i32 = 10;

/// Retries wait 2^attempts seconds, at most 10 minutes.
fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(
        2u64.saturating_pow(u32::try_from(attempts.clamp(0, 10)).unwrap_or(10))
            .min(600),
    )
}

#[derive(Clone)]
pub struct EventWorker {
    pool: PgPool,
    consumers: Arc<Vec<Arc<dyn Consumer>>>,
    batch: i64,
}

impl EventWorker {
    pub fn new(pool: PgPool, consumers: Vec<Arc<dyn Consumer>>) -> Self {
        Self {
            pool,
            consumers: Arc::new(consumers),
            batch: 50,
        }
    }

    /// Processes one batch of due events; returns how many were taken.
    ///
    /// The batch is claimed with a lease (its `available_at` moved 5 minutes ahead) in a
    /// short transaction; consumers then run outside any transaction, and each outcome is
    /// written on its own. A worker that dies mid-batch leaves its events to be taken
    /// again when the lease ends.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let events = sqlx::query!(
            "UPDATE event_log SET available_at = now() + interval '5 minutes', attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM event_log
                 WHERE processed_at IS NULL AND available_at <= now()
                 ORDER BY id LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, topic, payload, attempts",
            self.batch
        )
        .fetch_all(&self.pool)
        .await?;
        let taken = events.len();
        let mut events: Vec<Event> = events
            .into_iter()
            .map(|row| Event {
                id: row.id,
                topic: row.topic,
                payload: row.payload,
                attempts: row.attempts,
            })
            .collect();
        events.sort_by_key(|e| e.id);
        let mut done = Vec::with_capacity(events.len());
        for event in events {
            if self.deliver(&event).await? {
                done.push(event.id);
            }
        }
        // The batch's handled events in one statement.
        if !done.is_empty() {
            sqlx::query!(
                "UPDATE event_log SET processed_at = now() WHERE id = ANY($1)",
                &done
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(taken)
    }

    /// Hands `event` to its consumers; true when all of them handled it (the caller
    /// marks it processed).
    async fn deliver(&self, event: &Event) -> Result<bool, sqlx::Error> {
        let mut failure = None;
        for consumer in self.consumers.iter().filter(|c| c.wants(&event.topic)) {
            let done = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM event_consumptions WHERE event_id = $1 AND consumer = $2) AS "done!""#,
                event.id,
                consumer.name()
            )
            .fetch_one(&self.pool)
            .await?;
            if done {
                continue;
            }
            match consumer.handle(event).await {
                Ok(()) => {
                    sqlx::query!(
                        "INSERT INTO event_consumptions (event_id, consumer) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                        event.id,
                        consumer.name()
                    )
                    .execute(&self.pool)
                    .await?;
                }
                Err(e) => {
                    tracing::warn!(event = event.id, topic = %event.topic, consumer = consumer.name(), error = %e, "event consumer failed");
                    failure = Some(format!("{}: {e}", consumer.name()));
                    break;
                }
            }
        }
        match failure {
            None => return Ok(true),
            Some(error) if event.attempts >= MAX_ATTEMPTS => {
                // Parked: kept for an operator to look at, never retried on its own.
                tracing::error!(event = event.id, topic = %event.topic, %error, "event gave up after {MAX_ATTEMPTS} attempts");
                sqlx::query!(
                    "UPDATE event_log SET last_error = $2, available_at = 'infinity' WHERE id = $1",
                    event.id,
                    error
                )
                .execute(&self.pool)
                .await?;
            }
            Some(error) => {
                let wait = backoff(event.attempts);
                sqlx::query!(
                    "UPDATE event_log SET last_error = $2, available_at = now() + make_interval(secs => $3)
                     WHERE id = $1",
                    event.id,
                    error,
                    wait.as_secs_f64()
                )
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(false)
    }

    /// Runs `loops` workers side by side until the process ends (each claims its own
    /// batches, so they never take the same event; consumers do not depend on order).
    pub async fn run_many(self, loops: usize) {
        let mut all = Vec::new();
        for _ in 0..loops.max(1) {
            all.push(tokio::spawn(self.clone().run()));
        }
        for handle in all {
            let _ = handle.await;
        }
    }

    /// Runs until the process ends: a batch, then a short sleep when there was nothing.
    /// A panicking consumer costs one batch (its events come back after the lease), not
    /// the worker.
    pub async fn run(self) {
        loop {
            let worker = self.clone();
            match tokio::spawn(async move { worker.run_once().await }).await {
                Ok(Ok(n)) if n > 0 => continue,
                Ok(Ok(_)) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "event worker could not read the event log");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "event worker batch panicked");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff(1).as_secs(), 2);
        assert_eq!(super::backoff(3).as_secs(), 8);
        assert_eq!(super::backoff(50).as_secs(), 600);
    }
}
