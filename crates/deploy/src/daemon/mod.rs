//! The local cluster's daemon: one process per cluster that runs the
//! router (one listener per service), supervises the instances, runs
//! deploys and rollbacks, retires kept versions when their time comes,
//! and answers the admin API. Its state lives in the store, so when it is
//! killed and started again it re-adopts what runs and routes as before
//! (see `recovery.rs`).

mod api;
mod cluster;
mod deploys;
mod events;
pub mod info;
mod recovery;
mod retire;
mod status;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use slipway_model::deploy::{DeployEventRecord, DeployStore};
use slipway_notify::Notifier;
use slipway_router::{Router, RouterOptions};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use cluster::LocalCluster;
use events::DeployEvents;
use info::{cluster_dir, new_token, DaemonInfo, DaemonLock};

use crate::config::{ConfigError, DeployConfig};
use crate::controller::{system_now_ms, Abort};
use crate::local::{Fleet, FleetOptions};

/// How long the router keeps figures: the longest window a deploy's
/// analysis (or `slipway monitor`) can read.
pub const RETENTION: Duration = Duration::from_secs(300);

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad input: an unknown cluster, a port in use.
    #[error("{0}")]
    Invalid(String),
    #[error("the daemon of cluster `{cluster}` already runs{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning { cluster: String, pid: Option<u32> },
    #[error("{0}")]
    Failed(String),
}

impl DaemonError {
    /// Exit 2: the user can fix it by changing what they asked or wrote.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, DaemonError::Config(_) | DaemonError::Invalid(_))
    }
}

/// A deploy in progress.
struct Running<S> {
    abort: Abort,
    live: broadcast::Sender<DeployEventRecord>,
    events: Arc<DeployEvents<S>>,
    /// (service, version being deployed)
    targets: Vec<(String, String)>,
}

pub struct Daemon<S: DeployStore> {
    pub root: PathBuf,
    pub cluster: String,
    pub info: DaemonInfo,
    store: S,
    local: Arc<LocalCluster<S>>,
    notifier: Option<Arc<Notifier>>,
    running: Mutex<BTreeMap<i64, Running<S>>>,
    /// Read again for every deploy, so a service added to `slipway.toml`
    /// can be deployed without restarting the daemon.
    config: RwLock<Arc<DeployConfig>>,
    shutdown: CancellationToken,
    /// Whether shutting down stops the instances too (`cluster down`).
    stop_instances: Mutex<bool>,
}

/// How the daemon is started (`slipway cluster daemon`).
pub struct DaemonOptions {
    pub root: PathBuf,
    pub cluster: String,
    /// Called once the daemon answers, with its record.
    pub on_ready: Box<dyn FnOnce(&DaemonInfo) + Send>,
}

