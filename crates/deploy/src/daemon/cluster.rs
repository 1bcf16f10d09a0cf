//! The local cluster as the controller sees it: its instances (the fleet)
//! and its traffic (the router), with the route tables and which version
//! serves kept in the store after every change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use slipway_model::deploy::{DeployStore, ServiceRecord, VersionFigures};
use slipway_router::{Router, ServiceSpec, VersionSpec, VersionStatus as RouterVersionStatus};
use tokio::sync::broadcast;

use crate::config::{ClusterConfig, ServiceConfig};
use crate::local::{health, Fleet, InstanceEvent};
use crate::ports::{InstanceError, Instances, Route, Routing, SmokeResult};

/// How long one smoke request may take.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a smoke command may run.
const SMOKE_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

pub struct LocalCluster<S: DeployStore> {
    pub name: String,
    root: PathBuf,
    router: Router,
    pub fleet: Fleet<S>,
    store: S,
    records: Mutex<BTreeMap<String, ServiceRecord>>,
}

fn instance_error(e: crate::local::FleetError) -> InstanceError {
    InstanceError {
        bad_input: e.is_bad_input(),
        message: e.to_string(),
    }
}

impl<S: DeployStore> LocalCluster<S> {
    pub fn new(name: &str, root: &Path, router: Router, fleet: Fleet<S>, store: S) -> Self {
        LocalCluster {
            name: name.to_string(),
            root: root.to_path_buf(),
            router,
            fleet,
            store,
            records: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn subscribe(&self) -> broadcast::Receiver<InstanceEvent> {
        self.fleet.subscribe()
    }

    pub async fn stop_all(&self) {
        self.fleet.stop_all().await;
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<String, ServiceRecord>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, service: &str) -> Option<ServiceRecord> {
        self.records().get(service).cloned()
    }

    pub fn all_records(&self) -> Vec<ServiceRecord> {
        self.records().values().cloned().collect()
    }

    /// The version serving a service.
    pub fn active(&self, service: &str) -> Option<String> {
        self.records().get(service).and_then(|r| r.active.clone())
    }

    /// Replaces the daemon's copy of the records (at start).
    pub fn load(&self, records: Vec<ServiceRecord>) {
        let mut map = self.records();
        map.clear();
        for r in records {
            map.insert(r.service.clone(), r);
        }
    }

    /// Replaces one record in the daemon's copy (already saved).
    pub fn load_one(&self, record: ServiceRecord) {
        self.records().insert(record.service.clone(), record);
    }

    async fn save(&self, record: ServiceRecord) -> Result<(), String> {
        self.records()
            .insert(record.service.clone(), record.clone());
        self.store
            .save_service(&self.name, &record)
            .await
            .map_err(|e| e.to_string())
    }

    fn specs(&self, service: &str, routes: &[(String, u32)]) -> Vec<VersionSpec> {
        routes
            .iter()
            .map(|(version, weight)| VersionSpec {
                name: version.clone(),
                weight: *weight,
                upstreams: self
                    .fleet
                    .addresses(service, version)
                    .iter()
                    .map(SocketAddr::to_string)
                    .collect(),
            })
            .collect()
    }

    /// Starts the service's listener unless it runs, routing as `routes`
    /// say (each version to its running instances).
    pub async fn listen(
        &self,
        cluster: &ClusterConfig,
        service: &ServiceConfig,
        routes: &[(String, u32)],
    ) -> Result<(), String> {
        if self.router.service_names().contains(&service.name) {
            return Ok(());
        }
        let addr = SocketAddr::new(cluster.bind, cluster.port(service));
        let spec = ServiceSpec::new(&service.name, addr, self.specs(&service.name, routes));
        self.router.start_service(spec).await.map_err(|e| {
            format!(
                "{e} (slipway.toml: [clusters.{}] ports or port-offset)",
                cluster.name
            )
        })?;
        Ok(())
    }

    /// The listener of a service added to `slipway.toml` since the daemon
    /// started.
    pub async fn ensure_listener(
        &self,
        cluster: &ClusterConfig,
        service: &ServiceConfig,
    ) -> Result<(), String> {
        let routes = self
            .record(&service.name)
            .map(|r| r.routes)
            .unwrap_or_default();
        self.listen(cluster, service, &routes).await
    }
}

impl<S: DeployStore> Instances for LocalCluster<S> {
    async fn prepare(&self, service: &ServiceConfig, version: &str) -> Result<(), InstanceError> {
        self.fleet
            .prepare(service, version)
            .await
            .map_err(instance_error)
    }

    async fn start(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> Result<Vec<SocketAddr>, InstanceError> {
        self.fleet
            .start(service, version)
            .await
            .map_err(instance_error)
    }

    async fn wait_healthy(
        &self,
        service: &ServiceConfig,
        version: &str,
        timeout: Duration,
    ) -> Result<(), InstanceError> {
        self.fleet
            .wait_healthy(service, version, timeout)
            .await
            .map_err(instance_error)
    }

    async fn smoke(&self, service: &ServiceConfig, version: &str) -> Vec<SmokeResult> {
        let addrs = self.fleet.addresses(&service.name, version);
        let mut results = Vec::new();
        for path in &service.smoke {
            for addr in &addrs {
                let check = health::check(*addr, path, SMOKE_TIMEOUT).await;
                results.push(SmokeResult {
                    check: format!("GET {path} on {addr}"),
                    ok: check.healthy,
                    detail: check.answer,
                });
            }
        }
        if let (Some(command), Some(addr)) = (&service.smoke_command, addrs.first()) {
            results.push(self.smoke_command(service, version, command, *addr).await);
        }
        results
    }

    async fn stop(&self, service: &ServiceConfig, version: &str) {
        self.fleet.stop(service, version).await;
    }

    fn addresses(&self, service: &str, version: &str) -> Vec<SocketAddr> {
        self.fleet.addresses(service, version)
    }
}

impl<S: DeployStore> LocalCluster<S> {
    async fn smoke_command(
        &self,
        service: &ServiceConfig,
        version: &str,
        command: &str,
        addr: SocketAddr,
    ) -> SmokeResult {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(self.root.join(&service.path))
            .env("SLIPWAY_SMOKE_URL", format!("http://{addr}"))
            .env("SLIPWAY_SERVICE", &service.name)
            .env("SLIPWAY_VERSION", version)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let check = format!("`{command}`");
        let output = match tokio::time::timeout(SMOKE_COMMAND_TIMEOUT, cmd.output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                return SmokeResult {
                    check,
                    ok: false,
                    detail: format!("cannot run it: {e}"),
                }
            }
            Err(_) => {
                return SmokeResult {
                    check,
                    ok: false,
                    detail: format!("still running after {} s", SMOKE_COMMAND_TIMEOUT.as_secs()),
                }
            }
        };
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let code = output
            .status
            .code()
            .map_or("a signal".to_string(), |c| c.to_string());
        SmokeResult {
            check,
            ok: output.status.success(),
            detail: if tail.is_empty() {
                format!("exit {code}")
            } else {
                format!("exit {code}: {}", tail.join(" / "))
            },
        }
    }
}

impl<S: DeployStore> Routing for LocalCluster<S> {
    async fn route(&self, service: &str, routes: &[Route]) -> Result<(), String> {
        let specs: Vec<VersionSpec> = routes
            .iter()
            .map(|r| VersionSpec {
                name: r.version.clone(),
                weight: r.weight,
                upstreams: r.upstreams.iter().map(SocketAddr::to_string).collect(),
            })
            .collect();
        self.router
            .set_versions(service, &specs)
            .map_err(|e| e.to_string())?;
        let mut record = self.record(service).unwrap_or_else(|| ServiceRecord {
            service: service.to_string(),
            active: None,
            previous: None,
            retire_at: None,
            routes: Vec::new(),
        });
        record.routes = routes
            .iter()
            .map(|r| (r.version.clone(), r.weight))
            .collect();
        self.save(record).await
    }

    fn routes(&self, service: &str) -> Vec<Route> {
        self.record(service)
            .map(|r| r.routes)
            .unwrap_or_default()
            .into_iter()
            .map(|(version, weight)| Route {
                upstreams: self.fleet.addresses(service, &version),
                version,
                weight,
            })
            .collect()
    }

    async fn set_active(
        &self,
        service: &str,
        active: Option<&str>,
        previous: Option<&str>,
        retire_at: Option<i64>,
    ) -> Result<(), String> {
        let mut record = self.record(service).unwrap_or_else(|| ServiceRecord {
            service: service.to_string(),
            active: None,
            previous: None,
            retire_at: None,
            routes: Vec::new(),
        });
        record.active = active.map(str::to_string);
        record.previous = previous.map(str::to_string);
        record.retire_at = retire_at;
        self.save(record).await
    }

    fn figures(&self, service: &str, window: Duration) -> Vec<VersionFigures> {
        let Ok(stats) = self.router.stats(service, window) else {
            return Vec::new();
        };
        stats
            .versions
            .iter()
            .filter(|v| v.status != RouterVersionStatus::Removed)
            .map(|v| VersionFigures {
                version: v.name.clone(),
                traffic_percent: v.traffic_percent,
                requests: v.window.requests,
                error_rate_percent: v.window.error_rate_percent,
                p95_ms: v.window.latency_ms.map(|l| l.p95),
            })
            .collect()
    }

    async fn wait_drained(&self, service: &str, version: &str, timeout: Duration) {
        // Refused while the version still has weight, unknown when it was
        // never routed: either way there is nothing to wait for here.
        let _ = self.router.wait_drained(service, version, timeout).await;
    }
}
