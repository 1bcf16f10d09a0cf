//! Per-version counters and latencies: totals since the version was first
//! routed (for Prometheus counters) and a sliding window of one-second slots
//! (for the error rate and percentiles a deploy's analysis judges).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::clock::Clock;

/// Latencies are recorded in microseconds, from 1 µs to an hour, with two
/// significant digits (values within 1%).
const LATENCY_MAX_US: u64 = 3_600_000_000;
const LATENCY_SIGFIG: u8 = 2;

/// Upper bounds (seconds) of the Prometheus histogram's buckets.
pub(crate) const DURATION_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// How a request to a version ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The status the client got (502/504 when the router answered itself).
    pub status: u16,
    /// The router could not complete the request with the upstream: connect
    /// error, timeout, or a response that broke off.
    pub error: bool,
}

/// Request counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requests that ended (answered, failed, or abandoned by the client).
    pub requests: u64,
    /// Responses with a 5xx status from the version's upstreams.
    pub responses_5xx: u64,
    /// Requests the router could not complete with the upstream (answered
    /// 502 or 504 by the router, or a response that broke off).
    pub errors: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.requests += 1;
        if outcome.error {
            self.errors += 1;
        } else if outcome.status >= 500 {
            self.responses_5xx += 1;
        }
    }

    fn merge(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.responses_5xx += other.responses_5xx;
        self.errors += other.errors;
    }

    /// Failed requests (5xx answers and errors) per hundred requests; `None`
    /// without requests.
    pub fn error_rate_percent(&self) -> Option<f64> {
        (self.requests > 0)
            .then(|| (self.responses_5xx + self.errors) as f64 * 100.0 / self.requests as f64)
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// What a version did over the last `seconds` seconds (the current second
/// included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowStats {
    pub seconds: u64,
    pub requests: u64,
    pub responses_5xx: u64,
    pub errors: u64,
    /// `(responses_5xx + errors) / requests * 100`; `null` without requests.
    pub error_rate_percent: Option<f64>,
    /// `null` without requests.
    pub latency_ms: Option<Latency>,
}

/// The Prometheus view: totals and the cumulative latency histogram.
#[derive(Debug, Clone)]
pub(crate) struct Totals {
    pub counts: Counts,
    pub duration_sum_seconds: f64,
    /// Non-cumulative counts, one per bucket of [`DURATION_BUCKETS`], then
    /// the `+Inf` bucket.
    pub duration_buckets: Vec<u64>,
}

struct Slot {
    /// Seconds since the router's origin; `u64::MAX` for a slot never used.
    second: u64,
    counts: Counts,
    latency: Option<Histogram<u32>>,
}

struct Inner {
    totals: Counts,
    duration_sum_us: u64,
    duration_buckets: [u64; DURATION_BUCKETS.len() + 1],
    slots: Vec<Slot>,
}

/// One version's statistics. Recording takes one short lock.
pub(crate) struct VersionStats {
    clock: Arc<dyn Clock>,
    origin: Instant,
    inner: Mutex<Inner>,
}

impl VersionStats {
    /// `origin` is shared by every version of a router so that their
    /// seconds line up; `retention` is the longest window that can be read.
    pub fn new(clock: Arc<dyn Clock>, origin: Instant, retention: Duration) -> Self {
        let slots = retention.as_secs().max(1) as usize;
        VersionStats {
            clock,
            origin,
            inner: Mutex::new(Inner {
                totals: Counts::default(),
                duration_sum_us: 0,
                duration_buckets: [0; DURATION_BUCKETS.len() + 1],
                slots: (0..slots)
                    .map(|_| Slot {
                        second: u64::MAX,
                        counts: Counts::default(),
                        latency: None,
                    })
                    .collect(),
            }),
        }
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counts that are still
        // counts: keep going rather than poison every later request.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_secs()
    }

