//! The fleet: every instance of a local cluster's service versions, as
//! supervised processes or containers on loopback ports.
//!
//! Lifecycle: the cluster daemon makes one fleet on its store. A version
//! is prepared (checked out and built, or its image pulled), started,
//! waited on until healthy and stopped; each instance is recorded in the
//! store while it runs. When the daemon dies its instances keep running
//! (their own sessions, no kill on drop); the next daemon adopts them from
//! the store's records. Dropping the fleet ends supervision and leaves the
//! instances running, as a killed daemon would; [`Fleet::stop_all`] stops
//! them.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use slipway_image::Docker;
use slipway_model::deploy::DeployStore;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::container::{self, ContainerSpec};
use super::env::service_env;
use super::error::{FleetError, Unhealthy};
use super::instance::{self, How, Instance, Launch, Origin, Running, Supervisor};
use super::layout::Layout;
use super::ports::Ports;
use super::process::ProcessSpec;
use super::status::{InstanceEvent, InstanceState, InstanceStatus};
use super::version_source;
use crate::config::{RuntimeConfig, ServiceConfig, Source};

/// How often `wait_healthy` looks.
const WAIT_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub cluster: String,
    /// The repository root (a git work tree).
    pub root: PathBuf,
    /// `<root>/.slipway/clusters/<cluster>`: checkouts, logs.
    pub state_dir: PathBuf,
    /// Health checks of a healthy instance.
    pub health_interval: Duration,
    /// Failed checks in a row before a healthy instance is restarted.
    pub unhealthy_after: u32,
}

impl FleetOptions {
    /// The defaults: state under `<root>/.slipway/clusters/<cluster>`,
    /// checks every 2 s, a restart after 3 failures.
    pub fn new(cluster: &str, root: &Path) -> FleetOptions {
        FleetOptions {
            cluster: cluster.into(),
            root: root.to_path_buf(),
            state_dir: root.join(".slipway").join("clusters").join(cluster),
            health_interval: Duration::from_secs(2),
            unhealthy_after: 3,
        }
    }
}

pub struct Fleet<S: DeployStore> {
    pub(super) inner: Arc<Inner<S>>,
}

impl<S: DeployStore> Clone for Fleet<S> {
    fn clone(&self) -> Self {
        Fleet {
            inner: self.inner.clone(),
        }
    }
}

pub(super) type Versions = BTreeMap<(String, String), Vec<Arc<Instance>>>;

pub(super) struct Inner<S> {
    pub options: FleetOptions,
    pub layout: Layout,
    pub store: S,
    /// Connected on first use: a cluster of processes needs no engine.
    docker: Mutex<Option<Docker>>,
    /// (service, version) -> its instances, in slot order.
    versions: Mutex<Versions>,
    pub ports: Ports,
    /// One async lock per checkout, build, and (service, version) start
    /// or stop, so concurrent calls for the same thing take turns.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    events: broadcast::Sender<InstanceEvent>,
}

impl<S> Drop for Inner<S> {
    fn drop(&mut self) {
        let versions = self.versions.get_mut().unwrap_or_else(|e| e.into_inner());
        for instance in versions.values().flatten() {
            instance.detach();
        }
    }
}

impl<S: DeployStore> Fleet<S> {
    pub fn new(options: FleetOptions, store: S) -> Self {
        let (events, _) = broadcast::channel(1024);
        Fleet {
            inner: Arc::new(Inner {
                layout: Layout::new(&options.state_dir),
                options,
                store,
                docker: Mutex::new(None),
                versions: Mutex::new(BTreeMap::new()),
                ports: Ports::default(),
                locks: Mutex::new(HashMap::new()),
                events,
            }),
        }
    }

    pub fn options(&self) -> &FleetOptions {
        &self.inner.options
    }

