//! Approval gates and the decisions on them (see migration 0005). The
//! rules (who may approve, how many) are checked by the caller against
//! the gate row; the store keeps each decision once per person and moves
//! the gate to `approved` or `rejected` in the same statement that counts.

use sqlx::Row;

use crate::{SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    pub id: i64,
    pub run_id: i64,
    pub job_key: String,
    pub gate: String,
    pub job_id: String,
    pub job_name: String,
    pub title: String,
    pub environment: Option<String>,
    pub url: Option<String>,
    pub approvers: Vec<String>,
    pub required: i64,
    pub excluded: Option<String>,
    /// waiting | approved | rejected | timed-out | cancelled
    pub state: String,
    pub created_at: i64,
    pub deadline: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRow {
    pub user: String,
    /// approve | reject
    pub decision: String,
    pub comment: Option<String>,
    pub at: i64,
}

pub struct NewGate<'a> {
    pub run_id: i64,
    pub job_key: &'a str,
    pub gate: &'a str,
    pub job_id: &'a str,
    pub job_name: &'a str,
    pub title: &'a str,
    pub environment: Option<&'a str>,
    pub url: Option<&'a str>,
    pub approvers: &'a [String],
    pub required: i64,
    pub excluded: Option<&'a str>,
    pub created_at: i64,
    pub deadline: i64,
}

/// The columns `gate_row` reads, as a literal so queries stay static strings.
macro_rules! columns {
    () => {
        "id, run_id, job_key, gate, job_id, job_name, title, environment, url, approvers, required, excluded, state, created_at, deadline, decided_at"
    };
}

fn gate_row(r: &sqlx::sqlite::SqliteRow) -> Result<GateRow, StoreError> {
    let approvers: String = r.try_get("approvers")?;
    Ok(GateRow {
        id: r.try_get("id")?,
        run_id: r.try_get("run_id")?,
        job_key: r.try_get("job_key")?,
        gate: r.try_get("gate")?,
        job_id: r.try_get("job_id")?,
        job_name: r.try_get("job_name")?,
        title: r.try_get("title")?,
        environment: r.try_get("environment")?,
        url: r.try_get("url")?,
        approvers: serde_json::from_str(&approvers)
            .map_err(|e| StoreError::Corrupt(format!("approvers of a gate: {e}")))?,
        required: r.try_get("required")?,
        excluded: r.try_get("excluded")?,
        state: r.try_get("state")?,
        created_at: r.try_get("created_at")?,
        deadline: r.try_get("deadline")?,
        decided_at: r.try_get("decided_at")?,
    })
}

