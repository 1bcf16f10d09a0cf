//! Coverage reports: one model for every format, with totals counted the
//! way the producing tool counts them.
//!
//! Parsing happens in two steps. [`read::parse_coverage`] streams each
//! input through its format's parser into an accumulator that keeps the
//! format's own records (Go blocks, lcov `DA`/`BRDA`/`FNDA`, Istanbul
//! counters), merging repeats the way the tool merges them; finishing it
//! yields files with paths as written. [`read::ParsedCoverage::resolve`]
//! then maps those paths to files of the repository.
//!
//! Totals only ([`Detail::Totals`]), the accumulators keep one file's
//! records at a time and fold them into the total (see the `fold` module).

pub mod cobertura;
pub(crate) mod fold;
pub mod gocover;
pub mod istanbul;
pub mod lcov;
pub mod read;

use serde::Serialize;

use crate::percent::{Percent, Rule};

/// The format a report was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Cobertura XML, as coverage.py's `coverage xml` writes it.
    Cobertura,
    /// A Go coverprofile (`go test -coverprofile`).
    Go,
    /// An lcov tracefile.
    Lcov,
    /// Istanbul's `coverage-final.json`.
    Istanbul,
    /// Istanbul's `coverage-summary.json` (counts only, no line data).
    IstanbulSummary,
}

/// How much of a report the parsers keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Detail {
    /// The total only (exactly that of [`Detail::Lines`]); the report has
    /// no files. Each file is counted as soon as its records end and
    /// added to the total; what stays is a 64-bit hash of each path (see
    /// the `fold` module). A path named again after other files (and, for Go, a
    /// file whose blocks come back, as `-coverpkg` writes them) is
    /// counted in a second reading that keeps its records alone; Go then
    /// reads the places it noted one file at a time. Resolving paths
    /// reads the reports again for the paths they name (Go: for the
    /// blocks, counted inside the functions of their sources); when two
    /// paths resolve to one file, they are read again with line data.
    Totals,
    /// Counters and every coverable line (base comparisons, patch
    /// coverage, the history).
    #[default]
    Lines,
}

/// Which counters the headline percentage is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Basis {
    /// coverage.py: (statements run + branches taken) / (statements + branches).
    #[serde(rename = "lines+branches")]
    LinesAndBranches,
    /// Go: statements, each block weighted by its statement count.
    #[serde(rename = "statements")]
    Statements,
    /// lcov and Istanbul: lines.
    #[serde(rename = "lines")]
    Lines,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Cobertura => "cobertura",
            Format::Go => "go",
            Format::Lcov => "lcov",
            Format::Istanbul => "istanbul",
            Format::IstanbulSummary => "istanbul-summary",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Cobertura,
            Format::Go,
            Format::Lcov,
            Format::Istanbul,
            Format::IstanbulSummary,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// "a Cobertura XML report", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Cobertura => "a Cobertura XML report",
            Format::Go => "a Go coverprofile",
            Format::Lcov => "an lcov tracefile",
            Format::Istanbul => "an Istanbul coverage-final.json",
            Format::IstanbulSummary => "an Istanbul coverage-summary.json",
        }
    }

    pub fn rule(self) -> Rule {
        match self {
            Format::Cobertura => Rule::CoveragePy,
            Format::Go => Rule::Go,
            Format::Lcov => Rule::Node,
            Format::Istanbul | Format::IstanbulSummary => Rule::Istanbul,
        }
    }

    pub fn basis(self) -> Basis {
        match self {
            Format::Cobertura => Basis::LinesAndBranches,
            Format::Go => Basis::Statements,
            Format::Lcov | Format::Istanbul | Format::IstanbulSummary => Basis::Lines,
        }
    }
}

/// covered out of total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub covered: u64,
    pub total: u64,
}

impl Counter {
    pub fn new(covered: u64, total: u64) -> Counter {
        Counter { covered, total }
    }

    pub fn missed(self) -> u64 {
        self.total.saturating_sub(self.covered)
    }

    pub fn add(&mut self, other: Counter) {
        self.covered += other.covered;
        self.total += other.total;
    }

    /// What is left once `other`, counted in this, is taken off.
    pub(crate) fn minus(self, other: Counter) -> Counter {
        Counter {
            covered: self.covered.saturating_sub(other.covered),
            total: self.total.saturating_sub(other.total),
        }
    }