    /// Makes a version startable: a process version from `checkout` is
    /// checked out once (shared by every service of the version) and the
    /// service's `build` run in it once; a docker version's image is
    /// pulled unless the engine has it. A `workdir` version needs nothing.
    pub async fn prepare(&self, service: &ServiceConfig, version: &str) -> Result<(), FleetError> {
        match &service.runtime {
            RuntimeConfig::Process {
                source: Source::Workdir,
                ..
            } => Ok(()),
            RuntimeConfig::Process {
                source: Source::Checkout,
                build,
                ..
            } => {
                let root = &self.inner.options.root;
                let layout = &self.inner.layout;
                let checkout = {
                    let lock = self.lock(format!("checkout\0{version}"));
                    let _turn = lock.lock().await;
                    let commit =
                        version_source::resolve_commit(root, &service.name, version).await?;
                    let dir =
                        version_source::checkout(root, layout, &service.name, version, &commit)
                            .await?;
                    let work = dir.join(&service.path);
                    if !work.is_dir() {
                        return Err(FleetError::VersionNotFound {
                            service: service.name.clone(),
                            version: version.into(),
                            looked_for: format!(
                                "commit {commit} has no folder `{}`",
                                service.path.display()
                            ),
                            hint: format!(
                                "deploy a commit that has it, or correct [services.{}] path",
                                service.name
                            ),
                        });
                    }
                    work
                };
                if let Some(command) = build {
                    let lock = self.lock(format!("build\0{version}\0{}", service.name));
                    let _turn = lock.lock().await;
                    let env = service_env(service, version, &self.inner.options.cluster);
                    version_source::build(layout, service, version, command, &checkout, &env)
                        .await?;
                }
                Ok(())
            }
            RuntimeConfig::Docker { image, .. } => {
                let docker = self.docker(&service.name)?;
                version_source::ensure_image(&docker, &service.name, image, version).await
            }
        }
    }

    /// Starts `service.instances` instances of the version (prepared
    /// first if need be), each on a free loopback port, records them and
    /// supervises them; their addresses in slot order. A version already
    /// started: its addresses. When one cannot be started, the ones
    /// started are stopped and the error returned.
    pub async fn start(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> Result<Vec<SocketAddr>, FleetError> {
        let lock = self.lock(version_key(&service.name, version));
        let _turn = lock.lock().await;
        let running = self.addresses(&service.name, version);
        if !running.is_empty() {
            return Ok(running);
        }
        self.prepare(service, version).await?;
        let mut started: Vec<(Launch, Running, u16)> = Vec::new();
        for slot in 0..service.instances {
            match self.start_one(service, version, slot).await {
                Ok(s) => started.push(s),
                Err(e) => {
                    for (_, mut running, port) in started {
                        running.stop(service.stop_timeout).await;
                        self.inner.ports.release(port);
                    }
                    return Err(e);
                }
            }
        }
        let mut instances = Vec::new();
        let mut failed = None;
        for (launch, running, port) in started {
            let instance = Arc::new(Instance::new(
                &self.inner.options.cluster,
                &launch,
                port,
                service.runtime.kind(),
                self.inner
                    .layout
                    .instance_log(&service.name, version, launch.slot),
                Some(&running),
                Origin {
                    restarts: 0,
                    started_at: instance::now_ms(),
                    stop_timeout: service.stop_timeout,
                },
            ));
            if failed.is_none() {
                if let Err(e) = self.inner.store.save_instance(&instance.record()).await {
                    failed = Some(e);
                }
            }
            self.supervise(service, instance.clone(), launch, Some(running), None);
            instances.push(instance);
        }
        let addresses = instances.iter().map(|i| i.address()).collect();
        if !instances.is_empty() {
            self.lock_versions()
                .insert((service.name.clone(), version.to_string()), instances);
        }
        if let Some(e) = failed {
            // An instance the store does not know would be orphaned by the
            // next daemon: none run.
            self.stop_instances(&service.name, version, Some(service.stop_timeout))
                .await;
            return Err(e.into());
        }
        Ok(addresses)
    }

    async fn start_one(
        &self,
        service: &ServiceConfig,
        version: &str,
        slot: u32,
    ) -> Result<(Launch, Running, u16), FleetError> {
        let port = self.inner.ports.take().map_err(|e| FleetError::Spawn {
            service: service.name.clone(),
            version: version.into(),
            slot,
            message: format!("no free port on 127.0.0.1: {e}"),
        })?;
        let launch = match self.launch(service, version, slot) {
            Ok(l) => l,
            Err(e) => {
                self.inner.ports.release(port);
                return Err(e);
            }
        };
        match launch.start(port, "start").await {
            Ok(running) => Ok((launch, running, port)),
            Err(e) => {
                self.inner.ports.release(port);
                Err(e)
            }
        }
    }

    /// Waits until every instance of the version answers its health path
    /// with 2xx or 3xx.
    pub async fn wait_healthy(
        &self,
        service: &ServiceConfig,
        version: &str,
        timeout: Duration,
    ) -> Result<(), FleetError> {
        let deadline = Instant::now() + timeout;
        loop {
            let instances = self.instances(&service.name, version);
            if instances.is_empty() {
                return Err(FleetError::NotStarted {
                    service: service.name.clone(),
                    version: version.into(),
                });
            }
            let unhealthy: Vec<&Arc<Instance>> = instances
                .iter()
                .filter(|i| i.state() != InstanceState::Healthy)
                .collect();
            if unhealthy.is_empty() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(FleetError::NotHealthy {
                    service: service.name.clone(),
                    version: version.into(),
                    timeout,
                    unhealthy: unhealthy
                        .iter()
                        .map(|i| Unhealthy {
                            slot: i.slot,
                            address: i.address(),
                            answer: i.last_answer(),
                            log: i.log.clone(),
                        })
                        .collect(),
                });
            }
            tokio::time::sleep(WAIT_INTERVAL.min(deadline - now)).await;
        }
    }

