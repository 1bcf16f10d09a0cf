//! The coverage history: reports recorded by repository, flag, branch and
//! commit, the last one of a branch (the base of a comparison), and the
//! series of totals (a trend).
//!
//! [`CoverageStore`] is the port; `slipway-store` implements it on SQLite
//! and [`MemoryStore`] here in memory for tests. A store is opened once
//! per command (or server), is shared by reference, and every call stands
//! alone: recording a report is one transaction.

use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;

use crate::coverage::{CoverageReport, Format, LineCov, Summary};
use crate::percent::Percent;

/// Who and what a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportMeta {
    /// `owner/name`, or the folder name when there is no remote.
    pub repository: String,
    /// The flag (one service or test suite); "" when none was given.
    pub flag: String,
    pub branch: String,
    pub commit: String,
    /// Seconds since the Unix epoch.
    pub recorded_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub id: i64,
    pub meta: ReportMeta,
    pub report: CoverageReport,
}

/// One point of a trend: a recorded report's total.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub id: i64,
    pub branch: String,
    pub commit: String,
    pub recorded_at: i64,
    pub format: Format,
    pub total: Summary,
}

impl TrendPoint {
    pub fn percent(&self) -> Percent {
        self.total.percent(self.format)
    }
}

pub trait CoverageStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Keep a report; returns its id.
    fn record(
        &self,
        meta: &ReportMeta,
        report: &CoverageReport,
    ) -> impl Future<Output = Result<i64, Self::Error>> + Send;

    /// The last report recorded for the flag on the branch.
    fn latest(
        &self,
        repository: &str,
        flag: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<StoredReport>, Self::Error>> + Send;

    /// The last `limit` totals of the flag (on one branch, or all), oldest
    /// first.
    fn trend(
        &self,
        repository: &str,
        flag: &str,
        branch: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TrendPoint>, Self::Error>> + Send;
}

/// A store in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    reports: Mutex<Vec<StoredReport>>,
}

#[derive(Debug, thiserror::Error)]
#[error("memory store: {0}")]
pub struct MemoryError(String);

impl CoverageStore for MemoryStore {
    type Error = MemoryError;

    fn record(
        &self,
        meta: &ReportMeta,
        report: &CoverageReport,
    ) -> impl Future<Output = Result<i64, MemoryError>> + Send {
        let result = self
            .reports
            .lock()
            .map_err(|e| MemoryError(e.to_string()))
            .map(|mut reports| {
                let id = reports.len() as i64 + 1;
                reports.push(StoredReport {
                    id,
                    meta: meta.clone(),
                    report: report.clone(),
                });
                id
            });
        std::future::ready(result)
    }