    /// Records a request that ended at `end` after `latency`.
    pub fn record(&self, end: Instant, latency: Duration, outcome: Outcome) {
        let second = self.second_of(end);
        let micros = (latency.as_micros().min(u128::from(LATENCY_MAX_US)) as u64).max(1);
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|&upper| micros as f64 <= upper * 1e6)
            .unwrap_or(DURATION_BUCKETS.len());

        let mut inner = self.lock();
        inner.totals.add(outcome);
        inner.duration_sum_us = inner.duration_sum_us.saturating_add(micros);
        inner.duration_buckets[bucket] += 1;

        let len = inner.slots.len() as u64;
        let slot = &mut inner.slots[(second % len) as usize];
        if slot.second != second {
            slot.second = second;
            slot.counts = Counts::default();
            if let Some(h) = slot.latency.as_mut() {
                h.reset();
            }
        }
        slot.counts.add(outcome);
        let histogram = slot.latency.get_or_insert_with(new_histogram);
        histogram.saturating_record(micros);
    }

    /// The last `window` (rounded up to whole seconds, at most the
    /// retention), the current second included.
    pub fn window(&self, window: Duration) -> WindowStats {
        let now = self.second_of(self.clock.now());
        let inner = self.lock();
        let len = inner.slots.len() as u64;
        let seconds = window_seconds(window).min(len);
        let first = (now + 1).saturating_sub(seconds);

        let mut counts = Counts::default();
        let mut merged: Option<Histogram<u64>> = None;
        for second in first..=now {
            let slot = &inner.slots[(second % len) as usize];
            if slot.second != second {
                continue;
            }
            counts.merge(&slot.counts);
            if let Some(h) = &slot.latency {
                let into = merged.get_or_insert_with(new_histogram);
                for v in h.iter_recorded() {
                    into.saturating_record_n(v.value_iterated_to(), u64::from(v.count_at_value()));
                }
            }
        }
        drop(inner);

        let latency_ms = merged.filter(|h| !h.is_empty()).map(|h| Latency {
            p50: quantile_ms(&h, 0.50),
            p95: quantile_ms(&h, 0.95),
            p99: quantile_ms(&h, 0.99),
        });
        WindowStats {
            seconds,
            requests: counts.requests,
            responses_5xx: counts.responses_5xx,
            errors: counts.errors,
            error_rate_percent: counts.error_rate_percent(),
            latency_ms,
        }
    }

    pub fn totals(&self) -> Totals {
        let inner = self.lock();
        Totals {
            counts: inner.totals,
            duration_sum_seconds: inner.duration_sum_us as f64 / 1e6,
            duration_buckets: inner.duration_buckets.to_vec(),
        }
    }
}

/// Whole seconds, rounded up, at least one.
pub(crate) fn window_seconds(window: Duration) -> u64 {
    let secs = window.as_secs() + u64::from(window.subsec_nanos() > 0);
    secs.max(1)
}

