//! The numbered migrations, embedded in the binary. A new migration is a
//! new file `migrations/NNNN_what.sql` and a new line in [`MIGRATIONS`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;
use sqlx::SqlSafeStr;

/// (version, description, SQL), in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "coverage reports",
        include_str!("../migrations/0001_coverage_reports.sql"),
    ),
    (2, "runs", include_str!("../migrations/0002_runs.sql")),
    (
        3,
        "concurrency groups",
        include_str!("../migrations/0003_concurrency.sql"),
    ),
    (
        4,
        "run jobs",
        include_str!("../migrations/0004_run_jobs.sql"),
    ),
    (
        5,
        "approvals",
        include_str!("../migrations/0005_approvals.sql"),
    ),
    (6, "deploys", include_str!("../migrations/0006_deploys.sql")),
];

#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn run(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await?.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn numbered_in_order_and_files_match() {
        for (i, (version, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files.len(),
            MIGRATIONS.len(),
            "every file under migrations/ is listed in MIGRATIONS"
        );
        for (file, (version, _, _)) in files.iter().zip(MIGRATIONS) {
            assert!(file.starts_with(&format!("{version:04}_")), "{file}");
        }
    }
}
