//! One supervised instance: its state as the fleet reports it, and the
//! task that keeps it running. The task restarts it when it exits (with
//! back-off) or when it fails its health checks too many times in a row,
//! and stops it when asked. Dropping the fleet aborts the task and leaves
//! the instance running, as a killed daemon would.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use slipway_model::deploy::{DeployStore, InstanceRecord};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::container::{self, ContainerSpec, RunningContainer};
use super::error::FleetError;
use super::health;
use super::process::{self, ProcessSpec, RunningProcess};
use super::status::{InstanceEvent, InstanceState, InstanceStatus};

/// Health checks of an instance not yet healthy: often, so a deploy
/// waiting on it moves on soon.
const STARTING_INTERVAL: Duration = Duration::from_millis(250);

/// How to start one instance (again).
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub service: String,
    pub version: String,
    pub slot: u32,
    pub how: How,
}

#[derive(Debug, Clone)]
pub(crate) enum How {
    Process(ProcessSpec),
    Container(ContainerSpec),
}

/// A started instance, as its supervisor holds it.
#[derive(Debug)]
pub(crate) enum Running {
    Process(RunningProcess),
    Container(RunningContainer),
}

impl Launch {
    /// Starts it on `port`; `note` goes into its log (`start`, `restart 2`).
    pub async fn start(&self, port: u16, note: &str) -> Result<Running, FleetError> {
        match &self.how {
            How::Process(spec) => process::spawn(spec, port, note)
                .map(Running::Process)
                .map_err(|e| FleetError::Spawn {
                    service: self.service.clone(),
                    version: self.version.clone(),
                    slot: self.slot,
                    message: e.to_string(),
                }),
            How::Container(spec) => container::start(spec, port)
                .await
                .map(Running::Container)
                .map_err(|source| FleetError::Docker {
                    service: self.service.clone(),
                    action: format!(
                        "starting container {} from {} for instance {} of version `{}`",
                        spec.name, spec.image, self.slot, self.version
                    ),
                    source,
                }),
        }
    }
}

impl Running {
    /// Waits until it has ended; says how. Cancel-safe.
    pub async fn exited(&mut self) -> String {
        match self {
            Running::Process(p) => p.exited().await,
            Running::Container(c) => c.exited().await,
        }
    }

    /// Stops it: SIGTERM (or `docker stop`), SIGKILL after `timeout`.
    pub async fn stop(&mut self, timeout: Duration) {
        match self {
            Running::Process(p) => p.stop(timeout).await,
            Running::Container(c) => c.stop(timeout).await,
        }
    }

    /// After it ended on its own: what it left goes (the rest of its
    /// process group; the container, whose name the restart takes).
    pub async fn clean_up(&mut self) {
        match self {
            Running::Process(p) => p.kill_leftovers(),
            Running::Container(c) => c.remove().await,
        }
    }

    fn identity(&self) -> (Option<u32>, Option<i64>, Option<String>) {
        match self {
            Running::Process(p) => (Some(p.pid), Some(p.start_time), None),
            Running::Container(c) => (None, None, Some(c.id.clone())),
        }
    }
}

/// One instance as the fleet knows it.
#[derive(Debug)]
pub(crate) struct Instance {
    pub cluster: String,
    pub service: String,
    pub version: String,
    pub slot: u32,
    pub port: u16,
    pub runtime: &'static str,
    pub log: PathBuf,
    live: Mutex<Live>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Clone)]
struct Live {
    state: InstanceState,
    pid: Option<u32>,
    pid_start: Option<i64>,
    container: Option<String>,
    restarts: u32,
    last_check: Option<String>,
    /// How it last ended, kept when later checks overwrite `last_check`.
    last_exit: Option<String>,
    started_at: i64,
    stop_timeout: Duration,
}

/// Where an instance starts from.
pub(crate) struct Origin {
    pub restarts: u32,
    pub started_at: i64,
    pub stop_timeout: Duration,
}

