//! A circuit breaker per provider: after `threshold` consecutive failures it opens and calls fail
//! fast for `cooldown`; then one probe is let through (half-open), whose outcome closes or
//! re-opens it. State changes are exported as metrics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    fn gauge(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen => 1.0,
            State::Open => 2.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::HalfOpen => "half_open",
            State::Open => "open",
        }
    }
}

struct Inner {
    state: State,
    failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

pub struct CircuitBreaker {
    provider: &'static str,
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(provider: &'static str, threshold: u32, cooldown: Duration) -> CircuitBreaker {
        metrics::gauge!("cabanas_circuit_state", "provider" => provider).set(0.0);
        CircuitBreaker {
            provider,
            threshold: threshold.max(1),
            cooldown,
            inner: Mutex::new(Inner {
                state: State::Closed,
                failures: 0,
                opened_at: None,
                probing: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn set(&self, inner: &mut Inner, state: State) {
        if inner.state != state {
            tracing::warn!(
                provider = self.provider,
                from = inner.state.name(),
                to = state.name(),
                "circuit breaker"
            );
            metrics::counter!("cabanas_circuit_transitions_total", "provider" => self.provider, "to" => state.name())
                .increment(1);
            metrics::gauge!("cabanas_circuit_state", "provider" => self.provider)
                .set(state.gauge());
            inner.state = state;
        }
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    /// May a call go out now? In half-open state only one probe at a time.
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        match inner.state {
            State::Closed => true,
            State::Open => {
                if inner
                    .opened_at
                    .is_some_and(|t| t.elapsed() >= self.cooldown)
                {
                    self.set(&mut inner, State::HalfOpen);
                    inner.probing = true;
                    true
                } else {
                    false
                }
            }
            State::HalfOpen => {
                if inner.probing {
                    false
                } else {
                    inner.probing = true;
                    true
                }
            }
        }
    }

    pub fn success(&self) {
        let mut inner = self.lock();
        inner.failures = 0;
        inner.probing = false;
        self.set(&mut inner, State::Closed);
    }

    pub fn failure(&self) {
        let mut inner = self.lock();
        inner.failures += 1;
        inner.probing = false;
        if inner.state == State::HalfOpen || inner.failures >= self.threshold {
            inner.opened_at = Some(Instant::now());
            self.set(&mut inner, State::Open);
        }
    }
}
