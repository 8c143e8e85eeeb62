//! Attempt counters in Redis: a fixed window per key, shared by every instance.

use super::AuthError;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// At most `max` attempts per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// Counts attempts per key (an IP address or an account) in Redis.
#[derive(Clone)]
pub struct Throttle {
    redis: ConnectionManager,
    prefix: String,
}

impl Throttle {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: format!("{prefix}throttle:"),
        }
    }

    /// Counts one attempt. Over the limit, answers `Throttled` with the seconds until the
    /// window ends. Redis unreachable answers `Unavailable`: without counters the attempt
    /// is refused rather than let through unthrottled.
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<(), AuthError> {
        let key = format!("{}{key}", self.prefix);
        let window = limit.window.as_secs().max(1);
        let mut redis = self.redis.clone();
        // The window starts with the first attempt (SET … NX), then attempts count up.
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("EX")
            .arg(window)
            .arg("NX")
            .ignore()
            .incr(&key, 1)
            .ttl(&key);
        let query = pipe.query_async::<(u64, i64)>(&mut redis);
        let (count, ttl) = match tokio::time::timeout(super::REDIS_TIMEOUT, query).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "throttle counter unavailable");
                return Err(AuthError::Unavailable);
            }
            Err(_) => {
                tracing::warn!("throttle counter timed out");
                return Err(AuthError::Unavailable);
            }
        };
        if count > u64::from(limit.max) {
            let retry_after_secs = u64::try_from(ttl).unwrap_or(window).max(1);
            return Err(AuthError::Throttled { retry_after_secs });
        }
        Ok(())
    }

    /// Forgets the attempts on `key` (after a successful sign-in).
    pub async fn clear(&self, key: &str) {
        let mut redis = self.redis.clone();
        let key = format!("{}{key}", self.prefix);
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&key);
        let del = cmd.query_async::<()>(&mut redis);
        match tokio::time::timeout(super::REDIS_TIMEOUT, del).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not clear a throttle counter"),
            Err(_) => tracing::warn!("clearing a throttle counter timed out"),
        }
    }
}
