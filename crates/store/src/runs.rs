//! The run history: a row per run, its summary kept current as jobs end.

use sqlx::Row;

use crate::{SqliteStore, StoreError};

/// A run as listed by `slipway runs`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub repository: String,
    pub workflow_file: String,
    pub workflow_name: String,
    pub event: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    pub status: String,
    /// Unix time in milliseconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    #[serde(skip)]
    pub pid: i64,
    #[serde(skip)]
    pub summary: String,
}

/// A job of a run as recorded while the run goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct RunJobRow {
    pub id: String,
    pub name: String,
    /// The matrix combination as JSON text.
    pub matrix: Option<String>,
    pub conclusion: String,
    pub seconds: f64,
    /// JSON object.
    pub outputs: String,
}

/// What is known when a run starts.
pub struct NewRun<'a> {
    pub repository: &'a str,
    pub workflow_file: &'a str,
    pub workflow_name: &'a str,
    pub event: &'a str,
    pub git_ref: &'a str,
    pub sha: &'a str,
    pub pid: u32,
    pub started_at: i64,
}

/// The columns `row` reads, as a literal so queries stay static strings.
macro_rules! columns {
    () => {
        "id, repository, workflow_file, workflow_name, event, git_ref, commit_sha, status, pid, started_at, finished_at, summary"
    };
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        id: r.try_get("id")?,
        repository: r.try_get("repository")?,
        workflow_file: r.try_get("workflow_file")?,
        workflow_name: r.try_get("workflow_name")?,
        event: r.try_get("event")?,
        git_ref: r.try_get("git_ref")?,
        sha: r.try_get("commit_sha")?,
        status: r.try_get("status")?,
        pid: r.try_get("pid")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        summary: r.try_get("summary")?,
    })
}