    /// Stops the version's instances (SIGTERM to each process group, or
    /// `docker stop`, then SIGKILL after `service.stop_timeout`; containers
    /// are removed), ends their supervision and forgets them. A version
    /// not started here: nothing to do.
    pub async fn stop(&self, service: &ServiceConfig, version: &str) {
        self.stop_version(&service.name, version, Some(service.stop_timeout))
            .await;
    }

    /// `slipway cluster down`: stops every instance.
    pub async fn stop_all(&self) {
        let keys: Vec<(String, String)> = self.lock_versions().keys().cloned().collect();
        let mut stops = tokio::task::JoinSet::new();
        for (service, version) in keys {
            let fleet = self.clone();
            stops.spawn(async move { fleet.stop_version(&service, &version, None).await });
        }
        while stops.join_next().await.is_some() {}
    }

    /// `timeout` None: each instance's own, from its service's config.
    async fn stop_version(&self, service: &str, version: &str, timeout: Option<Duration>) {
        let lock = self.lock(version_key(service, version));
        let _turn = lock.lock().await;
        self.stop_instances(service, version, timeout).await;
    }

    /// [`Fleet::stop_version`] with its turn taken.
    async fn stop_instances(&self, service: &str, version: &str, timeout: Option<Duration>) {
        let instances = self.instances(service, version);
        for i in &instances {
            match timeout {
                Some(t) => i.request_stop(t),
                None => i.request_stop(i.stop_timeout()),
            }
        }
        for i in &instances {
            i.join().await;
        }
        self.lock_versions()
            .remove(&(service.to_string(), version.to_string()));
        for i in &instances {
            // A record left behind is stopped by the next daemon's adopt
            // (found not running, started again, and stopped by whoever
            // stops the version): nothing better to do with the error here.
            let _ = self
                .inner
                .store
                .remove_instance(&self.inner.options.cluster, service, version, i.slot)
                .await;
            self.inner.ports.release(i.port);
        }
    }

