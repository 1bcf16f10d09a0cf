//! What a starting daemon does before it answers: take back the instances
//! that still run (start the ones that died again), end the deploys the
//! last daemon left half-way in a consistent state (traffic back on the
//! version they came from), and route every service as before, only ever
//! to versions whose instances run.

use std::collections::BTreeMap;

use slipway_model::deploy::{
    DeployEvent, DeployEventRecord, DeployRecord, DeployState, DeployStore, ServiceRecord,
};

use super::{DaemonError, LocalCluster};
use crate::config::{ClusterConfig, DeployConfig, ServiceConfig};
use crate::controller::system_now_ms;
use crate::local::Adopted;

pub async fn recover<S: DeployStore>(
    local: &LocalCluster<S>,
    store: &S,
    config: &DeployConfig,
    cluster: &ClusterConfig,
) -> Result<(), DaemonError> {
    let failed = |e: slipway_model::deploy::StoreFailure| DaemonError::Failed(e.to_string());
    let services: BTreeMap<String, ServiceConfig> = config
        .services_of(cluster, None)
        .map_err(DaemonError::Invalid)?
        .into_iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    local.load(store.services(&cluster.name).await.map_err(failed)?);

    let instances = store.instances(&cluster.name).await.map_err(failed)?;
    for (record, what) in local.fleet.adopt(instances, &services).await {
        let what = match what {
            Adopted::Running => "still running: adopted",
            Adopted::Restarted => "had stopped: started again",
            Adopted::Stopped => "no longer configured: stopped",
        };
        println!(
            "{} {} #{} on port {}: {what}",
            record.service, record.version, record.slot, record.port
        );
    }

    for deploy in store.running_deploys(&cluster.name).await.map_err(failed)? {
        end_interrupted(local, store, &services, &deploy).await?;
    }

    for (name, service) in &services {
        let record = local.record(name).unwrap_or_else(|| ServiceRecord {
            service: name.clone(),
            active: None,
            previous: None,
            retire_at: None,
            routes: Vec::new(),
        });
        let record = restore(local, service, record, config, cluster).await;
        local
            .listen(cluster, service, &record.routes)
            .await
            .map_err(DaemonError::Invalid)?;
        store
            .save_service(&cluster.name, &record)
            .await
            .map_err(failed)?;
        local.load_one(record);
    }
    Ok(())
}

/// A deploy whose daemon died: every service goes back to the version it
/// came from where that still runs; a service whose old version is gone
/// (a rolling deploy past its end) keeps the new one.
async fn end_interrupted<S: DeployStore>(
    local: &LocalCluster<S>,
    store: &S,
    services: &BTreeMap<String, ServiceConfig>,
    deploy: &DeployRecord,
) -> Result<(), DaemonError> {
    let failed = |e: slipway_model::deploy::StoreFailure| DaemonError::Failed(e.to_string());
    let mut back = Vec::new();
    let mut kept = Vec::new();
    for change in &deploy.services {
        let mut record = local
            .record(&change.service)
            .unwrap_or_else(|| ServiceRecord {
                service: change.service.clone(),
                active: None,
                previous: None,
                retire_at: None,
                routes: Vec::new(),
            });
        let from_runs = change
            .from
            .as_ref()
            .is_some_and(|f| !local.fleet.addresses(&change.service, f).is_empty());
        let to_runs = !local
            .fleet
            .addresses(&change.service, &change.to)
            .is_empty();
        if from_runs || change.from.is_none() {
            let from = change.from.clone();
            record.routes = from.iter().map(|f| (f.clone(), 100)).collect();
            record.active = from;
            if let Some(config) = services.get(&change.service) {
                local.fleet.stop(config, &change.to).await;
            }
            back.push(change.service.clone());
        } else if to_runs {
            record.routes = vec![(change.to.clone(), 100)];
            record.active = Some(change.to.clone());
            record.previous = change.from.clone();
            kept.push(change.service.clone());
        }
        record.retire_at = None;
        store
            .save_service(&deploy.cluster, &record)
            .await
            .map_err(failed)?;
        local.load_one(record);
    }
    let (state, reason) = if back.is_empty() && !kept.is_empty() {
        (
            DeployState::Promoted,
            format!(
                "the cluster daemon stopped during the deploy (phase {}); {} already served only {}: kept",
                deploy.phase,
                kept.join(", "),
                deploy.version
            ),
        )
    } else {
        let mut reason = format!(
            "the cluster daemon stopped during the deploy (phase {}); traffic is back on the previous version of {}",
            deploy.phase,
            back.join(", ")
        );
        if !kept.is_empty() {
            reason.push_str(&format!(
                " ({} already served only {}: kept)",
                kept.join(", "),
                deploy.version
            ));
        }
        (DeployState::RolledBack, reason)
    };
    let now = system_now_ms();
    store
        .finish_deploy(deploy.id, state, Some(&reason), None, now)
        .await
        .map_err(failed)?;
    let last = store
        .deploy_events(deploy.id, 0)
        .await
        .map_err(failed)?
        .last()
        .map_or(0, |r| r.seq);
    store
        .add_event(
            deploy.id,
            &DeployEventRecord {
                seq: last + 1,
                at: now,
                event: DeployEvent::Finished {
                    state,
                    reason: Some(reason.clone()),
                    breach: None,
                    invalid: false,
                    seconds: (now - deploy.started_at).max(0) as f64 / 1000.0,
                },
            },
        )
        .await
        .map_err(failed)?;
    println!("deploy {}: {} — {reason}", deploy.id, state.as_str());
    Ok(())
}

/// The service's routes, only to versions that run; the serving version
/// started again when none of its instances runs (after `cluster down`,
/// or a reboot).
async fn restore<S: DeployStore>(
    local: &LocalCluster<S>,
    service: &ServiceConfig,
    mut record: ServiceRecord,
    config: &DeployConfig,
    cluster: &ClusterConfig,
) -> ServiceRecord {
    let runs = |v: &str| !local.fleet.addresses(&service.name, v).is_empty();
    if let Some(active) = record.active.clone() {
        if !runs(&active) {
            println!("{} {active}: not running; starting it again", service.name);
            let timeout = config.settings(cluster).start_timeout;
            let started = async {
                local.fleet.prepare(service, &active).await?;
                local.fleet.start(service, &active).await?;
                local.fleet.wait_healthy(service, &active, timeout).await
            }
            .await;
            if let Err(e) = started {
                println!("{} {active}: cannot start it again: {e}", service.name);
                local.fleet.stop(service, &active).await;
            }
        }
    }
    record.routes.retain(|(v, _)| runs(v));
    if record.routes.iter().all(|(_, w)| *w == 0) {
        if let Some(active) = record.active.clone().filter(|a| runs(a)) {
            record.routes.retain(|(v, _)| *v != active);
            record.routes.push((active, 100));
        }
    }
    if record.previous.as_deref().is_some_and(|p| !runs(p)) {
        record.previous = None;
        record.retire_at = None;
    }
    record
}
