//! Deploys, their locks and events, and the services and instances of each
//! cluster (see migration 0006): [`DeployStore`] for [`SqliteStore`].
//!
//! A deploy takes its services in the transaction that records it: the
//! transaction starts with `BEGIN IMMEDIATE`, so it holds the database's
//! write lock from its first read, and two processes beginning deploys at
//! once are served one after the other (the second waits up to the busy
//! timeout) and the second sees the locks of the first.

use std::collections::HashSet;

use slipway_model::deploy::{
    Breach, DeployEvent, DeployEventRecord, DeployRecord, DeployState, DeployStore, Held,
    InstanceRecord, NewDeploy, ServiceChange, ServiceRecord, StoreFailure, StoreResult, Strategy,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::SqliteStore;

/// The columns `deploy_row` reads, as a literal so queries stay static strings.
macro_rules! deploy_columns {
    () => {
        "id, cluster, strategy, version, services, actor, state, phase, reason, breach, request, started_at, finished_at"
    };
}

/// The columns `instance_row` reads.
macro_rules! instance_columns {
    () => {
        "cluster, service, version, slot, port, runtime, pid, pid_start, container, restarts, started_at"
    };
}

/// A query that failed: `what` says what was being done ("record deploy").
fn failed(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreFailure {
    move |e| StoreFailure(format!("state database: cannot {what}: {e}"))
}

/// A value read back that does not parse.
fn corrupt(what: impl std::fmt::Display) -> StoreFailure {
    StoreFailure(format!(
        "state database holds a value it cannot read back: {what}"
    ))
}

fn to_json<T: serde::Serialize + ?Sized>(what: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreFailure(format!("state database: cannot write {what} as JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{what} `{text}`: {e}")))
}

fn get<'r, T>(r: &'r SqliteRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    r.try_get(column)
        .map_err(|e| StoreFailure(format!("state database: cannot read {column}: {e}")))
}

/// An integer column that must fit a narrower type.
fn get_int<T: TryFrom<i64>>(r: &SqliteRow, column: &str) -> StoreResult<T> {
    let v: i64 = get(r, column)?;
    T::try_from(v).map_err(|_| corrupt(format!("{column} = {v}")))
}

fn deploy_row(r: &SqliteRow) -> StoreResult<DeployRecord> {
    let id: i64 = get(r, "id")?;
    let strategy: String = get(r, "strategy")?;
    let state: String = get(r, "state")?;
    let services: String = get(r, "services")?;
    let breach: Option<String> = get(r, "breach")?;
    Ok(DeployRecord {
        id,
        cluster: get(r, "cluster")?,
        strategy: Strategy::parse(&strategy)
            .ok_or_else(|| corrupt(format!("strategy `{strategy}` of deploy {id}")))?,
        version: get(r, "version")?,
        services: from_json::<Vec<ServiceChange>>("services of a deploy", &services)?,
        actor: get(r, "actor")?,
        state: DeployState::parse(&state)
            .ok_or_else(|| corrupt(format!("state `{state}` of deploy {id}")))?,
        phase: get(r, "phase")?,
        reason: get(r, "reason")?,
        breach: breach
            .map(|b| from_json::<Breach>("breach of a deploy", &b))
            .transpose()?,
        request: get(r, "request")?,
        started_at: get(r, "started_at")?,
        finished_at: get(r, "finished_at")?,
    })
}

fn instance_row(r: &SqliteRow) -> StoreResult<InstanceRecord> {
    Ok(InstanceRecord {
        cluster: get(r, "cluster")?,
        service: get(r, "service")?,
        version: get(r, "version")?,
        slot: get_int(r, "slot")?,
        port: get_int(r, "port")?,
        runtime: get(r, "runtime")?,
        pid: get(r, "pid")?,
        pid_start: get(r, "pid_start")?,
        container: get(r, "container")?,
        restarts: get_int(r, "restarts")?,
        started_at: get(r, "started_at")?,
    })
}