    /// Addresses of the version's instances, in slot order (empty: none).
    pub fn addresses(&self, service: &str, version: &str) -> Vec<SocketAddr> {
        self.instances(service, version)
            .iter()
            .map(|i| i.address())
            .collect()
    }

    /// The versions of a service that have instances here.
    pub fn versions(&self, service: &str) -> Vec<String> {
        self.lock_versions()
            .keys()
            .filter(|(s, _)| s == service)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn status(&self) -> Vec<InstanceStatus> {
        self.lock_versions()
            .values()
            .flatten()
            .map(|i| i.status())
            .collect()
    }

    /// Every instance's state changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<InstanceEvent> {
        self.inner.events.subscribe()
    }

    /// Hands the instance to a supervisor; an event of its first state.
    pub(super) fn supervise(
        &self,
        service: &ServiceConfig,
        instance: Arc<Instance>,
        launch: Launch,
        running: Option<Running>,
        detail: Option<String>,
    ) {
        let _ = self
            .inner
            .events
            .send(instance::event(&instance, instance.state(), detail));
        Supervisor {
            instance,
            launch,
            store: self.inner.store.clone(),
            events: self.inner.events.clone(),
            health_path: service.health.clone(),
            health_interval: self.inner.options.health_interval,
            unhealthy_after: self.inner.options.unhealthy_after,
        }
        .spawn(running);
    }

    pub(super) fn launch(
        &self,
        service: &ServiceConfig,
        version: &str,
        slot: u32,
    ) -> Result<Launch, FleetError> {
        let options = &self.inner.options;
        let log = self.inner.layout.instance_log(&service.name, version, slot);
        let env = service_env(service, version, &options.cluster);
        let how = match &service.runtime {
            RuntimeConfig::Process {
                source, command, ..
            } => How::Process(ProcessSpec {
                command: command.clone(),
                dir: match source {
                    Source::Checkout => self.inner.layout.checkout(version).join(&service.path),
                    Source::Workdir => options.root.join(&service.path),
                },
                env,
                log,
            }),
            RuntimeConfig::Docker {
                image,
                container_port,
            } => How::Container(ContainerSpec {
                docker: self.docker(&service.name)?,
                name: container::container_name(&options.cluster, &service.name, version, slot),
                image: format!("{image}:{version}"),
                container_port: *container_port,
                env,
                labels: container::labels(&options.cluster, &service.name, version, slot),
                log,
            }),
        };
        Ok(Launch {
            service: service.name.clone(),
            version: version.into(),
            slot,
            how,
        })
    }

    pub(super) fn docker(&self, service: &str) -> Result<Docker, FleetError> {
        let mut docker = self.inner.docker.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = &*docker {
            return Ok(d.clone());
        }
        let d = Docker::connect().map_err(|source| FleetError::Docker {
            service: service.into(),
            action: "connecting to the Docker Engine".into(),
            source,
        })?;
        *docker = Some(d.clone());
        Ok(d)
    }

    pub(super) fn instances(&self, service: &str, version: &str) -> Vec<Arc<Instance>> {
        self.lock_versions()
            .get(&(service.to_string(), version.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn lock_versions(&self) -> MutexGuard<'_, Versions> {
        self.inner
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn lock(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }
}

pub(super) fn version_key(service: &str, version: &str) -> String {
    format!("instances\0{service}\0{version}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;

    fn send<T: Send>(_: &T) {}

    /// The daemon runs these on a multi-threaded runtime, behind traits
    /// that want `Send` futures.
    #[allow(dead_code)]
    fn futures_are_send(fleet: Fleet<MemoryStore>, s: ServiceConfig) {
        send(&fleet.prepare(&s, "v"));
        send(&fleet.start(&s, "v"));
        send(&fleet.wait_healthy(&s, "v", Duration::ZERO));
        send(&fleet.stop(&s, "v"));
        send(&fleet.stop_all());
        send(&fleet.adopt(Vec::new(), &BTreeMap::new()));
    }
}
