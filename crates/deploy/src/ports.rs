//! What the deploy controller needs from a cluster, as small traits: the
//! local cluster implements them over its fleet of instances and the
//! router; the controller's tests implement them with fakes.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use slipway_model::deploy::{DeployEvent, VersionFigures};

use crate::config::ServiceConfig;

/// Why instances could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceError {
    /// The request was wrong (a version that does not exist): exit 2.
    pub bad_input: bool,
    pub message: String,
}

impl std::fmt::Display for InstanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One smoke check of a new version, run against it directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeResult {
    /// `GET /health` or the command.
    pub check: String,
    pub ok: bool,
    /// What it answered, or why it failed.
    pub detail: String,
}

/// The instances of a cluster's service versions.
///
/// Lifecycle: a version is prepared (checked out and built, or its image
/// found), started, waited on until healthy, smoke-tested, and stopped
/// when it no longer serves. Every call for one (service, version) comes
/// from one deploy at a time.
pub trait Instances: Send + Sync + 'static {
    fn prepare(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> impl Future<Output = Result<(), InstanceError>> + Send;

    /// Starts the service's instances of the version; their addresses.
    fn start(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, InstanceError>> + Send;

    fn wait_healthy(
        &self,
        service: &ServiceConfig,
        version: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), InstanceError>> + Send;

    fn smoke(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> impl Future<Output = Vec<SmokeResult>> + Send;

    fn stop(&self, service: &ServiceConfig, version: &str) -> impl Future<Output = ()> + Send;

    /// Addresses of the version's running instances (empty: none).
    fn addresses(&self, service: &str, version: &str) -> Vec<SocketAddr>;
}

/// One version in a service's route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub version: String,
    /// Percent of the service's traffic.
    pub weight: u32,
    pub upstreams: Vec<SocketAddr>,
}

/// The traffic of a cluster's services, and what the cluster remembers of
/// them.
///
/// Lifecycle: `route` replaces a service's route table in one atomic swap
/// and records it, so that a restarted cluster routes as before.
pub trait Routing: Send + Sync + 'static {
    fn route(
        &self,
        service: &str,
        routes: &[Route],
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// The route table now.
    fn routes(&self, service: &str) -> Vec<Route>;

    /// Records which version serves and which is kept for a rollback, and
    /// when that one is to be stopped (ms since the epoch).
    fn set_active(
        &self,
        service: &str,
        active: Option<&str>,
        previous: Option<&str>,
        retire_at: Option<i64>,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Each version's figures over the last `window`.
    fn figures(&self, service: &str, window: Duration) -> Vec<VersionFigures>;

    /// Waits (at most `timeout`) until a version without weight has no
    /// request in flight.
    fn wait_drained(
        &self,
        service: &str,
        version: &str,
        timeout: Duration,
    ) -> impl Future<Output = ()> + Send;
}

/// Where a deploy's events go: the store, whoever follows the deploy, the
/// notifier.
pub trait Events: Send + Sync + 'static {
    fn emit(&self, event: DeployEvent) -> impl Future<Output = ()> + Send;
}
