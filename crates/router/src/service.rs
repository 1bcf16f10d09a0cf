//! One service's routing state and the changes made to it: versions,
//! weights, removal, draining, statistics.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::uri::Authority;
use serde::Serialize;

use crate::clock::Clock;
use crate::error::RouterError;
use crate::pool::UpstreamPool;
use crate::spec::{check_versions, check_weight, VersionSpec};
use crate::stats::{Counts, VersionStats, WindowStats};
use crate::table::{Route, RouteTable, VersionState};

/// Shared by every service of a router.
#[derive(Clone)]
pub(crate) struct StatsContext {
    pub clock: Arc<dyn Clock>,
    pub origin: Instant,
    pub retention: Duration,
}

/// A version the service knows: routed, idle (weight 0), or removed and
/// kept for one retention period so that its last figures can be read.
struct Known {
    state: Arc<VersionState>,
    upstreams: Vec<String>,
    removed_at: Option<Instant>,
}

pub(crate) struct Service {
    pub name: String,
    pub listen: SocketAddr,
    /// Read by every request without a lock; replaced whole by writers.
    pub table: ArcSwap<RouteTable>,
    /// Writers hold this while they build and swap a table, so that two
    /// changes never interleave; requests never take it.
    known: Mutex<BTreeMap<String, Known>>,
    connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Worker threads, each with its own idle connections per upstream.
    workers: usize,
    /// Requests answered 503 because no version had weight.
    pub unrouted: AtomicU64,
    ctx: StatsContext,
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// In the route table with a weight above 0.
    Routed,
    /// In the route table with weight 0: no new requests.
    Idle,
    /// Out of the route table; kept for a while with its figures.
    Removed,
}

/// One version's state and figures, as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionView {
    pub name: String,
    pub status: VersionStatus,
    pub weight: u32,
    /// This version's share of the service's traffic.
    pub traffic_percent: f64,
    pub upstreams: Vec<String>,
    pub in_flight: u64,
    /// No weight and nothing in flight: safe to stop.
    pub drained: bool,
    /// Since the version was first routed.
    pub totals: Counts,
    pub window: WindowStats,
}

/// One service's versions and figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStats {
    pub service: String,
    pub listen: SocketAddr,
    /// Requests answered 503 because no version had weight.
    pub unrouted: u64,
    pub versions: Vec<VersionView>,
}

impl ServiceStats {
    pub fn version(&self, name: &str) -> Option<&VersionView> {
        self.versions.iter().find(|v| v.name == name)
    }
}

impl Service {
    pub fn new(
        name: String,
        listen: SocketAddr,
        connect_timeout: Duration,
        response_timeout: Duration,
        workers: usize,
        ctx: StatsContext,
    ) -> Self {
        Service {
            name,
            listen,
            table: ArcSwap::from_pointee(RouteTable::default()),
            known: Mutex::new(BTreeMap::new()),
            connect_timeout,
            response_timeout,
            workers,
            unrouted: AtomicU64::new(0),
            ctx,
        }
    }

