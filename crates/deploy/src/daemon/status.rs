//! `GET /api/v1/status`: each service's versions with their weights,
//! instances and figures, which version serves and the last deploy.

use std::time::Duration;

use slipway_model::deploy::DeployStore;

use super::Daemon;
use crate::protocol::{ClusterStatus, DeploySummary, InstanceView, ServiceStatus, VersionStatus};

impl<S: DeployStore> Daemon<S> {
    pub async fn status(&self, window: Duration) -> ClusterStatus {
        let config = self.config();
        let names = match config.cluster(Some(&self.cluster)) {
            Ok(c) => config.cluster_service_names(c),
            Err(_) => Vec::new(),
        };
        let instances = self.local.fleet.status();
        let mut services = Vec::new();
        for name in names {
            let record = self.local.record(&name);
            let stats = self.local.router().stats(&name, window).ok();
            let mut versions: Vec<VersionStatus> = Vec::new();
            if let Some(stats) = &stats {
                for v in &stats.versions {
                    if v.status == slipway_router::VersionStatus::Removed {
                        continue;
                    }
                    versions.push(VersionStatus {
                        version: v.name.clone(),
                        weight: v.weight,
                        traffic_percent: v.traffic_percent,
                        requests: v.window.requests,
                        error_rate_percent: v.window.error_rate_percent,
                        p95_ms: v.window.latency_ms.map(|l| l.p95),
                        instances: Vec::new(),
                    });
                }
            }
            for i in instances.iter().filter(|i| i.service == name) {
                let view = InstanceView {
                    slot: i.slot,
                    address: i.address.to_string(),
                    state: i.state.clone(),
                    pid: i.pid,
                    container: i.container.clone(),
                    restarts: i.restarts,
                    log: i.log.as_ref().map(|p| p.display().to_string()),
                };
                match versions.iter_mut().find(|v| v.version == i.version) {
                    Some(v) => v.instances.push(view),
                    None => versions.push(VersionStatus {
                        version: i.version.clone(),
                        weight: 0,
                        traffic_percent: 0.0,
                        requests: 0,
                        error_rate_percent: None,
                        p95_ms: None,
                        instances: vec![view],
                    }),
                }
            }
            let last_deploy = self
                .store
                .deploys(Some(&self.cluster), Some(&name), 1)
                .await
                .ok()
                .and_then(|d| d.first().map(DeploySummary::from));
            services.push(ServiceStatus {
                listen: stats.as_ref().map(|s| s.listen.to_string()),
                unrouted: stats.as_ref().map_or(0, |s| s.unrouted),
                active: record.as_ref().and_then(|r| r.active.clone()),
                previous: record.as_ref().and_then(|r| r.previous.clone()),
                retire_at: record.as_ref().and_then(|r| r.retire_at),
                service: name,
                versions,
                last_deploy,
            });
        }
        ClusterStatus {
            cluster: self.cluster.clone(),
            pid: self.info.pid,
            admin: self.info.admin.to_string(),
            started_at: self.info.started_at,
            window_seconds: window.as_secs(),
            services,
        }
    }
}