/// Runs the daemon until `cluster down`, SIGTERM or SIGINT.
pub async fn run<S: DeployStore>(options: DaemonOptions, store: S) -> Result<(), DaemonError> {
    let config = Arc::new(DeployConfig::load(&options.root)?);
    let cluster = config
        .cluster(Some(&options.cluster))
        .map_err(DaemonError::Invalid)?
        .clone();
    let dir = cluster_dir(&options.root, &cluster.name);
    std::fs::create_dir_all(&dir)
        .map_err(|e| DaemonError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let Some(_lock) = DaemonLock::try_take(&dir)
        .map_err(|e| DaemonError::Failed(format!("cannot lock {}: {e}", dir.display())))?
    else {
        return Err(DaemonError::AlreadyRunning {
            cluster: cluster.name.clone(),
            pid: DaemonInfo::read(&dir).map(|i| i.pid),
        });
    };

    let router = Router::with_options(RouterOptions {
        retention: RETENTION,
        ..RouterOptions::default()
    });
    let fleet = Fleet::new(
        FleetOptions {
            cluster: cluster.name.clone(),
            root: options.root.clone(),
            state_dir: dir.clone(),
            health_interval: Duration::from_secs(2),
            unhealthy_after: 3,
        },
        store.clone(),
    );
    let local = Arc::new(LocalCluster::new(
        &cluster.name,
        &options.root,
        router.clone(),
        fleet,
        store.clone(),
    ));

    // The admin port first: a port in use fails before anything starts.
    let admin_addr = cluster
        .admin
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(admin_addr)
        .await
        .map_err(|e| {
            DaemonError::Invalid(format!(
                "cannot listen on {admin_addr} for the admin API of cluster `{}`: {e}; choose another [clusters.{}] admin",
                cluster.name, cluster.name
            ))
        })?;
    let admin = listener
        .local_addr()
        .map_err(|e| DaemonError::Failed(e.to_string()))?;

    recovery::recover(&local, &store, &config, &cluster).await?;

    let info = DaemonInfo {
        pid: std::process::id(),
        cluster: cluster.name.clone(),
        admin,
        token: new_token().map_err(|e| DaemonError::Failed(format!("cannot make a token: {e}")))?,
        started_at: system_now_ms(),
    };
    info.write(&dir)
        .map_err(|e| DaemonError::Failed(format!("cannot write {}: {e}", dir.display())))?;

    let notifier = match Notifier::for_repo(&options.root) {
        Ok(n) => Some(Arc::new(n)),
        Err(e) => {
            eprintln!("notifications are off: {e}");
            None
        }
    };
    let daemon = Arc::new(Daemon {
        root: options.root.clone(),
        cluster: cluster.name.clone(),
        info: info.clone(),
        store,
        local,
        notifier,
        running: Mutex::new(BTreeMap::new()),
        config: RwLock::new(config),
        shutdown: CancellationToken::new(),
        stop_instances: Mutex::new(true),
    });
    (options.on_ready)(&info);
    println!(
        "cluster {} ready: admin API on http://{admin} (pid {})",
        cluster.name, info.pid
    );

    let server = tokio::spawn(api::serve(daemon.clone(), listener));
    let retire = tokio::spawn(retire::run(daemon.clone()));
    let forward = tokio::spawn(forward_instance_events(daemon.clone()));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| DaemonError::Failed(format!("cannot watch SIGTERM: {e}")))?;
    tokio::select! {
        _ = daemon.shutdown.cancelled() => {}
        _ = term.recv() => println!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => println!("SIGINT: stopping"),
        _ = gone(&dir) => println!("{} was removed: stopping", dir.display()),
    }
    daemon.shutdown.cancel();
    daemon.stop().await;
    retire.abort();
    forward.abort();
    server.abort();
    DaemonInfo::remove(&dir);
    Ok(())
}

/// Resolves when the cluster's folder is gone (its repository deleted,
/// as a test's temporary one is): nothing is left to serve for.
async fn gone(dir: &std::path::Path) {
    while dir.exists() {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

impl<S: DeployStore> Daemon<S> {
    fn config(&self) -> Arc<DeployConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `slipway.toml` as it is now (the daemon's copy stays when the file
    /// became unreadable, and the error is returned).
    fn reload(&self) -> Result<Arc<DeployConfig>, ConfigError> {
        let fresh = Arc::new(DeployConfig::load(&self.root)?);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Running<S>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a deploy in progress holds the service.
    fn busy(&self, service: &str) -> bool {
        self.running()
            .values()
            .any(|r| r.targets.iter().any(|(s, _)| s == service))
    }

    /// Asks the daemon to stop; `stop_instances` false leaves them running
    /// (to be adopted by the next daemon).
    pub fn request_shutdown(&self, stop_instances: bool) {
        *self
            .stop_instances
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = stop_instances;
        self.shutdown.cancel();
    }

    /// Rolls back what is in progress, then stops instances and listeners.
    async fn stop(&self) {
        let aborts: Vec<(i64, Abort)> = self
            .running()
            .iter()
            .map(|(id, r)| (*id, r.abort.clone()))
            .collect();
        for (_, abort) in &aborts {
            abort.abort("the cluster daemon is stopping");
        }
        // The rollbacks take a moment (drain, stop).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !self.running().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stop_instances = *self
            .stop_instances
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if stop_instances {
            self.local.stop_all().await;
        }
        self.local.router().shutdown().await;
    }
}

/// An instance's state changes, told to the deploy that runs its version.
async fn forward_instance_events<S: DeployStore>(daemon: Arc<Daemon<S>>) {
    let mut rx = daemon.local.subscribe();
    loop {
        let e = match rx.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        println!(
            "{} {} #{} at {}: {}{}",
            e.service,
            e.version,
            e.slot,
            e.address,
            e.state,
            e.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
        let sinks: Vec<Arc<DeployEvents<S>>> = daemon
            .running()
            .values()
            .filter(|r| {
                r.targets
                    .iter()
                    .any(|(s, v)| *s == e.service && *v == e.version)
            })
            .map(|r| r.events.clone())
            .collect();
        for sink in sinks {
            use crate::ports::Events;
            sink.emit(slipway_model::deploy::DeployEvent::Instance {
                service: e.service.clone(),
                version: e.version.clone(),
                slot: e.slot,
                address: e.address.to_string(),
                state: e.state.clone(),
                detail: e.detail.clone(),
            })
            .await;
        }
    }
}
