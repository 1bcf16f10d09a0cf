//! A [`DeployStore`] in memory: the fake the controller's and the fleet's
//! tests run on (the daemon uses the SQLite store).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use slipway_model::deploy::{
    Breach, DeployEventRecord, DeployRecord, DeployState, DeployStore, Held, InstanceRecord,
    NewDeploy, ServiceRecord, StoreResult,
};

#[derive(Default)]
struct Inner {
    deploys: Vec<DeployRecord>,
    events: BTreeMap<i64, Vec<DeployEventRecord>>,
    services: BTreeMap<(String, String), ServiceRecord>,
    instances: BTreeMap<(String, String, String, u32), InstanceRecord>,
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DeployStore for MemoryStore {
    async fn begin_deploy(&self, new: &NewDeploy) -> StoreResult<Result<i64, Held>> {
        let mut inner = self.lock();
        for d in inner
            .deploys
            .iter()
            .filter(|d| d.state == DeployState::Running && d.cluster == new.cluster)
        {
            if let Some(s) = d
                .services
                .iter()
                .find(|s| new.services.iter().any(|n| n.service == s.service))
            {
                return Ok(Err(Held {
                    service: s.service.clone(),
                    deploy: d.id,
                    actor: d.actor.clone(),
                    version: d.version.clone(),
                    started_at: d.started_at,
                }));
            }
        }
        let id = inner.deploys.len() as i64 + 1;
        inner.deploys.push(DeployRecord {
            id,
            cluster: new.cluster.clone(),
            strategy: new.strategy,
            version: new.version.clone(),
            services: new.services.clone(),
            actor: new.actor.clone(),
            state: DeployState::Running,
            phase: "start".into(),
            reason: None,
            breach: None,
            request: new.request.clone(),
            started_at: new.started_at,
            finished_at: None,
        });
        Ok(Ok(id))
    }

    async fn set_phase(&self, id: i64, phase: &str) -> StoreResult<()> {
        if let Some(d) = self.lock().deploys.iter_mut().find(|d| d.id == id) {
            d.phase = phase.to_string();
        }
        Ok(())
    }

    async fn add_event(&self, id: i64, record: &DeployEventRecord) -> StoreResult<()> {
        self.lock()
            .events
            .entry(id)
            .or_default()
            .push(record.clone());
        Ok(())
    }

    async fn finish_deploy(
        &self,
        id: i64,
        state: DeployState,
        reason: Option<&str>,
        breach: Option<&Breach>,
        finished_at: i64,
    ) -> StoreResult<()> {
        if let Some(d) = self.lock().deploys.iter_mut().find(|d| d.id == id) {
            d.state = state;
            d.reason = reason.map(str::to_string);
            d.breach = breach.cloned();
            d.finished_at = Some(finished_at);
        }
        Ok(())
    }

    async fn deploy(&self, id: i64) -> StoreResult<Option<DeployRecord>> {
        Ok(self.lock().deploys.iter().find(|d| d.id == id).cloned())
    }

    async fn deploys(
        &self,
        cluster: Option<&str>,
        service: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DeployRecord>> {
        Ok(self
            .lock()
            .deploys
            .iter()
            .rev()
            .filter(|d| cluster.is_none_or(|c| d.cluster == c))
            .filter(|d| service.is_none_or(|s| d.services.iter().any(|x| x.service == s)))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn deploy_events(&self, id: i64, after: i64) -> StoreResult<Vec<DeployEventRecord>> {
        Ok(self
            .lock()
            .events
            .get(&id)
            .map(|e| e.iter().filter(|r| r.seq > after).cloned().collect())
            .unwrap_or_default())
    }

    async fn running_deploys(&self, cluster: &str) -> StoreResult<Vec<DeployRecord>> {
        Ok(self
            .lock()
            .deploys
            .iter()
            .filter(|d| d.cluster == cluster && d.state == DeployState::Running)
            .cloned()
            .collect())
    }

    async fn services(&self, cluster: &str) -> StoreResult<Vec<ServiceRecord>> {
        Ok(self
            .lock()
            .services
            .iter()
            .filter(|((c, _), _)| c == cluster)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn save_service(&self, cluster: &str, record: &ServiceRecord) -> StoreResult<()> {
        self.lock().services.insert(
            (cluster.to_string(), record.service.clone()),
            record.clone(),
        );
        Ok(())
    }

    async fn instances(&self, cluster: &str) -> StoreResult<Vec<InstanceRecord>> {
        Ok(self
            .lock()
            .instances
            .values()
            .filter(|i| i.cluster == cluster)
            .cloned()
            .collect())
    }

    async fn save_instance(&self, record: &InstanceRecord) -> StoreResult<()> {
        self.lock().instances.insert(
            (
                record.cluster.clone(),
                record.service.clone(),
                record.version.clone(),
                record.slot,
            ),
            record.clone(),
        );
        Ok(())
    }

    async fn remove_instance(
        &self,
        cluster: &str,
        service: &str,
        version: &str,
        slot: u32,
    ) -> StoreResult<()> {
        self.lock().instances.remove(&(
            cluster.to_string(),
            service.to_string(),
            version.to_string(),
            slot,
        ));
        Ok(())
    }
}
