//! The time a delivery reads: when it started, and waiting between
//! attempts. `SystemClock` is the real one; [`ManualClock`] lets tests of
//! back-off run in no time and see every wait that was asked for.
//!
//! A clock is shared by reference for the whole of one delivery; nothing
//! is kept between deliveries.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep(&self, wait: Duration) -> impl Future<Output = ()> + Send;
}

/// Wall-clock time and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, wait: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(wait)
    }
}

/// A clock that only moves when slept on: each sleep returns at once,
/// adds its length to the time, and is recorded.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    state: Mutex<(Duration, Vec<Duration>)>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            start: Instant::now(),
            state: Mutex::new((Duration::ZERO, Vec::new())),
        }
    }
}

impl ManualClock {
    /// Move time on without a sleep, as a slow request would.
    pub fn advance(&self, by: Duration) {
        self.state.lock().unwrap().0 += by;
    }

    /// Every sleep asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.state.lock().unwrap().0
    }

    fn sleep(&self, wait: Duration) -> impl Future<Output = ()> + Send {
        let mut state = self.state.lock().unwrap();
        state.0 += wait;
        state.1.push(wait);
        std::future::ready(())
    }
}