    fn latest(
        &self,
        repository: &str,
        flag: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<StoredReport>, MemoryError>> + Send {
        let result = self
            .reports
            .lock()
            .map_err(|e| MemoryError(e.to_string()))
            .map(|reports| {
                reports
                    .iter()
                    .filter(|r| {
                        r.meta.repository == repository
                            && r.meta.flag == flag
                            && r.meta.branch == branch
                    })
                    .max_by_key(|r| (r.meta.recorded_at, r.id))
                    .cloned()
            });
        std::future::ready(result)
    }

    fn trend(
        &self,
        repository: &str,
        flag: &str,
        branch: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TrendPoint>, MemoryError>> + Send {
        let result = self
            .reports
            .lock()
            .map_err(|e| MemoryError(e.to_string()))
            .map(|reports| {
                let mut points: Vec<TrendPoint> = reports
                    .iter()
                    .filter(|r| {
                        r.meta.repository == repository
                            && r.meta.flag == flag
                            && branch.is_none_or(|b| r.meta.branch == b)
                    })
                    .map(|r| TrendPoint {
                        id: r.id,
                        branch: r.meta.branch.clone(),
                        commit: r.meta.commit.clone(),
                        recorded_at: r.meta.recorded_at,
                        format: r.report.format,
                        total: r.report.total,
                    })
                    .collect();
                points.sort_by_key(|p| (p.recorded_at, p.id));
                let skip = points.len().saturating_sub(limit);
                points.split_off(skip)
            });
        std::future::ready(result)
    }
}

/// Line data in a few bytes per line, for storing: a version byte, then
/// per line LEB128 varints of the line number's increase, the hits, the
/// branch total and (when the total is not 0) the branches covered.
pub fn encode_lines(lines: &[LineCov]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + lines.len() * 4);
    out.push(1);
    let mut previous = 0u32;
    for l in lines {
        put(&mut out, l.line.wrapping_sub(previous) as u64);
        put(&mut out, l.hits as u64);
        put(&mut out, l.branches_total as u64);
        if l.branches_total > 0 {
            put(&mut out, l.branches_covered as u64);
        }
        previous = l.line;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored line data is damaged")]
pub struct DecodeError;

pub fn decode_lines(bytes: &[u8]) -> Result<Vec<LineCov>, DecodeError> {
    let Some((&1, mut rest)) = bytes.split_first() else {
        return Err(DecodeError);
    };
    let mut lines = Vec::new();
    let mut line = 0u32;
    while !rest.is_empty() {
        line = line.wrapping_add(u32::try_from(take(&mut rest)?).map_err(|_| DecodeError)?);
        let hits = u32::try_from(take(&mut rest)?).map_err(|_| DecodeError)?;
        let branches_total = u16::try_from(take(&mut rest)?).map_err(|_| DecodeError)?;
        let branches_covered = if branches_total > 0 {
            u16::try_from(take(&mut rest)?).map_err(|_| DecodeError)?
        } else {
            0
        };
        lines.push(LineCov {
            line,
            hits,
            branches_covered,
            branches_total,
        });
    }
    Ok(lines)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take(bytes: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or(DecodeError)?;
        *bytes = rest;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(DecodeError)
}

/// Poll a future that is ready at once (the memory store's).
#[cfg(test)]
pub(crate) fn ready<F: Future>(f: F) -> F::Output {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future was not ready"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{Counter, FileCoverage};

    #[test]
    fn line_data_round_trips() {
        let lines = vec![
            LineCov {
                line: 1,
                hits: 0,
                branches_covered: 0,
                branches_total: 0,
            },
            LineCov {
                line: 7,
                hits: 300,
                branches_covered: 1,
                branches_total: 2,
            },
            LineCov {
                line: 100_000,
                hits: u32::MAX,
                branches_covered: 0,
                branches_total: 0,
            },
        ];
        let bytes = encode_lines(&lines);
        assert_eq!(decode_lines(&bytes).unwrap(), lines);
        assert_eq!(decode_lines(&bytes[..bytes.len() - 1]), Err(DecodeError));
        assert_eq!(decode_lines(&[]), Err(DecodeError));
        assert_eq!(decode_lines(&[1]).unwrap(), vec![]);
    }

    fn report(covered: u64) -> CoverageReport {
        CoverageReport::new(
            Format::Go,
            vec![FileCoverage {
                path: "a.go".into(),
                summary: Summary {
                    statements: Some(Counter::new(covered, 10)),
                    ..Summary::default()
                },
                lines: vec![],
            }],
        )
    }

    fn meta(branch: &str, commit: &str, at: i64) -> ReportMeta {
        ReportMeta {
            repository: "mpac/smartpos".into(),
            flag: "svc-smarttab".into(),
            branch: branch.into(),
            commit: commit.into(),
            recorded_at: at,
        }
    }

    #[test]
    fn memory_store_latest_and_trend() {
        let store = MemoryStore::default();
        ready(store.record(&meta("main", "a", 100), &report(5))).unwrap();
        ready(store.record(&meta("main", "b", 200), &report(6))).unwrap();
        ready(store.record(&meta("feature", "c", 300), &report(9))).unwrap();
        let latest = ready(store.latest("mpac/smartpos", "svc-smarttab", "main"))
            .unwrap()
            .unwrap();
        assert_eq!(latest.meta.commit, "b");
        assert!(ready(store.latest("mpac/smartpos", "other", "main"))
            .unwrap()
            .is_none());
        let all: Vec<String> = ready(store.trend("mpac/smartpos", "svc-smarttab", None, 10))
            .unwrap()
            .into_iter()
            .map(|p| p.commit)
            .collect();
        assert_eq!(all, ["a", "b", "c"]);
        let last_main =
            ready(store.trend("mpac/smartpos", "svc-smarttab", Some("main"), 1)).unwrap();
        assert_eq!(last_main[0].percent().display(1), "60.0");
    }
}
