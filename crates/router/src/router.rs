//! The router's API: what the deploy controller (and the admin server)
//! call to start services and move traffic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::service::service_fn;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::error::RouterError;
use crate::listener;
use crate::proxy;
use crate::service::{Service, ServiceStats, StatsContext};
use crate::spec::{check_name, check_versions, ServiceSpec, VersionSpec};
use crate::workers::Workers;

/// How the router keeps its figures.
#[derive(Clone)]
pub struct RouterOptions {
    /// The longest sliding window that can be read (whole seconds, 1 s to
    /// an hour). Memory per version grows with it: about 14 KiB a second
    /// that saw requests.
    pub retention: Duration,
    /// The window of the `window_*` gauges of `/metrics` (at most the
    /// retention).
    pub metrics_window: Duration,
    /// Threads that serve requests, each an event loop of its own (by
    /// default one per core).
    pub workers: usize,
    pub clock: Arc<dyn Clock>,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            retention: Router::DEFAULT_RETENTION,
            metrics_window: Router::DEFAULT_WINDOW,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            clock: Arc::new(SystemClock),
        }
    }
}

struct Running {
    service: Arc<Service>,
    stop: CancellationToken,
    /// One accept loop per worker.
    tasks: Vec<JoinHandle<()>>,
}

struct Inner {
    ctx: StatsContext,
    metrics_window: Duration,
    worker_count: usize,
    /// Started with the first service.
    workers: Mutex<Option<Arc<Workers>>>,
    services: RwLock<BTreeMap<String, Running>>,
}

/// A set of services, each with its own listener, routed by weight between
/// versions. Cheap to clone; clones share the services.
///
/// Lifecycle: the first [`Router::start_service`] starts the router's
/// worker threads (each a single-threaded tokio runtime; the caller's
/// runtime carries no request), and every service is served by all of
/// them; versions and weights change at any time, each change one atomic
/// swap of the service's route table; [`Router::stop_service`] stops
/// accepting and lets open requests finish. Dropping the last clone stops
/// the worker threads and closes every connection at once.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

