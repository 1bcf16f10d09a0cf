//! Coverage reports in SQLite (tables of migration 0001).

use std::future::Future;

use slipway_gates::coverage::{Counter, CoverageReport, FileCoverage, Format, Summary};
use slipway_gates::history::{
    decode_lines, encode_lines, CoverageStore, ReportMeta, StoredReport, TrendPoint,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::{SqliteStore, StoreError};

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn opt(c: Option<Counter>) -> (Option<i64>, Option<i64>) {
    match c {
        Some(c) => (Some(int(c.covered)), Some(int(c.total))),
        None => (None, None),
    }
}

fn count(row: &SqliteRow, column: &str) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(column)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{column} = {v}")))
}

fn counter(row: &SqliteRow, prefix: &str) -> Result<Option<Counter>, StoreError> {
    let covered: Option<i64> = row.try_get(format!("{prefix}_covered").as_str())?;
    let total: Option<i64> = row.try_get(format!("{prefix}_total").as_str())?;
    match (covered, total) {
        (Some(c), Some(t)) if c >= 0 && t >= 0 => Ok(Some(Counter::new(c as u64, t as u64))),
        (None, None) => Ok(None),
        (c, t) => Err(StoreError::Corrupt(format!("{prefix} counter {c:?}/{t:?}"))),
    }
}

fn summary(row: &SqliteRow) -> Result<Summary, StoreError> {
    Ok(Summary {
        lines: Counter::new(count(row, "lines_covered")?, count(row, "lines_total")?),
        branches: counter(row, "branches")?,
        functions: counter(row, "functions")?,
        statements: counter(row, "statements")?,
    })
}

fn format_of(row: &SqliteRow) -> Result<Format, StoreError> {
    let name: String = row.try_get("format")?;
    Format::from_name(&name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown report format `{name}`")))
}

impl SqliteStore {
    async fn insert_report(
        &self,
        meta: &ReportMeta,
        report: &CoverageReport,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let t = &report.total;
        let (bc, bt) = opt(t.branches);
        let (fc, ft) = opt(t.functions);
        let (sc, st) = opt(t.statements);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO coverage_reports (repository, flag, branch, commit_sha, recorded_at, format, percent, \
             lines_covered, lines_total, branches_covered, branches_total, functions_covered, functions_total, \
             statements_covered, statements_total) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&meta.repository)
        .bind(&meta.flag)
        .bind(&meta.branch)
        .bind(&meta.commit)
        .bind(meta.recorded_at)
        .bind(report.format.name())
        .bind(report.percent().two_decimals())
        .bind(int(t.lines.covered))
        .bind(int(t.lines.total))
        .bind(bc)
        .bind(bt)
        .bind(fc)
        .bind(ft)
        .bind(sc)
        .bind(st)
        .fetch_one(&mut *tx)
        .await?;
        for f in &report.files {
            let s = &f.summary;
            let (bc, bt) = opt(s.branches);
            let (fc, ft) = opt(s.functions);
            let (sc, st) = opt(s.statements);
            sqlx::query(
                "INSERT INTO coverage_files (report_id, path, lines_covered, lines_total, branches_covered, branches_total, \
                 functions_covered, functions_total, statements_covered, statements_total, line_data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&f.path)
            .bind(int(s.lines.covered))
            .bind(int(s.lines.total))
            .bind(bc)
            .bind(bt)
            .bind(fc)
            .bind(ft)
            .bind(sc)
            .bind(st)
            .bind(encode_lines(&f.lines))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn latest_report(
        &self,
        repository: &str,
        flag: &str,
        branch: &str,
    ) -> Result<Option<StoredReport>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, repository, flag, branch, commit_sha, recorded_at, format, \
             lines_covered, lines_total, branches_covered, branches_total, \
             functions_covered, functions_total, statements_covered, statements_total \
             FROM coverage_reports WHERE repository = ? AND flag = ? AND branch = ? \
             ORDER BY recorded_at DESC, id DESC LIMIT 1",
        )
        .bind(repository)
        .bind(flag)
        .bind(branch)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let meta = ReportMeta {
            repository: row.try_get("repository")?,
            flag: row.try_get("flag")?,
            branch: row.try_get("branch")?,
            commit: row.try_get("commit_sha")?,
            recorded_at: row.try_get("recorded_at")?,
        };
        let format = format_of(&row)?;
        let rows = sqlx::query(
            "SELECT path, lines_covered, lines_total, branches_covered, branches_total, functions_covered, functions_total, \
             statements_covered, statements_total, line_data FROM coverage_files WHERE report_id = ? ORDER BY path",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut files = Vec::with_capacity(rows.len());
        for r in &rows {
            let data: Vec<u8> = r.try_get("line_data")?;
            let path: String = r.try_get("path")?;
            let lines =
                decode_lines(&data).map_err(|e| StoreError::Corrupt(format!("{path}: {e}")))?;
            files.push(FileCoverage {
                path,
                summary: summary(r)?,
                lines,
            });
        }
        Ok(Some(StoredReport {
            id,
            meta,
            report: CoverageReport::new(format, files),
        }))
    }

    async fn trend_points(
        &self,
        repository: &str,
        flag: &str,
        branch: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TrendPoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, branch, commit_sha, recorded_at, format, \
             lines_covered, lines_total, branches_covered, branches_total, \
             functions_covered, functions_total, statements_covered, statements_total \
             FROM coverage_reports WHERE repository = ? AND flag = ? AND (? IS NULL OR branch = ?) \
             ORDER BY recorded_at DESC, id DESC LIMIT ?",
        )
        .bind(repository)
        .bind(flag)
        .bind(branch)
        .bind(branch)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut points = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            points.push(TrendPoint {
                id: row.try_get("id")?,
                branch: row.try_get("branch")?,
                commit: row.try_get("commit_sha")?,
                recorded_at: row.try_get("recorded_at")?,
                format: format_of(row)?,
                total: summary(row)?,
            });
        }
        Ok(points)
    }
}

