//! The one guard around every outside system (Stripe now; carriers, PayPal and the rest
//! later): a timeout on each call and a circuit breaker (`tower-resilience`) that stops
//! calling a system that keeps failing, answers at once while it is open, lets one trial
//! call through after a wait and closes again by itself when that call succeeds.
//!
//! Only the system's own unavailability counts against it (a timeout, a refused
//! connection, a 5xx): an answer such as "card declined" is a success for the breaker.
//! The breaker is per instance; each instance learns on its own that a system is down.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tower::{Service, ServiceExt};
use tower_resilience_circuitbreaker::{
    CircuitBreaker, CircuitBreakerError, CircuitBreakerLayer, CircuitState, DefaultClassifier,
    SlidingWindowType,
};

/// Why an outside call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideError {
    /// It failed or timed out (and counted against the system).
    #[error("{system} is unavailable: {reason}")]
    Unavailable {
        system: &'static str,
        reason: String,
    },
    /// The breaker is open: the system failed repeatedly and is not called for a while.
    #[error("{system} is unavailable (not called for a while after repeated failures)")]
    Open { system: &'static str },
}

/// How patient to be with one outside system.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Longest wait for one call.
    pub timeout: Duration,
    /// How far back calls count when judging the failure rate.
    pub window: Duration,
    /// Fewest calls in the window before the breaker may open.
    pub minimum_calls: usize,
    /// Share of failed calls (0..1) that opens the breaker.
    pub failure_rate: f64,
    /// How long it stays open before a trial call.
    pub open_for: Duration,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            window: Duration::from_secs(60),
            minimum_calls: 5,
            failure_rate: 0.5,
            open_for: Duration::from_secs(30),
        }
    }
}

type Call<T> = Pin<Box<dyn Future<Output = Result<T, OutsideError>> + Send>>;

/// The inner service just runs the call it is given, so one breaker guards calls of any
/// shape to one system.
fn run<T>(call: Call<T>) -> Call<T> {
    call
}

type Runner<T> = tower::util::ServiceFn<fn(Call<T>) -> Call<T>>;

/// Timeout and circuit breaker for one outside system; cheap to clone (clones share the
/// breaker).
pub struct Guard<T> {
    system: &'static str,
    timeout: Duration,
    breaker: CircuitBreaker<Runner<T>, DefaultClassifier>,
}

impl<T> Clone for Guard<T> {
    fn clone(&self) -> Self {
        Self {
            system: self.system,
            timeout: self.timeout,
            breaker: self.breaker.clone(),
        }
    }
}

impl<T: Send + 'static> Guard<T> {
    pub fn new(system: &'static str, settings: &GuardSettings) -> Self {
        let layer = CircuitBreakerLayer::builder()
            .name(system)
            .failure_rate_threshold(settings.failure_rate.clamp(0.01, 1.0))
            .sliding_window_type(SlidingWindowType::TimeBased)
            .sliding_window_duration(settings.window.max(Duration::from_millis(1)))
            .minimum_number_of_calls(settings.minimum_calls.max(1))
            .wait_duration_in_open(settings.open_for)
            .permitted_calls_in_half_open(1)
            .on_state_transition(move |from, to| {
                tracing::warn!(system, ?from, ?to, "circuit breaker changed state");
            })
            .build()
            .unwrap_or_else(|_| {
                // The settings above are clamped into the ranges the builder accepts.
                CircuitBreakerLayer::builder()
                    .build()
                    .expect("default breaker")
            });
        Self {
            system,
            timeout: settings.timeout,
            breaker: layer.layer_fn(tower::service_fn(run::<T> as fn(Call<T>) -> Call<T>)),
        }
    }

    /// Runs `call` under the timeout and the breaker. `call` returns
    /// `OutsideError::Unavailable` for what should count against the system, and `Ok` for
    /// every answer (a refusal included).
    pub async fn call<F>(&self, call: F) -> Result<T, OutsideError>
    where
        F: Future<Output = Result<T, OutsideError>> + Send + 'static,
    {
        let (system, timeout) = (self.system, self.timeout);
        let timed: Call<T> = Box::pin(async move {
            match tokio::time::timeout(timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(OutsideError::Unavailable {
                    system,
                    reason: format!("no answer within {} s", timeout.as_secs_f32()),
                }),
            }
        });
        let mut breaker = self.breaker.clone();
        let ready = breaker.ready().await.map_err(|e| self.translate(e))?;
        ready.call(timed).await.map_err(|e| self.translate(e))
    }

    fn translate(&self, e: CircuitBreakerError<OutsideError>) -> OutsideError {
        match e {
            CircuitBreakerError::OpenCircuit => OutsideError::Open {
                system: self.system,
            },
            CircuitBreakerError::Inner(e) => e,
        }
    }

    /// The breaker is open (calls fail at once).
    pub fn is_open(&self) -> bool {
        self.breaker.state_sync() == CircuitState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GuardSettings {
        GuardSettings {
            timeout: Duration::from_millis(200),
            window: Duration::from_secs(10),
            minimum_calls: 3,
            failure_rate: 0.5,
            open_for: Duration::from_millis(300),
        }
    }

    fn down() -> OutsideError {
        OutsideError::Unavailable {
            system: "test",
            reason: "refused".into(),
        }
    }

    #[tokio::test]
    async fn opens_after_failures_answers_at_once_and_closes_by_itself() {
        let guard: Guard<u32> = Guard::new("test", &settings());
        assert_eq!(guard.call(async { Ok(1) }).await, Ok(1));
        // Three calls, two failed: the rate (2/3) passes 50 %.
        for _ in 0..2 {
            assert_eq!(guard.call(async { Err(down()) }).await, Err(down()));
        }
        assert!(guard.is_open());
        // While open, the call is not even made.
        let made = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = made.clone();
        let refused = guard
            .call(async move {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(2)
            })
            .await;
        assert_eq!(refused, Err(OutsideError::Open { system: "test" }));
        assert!(!made.load(std::sync::atomic::Ordering::SeqCst));
        // After the wait a trial call goes through, and its success closes the breaker.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(guard.call(async { Ok(3) }).await, Ok(3));
        assert!(!guard.is_open());
        assert_eq!(guard.call(async { Ok(4) }).await, Ok(4));
    }

    #[tokio::test]
    async fn a_slow_call_times_out_and_counts() {
        let guard: Guard<u32> = Guard::new("test", &settings());
        let slow = guard
            .call(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(1)
            })
            .await;
        assert!(
            matches!(&slow, Err(OutsideError::Unavailable { reason, .. }) if reason.contains("no answer within")),
            "{slow:?}"
        );
    }
}
