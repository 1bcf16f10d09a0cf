//! After a daemon restart: the instances the store recorded, adopted
//! again when they still run, started again on their ports when they do
//! not, stopped when their service is gone from the config.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use slipway_model::deploy::{DeployStore, InstanceRecord};

use super::container;
use super::fleet::{version_key, Fleet};
use super::instance::{self, How, Instance, Origin, Running};
use super::process::{self, RunningProcess};
use super::status::Adopted;
use crate::config::ServiceConfig;

/// The stop timeout of an instance whose service is gone from the config.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

impl<S: DeployStore> Fleet<S> {
    /// After a daemon restart: each recorded instance (of this cluster)
    /// that still runs is supervised again; one that does not is started
    /// again on its recorded port; one whose service is not in `services`
    /// any more is stopped and forgotten. What happened to each, in the
    /// order given.
    ///
    /// A process is taken for the recorded one only when its pid runs and
    /// its start time is the recorded one (pids are reused). An instance
    /// that cannot be started again at once is left to its supervisor,
    /// which retries with back-off (and `status` says why), and counts as
    /// restarted.
    pub async fn adopt(
        &self,
        records: Vec<InstanceRecord>,
        services: &BTreeMap<String, ServiceConfig>,
    ) -> Vec<(InstanceRecord, Adopted)> {
        let mut adoptions = tokio::task::JoinSet::new();
        for (n, record) in records.into_iter().enumerate() {
            let fleet = self.clone();
            let service = services.get(&record.service).cloned();
            adoptions.spawn(async move {
                let adopted = fleet.adopt_one(&record, service).await;
                (n, record, adopted)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = adoptions.join_next().await {
            if let Ok(one) = joined {
                out.push(one);
            }
        }
        out.sort_by_key(|(n, _, _)| *n);
        out.into_iter().map(|(_, r, a)| (r, a)).collect()
    }

    async fn adopt_one(&self, record: &InstanceRecord, service: Option<ServiceConfig>) -> Adopted {
        let Some(service) = service else {
            self.stop_recorded(record, DEFAULT_STOP_TIMEOUT).await;
            let _ = self
                .inner
                .store
                .remove_instance(
                    &record.cluster,
                    &record.service,
                    &record.version,
                    record.slot,
                )
                .await;
            return Adopted::Stopped;
        };
        let lock = self.lock(version_key(&service.name, &record.version));
        let _turn = lock.lock().await;
        if self
            .instances(&service.name, &record.version)
            .iter()
            .any(|i| i.slot == record.slot)
        {
            return Adopted::Running;
        }
        let launch = match self.launch(&service, &record.version, record.slot) {
            Ok(l) => l,
            // No engine to ask (a DOCKER_HOST that is not a socket): the
            // record stays for a daemon that can.
            Err(_) => return Adopted::Stopped,
        };
        let log = self
            .inner
            .layout
            .instance_log(&service.name, &record.version, record.slot);
        let same_runtime = record.runtime == service.runtime.kind();
        let still_running = match (&launch.how, same_runtime) {
            (How::Process(_), true) => match (record.pid, record.pid_start) {
                (Some(pid), Some(start)) => u32::try_from(pid)
                    .ok()
                    .and_then(|pid| RunningProcess::adopt(pid, start))
                    .map(Running::Process),
                _ => None,
            },
            (How::Container(spec), true) => match &record.container {
                Some(id) => container::adopt(&spec.docker, id, log.clone())
                    .await
                    .ok()
                    .flatten()
                    .map(Running::Container),
                None => None,
            },
            (_, false) => None,
        };
        self.inner.ports.hold(record.port);
        let (running, adopted, restarts, started_at, problem) = match still_running {
            Some(r) => (
                Some(r),
                Adopted::Running,
                record.restarts,
                record.started_at,
                None,
            ),
            None => {
                // What is left of it goes first (a process of another
                // runtime, an exited container holding the name).
                self.stop_recorded(record, service.stop_timeout).await;
                let started = match self.prepare(&service, &record.version).await {
                    Ok(()) => {
                        launch
                            .start(record.port, "start again after the daemon restarted")
                            .await
                    }
                    Err(e) => Err(e),
                };
                match started {
                    Ok(r) => (
                        Some(r),
                        Adopted::Restarted,
                        record.restarts + 1,
                        instance::now_ms(),
                        None,
                    ),
                    Err(e) => (
                        None,
                        Adopted::Restarted,
                        record.restarts,
                        record.started_at,
                        Some(format!("cannot start again: {e}")),
                    ),
                }
            }
        };
        let instance = Arc::new(Instance::new(
            &self.inner.options.cluster,
            &launch,
            record.port,
            service.runtime.kind(),
            log,
            running.as_ref(),
            Origin {
                restarts,
                started_at,
                stop_timeout: service.stop_timeout,
            },
        ));
        if let Some(p) = problem {
            instance.set_last_check(p);
        }
        if adopted == Adopted::Restarted && running.is_some() {
            let _ = self.inner.store.save_instance(&instance.record()).await;
        }
        let detail = match adopted {
            Adopted::Running => "adopted after the daemon restarted",
            _ => "started again after the daemon restarted",
        };
        self.supervise(
            &service,
            instance.clone(),
            launch,
            running,
            Some(detail.into()),
        );
        let mut versions = self.lock_versions();
        let list = versions
            .entry((service.name.clone(), record.version.clone()))
            .or_default();
        list.push(instance);
        list.sort_by_key(|i| i.slot);
        adopted
    }

    /// Stops whatever still runs of a record no supervisor holds.
    async fn stop_recorded(&self, record: &InstanceRecord, timeout: Duration) {
        if let (Some(pid), Some(start)) = (record.pid, record.pid_start) {
            if let Ok(pid) = u32::try_from(pid) {
                process::stop_recorded(pid, start, timeout).await;
            }
        }
        if let Some(id) = &record.container {
            if let Ok(docker) = self.docker(&record.service) {
                container::stop_recorded(&docker, id, timeout).await;
            }
        }
    }
}
