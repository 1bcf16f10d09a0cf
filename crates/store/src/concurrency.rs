//! Concurrency group slots (see migration 0003).

use sqlx::Row;

use crate::{SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub id: i64,
    pub run_id: i64,
    pub pid: i64,
    pub state: String,
}

impl SqliteStore {
    /// Join a group as `pending`; returns the slot id.
    pub async fn slot_enter(
        &self,
        group: &str,
        run_id: i64,
        pid: u32,
        at: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query("INSERT INTO concurrency_slots (grp, run_id, pid, state, entered_at) VALUES (?, ?, ?, 'pending', ?) RETURNING id")
            .bind(group)
            .bind(run_id)
            .bind(i64::from(pid))
            .bind(at)
            .fetch_one(self.pool())
            .await?
            .try_get("id")?)
    }

    /// Every slot of a group, oldest first.
    pub async fn slots(&self, group: &str) -> Result<Vec<Slot>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, run_id, pid, state FROM concurrency_slots WHERE grp = ? ORDER BY id",
        )
        .bind(group)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Slot {
                    id: r.try_get("id")?,
                    run_id: r.try_get("run_id")?,
                    pid: r.try_get("pid")?,
                    state: r.try_get("state")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn slot_state(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT state FROM concurrency_slots WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get("state"))
                .transpose()?,
        )
    }

    /// Move a slot to `to` only if it is still in `from` (so a `cancel`
    /// is never overwritten by a late `running`).
    pub async fn slot_move(&self, id: i64, from: &str, to: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE concurrency_slots SET state = ? WHERE id = ? AND state = ?")
            .bind(to)
            .bind(id)
            .bind(from)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Take the group in one statement: only when nobody holds it and no
    /// older slot is waiting for it. Returns whether the slot now holds it.
    pub async fn slot_try_take(&self, id: i64, group: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE concurrency_slots SET state = 'running' WHERE id = ?1 AND state = 'pending'
               AND NOT EXISTS (SELECT 1 FROM concurrency_slots WHERE grp = ?2 AND id != ?1 AND state IN ('running', 'cancel'))
               AND NOT EXISTS (SELECT 1 FROM concurrency_slots WHERE grp = ?2 AND id < ?1 AND state = 'pending')",
        )
        .bind(id)
        .bind(group)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn slot_leave(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM concurrency_slots WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_move_only_from_the_expected_state() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let a = store.slot_enter("deploy", 1, 10, 0).await.unwrap();
        let b = store.slot_enter("deploy", 2, 11, 1).await.unwrap();
        store.slot_enter("other", 3, 12, 2).await.unwrap();
        assert!(store.slot_move(a, "pending", "running").await.unwrap());
        assert!(store.slot_move(a, "running", "cancel").await.unwrap());
        assert!(!store.slot_move(a, "pending", "running").await.unwrap());
        let states: Vec<(i64, String)> = store
            .slots("deploy")
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.state))
            .collect();
        assert_eq!(
            states,
            vec![(a, "cancel".to_string()), (b, "pending".to_string())]
        );
        store.slot_leave(a).await.unwrap();
        assert_eq!(store.slot_state(a).await.unwrap(), None);
        assert_eq!(store.slots("deploy").await.unwrap().len(), 1);
    }
}
