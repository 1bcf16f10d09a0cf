//! slipway's state: SQLite at `<repository>/.slipway/state.db`, with
//! numbered migrations under `migrations/` (embedded in the binary and
//! applied on open). Later tables (the run history) come as new numbered
//! migrations; a migration once released is never edited.
//!
//! [`SqliteStore`] implements the ports the other crates declare:
//! [`slipway_gates::history::CoverageStore`] (coverage history) and
//! [`slipway_model::deploy::DeployStore`] (deploys, their locks and events,
//! and the services and instances of each cluster).

pub mod approvals;
pub mod concurrency;
mod coverage;
mod deploys;
mod migrations;
pub mod runs;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Where the state of a repository lives.
pub fn default_path(repository_root: &Path) -> PathBuf {
    repository_root.join(".slipway").join("state.db")
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the state database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot update the state database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("state database: {0}")]
    Query(#[from] sqlx::Error),
    #[error("state database holds a value it cannot read back: {0}")]
    Corrupt(String),
}

/// The SQLite store. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating it and its folder when missing) and migrate.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL keeps the database consistent through a crash
            // and only a power loss can drop the last commits; FULL would
            // sync on every commit (the run history writes as jobs go).
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options, &path.display().to_string(), 4).await
    }

    /// A private database in memory (one connection), for tests.
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|source| StoreError::Open {
                path: ":memory:".into(),
                source,
            })?
            .foreign_keys(true);
        Self::connect(options, ":memory:", 1).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        name: &str,
        connections: u32,
    ) -> Result<SqliteStore, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: name.to_string(),
                source,
            })?;
        migrations::run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// The pool, for stores of other kinds of state built on this one.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opening_twice_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = default_path(dir.path());
        let store = SqliteStore::open(&path).await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(versions, vec![1, 2, 3, 4, 5, 6]);
    }
}