impl SqliteStore {
    /// Record a run as `running`; returns its id.
    pub async fn start_run(&self, run: &NewRun<'_>) -> Result<i64, StoreError> {
        let id = sqlx::query(
            "INSERT INTO runs (repository, workflow_file, workflow_name, event, git_ref, commit_sha, status, pid, started_at, summary)
             VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, '{}') RETURNING id",
        )
        .bind(run.repository)
        .bind(run.workflow_file)
        .bind(run.workflow_name)
        .bind(run.event)
        .bind(run.git_ref)
        .bind(run.sha)
        .bind(i64::from(run.pid))
        .bind(run.started_at)
        .fetch_one(self.pool())
        .await?
        .try_get::<i64, _>("id")?;
        Ok(id)
    }

    pub async fn finish_run(
        &self,
        id: i64,
        status: &str,
        finished_at: i64,
        summary: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?")
            .bind(status)
            .bind(finished_at)
            .bind(summary)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A job started: `key` tells instances of a matrix job apart.
    pub async fn job_started(
        &self,
        run_id: i64,
        key: &str,
        id: &str,
        name: &str,
        matrix: Option<&str>,
    ) -> Result<(), StoreError> {
        self.job_finished(run_id, key, id, name, matrix, "running", 0.0, "{}")
            .await
    }

    /// A job ended (or was decided without starting: skipped, cancelled);
    /// also how a start is recorded, as `running`.
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub async fn job_finished(
        &self,
        run_id: i64,
        key: &str,
        id: &str,
        name: &str,
        matrix: Option<&str>,
        conclusion: &str,
        seconds: f64,
        outputs: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO run_jobs (run_id, job_key, seq, id, name, matrix, conclusion, seconds, outputs)
             VALUES (?1, ?2, (SELECT COUNT(*) FROM run_jobs WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (run_id, job_key) DO UPDATE SET conclusion = ?6, seconds = ?7, outputs = ?8",
        )
        .bind(run_id)
        .bind(key)
        .bind(id)
        .bind(name)
        .bind(matrix)
        .bind(conclusion)
        .bind(seconds)
        .bind(outputs)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The jobs recorded for a run, in the order they started.
    pub async fn run_jobs(&self, run_id: i64) -> Result<Vec<RunJobRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, matrix, conclusion, seconds, outputs FROM run_jobs WHERE run_id = ? ORDER BY seq")
            .bind(run_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RunJobRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    matrix: r.try_get("matrix")?,
                    conclusion: r.try_get("conclusion")?,
                    seconds: r.try_get("seconds")?,
                    outputs: r.try_get("outputs")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// A run waits for approval (`waiting`) or goes on (`running`), run
    /// by this process now (a resumed run changes hands).
    pub async fn set_run_status(&self, id: i64, status: &str, pid: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET status = ?, pid = ?, finished_at = NULL WHERE id = ?")
            .bind(status)
            .bind(i64::from(pid))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// What `slipway resume` needs to start the run again (JSON).
    pub async fn set_run_request(&self, id: i64, request: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET request = ? WHERE id = ?")
            .bind(request)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn run_request(&self, id: i64) -> Result<Option<String>, StoreError> {
        let r = sqlx::query("SELECT request FROM runs WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match r {
            Some(r) => r.try_get("request")?,
            None => None,
        })
    }

    /// Runs still `running` whose process is gone become `interrupted`;
    /// `alive` tells whether a pid still runs this run.
    pub async fn mark_interrupted(&self, alive: impl Fn(i64) -> bool) -> Result<usize, StoreError> {
        let rows = sqlx::query("SELECT id, pid FROM runs WHERE status = 'running'")
            .fetch_all(self.pool())
            .await?;
        let mut marked = 0;
        for r in rows {
            let (id, pid): (i64, i64) = (r.try_get("id")?, r.try_get("pid")?);
            if !alive(pid) {
                sqlx::query(
                    "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'",
                )
                .bind(id)
                .execute(self.pool())
                .await?;
                marked += 1;
            }
        }
        Ok(marked)
    }

    /// Newest first.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM runs ORDER BY id DESC LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    pub async fn get_run(&self, id: i64) -> Result<Option<RunRow>, StoreError> {
        let r = sqlx::query(concat!("SELECT ", columns!(), " FROM runs WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(r.as_ref().map(row).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_are_recorded_listed_and_marked_interrupted() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let new = |sha: &'static str| NewRun {
            repository: "o/r",
            workflow_file: ".github/workflows/ci.yml",
            workflow_name: "CI",
            event: "push",
            git_ref: "refs/heads/main",
            sha,
            pid: 4242,
            started_at: 1000,
        };
        let a = store.start_run(&new("aaa")).await.unwrap();
        let b = store.start_run(&new("bbb")).await.unwrap();
        store
            .job_started(b, "build", "build", "Build", None)
            .await
            .unwrap();
        store
            .job_started(b, "test (1)", "test", "Test (1)", Some("{\"n\":1}"))
            .await
            .unwrap();
        store
            .job_finished(b, "build", "build", "Build", None, "success", 1.5, "{}")
            .await
            .unwrap();
        let jobs = store.run_jobs(b).await.unwrap();
        assert_eq!(
            jobs.iter()
                .map(|j| (j.name.as_str(), j.conclusion.as_str()))
                .collect::<Vec<_>>(),
            vec![("Build", "success"), ("Test (1)", "running")]
        );
        store
            .finish_run(a, "success", 2000, r#"{"run_id":1}"#)
            .await
            .unwrap();
        assert_eq!(store.mark_interrupted(|pid| pid != 4242).await.unwrap(), 1);
        let runs = store.list_runs(10).await.unwrap();
        assert_eq!(
            runs.iter()
                .map(|r| (r.id, r.status.as_str()))
                .collect::<Vec<_>>(),
            vec![(b, "interrupted"), (a, "success")]
        );
        assert_eq!(
            store.get_run(a).await.unwrap().unwrap().summary,
            r#"{"run_id":1}"#
        );
        assert!(store.get_run(99).await.unwrap().is_none());
    }
}
