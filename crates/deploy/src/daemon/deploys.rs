//! Deploys and rollbacks as the daemon takes them: checked against
//! `slipway.toml` and the cluster's state, recorded (taking their services,
//! so two deploys never touch one service at once), run in the background
//! and followed by whoever asked.

use std::sync::Arc;

use slipway_model::deploy::{
    DeployEvent, DeployEventRecord, DeployStore, NewDeploy, ServiceChange, Strategy,
};
use tokio::sync::{broadcast, mpsc};

use super::events::DeployEvents;
use super::{Daemon, Running};
use crate::controller::{
    system_now_ms, undo, Abort, Controller, DeployPlan, RollbackTarget, Target,
};
use crate::protocol::{Accepted, DeployRequest, ErrorBody, ErrorDetail, RollbackRequest};

/// An answer the API turns into an HTTP error.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    /// Boxed: errors travel through every handler's `Result`.
    pub body: Box<ErrorBody>,
}

impl ApiError {
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                error: ErrorDetail {
                    kind: kind.to_string(),
                    message: message.into(),
                    held: None,
                },
            }),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }
}

/// A version is an image tag or a git revision: the characters both allow.
fn check_version(v: &str) -> Result<(), ApiError> {
    let ok = !v.is_empty()
        && v.len() <= 128
        && !v.starts_with(['.', '-'])
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "--image-tag `{v}` is not a version: use 1 to 128 letters, digits, `.`, `_` or `-`, not starting with `.` or `-`"
        )))
    }
}

fn held_error(h: slipway_model::deploy::Held) -> ApiError {
    let who = h
        .actor
        .as_deref()
        .map(|a| format!(" by {a}"))
        .unwrap_or_default();
    let mut e = ApiError::new(
        409,
        "held",
        format!(
            "{} is being deployed by deploy {} ({} of {}{who}); wait for it to end, or stop it with `slipway rollback --services {}`",
            h.service, h.deploy, h.version, h.service, h.service
        ),
    );
    e.body.error.held = Some(h);
    e
}

impl<S: DeployStore> Daemon<S> {
    pub async fn start_deploy(self: &Arc<Self>, req: DeployRequest) -> Result<Accepted, ApiError> {
        if req.strategy == Strategy::Rollback {
            return Err(ApiError::invalid(
                "a rollback is asked with POST /api/v1/rollback",
            ));
        }
        check_version(&req.version)?;
        let config = self
            .reload()
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let cluster = config
            .cluster(Some(&self.cluster))
            .map_err(ApiError::invalid)?;
        let services = config
            .services_of(cluster, req.services.as_deref())
            .map_err(ApiError::invalid)?;
        let mut settings = config.settings(cluster);
        settings.apply(&req.settings);
        for s in &services {
            self.local
                .ensure_listener(cluster, s)
                .await
                .map_err(ApiError::invalid)?;
        }

        let mut targets = Vec::new();
        let mut unchanged = Vec::new();
        for s in services {
            let from = self.local.active(&s.name);
            if from.as_deref() == Some(req.version.as_str()) {
                unchanged.push(s.name.clone());
            } else {
                targets.push(Target {
                    config: s.clone(),
                    from,
                });
            }
        }
        let already = if unchanged.is_empty() {
            String::new()
        } else {
            format!("{} already run(s) {}", unchanged.join(", "), req.version)
        };
        if targets.is_empty() {
            return Ok(Accepted {
                deploy: None,
                message: format!("nothing to deploy: {already}"),
            });
        }
        let changes: Vec<ServiceChange> = targets
            .iter()
            .map(|t| ServiceChange {
                service: t.config.name.clone(),
                from: t.from.clone(),
                to: req.version.clone(),
            })
            .collect();
        let id = self
            .begin(req.strategy, &req.version, changes, req.actor.clone(), &req)
            .await?;
        let plan = DeployPlan {
            id,
            cluster: self.cluster.clone(),
            strategy: req.strategy,
            version: req.version.clone(),
            targets,
            settings,
        };
        let targets: Vec<(String, String)> = plan
            .targets
            .iter()
            .map(|t| (t.config.name.clone(), plan.version.clone()))
            .collect();
        let (abort, events) = self.register(id, targets);
        let daemon = self.clone();
        tokio::spawn(async move {
            let controller = Controller::new(daemon.local.clone(), daemon.local.clone(), events);
            controller.run(&plan, &abort).await;
            daemon.running().remove(&id);
        });
        let mut message = format!("deploy {id} started");
        if !already.is_empty() {
            message.push_str(&format!(" ({already}: left as they are)"));
        }
        Ok(Accepted {
            deploy: Some(id),
            message,
        })
    }

