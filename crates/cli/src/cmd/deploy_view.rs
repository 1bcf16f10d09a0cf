//! What the deploy commands print: a deploy's events as they come, the
//! cluster's status table and the deploy history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use slipway_deploy::client::Client;
use slipway_deploy::config::DeployConfig;
use slipway_deploy::protocol::{ClusterStatus, DeploySummary, ServiceStatus, VersionStatus};
use slipway_deploy::render;
use slipway_model::deploy::{DeployEventRecord, DeployRecord, DeployStore};
use slipway_store::SqliteStore;

use crate::cmd::deploy::{client_error, runtime};
use crate::output::{print_json, table, Format};
use crate::UsageError;

/// One event, led by the time since the deploy started.
pub fn event_text(record: &DeployEventRecord, first_at: i64) -> String {
    let since = (record.at - first_at).max(0) as f64 / 1000.0;
    format!(
        "{:>8} {}",
        format!("+{since:.1}s"),
        render::event_line(&record.event)
    )
}

/// `deploy status --format json` and `cluster status --format json`.
#[derive(Serialize)]
pub struct StatusView {
    /// Whether the cluster's daemon runs (figures and instances come from
    /// it; without it, what the store remembers).
    pub running: bool,
    #[serde(flatten)]
    pub status: ClusterStatus,
}