fn new_histogram<T: hdrhistogram::Counter>() -> Histogram<T> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, LATENCY_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// Milliseconds, rounded to microseconds.
fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn stats(clock: &ManualClock, retention: u64) -> VersionStats {
        VersionStats::new(
            Arc::new(clock.clone()),
            clock.now(),
            Duration::from_secs(retention),
        )
    }

    fn ok(status: u16) -> Outcome {
        Outcome {
            status,
            error: false,
        }
    }

    const FAILED: Outcome = Outcome {
        status: 502,
        error: true,
    };

    #[test]
    fn error_rate_counts_5xx_and_errors_but_not_4xx() {
        let clock = ManualClock::new();
        let s = stats(&clock, 60);
        let ms = Duration::from_millis(1);
        for i in 0..200 {
            let outcome = match i % 50 {
                0 => ok(500),
                1 => FAILED,
                2 => ok(404),
                _ => ok(200),
            };
            s.record(clock.now(), ms, outcome);
        }
        let w = s.window(Duration::from_secs(10));
        assert_eq!(
            (w.requests, w.responses_5xx, w.errors),
            (200, 4, 4),
            "{w:?}"
        );
        assert_eq!(w.error_rate_percent, Some(4.0));
    }

    #[test]
    fn percentiles_match_the_recorded_latencies() {
        let clock = ManualClock::new();
        let s = stats(&clock, 60);
        // 1..=1000 ms, once each: p50 = 500, p95 = 950, p99 = 990.
        for ms in 1..=1000u64 {
            s.record(clock.now(), Duration::from_millis(ms), ok(200));
        }
        let l = s.window(Duration::from_secs(60)).latency_ms.unwrap();
        for (got, want) in [(l.p50, 500.0), (l.p95, 950.0), (l.p99, 990.0)] {
            assert!(
                (got - want).abs() <= want * 0.01,
                "got {got} ms, want {want} ms ±1%: {l:?}"
            );
        }
    }

    #[test]
    fn the_window_slides_second_by_second() {
        let clock = ManualClock::new();
        let s = stats(&clock, 60);
        // Second 0: 10 slow failures. Seconds 1..=5: 10 fast successes each.
        for _ in 0..10 {
            s.record(clock.now(), Duration::from_millis(900), ok(503));
        }
        for _ in 1..=5 {
            clock.advance(Duration::from_secs(1));
            for _ in 0..10 {
                s.record(clock.now(), Duration::from_millis(2), ok(200));
            }
        }
        // Now at second 5: a 6 s window holds all 60, a 5 s window only
        // the successes.
        let all = s.window(Duration::from_secs(6));
        assert_eq!((all.requests, all.responses_5xx), (60, 10));
        let recent = s.window(Duration::from_secs(5));
        assert_eq!((recent.requests, recent.responses_5xx), (50, 0));
        assert_eq!(recent.error_rate_percent, Some(0.0));
        assert!(recent.latency_ms.unwrap().p99 < 3.0);

        // Long after: the window is empty and says so, the totals remain.
        clock.advance(Duration::from_secs(120));
        let empty = s.window(Duration::from_secs(60));
        assert_eq!(empty.requests, 0);
        assert_eq!(empty.error_rate_percent, None);
        assert_eq!(empty.latency_ms, None);
        assert_eq!(s.totals().counts.requests, 60);
    }

    #[test]
    fn a_slot_reused_after_the_retention_starts_empty() {
        let clock = ManualClock::new();
        let s = stats(&clock, 3);
        s.record(clock.now(), Duration::from_millis(5), ok(500));
        clock.advance(Duration::from_secs(3)); // same slot, three seconds on
        s.record(clock.now(), Duration::from_millis(5), ok(200));
        let w = s.window(Duration::from_secs(3));
        assert_eq!((w.requests, w.responses_5xx), (1, 0));
    }

    #[test]
    fn windows_are_whole_seconds_within_the_retention() {
        let clock = ManualClock::new();
        let s = stats(&clock, 10);
        assert_eq!(s.window(Duration::from_millis(1500)).seconds, 2);
        assert_eq!(s.window(Duration::ZERO).seconds, 1);
        assert_eq!(s.window(Duration::from_secs(3600)).seconds, 10);
    }

    #[test]
    fn prometheus_buckets_hold_each_request_once() {
        let clock = ManualClock::new();
        let s = stats(&clock, 10);
        s.record(clock.now(), Duration::from_micros(300), ok(200)); // <= 0.5 ms
        s.record(clock.now(), Duration::from_millis(1), ok(200)); // <= 1 ms
        s.record(clock.now(), Duration::from_secs(120), ok(200)); // +Inf
        let t = s.totals();
        assert_eq!(t.duration_buckets[0], 1);
        assert_eq!(t.duration_buckets[1], 1);
        assert_eq!(*t.duration_buckets.last().unwrap(), 1);
        assert_eq!(t.duration_buckets.iter().sum::<u64>(), 3);
        assert!((t.duration_sum_seconds - 120.0013).abs() < 1e-6);
    }
}
