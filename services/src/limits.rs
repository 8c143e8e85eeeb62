//! The shop's one rate limiter: GCRA (the generic cell rate algorithm) kept in Redis, so
//! every instance behind the load balancer counts against the same limits.
//!
//! A limit of `count` per `period` lets a burst of `count` through, then one every
//! `period / count`: each key stores a single number, its "theoretical arrival time",
//! updated by one Lua script with Redis's own clock (so instances with skewed clocks
//! agree). Refusals say exactly when the next attempt is allowed. Checkout throttles,
//! account throttles and later API and gateway limits all use this type.
//!
//! Counting needs Redis: when it cannot be reached the limiter answers `Unavailable`,
//! and the caller refuses the attempt rather than let it through uncounted.

use redis::aio::ConnectionManager;
use std::net::IpAddr;
use std::time::Duration;

/// The longest a limiter call may take before Redis counts as down.
const TIMEOUT: Duration = Duration::from_secs(2);

/// At most `count` attempts per `period` (a burst of `count`, then evenly spread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(count: u32, period: Duration) -> Self {
        Self { count, period }
    }

    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    fn period_ms(self) -> u64 {
        u64::try_from(self.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Over the limit; the next attempt is allowed after `retry_after_secs`.
    #[error("Too many attempts. Please try again in {}.", wait_words(*retry_after_secs))]
    Limited { retry_after_secs: u64 },
    /// Redis cannot be reached, so nothing can be counted.
    #[error("This is temporarily unavailable. Please try again in a few minutes.")]
    Unavailable,
}

/// "45 seconds", "1 minute", "3 minutes": how long to wait, in words.
pub fn wait_words(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=59 => format!("{secs} seconds"),
        60..=89 => "1 minute".to_owned(),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// What a key's counter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Attempts still counted against the key (0 when it is fresh).
    pub recent: u32,
    /// When the last hit was refused or would be: seconds until one more is allowed.
    pub retry_after_secs: Option<u64>,
}

// KEYS[1]: the counter. ARGV: period (ms), count, 1 to record a hit or 0 to only look.
// Answers {allowed (1/0), ms until allowed, attempts still counted}.
const GCRA: &str = r"
local period = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local record = ARGV[3] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = period / count
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local recent = math.ceil((tat - now) / interval - 0.000001)
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, math.ceil(allow_at - now), recent}
end
if record then
  -- At least 1 ms: with a very generous limit the interval is lost in the clock's size.
  redis.call('SET', KEYS[1], string.format('%.0f', math.ceil(new_tat)), 'PX', math.max(1, math.ceil(new_tat - now)))
  recent = recent + 1
end
return {1, 0, recent}
";

/// Handle to the limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    redis: ConnectionManager,
    prefix: String,
    script: std::sync::Arc<redis::Script>,
}

impl RateLimiter {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: format!("{prefix}rate:"),
            script: std::sync::Arc::new(redis::Script::new(GCRA)),
        }
    }

    async fn run(&self, key: &str, rate: Rate, record: bool) -> Result<Level, LimitError> {
        let count = rate.count.max(1);
        let mut redis = self.redis.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{}{key}", self.prefix))
            .arg(rate.period_ms())
            .arg(count)
            .arg(if record { "1" } else { "0" });
        let call = invocation.invoke_async::<(i64, i64, i64)>(&mut redis);
        let (allowed, wait_ms, recent) = match tokio::time::timeout(TIMEOUT, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limiter unavailable");
                return Err(LimitError::Unavailable);
            }
            Err(_) => {
                tracing::warn!("rate limiter timed out");
                return Err(LimitError::Unavailable);
            }
        };
        Ok(Level {
            recent: u32::try_from(recent.max(0)).unwrap_or(u32::MAX),
            retry_after_secs: (allowed == 0)
                .then(|| u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1)),
        })
    }

    /// Counts one attempt on `key`; over `rate`, `Limited` with the wait (the refused
    /// attempt is not counted, so waiting that long is always enough).
    pub async fn hit(&self, key: &str, rate: Rate) -> Result<(), LimitError> {
        match self.run(key, rate, true).await?.retry_after_secs {
            Some(retry_after_secs) => Err(LimitError::Limited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Whether one more attempt on `key` would be allowed, without counting one.
    pub async fn check(&self, key: &str, rate: Rate) -> Result<(), LimitError> {
        match self.run(key, rate, false).await?.retry_after_secs {
            Some(retry_after_secs) => Err(LimitError::Limited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// The key's counter as it stands, without counting an attempt.
    pub async fn level(&self, key: &str, rate: Rate) -> Result<Level, LimitError> {
        self.run(key, rate, false).await
    }

    /// Forgets the attempts on `key` (a successful sign-in clears its failures).
    pub async fn reset(&self, key: &str) {
        let mut redis = self.redis.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{}{key}", self.prefix));
        match tokio::time::timeout(TIMEOUT, cmd.query_async::<()>(&mut redis)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not reset a rate limit"),
            Err(_) => tracing::warn!("resetting a rate limit timed out"),
        }
    }
}

/// The network a client address counts as: an IPv4 address itself, an IPv6 address its
/// /64 (one subscriber usually holds a whole /64, so counting single addresses would let
/// one machine take 2^64 turns). Anything unreadable is kept as given.
pub fn network_of(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(network_of("203.0.113.9"), "203.0.113.9");
        assert_eq!(
            network_of("2001:db8:1:2:aaaa::1"),
            network_of("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(network_of("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:3::1"));
        assert_eq!(network_of("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(network_of("unknown"), "unknown");
    }

    #[test]
    fn waits_read_as_words() {
        assert_eq!(wait_words(1), "a second");
        assert_eq!(wait_words(45), "45 seconds");
        assert_eq!(wait_words(60), "1 minute");
        assert_eq!(wait_words(61), "1 minute");
        assert_eq!(wait_words(100), "2 minutes");
        assert_eq!(wait_words(600), "10 minutes");
    }
}
