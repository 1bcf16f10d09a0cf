//! What can go wrong running a cluster's instances, as data: the deploy
//! controller tells a version that does not exist (bad input, exit 2)
//! from a build that failed or a machine that misbehaves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use slipway_image::DockerError;
use slipway_model::deploy::StoreFailure;

use super::process::describe_exit;
use crate::duration;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// No such commit, no such image in the engine nor in its registry.
    #[error("service `{service}`: version `{version}` does not exist: {looked_for}; {hint}")]
    VersionNotFound {
        service: String,
        version: String,
        /// What was looked for, and where.
        looked_for: String,
        /// What to do about it.
        hint: String,
    },
    #[error("service `{service}` version `{version}`: the build `{command}` {}; the last lines of its output ({}):\n{tail}", describe_exit(*status), log.display())]
    BuildFailed {
        service: String,
        version: String,
        command: String,
        status: std::process::ExitStatus,
        /// The last lines the build printed.
        tail: String,
        log: PathBuf,
    },
    #[error("service `{service}` version `{version}` did not become healthy within {}:{}", duration::format(*timeout), list(unhealthy))]
    NotHealthy {
        service: String,
        version: String,
        timeout: Duration,
        unhealthy: Vec<Unhealthy>,
    },
    #[error(
        "service `{service}` version `{version}` has no instances in this cluster: start it first"
    )]
    NotStarted { service: String, version: String },
    #[error(
        "service `{service}` version `{version}`: instance {slot} cannot be started: {message}"
    )]
    Spawn {
        service: String,
        version: String,
        slot: u32,
        message: String,
    },
    #[error("service `{service}` version `{version}`: `git {command}` in {dir} failed: {message}")]
    Git {
        service: String,
        version: String,
        command: String,
        dir: PathBuf,
        message: String,
    },
    #[error("service `{service}`: {action}: {source}")]
    Docker {
        service: String,
        /// What was being done, e.g. `pulling image r/a:v1`.
        action: String,
        #[source]
        source: DockerError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the deploy store failed: {0}")]
    Store(#[from] StoreFailure),
}

impl FleetError {
    /// The request named something that does not exist: the caller's
    /// mistake (exit code 2), not the machine's.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, FleetError::VersionNotFound { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FleetError {
        let path = path.into();
        move |source| FleetError::Io { path, source }
    }
}

/// One instance that was not healthy when the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy {
    pub slot: u32,
    pub address: SocketAddr,
    /// Its last answer: `GET /health answered 503`, `connection refused`,
    /// `exited with code 3 (restarted 4 times)`.
    pub answer: String,
    pub log: PathBuf,
}

/// One line (it ends up in a deploy's reason, a table cell): each
/// instance's last answer and where its output is.
fn list(unhealthy: &[Unhealthy]) -> String {
    let each: Vec<String> = unhealthy
        .iter()
        .map(|u| {
            format!(
                " instance {} at {}: {} (log: {})",
                u.slot,
                u.address,
                u.answer,
                u.log.display()
            )
        })
        .collect();
    each.join(";")
}
