//! The route table of one service: which versions get traffic, by weight.
//! A table is never changed once built; a weight change builds a new one
//! and swaps it in whole, so a request sees the old table or the new one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::pool::UpstreamPool;
use crate::stats::VersionStats;

/// What outlives route tables: a version's statistics and the requests in
/// flight to it, kept by name while the version exists (and a while after
/// it is removed, so its last figures can still be read).
pub(crate) struct VersionState {
    pub name: String,
    pub stats: VersionStats,
    in_flight: AtomicU64,
    idle: Notify,
}

impl VersionState {
    pub fn new(name: String, stats: VersionStats) -> Self {
        VersionState {
            name,
            stats,
            in_flight: AtomicU64::new(0),
            idle: Notify::new(),
        }
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    pub fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until no request is in flight. Requests that start meanwhile
    /// are waited for too, so the caller stops routing to the version first.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }
}

pub(crate) struct Route {
    pub version: Arc<VersionState>,
    pub weight: u32,
    pub upstreams: Vec<Arc<UpstreamPool>>,
    next: AtomicUsize,
}

impl Route {
    pub fn new(version: Arc<VersionState>, weight: u32, upstreams: Vec<Arc<UpstreamPool>>) -> Self {
        Route {
            version,
            weight,
            upstreams,
            next: AtomicUsize::new(0),
        }
    }

    /// The next upstream, round-robin.
    pub fn upstream(&self) -> &Arc<UpstreamPool> {
        let i = if self.upstreams.len() == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % self.upstreams.len()
        };
        &self.upstreams[i]
    }
}

#[derive(Default)]
pub(crate) struct RouteTable {
    pub routes: Vec<Route>,
    /// `cumulative[i]` is the sum of the weights of routes `0..=i`.
    cumulative: Vec<u64>,
}

impl RouteTable {
    pub fn new(routes: Vec<Route>) -> Self {
        let mut sum = 0u64;
        let cumulative = routes
            .iter()
            .map(|r| {
                sum += u64::from(r.weight);
                sum
            })
            .collect();
        RouteTable { routes, cumulative }
    }

    pub fn total_weight(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// A route drawn by weight; `None` when every weight is 0.
    pub fn pick(&self) -> Option<&Route> {
        match self.routes.len() {
            0 => None,
            1 => (self.routes[0].weight > 0).then(|| &self.routes[0]),
            _ => {
                let total = self.total_weight();
                if total == 0 {
                    return None;
                }
                let r = fastrand::u64(0..total);
                let i = self.cumulative.partition_point(|&c| c <= r);
                self.routes.get(i)
            }
        }
    }

    pub fn get(&self, version: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.version.name == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use std::time::{Duration, Instant};

    fn route(name: &str, weight: u32) -> Route {
        let stats = VersionStats::new(
            Arc::new(SystemClock),
            Instant::now(),
            Duration::from_secs(1),
        );
        Route::new(
            Arc::new(VersionState::new(name.to_string(), stats)),
            weight,
            vec![Arc::new(UpstreamPool::new(
                "127.0.0.1:1".parse().unwrap(),
                Duration::from_secs(1),
                1,
            ))],
        )
    }

    #[test]
    fn picks_follow_weights_and_skip_zero() {
        let table = RouteTable::new(vec![
            route("a", 0),
            route("b", 3),
            route("c", 1),
            route("d", 0),
        ]);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            let name = &table.pick().unwrap().version.name;
            counts[(name.as_bytes()[0] - b'a') as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        assert_eq!(counts[3], 0);
        // 30,000 expected for b: a standard deviation is about 87.
        assert!((29_500..=30_500).contains(&counts[1]), "{counts:?}");
    }

    #[test]
    fn no_weight_no_route() {
        assert!(RouteTable::new(vec![route("a", 0), route("b", 0)])
            .pick()
            .is_none());
        assert!(RouteTable::new(vec![route("a", 0)]).pick().is_none());
        assert!(RouteTable::default().pick().is_none());
    }
}