impl DeployStore for SqliteStore {
    async fn begin_deploy(&self, new: &NewDeploy) -> StoreResult<Result<i64, Held>> {
        let services = to_json("the services of a deploy", &new.services)?;
        let fail = || failed("record deploy");
        // IMMEDIATE: the write lock is taken now, before the locks are read,
        // so no other process can take a service between the check and the
        // insert (and a deferred transaction that read first could not
        // upgrade to a writer if another wrote in between).
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(fail())?;
        let mut seen = HashSet::new();
        let wanted: Vec<&str> = new
            .services
            .iter()
            .map(|s| s.service.as_str())
            .filter(|s| seen.insert(*s))
            .collect();
        for service in &wanted {
            let holder = sqlx::query(
                "SELECT d.id, d.actor, d.version, d.started_at FROM deploy_locks l
                   JOIN deploys d ON d.id = l.deploy_id
                 WHERE l.cluster = ? AND l.service = ? AND d.state = 'running'",
            )
            .bind(&new.cluster)
            .bind(service)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail())?;
            if let Some(r) = holder {
                let held = Held {
                    service: service.to_string(),
                    deploy: get(&r, "id")?,
                    actor: get(&r, "actor")?,
                    version: get(&r, "version")?,
                    started_at: get(&r, "started_at")?,
                };
                tx.rollback().await.map_err(fail())?;
                return Ok(Err(held));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deploys (cluster, strategy, version, services, actor, state, phase, request, started_at)
             VALUES (?, ?, ?, ?, ?, 'running', 'start', ?, ?) RETURNING id",
        )
        .bind(&new.cluster)
        .bind(new.strategy.as_str())
        .bind(&new.version)
        .bind(&services)
        .bind(&new.actor)
        .bind(&new.request)
        .bind(new.started_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail())?;
        for service in &wanted {
            // A lock left by a deploy no longer running holds nothing
            // (checked above): it is taken over.
            sqlx::query(
                "INSERT INTO deploy_locks (cluster, service, deploy_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (cluster, service) DO UPDATE SET deploy_id = ?3",
            )
            .bind(&new.cluster)
            .bind(service)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(fail())?;
        }
        tx.commit().await.map_err(fail())?;
        Ok(Ok(id))
    }

    async fn set_phase(&self, id: i64, phase: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE deploys SET phase = ? WHERE id = ?")
            .bind(phase)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(failed("record the phase of a deploy"))?;
        if done.rows_affected() == 0 {
            return Err(StoreFailure(format!(
                "state database: cannot record the phase of deploy {id}: no such deploy"
            )));
        }
        Ok(())
    }