    /// One more item, covered or not.
    pub fn count(&mut self, covered: bool) {
        self.total += 1;
        if covered {
            self.covered += 1;
        }
    }
}

fn add_opt(a: &mut Option<Counter>, b: Option<Counter>) {
    if let Some(b) = b {
        a.get_or_insert_with(Counter::default).add(b);
    }
}

/// The counters of a file or a whole report. `None` means the report has
/// no such data (coverage.py without `--branch` has no branches; only Go
/// and Istanbul count statements apart from lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub lines: Counter,
    pub branches: Option<Counter>,
    pub functions: Option<Counter>,
    pub statements: Option<Counter>,
}

impl Summary {
    pub fn add(&mut self, other: &Summary) {
        self.lines.add(other.lines);
        add_opt(&mut self.branches, other.branches);
        add_opt(&mut self.functions, other.functions);
        add_opt(&mut self.statements, other.statements);
    }

    /// The counter the headline percentage is made of.
    pub fn basis_counter(&self, format: Format) -> Counter {
        match format.basis() {
            Basis::LinesAndBranches => {
                let b = self.branches.unwrap_or_default();
                Counter::new(self.lines.covered + b.covered, self.lines.total + b.total)
            }
            Basis::Statements => self.statements.unwrap_or_default(),
            Basis::Lines => self.lines,
        }
    }

    /// The headline percentage, as the format's tool computes it.
    pub fn percent(&self, format: Format) -> Percent {
        let c = self.basis_counter(format);
        Percent::of(c.covered, c.total, format.rule())
    }

    /// What is left uncovered in the main count: statements for Go, lines
    /// (statements, for coverage.py) otherwise.
    pub fn missed(&self, format: Format) -> u64 {
        match format.basis() {
            Basis::Statements => self.statements.unwrap_or_default().missed(),
            _ => self.lines.missed(),
        }
    }
}

/// One coverable line: how often it ran (saturating) and, when it
/// branches, how many of its branches were taken. Twelve bytes: a big
/// report holds millions of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LineCov {
    pub line: u32,
    pub hits: u32,
    pub branches_covered: u16,
    pub branches_total: u16,
}

/// A count as a line's hits (saturating).
pub fn hits(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// A number of branches as a line holds it (saturating).
pub fn branch_count(n: u64) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// A line's state as a reviewer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    Covered,
    /// Ran, but some of its branches were never taken.
    Partial,
    Missed,
}

impl LineCov {
    pub fn state(&self) -> LineState {
        if self.hits == 0 {
            LineState::Missed
        } else if self.branches_covered < self.branches_total {
            LineState::Partial
        } else {
            LineState::Covered
        }
    }
}

/// One source file of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCoverage {
    pub path: String,
    pub summary: Summary,
    /// Sorted by line number, one entry per line. Empty when the format has
    /// no line data (Istanbul's summary).
    #[serde(skip)]
    pub lines: Vec<LineCov>,
}

impl FileCoverage {
    /// Whether the report says which lines ran (not only how many).
    pub fn has_line_data(&self) -> bool {
        !self.lines.is_empty() || self.summary.lines.total == 0
    }

    /// The coverable lines that never ran.
    pub fn missed_lines(&self) -> Vec<u32> {
        self.lines
            .iter()
            .filter(|l| l.hits == 0)
            .map(|l| l.line)
            .collect()
    }

    /// Missed lines as ranges over the coverable lines, the way coverage.py
    /// prints its "Missing" column: `5, 14, 19-20` (a range does not break
    /// at lines that are not coverable, such as blank lines).
    pub fn missing_ranges(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut start: Option<u32> = None;
        let mut end = 0;
        for l in &self.lines {
            if l.hits == 0 {
                if start.is_none() {
                    start = Some(l.line);
                }
                end = l.line;
            } else if let Some(s) = start.take() {
                out.push(range_text(s, end));
            }
        }
        if let Some(s) = start {
            out.push(range_text(s, end));
        }
        out.join(", ")
    }