    /// The pool of an upstream: the one the current table has for that
    /// address (its idle connections stay useful), or a new one.
    fn pool(&self, current: &RouteTable, authority: &Authority) -> Arc<UpstreamPool> {
        current
            .routes
            .iter()
            .flat_map(|r| r.upstreams.iter())
            .find(|p| p.authority == *authority)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(UpstreamPool::new(
                    authority.clone(),
                    self.connect_timeout,
                    self.workers,
                ))
            })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Known>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unknown_version(&self, version: &str) -> RouterError {
        RouterError::UnknownVersion {
            service: self.name.clone(),
            version: version.to_string(),
            known: self
                .table
                .load()
                .routes
                .iter()
                .map(|r| r.version.name.clone())
                .collect(),
        }
    }

    /// Replaces the versions: named ones take the given weights and
    /// upstreams (keeping their figures), the others are removed.
    pub fn set_versions(&self, versions: &[VersionSpec]) -> Result<(), RouterError> {
        let checked = check_versions(&self.name, versions)?;
        let now = self.ctx.clock.now();
        let mut known = self.lock();
        let current = self.table.load_full();
        let routes = checked
            .into_iter()
            .map(|v| {
                let entry = known.entry(v.name.clone()).or_insert_with(|| Known {
                    state: Arc::new(VersionState::new(
                        v.name.clone(),
                        VersionStats::new(
                            self.ctx.clock.clone(),
                            self.ctx.origin,
                            self.ctx.retention,
                        ),
                    )),
                    upstreams: Vec::new(),
                    removed_at: None,
                });
                entry.removed_at = None;
                entry.upstreams = v.upstreams.iter().map(|u| u.to_string()).collect();
                let pools = v.upstreams.iter().map(|u| self.pool(&current, u)).collect();
                Route::new(entry.state.clone(), v.weight, pools)
            })
            .collect::<Vec<_>>();
        for (name, k) in known.iter_mut() {
            if k.removed_at.is_none() && !routes.iter().any(|r| &r.version.name == name) {
                k.removed_at = Some(now);
            }
        }
        self.table.store(Arc::new(RouteTable::new(routes)));
        self.prune(&mut known, now);
        Ok(())
    }

    /// Sets every version's weight in one swap: the named versions take
    /// the given weights, the others 0.
    pub fn set_weights(&self, weights: &[(&str, u32)]) -> Result<(), RouterError> {
        let known = self.lock();
        let current = self.table.load_full();
        for (i, (name, weight)) in weights.iter().enumerate() {
            if current.get(name).is_none() {
                return Err(self.unknown_version(name));
            }
            if weights[..i].iter().any(|(n, _)| n == name) {
                return Err(RouterError::Invalid(format!(
                    "version `{name}` of service `{}` is given twice",
                    self.name
                )));
            }
            check_weight(&self.name, name, *weight)?;
        }
        let routes = current
            .routes
            .iter()
            .map(|r| {
                let weight = weights
                    .iter()
                    .find(|(n, _)| *n == r.version.name)
                    .map_or(0, |(_, w)| *w);
                Route::new(r.version.clone(), weight, r.upstreams.clone())
            })
            .collect();
        self.table.store(Arc::new(RouteTable::new(routes)));
        drop(known);
        Ok(())
    }

    /// Takes a version out of the route table. Requests in flight to it
    /// complete; [`Service::wait_drained`] says when they have.
    pub fn remove_version(&self, version: &str) -> Result<(), RouterError> {
        let mut known = self.lock();
        let current = self.table.load_full();
        if current.get(version).is_none() {
            return match known.get(version) {
                Some(k) if k.removed_at.is_some() => Ok(()),
                _ => Err(self.unknown_version(version)),
            };
        }
        let routes = current
            .routes
            .iter()
            .filter(|r| r.version.name != version)
            .map(|r| Route::new(r.version.clone(), r.weight, r.upstreams.clone()))
            .collect();
        self.table.store(Arc::new(RouteTable::new(routes)));
        let now = self.ctx.clock.now();
        if let Some(k) = known.get_mut(version) {
            k.removed_at = Some(now);
        }
        self.prune(&mut known, now);
        Ok(())
    }

    fn state(&self, version: &str) -> Result<Arc<VersionState>, RouterError> {
        self.lock()
            .get(version)
            .map(|k| k.state.clone())
            .ok_or_else(|| self.unknown_version(version))
    }

    pub fn in_flight(&self, version: &str) -> Result<u64, RouterError> {
        Ok(self.state(version)?.in_flight())
    }

    /// Waits until a version without weight has no request in flight.
    pub async fn wait_drained(&self, version: &str, timeout: Duration) -> Result<(), RouterError> {
        let state = self.state(version)?;
        if let Some(route) = self.table.load().get(version) {
            if route.weight > 0 {
                return Err(RouterError::StillRouted {
                    service: self.name.clone(),
                    version: version.to_string(),
                    weight: route.weight,
                });
            }
        }
        match tokio::time::timeout(timeout, state.idle()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(RouterError::DrainTimeout {
                service: self.name.clone(),
                version: version.to_string(),
                in_flight: state.in_flight(),
                waited: timeout,
            }),
        }
    }

    /// Forgets removed versions once drained and past the retention.
    fn prune(&self, known: &mut BTreeMap<String, Known>, now: Instant) {
        let retention = self.ctx.retention;
        known.retain(|_, k| match k.removed_at {
            Some(at) => k.state.in_flight() > 0 || now.saturating_duration_since(at) < retention,
            None => true,
        });
    }

    pub fn stats(&self, window: Duration) -> ServiceStats {
        let mut known = self.lock();
        self.prune(&mut known, self.ctx.clock.now());
        let table = self.table.load_full();
        let total = table.total_weight();
        let view =
            |state: &VersionState, status: VersionStatus, weight: u32, upstreams: Vec<String>| {
                let in_flight = state.in_flight();
                VersionView {
                    name: state.name.clone(),
                    status,
                    weight,
                    traffic_percent: if total == 0 {
                        0.0
                    } else {
                        (f64::from(weight) * 100.0 / total as f64 * 1000.0).round() / 1000.0
                    },
                    upstreams,
                    in_flight,
                    drained: weight == 0 && in_flight == 0,
                    totals: state.stats.totals().counts,
                    window: state.stats.window(window),
                }
            };
        let mut versions: Vec<VersionView> = table
            .routes
            .iter()
            .map(|r| {
                let status = if r.weight > 0 {
                    VersionStatus::Routed
                } else {
                    VersionStatus::Idle
                };
                view(&r.version, status, r.weight, upstream_names(&r.upstreams))
            })
            .collect();
        for k in known.values().filter(|k| k.removed_at.is_some()) {
            versions.push(view(
                &k.state,
                VersionStatus::Removed,
                0,
                k.upstreams.clone(),
            ));
        }
        ServiceStats {
            service: self.name.clone(),
            listen: self.listen,
            unrouted: self.unrouted.load(Ordering::Relaxed),
            versions,
        }
    }

    pub fn unrouted_count(&self) -> u64 {
        self.unrouted.load(Ordering::Relaxed)
    }

    /// Every version's state with its weight (removed ones with `None`),
    /// for the Prometheus collector.
    pub fn states(&self) -> Vec<(Arc<VersionState>, Option<u32>)> {
        let known = self.lock();
        let table = self.table.load_full();
        let mut out: Vec<_> = table
            .routes
            .iter()
            .map(|r| (r.version.clone(), Some(r.weight)))
            .collect();
        for k in known.values().filter(|k| k.removed_at.is_some()) {
            out.push((k.state.clone(), None));
        }
        out
    }
}

fn upstream_names(upstreams: &[Arc<UpstreamPool>]) -> Vec<String> {
    upstreams.iter().map(|u| u.authority.to_string()).collect()
}
