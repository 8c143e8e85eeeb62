//! The tower-sessions store on the shop's own Redis connection: one JSON value per session
//! under `<prefix>session:<id>`, expiring in Redis when the session does.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result as StoreResult};
use tower_sessions::SessionStore;

#[derive(Clone)]
pub struct RedisSessionStore {
    redis: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn backend(e: redis::RedisError) -> Error {
    Error::Backend(e.to_string())
}

/// Runs a Redis command with the accounts' time limit, so an unreachable Redis costs a
/// request at most that long.
async fn bounded<T>(
    command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(services::auth::REDIS_TIMEOUT, command).await {
        Ok(result) => result.map_err(backend),
        Err(_) => Err(Error::Backend("Redis did not answer in time".into())),
    }
}

impl RedisSessionStore {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: format!("{prefix}session:"),
        }
    }

    fn key(&self, id: &Id) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Writes the record with its expiry; `only_new` refuses to overwrite (id collision).
    async fn write(&self, record: &Record, only_new: bool) -> StoreResult<bool> {
        let value = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let expires_at = record.expiry_date.unix_timestamp();
        let mut redis = self.redis.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&record.id))
            .arg(value)
            .arg("EXAT")
            .arg(expires_at.max(1));
        if only_new {
            cmd.arg("NX");
        }
        let reply: Option<String> = bounded(cmd.query_async(&mut redis)).await?;
        Ok(reply.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        // A fresh 128-bit id colliding is astronomically unlikely; still, never overwrite.
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> StoreResult<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let mut redis = self.redis.clone();
        let raw: Option<Vec<u8>> =
            bounded(redis::cmd("GET").arg(self.key(id)).query_async(&mut redis)).await?;
        match raw {
            None => Ok(None),
            Some(bytes) => match serde_json::from_slice::<Record>(&bytes) {
                Ok(record) => Ok(Some(record)),
                Err(e) => {
                    // An unreadable session (e.g. from an older format) is no session.
                    tracing::warn!(error = %e, "discarding an unreadable session");
                    Ok(None)
                }
            },
        }
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        let mut redis = self.redis.clone();
        bounded(
            redis::cmd("DEL")
                .arg(self.key(id))
                .query_async::<()>(&mut redis),
        )
        .await
    }
}
