//! What the commands print, as data: the `--format json` shapes (stable,
//! documented in the README) and the input of the text and markdown
//! renderers.

use serde::Serialize;

use crate::compare::{Comparison, FileChange, Patch, PatchFile};
use crate::coverage::{Basis, Counter, CoverageReport, FileCoverage, Format, Summary};
use crate::history::{ReportMeta, TrendPoint};
use crate::junit::{Failure, Location, Outcome, TestCase, TestCounts, TestReport};
use crate::threshold::{Threshold, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalView {
    pub percent: f64,
    pub basis: Basis,
    pub lines: Counter,
    pub branches: Option<Counter>,
    pub functions: Option<Counter>,
    pub statements: Option<Counter>,
}

impl TotalView {
    pub fn new(s: &Summary, format: Format) -> TotalView {
        TotalView {
            percent: s.percent(format).two_decimals(),
            basis: format.basis(),
            lines: s.lines,
            branches: s.branches,
            functions: s.functions,
            statements: s.statements,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileView {
    pub path: String,
    pub percent: f64,
    pub lines: Counter,
    pub branches: Option<Counter>,
    pub functions: Option<Counter>,
    pub statements: Option<Counter>,
    /// Uncovered statements (Go) or lines (the others).
    pub missed: u64,
    /// Missed lines as ranges (`5, 14, 19-20`); null without line data.
    pub missing: Option<String>,
}

impl FileView {
    pub fn new(f: &FileCoverage, format: Format) -> FileView {
        FileView {
            path: f.path.clone(),
            percent: f.summary.percent(format).two_decimals(),
            lines: f.summary.lines,
            branches: f.summary.branches,
            functions: f.summary.functions,
            statements: f.summary.statements,
            missed: f.summary.missed(format),
            missing: f.has_line_data().then(|| f.missing_ranges()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaseView {
    pub branch: String,
    pub commit: String,
    /// When the base report was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    pub percent: f64,
    /// Percentage points, head minus base.
    pub change: f64,
    /// Files whose figure changed: largest drop first, then new files, then
    /// files no longer reported.
    pub files: Vec<FileChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchView {
    /// The commit the changed lines are counted from.
    pub base_commit: String,
    /// null when no changed line is coverable.
    pub percent: Option<f64>,
    pub lines: Counter,
    pub branches: Option<Counter>,
    pub files: Vec<PatchFile>,
}

impl PatchView {
    pub fn new(p: &Patch, base_commit: &str) -> PatchView {
        PatchView {
            base_commit: base_commit.to_string(),
            percent: p.percent.map(|p| p.two_decimals()),
            lines: p.lines,
            branches: p.branches,
            files: p.files.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateView {
    pub threshold: f64,
    pub passed: bool,
    pub message: String,
}

impl GateView {
    pub fn new(t: &Threshold, v: &Verdict) -> GateView {
        GateView {
            threshold: t.value,
            passed: v.passed,
            message: v.message.clone(),
        }
    }
}

/// `slipway coverage report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    pub flag: Option<String>,
    pub total: TotalView,
    /// Most missed first.
    pub files: Vec<FileView>,
    pub base: Option<BaseView>,
    pub patch: Option<PatchView>,
    pub format: Format,
    pub repository: String,
    pub branch: String,
    pub commit: String,
    /// Present with `--fail-under`.
    pub gate: Option<GateView>,
}

impl ReportView {
    pub fn new(report: &CoverageReport, meta: &ReportMeta) -> ReportView {
        let mut files: Vec<FileView> = report
            .files
            .iter()
            .map(|f| FileView::new(f, report.format))
            .collect();
        files.sort_by(|a, b| b.missed.cmp(&a.missed).then_with(|| a.path.cmp(&b.path)));
        ReportView {
            flag: (!meta.flag.is_empty()).then(|| meta.flag.clone()),
            total: TotalView::new(&report.total, report.format),
            files,
            base: None,
            patch: None,
            format: report.format,
            repository: meta.repository.clone(),
            branch: meta.branch.clone(),
            commit: meta.commit.clone(),
            gate: None,
        }
    }

    pub fn with_base(&mut self, meta: &ReportMeta, c: &Comparison) {
        self.base = Some(BaseView {
            branch: meta.branch.clone(),
            commit: meta.commit.clone(),
            recorded_at: rfc3339(meta.recorded_at),
            percent: c.base_percent.two_decimals(),
            change: c.change,
            files: c.files.clone(),
        });
    }
}

/// `slipway coverage check`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckView {
    pub flag: Option<String>,
    pub percent: f64,
    pub threshold: f64,
    pub passed: bool,
    pub message: String,
    pub total: TotalView,
    pub format: Format,
}

/// `slipway coverage trend`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendView {
    pub flag: Option<String>,
    pub branch: Option<String>,
    pub sparkline: String,
    pub points: Vec<TrendPointView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPointView {
    pub recorded_at: String,
    pub branch: String,
    pub commit: String,
    pub percent: f64,
    pub total: TotalView,
}

impl TrendView {
    pub fn new(flag: &str, branch: Option<&str>, points: &[TrendPoint]) -> TrendView {
        let percents: Vec<f64> = points.iter().map(|p| p.percent().two_decimals()).collect();
        TrendView {
            flag: (!flag.is_empty()).then(|| flag.to_string()),
            branch: branch.map(str::to_string),
            sparkline: sparkline(&percents),
            points: points
                .iter()
                .map(|p| TrendPointView {
                    recorded_at: rfc3339(p.recorded_at),
                    branch: p.branch.clone(),
                    commit: p.commit.clone(),
                    percent: p.percent().two_decimals(),
                    total: TotalView::new(&p.total, p.format),
                })
                .collect(),
        }
    }
}

/// `▁▂▃▄▅▆▇█` scaled from the lowest to the highest value; a flat series
/// sits in the middle.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    values
        .iter()
        .map(|&v| {
            if max - min < 1e-9 {
                BARS[3]
            } else {
                BARS[(((v - min) / (max - min)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// `slipway tests report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestsView {
    #[serde(flatten)]
    pub counts: TestCounts,
    pub failures: Vec<FailureView>,
    /// Tests that failed, then passed on a rerun.
    pub flaky_tests: Vec<FlakyView>,
    pub slowest: Vec<SlowView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureView {
    pub name: String,
    pub suite: String,
    pub classname: String,
    pub outcome: Outcome,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    pub location: Option<Location>,
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlakyView {
    pub name: String,
    pub suite: String,
    pub classname: String,
    /// The runs that failed before one passed.
    pub failed_runs: Vec<Failure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowView {
    pub name: String,
    pub suite: String,
    pub classname: String,
    pub time: f64,
}

impl TestsView {
    pub fn new(report: &TestReport) -> TestsView {
        TestsView {
            counts: report.counts(),
            failures: report
                .failures()
                .map(|t| {
                    let f = t.failure.clone().unwrap_or(Failure {
                        kind: crate::junit::FailureKind::Failure,
                        message: None,
                        error_type: None,
                        details: String::new(),
                    });
                    FailureView {
                        name: t.full_name(),
                        suite: t.suite.clone(),
                        classname: t.classname.clone(),
                        outcome: t.outcome,
                        message: f.message,
                        error_type: f.error_type,
                        location: t.location.clone(),
                        details: f.details,
                    }
                })
                .collect(),
            flaky_tests: report
                .flaky()
                .map(|t| FlakyView {
                    name: t.full_name(),
                    suite: t.suite.clone(),
                    classname: t.classname.clone(),
                    failed_runs: t.flaky_runs.clone(),
                })
                .collect(),
            slowest: report
                .slowest(10)
                .into_iter()
                .map(|t: &TestCase| SlowView {
                    name: t.full_name(),
                    suite: t.suite.clone(),
                    classname: t.classname.clone(),
                    time: t.time.unwrap_or(0.0),
                })
                .collect(),
        }
    }
}

/// Seconds since the epoch as `2026-11-23T10:33:41Z`.
pub fn rfc3339(secs: i64) -> String {
    let (date, time) = civil(secs);
    format!("{date}T{time}Z")
}

/// Seconds since the epoch as `2026-11-23 10:33` (UTC), for tables.
pub fn short_time(secs: i64) -> String {
    let (date, time) = civil(secs);
    format!("{date} {}", &time[..5])
}

fn civil(secs: i64) -> (String, String) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_430_021), "2026-11-23T10:33:41Z");
        assert_eq!(short_time(951_782_400), "2000-02-29 00:00");
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[70.0, 75.0, 80.0, 72.5]), "▁▅█▃");
        assert_eq!(sparkline(&[80.0, 80.0]), "▄▄");
        assert_eq!(sparkline(&[]), "");
    }
}