impl SqliteStore {
    /// The gate for this run, job and gate name: a new one `waiting`, or
    /// the one an earlier process of the run opened, with its decisions.
    pub async fn open_gate(&self, gate: &NewGate<'_>) -> Result<GateRow, StoreError> {
        let approvers = serde_json::to_string(gate.approvers)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO approval_gates (run_id, job_key, gate, job_id, job_name, title, environment, url, approvers, required, excluded, state, created_at, deadline)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?)
             ON CONFLICT (run_id, job_key, gate) DO NOTHING",
        )
        .bind(gate.run_id)
        .bind(gate.job_key)
        .bind(gate.gate)
        .bind(gate.job_id)
        .bind(gate.job_name)
        .bind(gate.title)
        .bind(gate.environment)
        .bind(gate.url)
        .bind(&approvers)
        .bind(gate.required)
        .bind(gate.excluded)
        .bind(gate.created_at)
        .bind(gate.deadline)
        .execute(self.pool())
        .await?;
        let r = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM approval_gates WHERE run_id = ? AND job_key = ? AND gate = ?"
        ))
        .bind(gate.run_id)
        .bind(gate.job_key)
        .bind(gate.gate)
        .fetch_one(self.pool())
        .await?;
        gate_row(&r)
    }

    pub async fn gate(&self, id: i64) -> Result<Option<GateRow>, StoreError> {
        let r = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM approval_gates WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        r.as_ref().map(gate_row).transpose()
    }

    /// A run's gates, oldest first.
    pub async fn run_gates(&self, run_id: i64) -> Result<Vec<GateRow>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM approval_gates WHERE run_id = ? ORDER BY id"
        ))
        .bind(run_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(gate_row).collect()
    }

    /// Every gate still waiting, oldest first.
    pub async fn waiting_gates(&self) -> Result<Vec<GateRow>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM approval_gates WHERE state = 'waiting' ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(gate_row).collect()
    }

    /// Decisions on a gate, in the order they were given.
    pub async fn approvals(&self, gate_id: i64) -> Result<Vec<ApprovalRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT user, decision, comment, at FROM approvals WHERE gate_id = ? ORDER BY at, rowid",
        )
        .bind(gate_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApprovalRow {
                    user: r.try_get("user")?,
                    decision: r.try_get("decision")?,
                    comment: r.try_get("comment")?,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Record one person's decision on a waiting gate and settle the gate:
    /// `rejected` at once on a rejection, `approved` once enough approve.
    /// Returns false when that person has decided on it already or the
    /// gate no longer waits (nothing is recorded then).
    pub async fn decide(
        &self,
        gate_id: i64,
        user: &str,
        approve: bool,
        comment: Option<&str>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO approvals (gate_id, user, decision, comment, at)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS
               (SELECT 1 FROM approval_gates WHERE id = ?1 AND state = 'waiting')
             ON CONFLICT (gate_id, user) DO NOTHING",
        )
        .bind(gate_id)
        .bind(user)
        .bind(if approve { "approve" } else { "reject" })
        .bind(comment)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query(
                "UPDATE approval_gates SET
                   state = CASE
                     WHEN EXISTS (SELECT 1 FROM approvals WHERE gate_id = ?1 AND decision = 'reject') THEN 'rejected'
                     WHEN (SELECT COUNT(*) FROM approvals WHERE gate_id = ?1 AND decision = 'approve') >= required THEN 'approved'
                     ELSE 'waiting' END
                 WHERE id = ?1 AND state = 'waiting'",
            )
            .bind(gate_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE approval_gates SET decided_at = ?2 WHERE id = ?1 AND state != 'waiting' AND decided_at IS NULL",
            )
            .bind(gate_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// End a waiting gate without a decision: `timed-out` or `cancelled`.
    pub async fn close_gate(&self, gate_id: i64, state: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE approval_gates SET state = ?, decided_at = ? WHERE id = ? AND state = 'waiting'",
        )
        .bind(state)
        .bind(at)
        .bind(gate_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::NewRun;

    async fn store_with_gate(required: i64) -> (SqliteStore, GateRow) {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let run = store
            .start_run(&NewRun {
                repository: "o/r",
                workflow_file: "ci.yml",
                workflow_name: "CI",
                event: "push",
                git_ref: "refs/heads/main",
                sha: "abc",
                pid: 1,
                started_at: 0,
            })
            .await
            .unwrap();
        let approvers = vec!["alice".to_string(), "bob".to_string()];
        let gate = store
            .open_gate(&NewGate {
                run_id: run,
                job_key: "deploy",
                gate: "environment",
                job_id: "deploy",
                job_name: "Deploy",
                title: "deploy to production",
                environment: Some("production"),
                url: None,
                approvers: &approvers,
                required,
                excluded: Some("carol"),
                created_at: 10,
                deadline: 1000,
            })
            .await
            .unwrap();
        (store, gate)
    }

    #[tokio::test]
    async fn approvals_count_once_per_person_and_settle_the_gate() {
        let (store, gate) = store_with_gate(2).await;
        assert_eq!(gate.state, "waiting");
        assert!(store
            .decide(gate.id, "alice", true, None, 11)
            .await
            .unwrap());
        // The same person again: not recorded.
        assert!(!store
            .decide(gate.id, "alice", true, None, 12)
            .await
            .unwrap());
        assert_eq!(store.gate(gate.id).await.unwrap().unwrap().state, "waiting");
        assert!(store
            .decide(gate.id, "bob", true, Some("ok"), 13)
            .await
            .unwrap());
        let settled = store.gate(gate.id).await.unwrap().unwrap();
        assert_eq!(
            (settled.state.as_str(), settled.decided_at),
            ("approved", Some(13))
        );
        // Settled: nothing more is recorded.
        assert!(!store
            .decide(gate.id, "carol", false, None, 14)
            .await
            .unwrap());
        let who: Vec<_> = store
            .approvals(gate.id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.user, a.decision, a.comment))
            .collect();
        assert_eq!(
            who,
            vec![
                ("alice".into(), "approve".into(), None),
                ("bob".into(), "approve".into(), Some("ok".into()))
            ]
        );
        // Opening it again (a resumed run) finds it as it is.
        let again = store
            .open_gate(&NewGate {
                run_id: gate.run_id,
                job_key: "deploy",
                gate: "environment",
                job_id: "deploy",
                job_name: "Deploy",
                title: "deploy to production",
                environment: Some("production"),
                url: None,
                approvers: &[],
                required: 2,
                excluded: None,
                created_at: 99,
                deadline: 2000,
            })
            .await
            .unwrap();
        assert_eq!((again.id, again.state.as_str()), (gate.id, "approved"));
    }

    #[tokio::test]
    async fn one_rejection_rejects_and_timeouts_close() {
        let (store, gate) = store_with_gate(2).await;
        assert!(store
            .decide(gate.id, "bob", false, Some("not today"), 11)
            .await
            .unwrap());
        assert_eq!(
            store.gate(gate.id).await.unwrap().unwrap().state,
            "rejected"
        );
        let (store, gate) = store_with_gate(1).await;
        assert_eq!(store.waiting_gates().await.unwrap().len(), 1);
        store.close_gate(gate.id, "timed-out", 20).await.unwrap();
        assert!(store.waiting_gates().await.unwrap().is_empty());
        assert_eq!(
            store.gate(gate.id).await.unwrap().unwrap().state,
            "timed-out"
        );
    }
}