impl CoverageStore for SqliteStore {
    type Error = StoreError;

    fn record(
        &self,
        meta: &ReportMeta,
        report: &CoverageReport,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send {
        self.insert_report(meta, report)
    }

    fn latest(
        &self,
        repository: &str,
        flag: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<StoredReport>, StoreError>> + Send {
        self.latest_report(repository, flag, branch)
    }

    fn trend(
        &self,
        repository: &str,
        flag: &str,
        branch: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TrendPoint>, StoreError>> + Send {
        self.trend_points(repository, flag, branch, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_gates::coverage::LineCov;
    use slipway_gates::history::MemoryStore;

    fn report(format: Format, covered_line_2: bool) -> CoverageReport {
        let lines = vec![
            LineCov {
                line: 1,
                hits: 3,
                branches_covered: 1,
                branches_total: 2,
            },
            LineCov {
                line: 2,
                hits: covered_line_2 as u32,
                branches_covered: 0,
                branches_total: 0,
            },
        ];
        let summary = Summary {
            lines: Counter::new(1 + covered_line_2 as u64, 2),
            branches: Some(Counter::new(1, 2)),
            functions: None,
            statements: (format == Format::Go).then_some(Counter::new(4, 7)),
        };
        CoverageReport::new(
            format,
            vec![
                FileCoverage {
                    path: "svc/b.py".into(),
                    summary,
                    lines: lines.clone(),
                },
                FileCoverage {
                    path: "svc/a.py".into(),
                    summary,
                    lines,
                },
            ],
        )
    }

    fn meta(flag: &str, branch: &str, commit: &str, at: i64) -> ReportMeta {
        ReportMeta {
            repository: "mpac/smartpos".into(),
            flag: flag.into(),
            branch: branch.into(),
            commit: commit.into(),
            recorded_at: at,
        }
    }

    /// The SQLite store and the memory fake answer the same.
    async fn exercise<S: CoverageStore>(
        store: &S,
    ) -> (Option<StoredReport>, Vec<TrendPoint>, Vec<TrendPoint>) {
        store
            .record(
                &meta("svc-portal", "main", "c1", 100),
                &report(Format::Cobertura, false),
            )
            .await
            .unwrap();
        store
            .record(
                &meta("svc-portal", "main", "c2", 200),
                &report(Format::Cobertura, true),
            )
            .await
            .unwrap();
        store
            .record(
                &meta("svc-portal", "feature/x", "c3", 300),
                &report(Format::Cobertura, false),
            )
            .await
            .unwrap();
        store
            .record(
                &meta("svc-smarttab", "main", "c4", 400),
                &report(Format::Go, true),
            )
            .await
            .unwrap();
        let latest = store
            .latest("mpac/smartpos", "svc-portal", "main")
            .await
            .unwrap();
        let all = store
            .trend("mpac/smartpos", "svc-portal", None, 10)
            .await
            .unwrap();
        let last_one = store
            .trend("mpac/smartpos", "svc-portal", Some("main"), 1)
            .await
            .unwrap();
        (latest, all, last_one)
    }

    #[tokio::test]
    async fn sqlite_keeps_what_memory_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&crate::default_path(dir.path()))
            .await
            .unwrap();
        let (latest, all, last_one) = exercise(&sqlite).await;
        let (m_latest, m_all, m_last_one) = exercise(&MemoryStore::default()).await;

        let latest = latest.unwrap();
        assert_eq!(latest.meta, meta("svc-portal", "main", "c2", 200));
        assert_eq!(latest.report, report(Format::Cobertura, true));
        assert_eq!(latest.report, m_latest.unwrap().report);
        let commits = |p: &[TrendPoint]| {
            p.iter()
                .map(|p| (p.commit.clone(), p.branch.clone(), p.total, p.format))
                .collect::<Vec<_>>()
        };
        assert_eq!(commits(&all), commits(&m_all));
        assert_eq!(
            all.iter().map(|p| p.commit.as_str()).collect::<Vec<_>>(),
            ["c1", "c2", "c3"]
        );
        assert_eq!(commits(&last_one), commits(&m_last_one));
        assert_eq!(last_one[0].commit, "c2");
        assert!(sqlite
            .latest("mpac/smartpos", "svc-portal", "develop")
            .await
            .unwrap()
            .is_none());
        let go = sqlite
            .latest("mpac/smartpos", "svc-smarttab", "main")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(go.report.format, Format::Go);
        assert_eq!(go.report.total.statements, Some(Counter::new(8, 14)));
    }

    #[tokio::test]
    async fn survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::default_path(dir.path());
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .record(&meta("", "main", "c1", 1), &report(Format::Lcov, true))
            .await
            .unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        let latest = store
            .latest("mpac/smartpos", "", "main")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.report.format, Format::Lcov);
        assert_eq!(latest.report.files.len(), 2);
    }

    #[tokio::test]
    async fn in_memory_database() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let (latest, _, _) = exercise(&store).await;
        assert_eq!(latest.unwrap().meta.commit, "c2");
    }
}
