//! Docker instances: one container per instance, named and labelled for
//! its cluster, service, version and slot, its port published on
//! loopback. No restart policy: the fleet supervises it like a process.
//! Its output is copied into the instance's log file while the daemon
//! runs (the engine keeps it too: `docker logs <name>`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use slipway_image::docker::ContainerConfig;
use slipway_image::{Docker, DockerError};
use tokio::task::JoinHandle;

use super::layout::dashed;

/// How to start one container instance.
#[derive(Debug, Clone)]
pub(crate) struct ContainerSpec {
    pub docker: Docker,
    /// `slipway-<cluster>-<service>-<version>-<slot>`.
    pub name: String,
    pub image: String,
    pub container_port: u16,
    /// Besides `PORT`.
    pub env: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    pub log: PathBuf,
}

/// `slipway-<cluster>-<service>-<version>-<slot>`, as Docker allows names.
pub(crate) fn container_name(cluster: &str, service: &str, version: &str, slot: u32) -> String {
    dashed(&format!("slipway-{cluster}-{service}-{version}-{slot}"))
}

pub(crate) fn labels(
    cluster: &str,
    service: &str,
    version: &str,
    slot: u32,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("slipway.cluster".to_string(), cluster.to_string()),
        ("slipway.service".to_string(), service.to_string()),
        ("slipway.version".to_string(), version.to_string()),
        ("slipway.slot".to_string(), slot.to_string()),
    ])
}

/// A running container instance.
#[derive(Debug)]
pub(crate) struct RunningContainer {
    docker: Docker,
    pub id: String,
    /// Copies its output into the log file; stopped with it.
    logs: Option<JoinHandle<()>>,
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        if let Some(task) = self.logs.take() {
            task.abort();
        }
    }
}

/// Creates and starts the instance's container, replacing a leftover of
/// the same name (an earlier run's, or this instance's last one).
pub(crate) async fn start(
    spec: &ContainerSpec,
    port: u16,
) -> Result<RunningContainer, DockerError> {
    spec.docker.remove_container(&spec.name, true).await?;
    let mut config = ContainerConfig {
        image: spec.image.clone(),
        env: std::iter::once(format!("PORT={}", spec.container_port))
            .chain(spec.env.iter().map(|(k, v)| format!("{k}={v}")))
            .collect(),
        labels: spec.labels.clone(),
        ..ContainerConfig::default()
    };
    config.publish(spec.container_port, "127.0.0.1", port);
    let id = spec.docker.create_container(&spec.name, &config).await?;
    if let Err(e) = spec.docker.start_container(&id).await {
        let _ = spec.docker.remove_container(&id, true).await;
        return Err(e);
    }
    Ok(RunningContainer {
        logs: Some(follow_logs(
            spec.docker.clone(),
            id.clone(),
            0,
            spec.log.clone(),
        )),
        docker: spec.docker.clone(),
        id,
    })
}

/// A container a previous daemon started, if it still runs.
pub(crate) async fn adopt(
    docker: &Docker,
    id: &str,
    log: PathBuf,
) -> Result<Option<RunningContainer>, DockerError> {
    match docker.inspect_container(id).await? {
        Some(c) if c.state.running => {
            // Output from now on: what came before, the last daemon copied.
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            Ok(Some(RunningContainer {
                logs: Some(follow_logs(docker.clone(), c.id.clone(), since, log)),
                docker: docker.clone(),
                id: c.id,
            }))
        }
        _ => Ok(None),
    }
}

impl RunningContainer {
    /// Waits until the container stops; says how. Cancel-safe.
    pub async fn exited(&mut self) -> String {
        loop {
            match self.docker.wait_container(&self.id).await {
                Ok(code) => return format!("exited with code {code}"),
                // The engine went away or the wait broke off: ask again
                // until it answers.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    match self.docker.inspect_container(&self.id).await {
                        Ok(None) => return "was removed".into(),
                        Ok(Some(c)) if !c.state.running => {
                            return format!("exited with code {}", c.state.exit_code)
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// `docker stop` with `timeout`, then removed.
    pub async fn stop(&mut self, timeout: Duration) {
        let _ = self.docker.stop_container(&self.id, timeout).await;
        self.remove().await;
    }

    /// Removes the (stopped) container, so a restart can take its name.
    pub async fn remove(&mut self) {
        if let Some(mut task) = self.logs.take() {
            // Let the copy take the last lines before the container goes.
            if tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        let _ = self.docker.remove_container(&self.id, true).await;
    }
}

/// Stops and removes a container a previous daemon started that no
/// service wants any more.
pub(crate) async fn stop_recorded(docker: &Docker, id: &str, timeout: Duration) {
    let _ = docker.stop_container(id, timeout).await;
    let _ = docker.remove_container(id, true).await;
}

fn follow_logs(docker: Docker, id: String, since: i64, log: PathBuf) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Some(dir) = log.parent() {
            let _ = tokio::fs::create_dir_all(dir).await;
        }
        let Ok(mut file) = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
        else {
            return;
        };
        let _ = docker.follow_logs(&id, since, &mut file).await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_docker_accepts() {
        assert_eq!(
            container_name("prod", "svc-a", "feature/x+1", 0),
            "slipway-prod-svc-a-feature-x-1-0"
        );
    }
}