    /// Merge another report of the same file: hit counts add up, a branch
    /// is taken if either report took it (as many as the larger count).
    pub fn merge(&mut self, other: FileCoverage) {
        let mut merged = Vec::with_capacity(self.lines.len().max(other.lines.len()));
        let (mut a, mut b) = (
            std::mem::take(&mut self.lines).into_iter().peekable(),
            other.lines.into_iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.line == y.line => {
                    let (x, y) = (a.next().unwrap(), b.next().unwrap());
                    LineCov {
                        line: x.line,
                        hits: x.hits.saturating_add(y.hits),
                        branches_covered: x.branches_covered.max(y.branches_covered),
                        branches_total: x.branches_total.max(y.branches_total),
                    }
                }
                (Some(x), Some(y)) if x.line < y.line => a.next().unwrap(),
                (Some(_), Some(_)) => b.next().unwrap(),
                (Some(_), None) => a.next().unwrap(),
                (None, Some(_)) => b.next().unwrap(),
                (None, None) => break,
            };
            merged.push(next);
        }
        self.lines = merged;
        if self.lines.is_empty() {
            self.summary.add(&other.summary);
        } else {
            // Recount lines and branches from the merged line data; keep the
            // larger of the other counts (they cannot be merged exactly once
            // reduced to counts).
            let mut lines = Counter::default();
            let mut branches = Counter::default();
            for l in &self.lines {
                lines.count(l.hits > 0);
                branches.add(Counter::new(
                    l.branches_covered as u64,
                    l.branches_total as u64,
                ));
            }
            self.summary.lines = lines;
            if self.summary.branches.is_some() || other.summary.branches.is_some() {
                self.summary.branches = Some(branches);
            }
            self.summary.functions = max_counter(self.summary.functions, other.summary.functions);
            self.summary.statements =
                max_counter(self.summary.statements, other.summary.statements);
        }
    }
}

fn max_counter(a: Option<Counter>, b: Option<Counter>) -> Option<Counter> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Counter::new(a.covered.max(b.covered), a.total.max(b.total))),
        (a, b) => a.or(b),
    }
}

fn range_text(start: u32, end: u32) -> String {
    if start == end {
        start.to_string()
    } else {
        format!("{start}-{end}")
    }
}

/// A whole report: its format, its files sorted by path, and the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub format: Format,
    pub total: Summary,
    pub files: Vec<FileCoverage>,
}

impl CoverageReport {
    /// Build from files (any order; the same path twice is merged).
    pub fn new(format: Format, mut files: Vec<FileCoverage>) -> CoverageReport {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut merged: Vec<FileCoverage> = Vec::with_capacity(files.len());
        for f in files {
            match merged.last_mut() {
                Some(last) if last.path == f.path => last.merge(f),
                _ => merged.push(f),
            }
        }
        let mut total = Summary::default();
        for f in &merged {
            total.add(&f.summary);
        }
        CoverageReport {
            format,
            total,
            files: merged,
        }
    }

    pub fn percent(&self) -> Percent {
        self.total.percent(self.format)
    }

    pub fn file(&self, path: &str) -> Option<&FileCoverage> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(line: u32, hits: u32) -> LineCov {
        LineCov {
            line,
            hits,
            ..LineCov::default()
        }
    }

    #[test]
    fn missing_ranges_span_non_coverable_lines() {
        let f = FileCoverage {
            path: "a.py".into(),
            summary: Summary::default(),
            lines: vec![
                line(1, 1),
                line(5, 0),
                line(6, 1),
                line(14, 0),
                line(19, 0),
                line(20, 0),
                line(22, 3),
                line(30, 0),
            ],
        };
        assert_eq!(f.missing_ranges(), "5, 14-20, 30");
        assert_eq!(f.missed_lines(), vec![5, 14, 19, 20, 30]);
    }

    #[test]
    fn coverage_py_headline_counts_branches() {
        let s = Summary {
            lines: Counter::new(11, 17),
            branches: Some(Counter::new(6, 10)),
            functions: None,
            statements: None,
        };
        assert_eq!(s.percent(Format::Cobertura).display(2), "62.96");
        assert_eq!(s.percent(Format::Lcov).display(2), "64.71");
    }

    #[test]
    fn same_file_twice_merges_hits() {
        let a = FileCoverage {
            path: "a.py".into(),
            summary: Summary {
                lines: Counter::new(1, 2),
                ..Summary::default()
            },
            lines: vec![line(1, 1), line(2, 0)],
        };
        let b = FileCoverage {
            path: "a.py".into(),
            summary: Summary {
                lines: Counter::new(1, 2),
                ..Summary::default()
            },
            lines: vec![line(2, 2), line(3, 0)],
        };
        let r = CoverageReport::new(Format::Cobertura, vec![a, b]);
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.total.lines, Counter::new(2, 3));
        assert_eq!(r.files[0].lines, vec![line(1, 1), line(2, 2), line(3, 0)]);
    }
}
