//! What commands and the cluster daemon say to each other over the admin
//! API, as JSON: requests, answers and the status of a cluster. The README
//! documents these shapes.

use serde::{Deserialize, Serialize};
use slipway_model::deploy::{DeployRecord, Held, Strategy};

use crate::settings::SettingsPatch;

/// `POST /api/v1/deploys`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    pub strategy: Strategy,
    /// The image tag (docker services) or the commit (process services).
    pub version: String,
    /// `None`: every service of the cluster.
    pub services: Option<Vec<String>>,
    /// Flags that override the cluster's settings.
    #[serde(default)]
    pub settings: SettingsPatch,
    pub actor: Option<String>,
}

/// `POST /api/v1/rollback`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// `None`: every service of the cluster.
    pub services: Option<Vec<String>>,
    pub actor: Option<String>,
}

/// The answer to a deploy or rollback: the deploy to follow
/// (`GET /api/v1/deploys/{id}/events`), or, when nothing had to change, no
/// deploy and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub deploy: Option<i64>,
    pub message: String,
}

/// `POST /api/v1/deploys/{id}/abort`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortRequest {
    pub reason: String,
}

/// Every error answer: `{"error": {"kind": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid` (bad input: exit 2), `held` (another deploy holds a
    /// service: exit 2), `not_found`, `unauthorized`, `internal`.
    pub kind: String,
    pub message: String,
    /// With `held`: who holds the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
}

/// `GET /api/v1/status`: the cluster as it runs now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub cluster: String,
    pub pid: u32,
    pub admin: String,
    pub started_at: i64,
    /// The window `figures` are read over, in seconds.
    pub window_seconds: u64,
    pub services: Vec<ServiceStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: String,
    /// Where users reach it: the router's listener.
    pub listen: Option<String>,
    pub active: Option<String>,
    /// Kept for an instant rollback until `retire_at`.
    pub previous: Option<String>,
    pub retire_at: Option<i64>,
    /// Requests answered 503 because no version had weight.
    pub unrouted: u64,
    pub versions: Vec<VersionStatus>,
    /// The last deploy that touched the service.
    pub last_deploy: Option<DeploySummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionStatus {
    pub version: String,
    pub weight: u32,
    pub traffic_percent: f64,
    pub requests: u64,
    pub error_rate_percent: Option<f64>,
    pub p95_ms: Option<f64>,
    pub instances: Vec<InstanceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub slot: u32,
    pub address: String,
    /// `starting`, `healthy`, `unhealthy`, `restarting`, `stopped`.
    pub state: String,
    pub pid: Option<i64>,
    pub container: Option<String>,
    pub restarts: u32,
    pub log: Option<String>,
}

/// A deploy, short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploySummary {
    pub id: i64,
    pub strategy: Strategy,
    pub version: String,
    pub state: String,
    pub phase: String,
    pub reason: Option<String>,
    pub actor: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

impl From<&DeployRecord> for DeploySummary {
    fn from(d: &DeployRecord) -> Self {
        DeploySummary {
            id: d.id,
            strategy: d.strategy,
            version: d.version.clone(),
            state: d.state.as_str().to_string(),
            phase: d.phase.clone(),
            reason: d.reason.clone(),
            actor: d.actor.clone(),
            started_at: d.started_at,
            finished_at: d.finished_at,
        }
    }
}