impl Router {
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(60);
    /// The window figures are read over when none is given.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        Self::with_options(RouterOptions::default())
    }

    pub fn with_options(options: RouterOptions) -> Self {
        let secs = options.retention.as_secs().clamp(1, 3600);
        let retention = Duration::from_secs(secs);
        Router {
            inner: Arc::new(Inner {
                worker_count: options.workers.clamp(1, 256),
                workers: Mutex::new(None),
                metrics_window: options
                    .metrics_window
                    .clamp(Duration::from_secs(1), retention),
                ctx: StatsContext {
                    origin: options.clock.now(),
                    clock: options.clock,
                    retention,
                },
                services: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    /// The longest window figures can be read over.
    pub fn retention(&self) -> Duration {
        self.inner.ctx.retention
    }

    /// The window of `/metrics`' `window_*` gauges.
    pub fn metrics_window(&self) -> Duration {
        self.inner.metrics_window
    }

    fn workers(&self) -> Result<Arc<Workers>, RouterError> {
        let mut workers = self.inner.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = workers.as_ref() {
            return Ok(w.clone());
        }
        let started = Arc::new(Workers::start(self.inner.worker_count).map_err(|e| {
            RouterError::Invalid(format!("cannot start the router's worker threads: {e}"))
        })?);
        *workers = Some(started.clone());
        Ok(started)
    }

    fn services(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Running>> {
        self.inner
            .services
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn service(&self, name: &str) -> Result<Arc<Service>, RouterError> {
        let services = self.services();
        match services.get(name) {
            Some(r) => Ok(r.service.clone()),
            None => Err(RouterError::UnknownService {
                service: name.to_string(),
                known: services.keys().cloned().collect(),
            }),
        }
    }

    pub(crate) fn all(&self) -> Vec<Arc<Service>> {
        self.services()
            .values()
            .map(|r| r.service.clone())
            .collect()
    }

    /// The names of the running services.
    pub fn service_names(&self) -> Vec<String> {
        self.services().keys().cloned().collect()
    }

    /// Binds the service's listener and starts routing to its versions.
    /// Returns the address bound (useful with port 0).
    pub async fn start_service(&self, spec: ServiceSpec) -> Result<SocketAddr, RouterError> {
        check_name("service", &spec.name)?;
        check_versions(&spec.name, &spec.versions)?;
        if self.services().contains_key(&spec.name) {
            return Err(RouterError::ServiceExists(spec.name));
        }
        let what = format!("service `{}`", spec.name);
        let listener = listener::bind_std(&what, spec.listen)?;
        let listen = listener
            .local_addr()
            .map_err(|e| RouterError::listen(&what, spec.listen, e))?;
        let workers = self.workers()?;
        let service = Arc::new(Service::new(
            spec.name.clone(),
            listen,
            spec.connect_timeout,
            spec.response_timeout,
            workers.len(),
            self.inner.ctx.clone(),
        ));
        service.set_versions(&spec.versions)?;

        // Every worker accepts from the one socket: whichever is least busy
        // takes the next connection.
        let stop = CancellationToken::new();
        let mut tasks = Vec::with_capacity(workers.len());
        let mut ready = Vec::with_capacity(workers.len());
        for worker in 0..workers.len() {
            let listener = listener
                .try_clone()
                .map_err(|e| RouterError::listen(&what, listen, e))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (service, stop) = (service.clone(), stop.clone());
            tasks.push(workers.handle(worker).spawn(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        let _ = tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                listener::serve(listener, stop, move |peer: SocketAddr| {
                    let (service, peer) = (service.clone(), proxy::forwarded_for(peer.ip()));
                    service_fn(move |req| proxy::handle(service.clone(), worker, peer.clone(), req))
                })
                .await;
            }));
            ready.push(rx);
        }
        for rx in ready {
            let started = rx
                .await
                .unwrap_or_else(|_| Err(std::io::Error::other("a router worker thread stopped")));
            if let Err(e) = started {
                stop.cancel();
                return Err(RouterError::listen(&what, listen, e));
            }
        }

        let mut services = self
            .inner
            .services
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if services.contains_key(&spec.name) {
            stop.cancel();
            return Err(RouterError::ServiceExists(spec.name));
        }
        services.insert(
            spec.name,
            Running {
                service,
                stop,
                tasks,
            },
        );
        Ok(listen)
    }

    /// Stops accepting connections for the service; requests already
    /// received finish (at most 30 s). Its figures go with it.
    pub async fn stop_service(&self, service: &str) -> Result<(), RouterError> {
        let running = {
            let mut services = self
                .inner
                .services
                .write()
                .unwrap_or_else(|e| e.into_inner());
            match services.remove(service) {
                Some(r) => r,
                None => {
                    return Err(RouterError::UnknownService {
                        service: service.to_string(),
                        known: services.keys().cloned().collect(),
                    })
                }
            }
        };
        running.stop.cancel();
        for task in running.tasks {
            let _ = task.await;
        }
        Ok(())
    }

    /// Stops every service.
    pub async fn shutdown(&self) {
        for name in self.service_names() {
            let _ = self.stop_service(&name).await;
        }
    }

    /// Replaces the service's versions in one swap: named versions take the
    /// given weights and upstreams (a version keeps its figures across
    /// changes), versions left out are removed and drain.
    pub fn set_versions(&self, service: &str, versions: &[VersionSpec]) -> Result<(), RouterError> {
        self.service(service)?.set_versions(versions)
    }

    /// Sets the weights of the service's versions in one swap: the named
    /// versions take the given weights, every other version 0. Nothing
    /// changes if a name is unknown or a weight too large.
    pub fn set_weights(&self, service: &str, weights: &[(&str, u32)]) -> Result<(), RouterError> {
        self.service(service)?.set_weights(weights)
    }

    /// Takes a version out of the service's route table. Requests in flight
    /// to it complete; [`Router::wait_drained`] waits for them.
    pub fn remove_version(&self, service: &str, version: &str) -> Result<(), RouterError> {
        self.service(service)?.remove_version(version)
    }

    /// Requests in flight to a version now.
    pub fn in_flight(&self, service: &str, version: &str) -> Result<u64, RouterError> {
        self.service(service)?.in_flight(version)
    }

    /// Waits until a version that no longer gets traffic (weight 0 or
    /// removed) has no request in flight. Refuses a version that still has
    /// weight; gives up after `timeout`.
    pub async fn wait_drained(
        &self,
        service: &str,
        version: &str,
        timeout: Duration,
    ) -> Result<(), RouterError> {
        let service = self.service(service)?;
        service.wait_drained(version, timeout).await
    }

    /// A service's versions with their weights, totals, and figures over
    /// the last `window` (whole seconds, at most [`Router::retention`]).
    pub fn stats(&self, service: &str, window: Duration) -> Result<ServiceStats, RouterError> {
        Ok(self.service(service)?.stats(window))
    }

    /// [`Router::stats`] of every service.
    pub fn all_stats(&self, window: Duration) -> Vec<ServiceStats> {
        self.all().iter().map(|s| s.stats(window)).collect()
    }

    /// Every service's figures in the Prometheus text format (OpenMetrics).
    pub fn metrics(&self) -> String {
        crate::metrics::render(self)
    }
}
