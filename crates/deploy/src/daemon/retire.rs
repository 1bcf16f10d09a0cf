//! Versions kept idle after a promotion, for an instant rollback, are
//! stopped when their time comes (unless a deploy holds the service then;
//! it clears them itself).

use std::sync::Arc;
use std::time::Duration;

use slipway_model::deploy::DeployStore;

use super::Daemon;
use crate::controller::{system_now_ms, DRAIN_TIMEOUT};
use crate::ports::{Instances, Route, Routing};

pub async fn run<S: DeployStore>(daemon: Arc<Daemon<S>>) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = system_now_ms();
        for record in daemon.local.all_records() {
            let (Some(previous), Some(at)) = (record.previous.clone(), record.retire_at) else {
                continue;
            };
            if at > now || daemon.busy(&record.service) {
                continue;
            }
            let config = daemon.config();
            let Some(service) = config.services.get(&record.service).cloned() else {
                continue;
            };
            let local = &daemon.local;
            let keep: Vec<Route> = local
                .routes(&record.service)
                .into_iter()
                .filter(|r| r.version != previous)
                .collect();
            if let Err(e) = local.route(&record.service, &keep).await {
                println!("{}: cannot retire {previous}: {e}", record.service);
                continue;
            }
            local
                .wait_drained(&record.service, &previous, DRAIN_TIMEOUT)
                .await;
            local.stop(&service, &previous).await;
            if let Err(e) = local
                .set_active(&record.service, record.active.as_deref(), None, None)
                .await
            {
                println!("{}: {e}", record.service);
            }
            println!(
                "{} {previous}: kept for rollback until now; stopped",
                record.service
            );
        }
    }
}
