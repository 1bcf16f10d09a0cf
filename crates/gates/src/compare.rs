//! A report against its base: the change in total and per file, and patch
//! coverage (the coverage of the lines a change added or modified).

use serde::Serialize;

use crate::coverage::{Basis, Counter, CoverageReport, FileCoverage, Format, Summary};
use crate::percent::Percent;
use crate::unified_diff::ChangedLines;

/// Hundredths of a percent, so changes add up to what is printed.
fn hundredths(p: &Percent) -> i64 {
    (p.two_decimals() * 100.0).round() as i64
}

fn from_hundredths(h: i64) -> f64 {
    h as f64 / 100.0
}

/// A file whose figure changed, appeared or went away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    pub path: String,
    /// Percent in the base; None for a new file.
    pub base: Option<f64>,
    /// Percent now; None for a file no longer in the report.
    pub head: Option<f64>,
    /// head - base, when both are there.
    pub change: Option<f64>,
}

/// Totals and files of `head` against `base`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub base_percent: Percent,
    pub head_percent: Percent,
    /// head - base in percentage points, from the two-decimal figures.
    pub change: f64,
    /// Files whose figure changed, largest drop first.
    pub files: Vec<FileChange>,
}

pub fn compare(base: &CoverageReport, head: &CoverageReport) -> Comparison {
    let base_percent = base.percent();
    let head_percent = head.percent();
    let change = from_hundredths(hundredths(&head_percent) - hundredths(&base_percent));
    let mut files: Vec<((u8, i64), FileChange)> = Vec::new();
    let mut b = base.files.iter().peekable();
    let mut h = head.files.iter().peekable();
    loop {
        let (bf, hf): (Option<&FileCoverage>, Option<&FileCoverage>) = match (b.peek(), h.peek()) {
            (Some(x), Some(y)) if x.path == y.path => (b.next(), h.next()),
            (Some(x), Some(y)) if x.path < y.path => (b.next(), None),
            (Some(_), Some(_)) => (None, h.next()),
            (Some(_), None) => (b.next(), None),
            (None, Some(_)) => (None, h.next()),
            (None, None) => break,
        };
        let bp = bf.map(|f| f.summary.percent(base.format));
        let hp = hf.map(|f| f.summary.percent(head.format));
        let path = hf.or(bf).map(|f| f.path.clone()).unwrap_or_default();
        // Changed files first, largest drop first; then new files, then
        // files no longer in the report.
        let (group, delta, change) = match (&bp, &hp) {
            (Some(x), Some(y)) => {
                let d = hundredths(y) - hundredths(x);
                if d == 0 {
                    continue;
                }
                (0, d, Some(from_hundredths(d)))
            }
            (None, Some(_)) => (1, 0, None),
            (Some(_), None) => (2, 0, None),
            (None, None) => continue,
        };
        files.push((
            (group, delta),
            FileChange {
                path,
                base: bp.map(|p| p.two_decimals()),
                head: hp.map(|p| p.two_decimals()),
                change,
            },
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
    Comparison {
        base_percent,
        head_percent,
        change,
        files: files.into_iter().map(|f| f.1).collect(),
    }
}

/// Coverage of the changed lines of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchFile {
    pub path: String,
    pub percent: Option<f64>,
    pub lines: Counter,
    pub branches: Option<Counter>,
    /// Changed lines that never ran.
    pub missed_lines: Vec<u32>,
    /// Changed lines that ran with some branch never taken.
    pub partial_lines: Vec<u32>,
}

/// Coverage of the changed lines of the whole change.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// None when no changed line is coverable.
    pub percent: Option<Percent>,
    pub lines: Counter,
    pub branches: Option<Counter>,
    /// Files with coverable changed lines, most missed lines first.
    pub files: Vec<PatchFile>,
}

/// Only lines the report knows (coverable lines) count. The figure has the
/// report's own basis and rule: lines and branches for coverage.py, lines
/// otherwise (Go's blocks are mapped to the lines they span).
pub fn patch(head: &CoverageReport, changed: &ChangedLines) -> Patch {
    let with_branches =
        head.format.basis() == Basis::LinesAndBranches && head.total.branches.is_some();
    let mut total = Summary::default();
    let mut files = Vec::new();
    for (path, lines) in changed {
        let Some(file) = head.file(path) else {
            continue;
        };
        let mut s = Summary::default();
        let mut branches = Counter::default();
        let mut missed_lines = Vec::new();
        let mut partial_lines = Vec::new();
        for &n in lines {
            let Ok(i) = file.lines.binary_search_by_key(&n, |l| l.line) else {
                continue;
            };
            let l = file.lines[i];
            s.lines.count(l.hits > 0);
            branches.add(Counter::new(
                l.branches_covered as u64,
                l.branches_total as u64,
            ));
            match l.state() {
                crate::coverage::LineState::Missed => missed_lines.push(n),
                crate::coverage::LineState::Partial => partial_lines.push(n),
                crate::coverage::LineState::Covered => {}
            }
        }
        if s.lines.total == 0 {
            continue;
        }
        if with_branches {
            s.branches = Some(branches);
        }
        total.add(&s);
        files.push(PatchFile {
            path: path.clone(),
            percent: Some(patch_percent(&s, head.format).two_decimals()),
            lines: s.lines,
            branches: s.branches,
            missed_lines,
            partial_lines,
        });
    }
    files.sort_by(|a, b| {
        b.missed_lines
            .len()
            .cmp(&a.missed_lines.len())
            .then_with(|| a.path.cmp(&b.path))
    });
    if with_branches {
        total.branches.get_or_insert_with(Counter::default);
    }
    Patch {
        percent: (total.lines.total > 0).then(|| patch_percent(&total, head.format)),
        lines: total.lines,
        branches: total.branches,
        files,
    }
}

fn patch_percent(s: &Summary, format: Format) -> Percent {
    let c = match format.basis() {
        Basis::LinesAndBranches => s.basis_counter(format),
        _ => s.lines,
    };
    Percent::of(c.covered, c.total, format.rule())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::LineCov;

    fn file(path: &str, lines: &[(u32, u32, u16, u16)]) -> FileCoverage {
        let lines: Vec<LineCov> = lines
            .iter()
            .map(|&(line, hits, bc, bt)| LineCov {
                line,
                hits,
                branches_covered: bc,
                branches_total: bt,
            })
            .collect();
        let mut s = Summary {
            branches: Some(Counter::default()),
            ..Summary::default()
        };
        for l in &lines {
            s.lines.count(l.hits > 0);
            s.branches.as_mut().unwrap().add(Counter::new(
                l.branches_covered as u64,
                l.branches_total as u64,
            ));
        }
        FileCoverage {
            path: path.into(),
            summary: s,
            lines,
        }
    }

    #[test]
    fn patch_counts_changed_coverable_lines() {
        let head = CoverageReport::new(
            Format::Cobertura,
            vec![
                file(
                    "app/a.py",
                    &[(1, 1, 0, 0), (2, 1, 1, 2), (3, 0, 0, 0), (4, 1, 0, 0)],
                ),
                file("app/b.py", &[(1, 1, 0, 0)]),
            ],
        );
        let mut changed = ChangedLines::new();
        changed.insert("app/a.py".into(), vec![2, 3, 5]);
        changed.insert("README.md".into(), vec![1]);
        let p = patch(&head, &changed);
        assert_eq!(p.lines, Counter::new(1, 2));
        assert_eq!(p.branches, Some(Counter::new(1, 2)));
        // (1 line + 1 branch) / (2 lines + 2 branches)
        assert_eq!(p.percent.unwrap().display(2), "50.00");
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].missed_lines, vec![3]);
        assert_eq!(p.files[0].partial_lines, vec![2]);

        let mut docs_only = ChangedLines::new();
        docs_only.insert("README.md".into(), vec![1]);
        assert_eq!(patch(&head, &docs_only).percent, None);
    }

    #[test]
    fn changes_against_base() {
        let base = CoverageReport::new(
            Format::Lcov,
            vec![
                file("a.js", &[(1, 1, 0, 0), (2, 0, 0, 0)]),
                file("gone.js", &[(1, 1, 0, 0)]),
                file("same.js", &[(1, 1, 0, 0)]),
            ],
        );
        let head = CoverageReport::new(
            Format::Lcov,
            vec![
                file("a.js", &[(1, 1, 0, 0), (2, 1, 0, 0)]),
                file("new.js", &[(1, 0, 0, 0), (2, 0, 0, 0)]),
                file("same.js", &[(1, 1, 0, 0)]),
            ],
        );
        let c = compare(&base, &head);
        assert_eq!(c.base_percent.display(2), "75.00");
        assert_eq!(c.head_percent.display(2), "60.00");
        assert_eq!(c.change, -15.0);
        let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a.js", "new.js", "gone.js"]);
        assert_eq!(
            c.files[0],
            FileChange {
                path: "a.js".into(),
                base: Some(50.0),
                head: Some(100.0),
                change: Some(50.0)
            }
        );
        assert_eq!(c.files[1].change, None);
    }
}