    /// Records a deploy and takes its services; 409 when another holds one.
    async fn begin<R: serde::Serialize>(
        &self,
        strategy: Strategy,
        version: &str,
        services: Vec<ServiceChange>,
        actor: Option<String>,
        request: &R,
    ) -> Result<i64, ApiError> {
        let new = NewDeploy {
            cluster: self.cluster.clone(),
            strategy,
            version: version.to_string(),
            services,
            actor,
            request: serde_json::to_string(request).unwrap_or_default(),
            started_at: system_now_ms(),
        };
        match self.store.begin_deploy(&new).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(held)) => Err(held_error(held)),
            Err(e) => Err(ApiError::internal(e.to_string())),
        }
    }

    fn register(&self, id: i64, targets: Vec<(String, String)>) -> (Abort, Arc<DeployEvents<S>>) {
        let (live, _) = broadcast::channel(1024);
        let events = Arc::new(DeployEvents::new(
            id,
            &self.cluster,
            self.store.clone(),
            live.clone(),
            self.notifier.clone(),
        ));
        let abort = Abort::new();
        self.running().insert(
            id,
            Running {
                abort: abort.clone(),
                live,
                events: events.clone(),
                targets,
            },
        );
        (abort, events)
    }

    /// Traffic back to the previous version of each service: undoes the
    /// last deploy that promoted, once. A deploy still running on a
    /// service is rolled back instead (its own rollback is the answer).
    pub async fn rollback(self: &Arc<Self>, req: RollbackRequest) -> Result<Accepted, ApiError> {
        let config = self
            .reload()
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let cluster = config
            .cluster(Some(&self.cluster))
            .map_err(ApiError::invalid)?;
        let services = config
            .services_of(cluster, req.services.as_deref())
            .map_err(ApiError::invalid)?;
        let settings = config.settings(cluster);
        let who = req.actor.as_deref().unwrap_or("a user");

        // Deploys in progress roll themselves back.
        let in_progress: Vec<(i64, Abort)> = self
            .running()
            .iter()
            .filter(|(_, r)| {
                r.targets
                    .iter()
                    .any(|(s, _)| services.iter().any(|c| c.name == *s))
            })
            .map(|(id, r)| (*id, r.abort.clone()))
            .collect();
        if let Some((id, _)) = in_progress.first() {
            for (_, abort) in &in_progress {
                abort.abort(format!("rollback asked by {who}"));
            }
            return Ok(Accepted {
                deploy: Some(*id),
                message: format!("deploy {id} was in progress: it rolls back"),
            });
        }

        let mut targets = Vec::new();
        let mut notes = Vec::new();
        for s in services {
            let active = self.local.active(&s.name);
            let last = self
                .store
                .deploys(Some(&self.cluster), Some(&s.name), 1)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?
                .into_iter()
                .next();
            match undo(&s.name, &self.cluster, last.as_ref(), active.as_deref()) {
                Ok((from, to)) => targets.push(RollbackTarget {
                    config: s.clone(),
                    from,
                    to,
                }),
                Err(note) => notes.push(note),
            }
        }
        if targets.is_empty() {
            return Ok(Accepted {
                deploy: None,
                message: notes.join("\n"),
            });
        }
        let changes: Vec<ServiceChange> = targets
            .iter()
            .map(|t| ServiceChange {
                service: t.config.name.clone(),
                from: Some(t.from.clone()),
                to: t.to.clone(),
            })
            .collect();
        let mut versions: Vec<&str> = targets.iter().map(|t| t.to.as_str()).collect();
        versions.dedup();
        let id = self
            .begin(
                Strategy::Rollback,
                &versions.join(","),
                changes,
                req.actor.clone(),
                &req,
            )
            .await?;
        let running: Vec<(String, String)> = targets
            .iter()
            .map(|t| (t.config.name.clone(), t.to.clone()))
            .collect();
        let (abort, events) = self.register(id, running);
        let daemon = self.clone();
        tokio::spawn(async move {
            let controller = Controller::new(daemon.local.clone(), daemon.local.clone(), events);
            controller
                .rollback(id, &daemon.cluster, &targets, &settings, &abort)
                .await;
            daemon.running().remove(&id);
        });
        let mut message = format!("rollback {id} started");
        for n in notes {
            message.push_str(&format!("\n{n}"));
        }
        Ok(Accepted {
            deploy: Some(id),
            message,
        })
    }

    pub fn abort(&self, id: i64, reason: &str) -> Result<(), ApiError> {
        match self.running().get(&id) {
            Some(r) => {
                r.abort.abort(reason);
                Ok(())
            }
            None => Err(ApiError::new(
                404,
                "not_found",
                format!("deploy {id} is not in progress on cluster {}", self.cluster),
            )),
        }
    }

    /// The deploy's events after `after`, then the ones still to come,
    /// until it ends.
    pub async fn follow(
        &self,
        id: i64,
        after: i64,
    ) -> Result<mpsc::Receiver<DeployEventRecord>, ApiError> {
        // Subscribe before reading what is stored, so that nothing falls
        // between the two; duplicates are dropped by number.
        let live = self.running().get(&id).map(|r| r.live.subscribe());
        if self
            .store
            .deploy(id)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .is_none()
        {
            return Err(ApiError::new(
                404,
                "not_found",
                format!("no deploy {id} on cluster {}", self.cluster),
            ));
        }
        let (tx, rx) = mpsc::channel(256);
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut last = after;
            let send_stored = |last: i64| {
                let store = store.clone();
                async move { store.deploy_events(id, last).await.unwrap_or_default() }
            };
            for r in send_stored(last).await {
                last = r.seq;
                let end = matches!(r.event, DeployEvent::Finished { .. });
                if tx.send(r).await.is_err() || end {
                    return;
                }
            }
            let Some(mut live) = live else { return };
            loop {
                let (records, closed) = match live.recv().await {
                    Ok(r) => (vec![r], false),
                    Err(broadcast::error::RecvError::Lagged(_)) => (send_stored(last).await, false),
                    // The deploy ended: what it stored is all there is.
                    Err(broadcast::error::RecvError::Closed) => (send_stored(last).await, true),
                };
                for r in records {
                    if r.seq <= last {
                        continue;
                    }
                    last = r.seq;
                    let end = matches!(r.event, DeployEvent::Finished { .. });
                    if tx.send(r).await.is_err() || end {
                        return;
                    }
                }
                if closed {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
