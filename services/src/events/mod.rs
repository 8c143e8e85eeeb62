//! The event worker: reads the event log (the transactional outbox) and hands each event
//! to the consumers that want it.
//!
//! Delivery is at least once. A batch is claimed with `FOR UPDATE SKIP LOCKED`, so any
//! number of workers (on any number of instances) share the log without taking the same
//! event; an event is marked processed only after every consumer succeeded, and a failed
//! one is retried later with exponential backoff. Consumers record what they did in
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
            batch: 20,
        }
    }

    /// Processes one batch of due events; returns how many were taken.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let events = sqlx::query!(
            "SELECT id, topic, payload, attempts FROM event_log
             WHERE processed_at IS NULL AND available_at <= now()
             ORDER BY id LIMIT $1
             FOR UPDATE SKIP LOCKED",
            self.batch
        )
        .fetch_all(&mut *tx)
        .await?;
        let taken = events.len();
        for row in events {
            let event = Event {
                id: row.id,
                topic: row.topic,
                payload: row.payload,
                attempts: row.attempts,
            };
            let mut failure = None;
            for consumer in self.consumers.iter().filter(|c| c.wants(&event.topic)) {
                let done = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM event_consumptions WHERE event_id = $1 AND consumer = $2) AS "done!""#,
                    event.id,
                    consumer.name()
                )
                .fetch_one(&mut *tx)
                .await?;
                if done {
                    continue;
                }
                match consumer.handle(&event).await {
                    Ok(()) => {
                        sqlx::query!(
                            "INSERT INTO event_consumptions (event_id, consumer) VALUES ($1, $2)
                             ON CONFLICT DO NOTHING",
                            event.id,
                            consumer.name()
                        )
                        .execute(&mut *tx)
                        .await?;
                    }
                    Err(e) => {
                        tracing::warn!(event = event.id, topic = %event.topic, consumer = consumer.name(), error = %e, "event consumer failed; will retry");
                        failure = Some(format!("{}: {e}", consumer.name()));
                        break;
                    }
                }
            }
            match failure {
                None => {
                    sqlx::query!(
                        "UPDATE event_log SET processed_at = now() WHERE id = $1",
                        event.id
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                Some(error) => {
                    let wait = backoff(event.attempts + 1);
                    sqlx::query!(
                        "UPDATE event_log SET attempts = attempts + 1, last_error = $2,
                             available_at = now() + make_interval(secs => $3)
                         WHERE id = $1",
                        event.id,
                        error,
                        wait.as_secs_f64()
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(taken)
    }

    /// Runs until the process ends: a batch, then a short sleep when there was nothing.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(e) => {
                    tracing::error!(error = %e, "event worker could not read the event log");
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
