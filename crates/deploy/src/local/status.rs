//! What the fleet tells about its instances, as plain data: their status
//! now (`slipway cluster status`), their changes as they happen, and what
//! became of each after a daemon restart.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Serialize;

/// An instance's state; its text (`as_str`) is what [`InstanceStatus`] and
/// [`InstanceEvent`] carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Started (or restarted, or adopted); not healthy yet.
    Starting,
    Healthy,
    /// Was healthy; its last health check failed.
    Unhealthy,
    /// Exited, or stopped after failing its checks; waiting to start again.
    Restarting,
    Stopped,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Starting => "starting",
            InstanceState::Healthy => "healthy",
            InstanceState::Unhealthy => "unhealthy",
            InstanceState::Restarting => "restarting",
            InstanceState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One instance, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub service: String,
    pub version: String,
    pub slot: u32,
    pub address: SocketAddr,
    /// `process` or `docker`.
    pub runtime: String,
    /// The process (group leader) of a process instance.
    pub pid: Option<i64>,
    /// The container id of a docker instance.
    pub container: Option<String>,
    /// `starting`, `healthy`, `unhealthy`, `restarting` or `stopped`.
    pub state: String,
    pub restarts: u32,
    /// What the last health check found (`GET /health answered 200`), or
    /// how the instance last ended (`exited with code 3`).
    pub last_check: Option<String>,
    /// Its output: a process's stdout and stderr; a container's, copied
    /// while the daemon runs.
    pub log: Option<PathBuf>,
}

/// An instance changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceEvent {
    pub service: String,
    pub version: String,
    pub slot: u32,
    pub address: SocketAddr,
    /// As in [`InstanceStatus::state`].
    pub state: String,
    /// Why: the failed check's answer, how it exited, ...
    pub detail: Option<String>,
}

/// What [`Fleet::adopt`](super::Fleet::adopt) did with a recorded instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Adopted {
    /// It still ran: supervised again, untouched.
    Running,
    /// It was gone: started again on its recorded port.
    Restarted,
    /// Its service is no longer configured: stopped and forgotten.
    Stopped,
}