/// The status from the daemon, or from the store when it does not run.
pub async fn read_status(root: &Path, cluster: &str, window: u64) -> anyhow::Result<StatusView> {
    if let Some(client) = Client::find(root, cluster).await {
        let status = client
            .status(Duration::from_secs(window))
            .await
            .map_err(client_error)?;
        return Ok(StatusView {
            running: true,
            status,
        });
    }
    let config = DeployConfig::load(root).map_err(|e| UsageError(e.to_string()))?;
    let c = config.cluster(Some(cluster)).map_err(UsageError)?;
    let names = config.cluster_service_names(c);
    let path = slipway_store::default_path(root);
    let (records, store) = if path.exists() {
        let store = SqliteStore::open(&path).await?;
        (store.services(cluster).await?, Some(store))
    } else {
        (Vec::new(), None)
    };
    let mut services = Vec::new();
    for name in names {
        let record = records.iter().find(|r| r.service == name);
        let last_deploy = match &store {
            Some(s) => s
                .deploys(Some(cluster), Some(&name), 1)
                .await?
                .first()
                .map(DeploySummary::from),
            None => None,
        };
        services.push(ServiceStatus {
            service: name.clone(),
            listen: None,
            active: record.and_then(|r| r.active.clone()),
            previous: record.and_then(|r| r.previous.clone()),
            retire_at: record.and_then(|r| r.retire_at),
            unrouted: 0,
            versions: record
                .map(|r| {
                    r.routes
                        .iter()
                        .map(|(v, w)| VersionStatus {
                            version: v.clone(),
                            weight: *w,
                            traffic_percent: 0.0,
                            requests: 0,
                            error_rate_percent: None,
                            p95_ms: None,
                            instances: Vec::new(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            last_deploy,
        });
    }
    Ok(StatusView {
        running: false,
        status: ClusterStatus {
            cluster: cluster.to_string(),
            pid: 0,
            admin: String::new(),
            started_at: 0,
            window_seconds: window,
            services,
        },
    })
}

pub fn status(root: &Path, cluster: &str, window: u64, format: Format) -> anyhow::Result<()> {
    if !(1..=slipway_deploy::daemon::RETENTION.as_secs()).contains(&window) {
        return Err(UsageError(format!(
            "--window {window}: give 1 to {} seconds",
            slipway_deploy::daemon::RETENTION.as_secs()
        ))
        .into());
    }
    let view = runtime()?.block_on(read_status(root, cluster, window))?;
    match format {
        Format::Json => print_json(&view),
        Format::Text => {
            print!("{}", status_text(&view));
            Ok(())
        }
    }
}

pub fn status_text(view: &StatusView) -> String {
    let s = &view.status;
    let mut out = if view.running {
        format!(
            "cluster {}: daemon pid {}, admin http://{}\n",
            s.cluster, s.pid, s.admin
        )
    } else {
        format!(
            "cluster {}: not running (slipway cluster up); as last recorded:\n",
            s.cluster
        )
    };
    let mut rows = Vec::new();
    for svc in &s.services {
        if svc.versions.is_empty() {
            rows.push(vec![
                svc.service.clone(),
                svc.listen.clone().unwrap_or_else(|| "-".into()),
                "(none)".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                String::new(),
            ]);
        }
        for (i, v) in svc.versions.iter().enumerate() {
            let (name, listen) = if i == 0 {
                (
                    svc.service.clone(),
                    svc.listen.clone().unwrap_or_else(|| "-".into()),
                )
            } else {
                (String::new(), String::new())
            };
            rows.push(vec![
                name,
                listen,
                v.version.clone(),
                format!("{}%", v.weight),
                instances_text(v, view.running),
                if view.running {
                    v.requests.to_string()
                } else {
                    "-".into()
                },
                v.error_rate_percent
                    .map_or("-".into(), |r| format!("{r:.2}%")),
                v.p95_ms.map_or("-".into(), |p| format!("{p:.0}ms")),
                role(svc, v),
            ]);
        }
    }
    let req = format!("req/{}s", s.window_seconds);
    out.push_str(&table(
        &[
            "service",
            "listen",
            "version",
            "weight",
            "instances",
            &req,
            "errors",
            "p95",
            "",
        ],
        &rows,
    ));
    for svc in &s.services {
        if let Some(d) = &svc.last_deploy {
            out.push_str(&format!(
                "{}: last deploy #{} {} of {} {}{}\n",
                svc.service,
                d.id,
                d.strategy.as_str(),
                d.version,
                d.state,
                d.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

fn instances_text(v: &VersionStatus, running: bool) -> String {
    if !running {
        return "-".into();
    }
    if v.instances.is_empty() {
        return "none".into();
    }
    let healthy = v.instances.iter().filter(|i| i.state == "healthy").count();
    let mut text = format!("{healthy}/{} healthy", v.instances.len());
    let restarts: u32 = v.instances.iter().map(|i| i.restarts).sum();
    if restarts > 0 {
        text.push_str(&format!(", {restarts} restarts"));
    }
    text
}

fn role(svc: &ServiceStatus, v: &VersionStatus) -> String {
    if svc.active.as_deref() == Some(&v.version) {
        "serving".into()
    } else if svc.previous.as_deref() == Some(&v.version) {
        "kept for rollback".into()
    } else if v.weight > 0 {
        "deploying".into()
    } else {
        String::new()
    }
}

pub fn history(
    dir: Option<PathBuf>,
    cluster: Option<String>,
    service: Option<String>,
    limit: u32,
    format: Format,
) -> anyhow::Result<()> {
    let root = crate::cmd::deploy::repository(&dir)?;
    if let Some(c) = &cluster {
        let config = DeployConfig::load(&root).map_err(|e| UsageError(e.to_string()))?;
        config
            .cluster(Some(c))
            .map_err(|m| UsageError(format!("--cluster: {m}")))?;
    }
    let path = slipway_store::default_path(&root);
    let deploys: Vec<DeployRecord> = if path.exists() {
        runtime()?.block_on(async {
            let store = SqliteStore::open(&path).await?;
            anyhow::Ok(
                store
                    .deploys(cluster.as_deref(), service.as_deref(), limit)
                    .await?,
            )
        })?
    } else {
        Vec::new()
    };
    match format {
        Format::Json => print_json(&serde_json::json!({ "deploys": deploys })),
        Format::Text => {
            if deploys.is_empty() {
                println!("no deploys recorded yet");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = deploys
                .iter()
                .map(|d| {
                    let services: Vec<&str> =
                        d.services.iter().map(|s| s.service.as_str()).collect();
                    vec![
                        d.id.to_string(),
                        d.cluster.clone(),
                        d.strategy.as_str().to_string(),
                        d.version.clone(),
                        services.join(","),
                        d.state.as_str().to_string(),
                        d.actor.clone().unwrap_or_else(|| "-".into()),
                        d.finished_at.map_or("-".into(), |f| {
                            format!("{:.1}s", (f - d.started_at).max(0) as f64 / 1000.0)
                        }),
                        d.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "id", "cluster", "strategy", "version", "services", "state", "actor",
                        "duration", "reason"
                    ],
                    &rows
                )
            );
            Ok(())
        }
    }
}