    async fn add_event(&self, id: i64, record: &DeployEventRecord) -> StoreResult<()> {
        let event = to_json("a deploy event", &record.event)?;
        sqlx::query("INSERT INTO deploy_events (deploy_id, seq, at, event) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(record.seq)
            .bind(record.at)
            .bind(&event)
            .execute(self.pool())
            .await
            .map_err(failed("record a deploy event"))?;
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
        let breach = breach.map(|b| to_json("a breach", b)).transpose()?;
        let fail = || failed("record the end of a deploy");
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(fail())?;
        let done = sqlx::query(
            "UPDATE deploys SET state = ?, reason = ?, breach = ?, finished_at = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(&breach)
        .bind(finished_at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(fail())?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(fail())?;
            return Err(StoreFailure(format!(
                "state database: cannot record the end of deploy {id}: no such deploy"
            )));
        }
        sqlx::query("DELETE FROM deploy_locks WHERE deploy_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(fail())?;
        tx.commit().await.map_err(fail())?;
        Ok(())
    }

    async fn deploy(&self, id: i64) -> StoreResult<Option<DeployRecord>> {
        let r = sqlx::query(concat!(
            "SELECT ",
            deploy_columns!(),
            " FROM deploys WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(failed("read a deploy"))?;
        r.as_ref().map(deploy_row).transpose()
    }

    async fn deploys(
        &self,
        cluster: Option<&str>,
        service: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DeployRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            deploy_columns!(),
            " FROM deploys
             WHERE (?1 IS NULL OR cluster = ?1)
               AND (?2 IS NULL OR EXISTS
                 (SELECT 1 FROM json_each(deploys.services) WHERE json_extract(value, '$.service') = ?2))
             ORDER BY id DESC LIMIT ?3"
        ))
        .bind(cluster)
        .bind(service)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(failed("read deploys"))?;
        rows.iter().map(deploy_row).collect()
    }

    async fn deploy_events(&self, id: i64, after: i64) -> StoreResult<Vec<DeployEventRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at, event FROM deploy_events WHERE deploy_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(id)
        .bind(after)
        .fetch_all(self.pool())
        .await
        .map_err(failed("read deploy events"))?;
        rows.iter()
            .map(|r| {
                let event: String = get(r, "event")?;
                Ok(DeployEventRecord {
                    seq: get(r, "seq")?,
                    at: get(r, "at")?,
                    event: from_json::<DeployEvent>("a deploy event", &event)?,
                })
            })
            .collect()
    }

    async fn running_deploys(&self, cluster: &str) -> StoreResult<Vec<DeployRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            deploy_columns!(),
            " FROM deploys WHERE cluster = ? AND state = 'running' ORDER BY id"
        ))
        .bind(cluster)
        .fetch_all(self.pool())
        .await
        .map_err(failed("read running deploys"))?;
        rows.iter().map(deploy_row).collect()
    }

    async fn services(&self, cluster: &str) -> StoreResult<Vec<ServiceRecord>> {
        let rows = sqlx::query(
            "SELECT service, active, previous, retire_at, routes FROM cluster_services
             WHERE cluster = ? ORDER BY service",
        )
        .bind(cluster)
        .fetch_all(self.pool())
        .await
        .map_err(failed("read the services of a cluster"))?;
        rows.iter()
            .map(|r| {
                let routes: String = get(r, "routes")?;
                Ok(ServiceRecord {
                    service: get(r, "service")?,
                    active: get(r, "active")?,
                    previous: get(r, "previous")?,
                    retire_at: get(r, "retire_at")?,
                    routes: from_json::<Vec<(String, u32)>>("routes of a service", &routes)?,
                })
            })
            .collect()
    }

    async fn save_service(&self, cluster: &str, record: &ServiceRecord) -> StoreResult<()> {
        let routes = to_json("the routes of a service", &record.routes)?;
        // One statement: the row and its routes change together.
        sqlx::query(
            "INSERT OR REPLACE INTO cluster_services (cluster, service, active, previous, retire_at, routes)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(cluster)
        .bind(&record.service)
        .bind(&record.active)
        .bind(&record.previous)
        .bind(record.retire_at)
        .bind(&routes)
        .execute(self.pool())
        .await
        .map_err(failed("record a service"))?;
        Ok(())
    }

    async fn instances(&self, cluster: &str) -> StoreResult<Vec<InstanceRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM cluster_instances WHERE cluster = ? ORDER BY service, version, slot"
        ))
        .bind(cluster)
        .fetch_all(self.pool())
        .await
        .map_err(failed("read the instances of a cluster"))?;
        rows.iter().map(instance_row).collect()
    }

    async fn save_instance(&self, record: &InstanceRecord) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT OR REPLACE INTO cluster_instances (",
            instance_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&record.cluster)
        .bind(&record.service)
        .bind(&record.version)
        .bind(i64::from(record.slot))
        .bind(i64::from(record.port))
        .bind(&record.runtime)
        .bind(record.pid)
        .bind(record.pid_start)
        .bind(&record.container)
        .bind(i64::from(record.restarts))
        .bind(record.started_at)
        .execute(self.pool())
        .await
        .map_err(failed("record an instance"))?;
        Ok(())
    }

    async fn remove_instance(
        &self,
        cluster: &str,
        service: &str,
        version: &str,
        slot: u32,
    ) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM cluster_instances WHERE cluster = ? AND service = ? AND version = ? AND slot = ?",
        )
        .bind(cluster)
        .bind(service)
        .bind(version)
        .bind(i64::from(slot))
        .execute(self.pool())
        .await
        .map_err(failed("remove an instance"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use slipway_model::deploy::{ServiceWeights, Verdict, VersionFigures};

    use super::*;

    fn change(service: &str, from: Option<&str>, to: &str) -> ServiceChange {
        ServiceChange {
            service: service.into(),
            from: from.map(str::to_string),
            to: to.into(),
        }
    }

    fn new_deploy(cluster: &str, services: &[&str], version: &str, at: i64) -> NewDeploy {
        NewDeploy {
            cluster: cluster.into(),
            strategy: Strategy::BlueGreen,
            version: version.into(),
            services: services.iter().map(|s| change(s, None, version)).collect(),
            actor: Some("alice".into()),
            request: "{}".into(),
            started_at: at,
        }
    }

    async fn begin(store: &SqliteStore, new: &NewDeploy) -> i64 {
        store.begin_deploy(new).await.unwrap().unwrap()
    }

    fn breach() -> Breach {
        Breach {
            service: "api".into(),
            version: "v2".into(),
            metric: "error_rate".into(),
            value: 2.5,
            threshold: 0.5,
            window_seconds: 60,
            requests: 400,
        }
    }

    #[tokio::test]
    async fn a_running_deploy_holds_its_services() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let first = begin(&store, &new_deploy("prod", &["api", "web"], "v2", 100)).await;
        let held = store
            .begin_deploy(&new_deploy("prod", &["worker", "web", "api"], "v3", 200))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            held,
            Held {
                service: "web".into(),
                deploy: first,
                actor: Some("alice".into()),
                version: "v2".into(),
                started_at: 100,
            }
        );
        // Nothing was written for the refused deploy: not even `worker`.
        assert_eq!(store.deploys(None, None, 10).await.unwrap().len(), 1);
        let other = begin(&store, &new_deploy("prod", &["worker"], "v3", 300)).await;
        assert_ne!(other, first);
        // Another cluster's services of the same name are its own.
        begin(&store, &new_deploy("staging", &["api", "web"], "v3", 400)).await;
        let running: Vec<i64> = store
            .running_deploys("prod")
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(running, vec![first, other]);
    }

    #[tokio::test]
    async fn finishing_lets_go_of_the_services() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let first = begin(&store, &new_deploy("prod", &["api"], "v2", 100)).await;
        store.set_phase(first, "traffic").await.unwrap();
        store
            .finish_deploy(
                first,
                DeployState::RolledBack,
                Some("breach"),
                Some(&breach()),
                150,
            )
            .await
            .unwrap();
        assert!(store.running_deploys("prod").await.unwrap().is_empty());
        let second = begin(&store, &new_deploy("prod", &["api"], "v3", 200)).await;
        let d = store.deploy(first).await.unwrap().unwrap();
        assert_eq!(
            (d.state, d.phase.as_str(), d.finished_at),
            (DeployState::RolledBack, "traffic", Some(150))
        );
        assert_eq!(store.running_deploys("prod").await.unwrap()[0].id, second);
        // Unknown deploys are an error, not silently ignored.
        assert!(store.set_phase(999, "start").await.is_err());
        assert!(store
            .finish_deploy(999, DeployState::Failed, None, None, 1)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_lock_left_by_a_deploy_no_longer_running_holds_nothing() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let first = begin(&store, &new_deploy("prod", &["api"], "v2", 100)).await;
        // Ended by hand without letting go of its lock.
        sqlx::query("UPDATE deploys SET state = 'failed' WHERE id = ?")
            .bind(first)
            .execute(store.pool())
            .await
            .unwrap();
        let second = begin(&store, &new_deploy("prod", &["api"], "v3", 200)).await;
        let held = store
            .begin_deploy(&new_deploy("prod", &["api"], "v4", 300))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((held.deploy, held.version.as_str()), (second, "v3"));
    }

    #[tokio::test]
    async fn two_stores_on_one_file_see_each_others_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::default_path(dir.path());
        let a = SqliteStore::open(&path).await.unwrap();
        let b = SqliteStore::open(&path).await.unwrap();
        let first = begin(&a, &new_deploy("prod", &["api"], "v2", 100)).await;
        let held = b
            .begin_deploy(&new_deploy("prod", &["api"], "v3", 200))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((held.service.as_str(), held.deploy), ("api", first));
        a.finish_deploy(first, DeployState::Promoted, None, None, 150)
            .await
            .unwrap();
        let second = begin(&b, &new_deploy("prod", &["api"], "v3", 200)).await;
        // Racing for one service from both stores at once: exactly one wins.
        b.finish_deploy(second, DeployState::Promoted, None, None, 250)
            .await
            .unwrap();
        let n1 = new_deploy("prod", &["web", "api"], "v4", 300);
        let n2 = new_deploy("prod", &["api", "web"], "v5", 300);
        let (r1, r2, r3, r4) = tokio::join!(
            a.begin_deploy(&n1),
            b.begin_deploy(&n2),
            a.begin_deploy(&n2),
            b.begin_deploy(&n1)
        );
        let results = [r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()];
        let won: Vec<i64> = results.iter().filter_map(|r| r.clone().ok()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        for r in &results {
            if let Err(held) = r {
                assert_eq!(held.deploy, won[0]);
            }
        }
        assert_eq!(a.running_deploys("prod").await.unwrap().len(), 1);
        a.close().await;
        b.close().await;
    }

    #[tokio::test]
    async fn a_deploy_round_trips_every_field() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let new = NewDeploy {
            cluster: "prod".into(),
            strategy: Strategy::Rolling,
            version: "v2".into(),
            services: vec![change("api", Some("v1"), "v2"), change("web", None, "v2")],
            actor: None,
            request: r#"{"steps":[5,50,100]}"#.into(),
            started_at: 1_700_000_000_000,
        };
        let id = begin(&store, &new).await;
        let started = store.deploy(id).await.unwrap().unwrap();
        assert_eq!(
            started,
            DeployRecord {
                id,
                cluster: "prod".into(),
                strategy: Strategy::Rolling,
                version: "v2".into(),
                services: new.services.clone(),
                actor: None,
                state: DeployState::Running,
                phase: "start".into(),
                reason: None,
                breach: None,
                request: new.request.clone(),
                started_at: 1_700_000_000_000,
                finished_at: None,
            }
        );
        store.set_phase(id, "rollback").await.unwrap();
        store
            .finish_deploy(
                id,
                DeployState::RolledBack,
                Some("error rate over 0.5%"),
                Some(&breach()),
                1_700_000_060_000,
            )
            .await
            .unwrap();
        assert_eq!(
            store.deploy(id).await.unwrap().unwrap(),
            DeployRecord {
                phase: "rollback".into(),
                state: DeployState::RolledBack,
                reason: Some("error rate over 0.5%".into()),
                breach: Some(breach()),
                finished_at: Some(1_700_000_060_000),
                ..started
            }
        );
        assert_eq!(store.deploy(id + 1).await.unwrap(), None);
        // Every strategy and state is written and read back by its name.
        for (strategy, state) in [
            (Strategy::BlueGreen, DeployState::Promoted),
            (Strategy::Rollback, DeployState::Failed),
            (Strategy::Rolling, DeployState::Unchanged),
        ] {
            let mut n = new_deploy("other", &["x"], "v9", 1);
            n.strategy = strategy;
            let id = begin(&store, &n).await;
            store.finish_deploy(id, state, None, None, 2).await.unwrap();
            let d = store.deploy(id).await.unwrap().unwrap();
            assert_eq!((d.strategy, d.state), (strategy, state));
        }
    }

    #[tokio::test]
    async fn a_value_that_does_not_parse_is_a_store_failure() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let id = begin(&store, &new_deploy("prod", &["api"], "v2", 100)).await;
        sqlx::query("UPDATE deploys SET strategy = 'canary' WHERE id = ?")
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
        let StoreFailure(message) = store.deploy(id).await.unwrap_err();
        assert!(message.contains("cannot read back"), "{message}");
        assert!(message.contains("canary"), "{message}");
    }

    #[tokio::test]
    async fn deploys_are_listed_newest_first_and_filtered() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut ids = Vec::new();
        for (cluster, services, at) in [
            ("prod", &["api", "web"][..], 100),
            ("staging", &["api"][..], 200),
            ("prod", &["web"][..], 300),
            ("prod", &["worker"][..], 400),
        ] {
            let id = begin(&store, &new_deploy(cluster, services, "v2", at)).await;
            store
                .finish_deploy(id, DeployState::Promoted, None, None, at + 1)
                .await
                .unwrap();
            ids.push(id);
        }
        let listed = |v: Vec<DeployRecord>| v.iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            listed(store.deploys(None, None, 10).await.unwrap()),
            vec![ids[3], ids[2], ids[1], ids[0]]
        );
        assert_eq!(
            listed(store.deploys(None, None, 2).await.unwrap()),
            vec![ids[3], ids[2]]
        );
        assert_eq!(
            listed(store.deploys(Some("prod"), None, 10).await.unwrap()),
            vec![ids[3], ids[2], ids[0]]
        );
        assert_eq!(
            listed(store.deploys(None, Some("api"), 10).await.unwrap()),
            vec![ids[1], ids[0]]
        );
        assert_eq!(
            listed(store.deploys(Some("prod"), Some("web"), 10).await.unwrap()),
            vec![ids[2], ids[0]]
        );
        assert!(store
            .deploys(Some("prod"), Some("nothing"), 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn events_come_back_in_order_after_a_number() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let id = begin(&store, &new_deploy("prod", &["api"], "v2", 100)).await;
        let events = vec![
            DeployEvent::Started {
                deploy: id,
                cluster: "prod".into(),
                strategy: Strategy::BlueGreen,
                version: "v2".into(),
                services: vec![change("api", Some("v1"), "v2")],
            },
            DeployEvent::Phase {
                phase: "traffic".into(),
                message: "5% to v2".into(),
            },
            DeployEvent::Traffic {
                step: 1,
                steps: 3,
                weights: vec![ServiceWeights {
                    service: "api".into(),
                    weights: vec![("v1".into(), 95), ("v2".into(), 5)],
                }],
            },
            DeployEvent::Analysis {
                service: "api".into(),
                step: 1,
                window_seconds: 60,
                versions: vec![VersionFigures {
                    version: "v2".into(),
                    traffic_percent: 5.0,
                    requests: 400,
                    error_rate_percent: Some(2.5),
                    p95_ms: None,
                }],
                verdict: Verdict::Breach(breach()),
            },
            DeployEvent::Finished {
                state: DeployState::RolledBack,
                reason: Some("breach".into()),
                breach: Some(breach()),
                invalid: false,
                seconds: 61.5,
            },
        ];
        let records: Vec<DeployEventRecord> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| DeployEventRecord {
                seq: i as i64 + 1,
                at: 1000 + i as i64,
                event,
            })
            .collect();
        // Written out of order: read back in order.
        for r in records.iter().rev() {
            store.add_event(id, r).await.unwrap();
        }
        assert_eq!(store.deploy_events(id, 0).await.unwrap(), records);
        assert_eq!(store.deploy_events(id, 3).await.unwrap(), records[3..]);
        assert!(store.deploy_events(id, 5).await.unwrap().is_empty());
        assert!(store.deploy_events(id + 1, 0).await.unwrap().is_empty());
        // A number taken twice is refused.
        assert!(store.add_event(id, &records[0]).await.is_err());
    }

    #[tokio::test]
    async fn services_keep_their_routes_and_are_replaced() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let api = ServiceRecord {
            service: "api".into(),
            active: Some("v1".into()),
            previous: None,
            retire_at: None,
            routes: vec![("v1".into(), 100)],
        };
        store.save_service("prod", &api).await.unwrap();
        let web = ServiceRecord {
            service: "web".into(),
            active: None,
            previous: None,
            retire_at: None,
            routes: vec![],
        };
        store.save_service("prod", &web).await.unwrap();
        store.save_service("staging", &api).await.unwrap();
        let moved = ServiceRecord {
            service: "api".into(),
            active: Some("v2".into()),
            previous: Some("v1".into()),
            retire_at: Some(5000),
            routes: vec![("v1".into(), 50), ("v2".into(), 50)],
        };
        store.save_service("prod", &moved).await.unwrap();
        assert_eq!(store.services("prod").await.unwrap(), vec![moved, web]);
        assert_eq!(store.services("staging").await.unwrap(), vec![api]);
        assert!(store.services("nowhere").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn instances_are_saved_replaced_and_removed() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let instance = |cluster: &str, version: &str, slot: u32| InstanceRecord {
            cluster: cluster.into(),
            service: "api".into(),
            version: version.into(),
            slot,
            port: 40_000 + slot as u16,
            runtime: "process".into(),
            pid: Some(1234),
            pid_start: Some(987_654),
            container: None,
            restarts: 0,
            started_at: 100,
        };
        let a0 = instance("prod", "v1", 0);
        let a1 = instance("prod", "v1", 1);
        let b0 = InstanceRecord {
            runtime: "docker".into(),
            pid: None,
            pid_start: None,
            container: Some("abc123".into()),
            port: u16::MAX,
            ..instance("prod", "v2", 0)
        };
        for i in [&b0, &a1, &a0, &instance("staging", "v1", 0)] {
            store.save_instance(i).await.unwrap();
        }
        assert_eq!(
            store.instances("prod").await.unwrap(),
            vec![a0.clone(), a1.clone(), b0.clone()]
        );
        let restarted = InstanceRecord {
            pid: Some(5678),
            pid_start: Some(999_999),
            restarts: 1,
            started_at: 200,
            ..a1.clone()
        };
        store.save_instance(&restarted).await.unwrap();
        store.remove_instance("prod", "api", "v1", 0).await.unwrap();
        // Removing what is not there is fine.
        store.remove_instance("prod", "api", "v9", 0).await.unwrap();
        assert_eq!(store.instances("prod").await.unwrap(), vec![restarted, b0]);
        assert_eq!(store.instances("staging").await.unwrap().len(), 1);
    }
}