impl Instance {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cluster: &str,
        launch: &Launch,
        port: u16,
        runtime: &'static str,
        log: PathBuf,
        running: Option<&Running>,
        origin: Origin,
    ) -> Instance {
        let (pid, pid_start, container) = running.map(Running::identity).unwrap_or_default();
        Instance {
            cluster: cluster.into(),
            service: launch.service.clone(),
            version: launch.version.clone(),
            slot: launch.slot,
            port,
            runtime,
            log,
            live: Mutex::new(Live {
                state: if running.is_some() {
                    InstanceState::Starting
                } else {
                    InstanceState::Restarting
                },
                pid,
                pid_start,
                container,
                restarts: origin.restarts,
                last_check: None,
                last_exit: None,
                started_at: origin.started_at,
                stop_timeout: origin.stop_timeout,
            }),
            stop: CancellationToken::new(),
            task: Mutex::new(None),
        }
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> InstanceState {
        self.live().state
    }

    pub fn set_last_check(&self, text: String) {
        self.live().last_check = Some(text);
    }

    pub fn status(&self) -> InstanceStatus {
        let live = self.live().clone();
        InstanceStatus {
            service: self.service.clone(),
            version: self.version.clone(),
            slot: self.slot,
            address: self.address(),
            runtime: self.runtime.into(),
            pid: live.pid.map(i64::from),
            container: live.container,
            state: live.state.as_str().into(),
            restarts: live.restarts,
            last_check: live.last_check,
            log: Some(self.log.clone()),
        }
    }

    pub fn record(&self) -> InstanceRecord {
        let live = self.live().clone();
        InstanceRecord {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
            version: self.version.clone(),
            slot: self.slot,
            port: self.port,
            runtime: self.runtime.into(),
            pid: live.pid.map(i64::from),
            pid_start: live.pid_start,
            container: live.container,
            restarts: live.restarts,
            started_at: live.started_at,
        }
    }

    /// Why it is not healthy, for an error message: its last answer, and
    /// how it last ended if it has been restarted.
    pub fn last_answer(&self) -> String {
        let live = self.live();
        let mut answer = live
            .last_check
            .clone()
            .unwrap_or_else(|| "not checked yet".into());
        if let Some(exit) = &live.last_exit {
            let times = match live.restarts {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            if answer != *exit {
                answer = format!("{answer}; before that it {exit}");
            }
            if live.restarts > 0 {
                answer = format!("{answer} (restarted {times})");
            }
        }
        answer
    }

    /// Its service's stop timeout (SIGTERM to SIGKILL).
    pub fn stop_timeout(&self) -> Duration {
        self.live().stop_timeout
    }

    /// Asks its supervisor to stop it (SIGKILL after `timeout`).
    pub fn request_stop(&self, timeout: Duration) {
        self.live().stop_timeout = timeout;
        self.stop.cancel();
    }

    /// Waits for its supervisor to end (after [`Instance::request_stop`]).
    pub async fn join(&self) {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Ends supervision and leaves the instance running.
    pub fn detach(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// The task that keeps one instance running.
pub(crate) struct Supervisor<S> {
    pub instance: Arc<Instance>,
    pub launch: Launch,
    pub store: S,
    pub events: broadcast::Sender<InstanceEvent>,
    pub health_path: String,
    pub health_interval: Duration,
    pub unhealthy_after: u32,
}

enum Outcome {
    Stop,
    Exited(String),
    Unhealthy(String),
}

impl<S: DeployStore> Supervisor<S> {
    /// Supervises `running`, or starts the instance first (after a
    /// back-off) when there is none.
    pub fn spawn(self, running: Option<Running>) {
        let instance = self.instance.clone();
        let mut task = instance.task.lock().unwrap_or_else(|e| e.into_inner());
        *task = Some(tokio::spawn(self.run(running)));
    }

    async fn run(self, mut running: Option<Running>) {
        let mut backoff = Backoff::default();
        loop {
            let mut current = match running.take() {
                Some(r) => r,
                None => match self.start_again(&mut backoff).await {
                    Some(r) => r,
                    None => return,
                },
            };
            let up_since = Instant::now();
            let outcome = tokio::select! {
                biased;
                _ = self.instance.stop.cancelled() => Outcome::Stop,
                how = current.exited() => Outcome::Exited(how),
                reason = self.watch_health() => Outcome::Unhealthy(reason),
            };
            match outcome {
                Outcome::Stop => {
                    let timeout = self.instance.live().stop_timeout;
                    current.stop(timeout).await;
                    self.set_state(InstanceState::Stopped, None);
                    return;
                }
                Outcome::Exited(how) => {
                    current.clean_up().await;
                    {
                        let mut live = self.instance.live();
                        live.last_check = Some(how.clone());
                        live.last_exit = Some(how.clone());
                    }
                    self.set_state(InstanceState::Restarting, Some(how));
                }
                Outcome::Unhealthy(reason) => {
                    let timeout = self.instance.live().stop_timeout;
                    current.stop(timeout).await;
                    let how = format!("was stopped after failing its health checks: {reason}");
                    self.instance.live().last_exit = Some(how.clone());
                    self.set_state(InstanceState::Restarting, Some(how));
                }
            }
            backoff.ran_for(up_since.elapsed());
        }
    }

    /// Waits out the back-off and starts the instance again, on its port,
    /// for as long as it takes; None when asked to stop meanwhile.
    async fn start_again(&self, backoff: &mut Backoff) -> Option<Running> {
        loop {
            let delay = backoff.next_delay();
            tokio::select! {
                biased;
                _ = self.instance.stop.cancelled() => {
                    self.set_state(InstanceState::Stopped, None);
                    return None;
                }
                _ = tokio::time::sleep(delay) => {}
            }
            let restarts = self.instance.live().restarts + 1;
            match self
                .launch
                .start(self.instance.port, &format!("restart {restarts}"))
                .await
            {
                Ok(running) => {
                    let (pid, pid_start, container) = running.identity();
                    {
                        let mut live = self.instance.live();
                        live.pid = pid;
                        live.pid_start = pid_start;
                        live.container = container;
                        live.restarts = restarts;
                        live.started_at = now_ms();
                    }
                    let detail = match self.store.save_instance(&self.instance.record()).await {
                        Ok(()) => format!("restart {restarts}"),
                        Err(e) => format!("restart {restarts}; the store did not record it: {e}"),
                    };
                    self.set_state(InstanceState::Starting, Some(detail));
                    return Some(running);
                }
                Err(e) => {
                    let text = format!("cannot start again: {e}");
                    self.instance.set_last_check(text.clone());
                    self.emit(InstanceState::Restarting, Some(text));
                }
            }
        }
    }

    /// Checks health until the instance, having been healthy, fails
    /// `unhealthy_after` checks in a row; what the last one found. An
    /// instance not yet healthy is only waited on: a slow start is not a
    /// failure.
    async fn watch_health(&self) -> String {
        let mut healthy_once = false;
        let mut failures = 0u32;
        loop {
            let pause = if healthy_once {
                self.health_interval
            } else {
                STARTING_INTERVAL
            };
            tokio::time::sleep(pause).await;
            let check =
                health::check(self.instance.address(), &self.health_path, health::TIMEOUT).await;
            self.instance.set_last_check(check.answer.clone());
            if check.healthy {
                failures = 0;
                healthy_once = true;
                self.set_state(InstanceState::Healthy, None);
            } else if healthy_once {
                failures += 1;
                self.set_state(InstanceState::Unhealthy, Some(check.answer.clone()));
                if failures >= self.unhealthy_after.max(1) {
                    return format!("{} ({failures} checks in a row)", check.answer);
                }
            }
        }
    }

    /// Moves to `state`; an event when that is a change.
    fn set_state(&self, state: InstanceState, detail: Option<String>) {
        let changed = {
            let mut live = self.instance.live();
            let changed = live.state != state;
            live.state = state;
            changed
        };
        if changed {
            self.emit(state, detail);
        }
    }

    fn emit(&self, state: InstanceState, detail: Option<String>) {
        let _ = self.events.send(event(&self.instance, state, detail));
    }
}

pub(crate) fn event(
    instance: &Instance,
    state: InstanceState,
    detail: Option<String>,
) -> InstanceEvent {
    InstanceEvent {
        service: instance.service.clone(),
        version: instance.version.clone(),
        slot: instance.slot,
        address: instance.address(),
        state: state.as_str().into(),
        detail,
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Restart delays: 0.5 s doubling to 30 s, back to 0.5 s once an
/// instance has stayed up a minute.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(30);
const RESET_AFTER: Duration = Duration::from_secs(60);

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_DELAY }
    }
}

impl Backoff {
    fn ran_for(&mut self, up: Duration) {
        if up >= RESET_AFTER {
            self.next = FIRST_DELAY;
        }
    }

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_DELAY);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets_after_a_long_run() {
        let mut b = Backoff::default();
        let delays: Vec<u128> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.ran_for(Duration::from_secs(59));
        assert_eq!(b.next_delay(), MAX_DELAY);
        b.ran_for(RESET_AFTER);
        assert_eq!(b.next_delay(), FIRST_DELAY);
    }
}
