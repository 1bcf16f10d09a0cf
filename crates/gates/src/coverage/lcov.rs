//! lcov tracefiles: `SF:` starts a file, `end_of_record` ends it; `DA`,
//! `BRDA`, `FN`/`FNDA` (and lcov 2's `FNL`/`FNA`) are the records.
//!
//! Totals are recomputed from the records; the `LF`/`LH`, `BRF`/`BRH` and
//! `FNF`/`FNH` summary lines are ignored. A file or a line given twice adds
//! up, as `lcov -a` adds tracefiles.

use std::collections::HashMap;
use std::io::BufRead;

use super::{Counter, Detail, FileCoverage, LineCov, LineTally, Summary};
use crate::error::{At, ErrorKind, ParseError};

struct PendingFile {
    path: String,
    input: usize,
    at: At,
    kept: Kept,
    /// name (or `#index` for `FNL`) -> calls.
    functions: HashMap<Box<str>, u64>,
}

enum Kept {
    Lines {
        lines: Vec<(u32, u64)>,
        /// (line, block and branch as written) -> times taken; None for
        /// `-` (the block never ran).
        branches: HashMap<(u32, Box<str>), Option<u64>>,
    },
    Tally(Box<Tally>),
    /// A `DA` or `BRDA` out of order while counting: read again with its
    /// lines.
    Redo,
}

/// `DA` and `BRDA` records counted as they come, in ascending lines.
#[derive(Default)]
struct Tally {
    lines: LineTally,
    /// The line of the `BRDA` records being read, and their branches.
    branch_line: Option<u32>,
    line_branches: HashMap<Box<str>, Option<u64>>,
    branches: Counter,
}

impl Tally {
    fn close_branch_line(&mut self) {
        for taken in self.line_branches.values() {
            self.branches.count(taken.unwrap_or(0) > 0);
        }
        self.line_branches.clear();
    }
}

fn add_taken(slot: &mut Option<u64>, taken: Option<u64>) {
    *slot = match (*slot, taken) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    };
}

fn add_hits(a: &mut LineCov, b: LineCov) {
    a.hits = a.hits.saturating_add(b.hits);
}

#[derive(Default)]
pub struct Accumulator {
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    has_branches: bool,
    has_functions: bool,
    detail: Detail,
    redo: bool,
    second_pass: bool,
}

impl Accumulator {
    pub fn new(detail: Detail) -> Accumulator {
        Accumulator {
            detail,
            ..Accumulator::default()
        }
    }

    /// Whether some file must be read again ([`Accumulator::begin_redo`]).
    pub fn needs_redo(&self) -> bool {
        self.redo && !self.second_pass
    }

    /// Get ready to read every tracefile again, keeping the records of the
    /// files whose lines came out of order; the others are counted.
    pub fn begin_redo(&mut self) {
        self.second_pass = true;
        for f in &mut self.files {
            if matches!(f.kept, Kept::Redo) {
                f.kept = Kept::Lines {
                    lines: Vec::new(),
                    branches: HashMap::new(),
                };
                f.functions.clear();
            }
        }
    }

    /// Read one tracefile. Returns how many `SF` records it had.
    pub fn parse<R: BufRead>(&mut self, input: usize, mut source: R) -> Result<usize, ParseError> {
        let mut buf = Vec::with_capacity(256);
        let mut line_no = 0u64;
        let mut current: Option<(usize, u64)> = None;
        let mut records = 0usize;
        loop {
            buf.clear();
            let n = source
                .read_until(b'\n', &mut buf)
                .map_err(|e| ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let at = At::LineCol(line_no, 1);
            let text =
                std::str::from_utf8(&buf).map_err(|_| ParseError::syntax("not UTF-8 text", at))?;
            let text = text.trim_end_matches(['\n', '\r']).trim_start();
            if text.is_empty() {
                continue;
            }
            if text == "end_of_record" {
                if current.take().is_none() {
                    return Err(ParseError::syntax(
                        "end_of_record without an SF record before it",
                        at,
                    ));
                }
                continue;
            }
            let Some((key, value)) = text.split_once(':') else {
                return Err(ParseError::syntax(
                    format!(
                        "expected an lcov record such as `DA:3,1`, found `{}`",
                        shorten(text)
                    ),
                    at,
                ));
            };
            let bad = |what: &str| {
                ParseError::syntax(
                    format!("bad {key} record ({what}): `{}`", shorten(text)),
                    at,
                )
            };
            match key {
                "SF" => {
                    if let Some((file, _)) = current {
                        return Err(ParseError::syntax(
                            format!(
                                "SF record before the end_of_record of {}",
                                self.files[file].path
                            ),
                            at,
                        ));
                    }
                    let path = value.trim().replace('\\', "/");
                    if path.is_empty() {
                        return Err(bad("no file name"));
                    }
                    let index = match self.by_path.get(&path) {
                        Some(&i) => i,
                        None => {
                            let i = self.files.len();
                            self.by_path.insert(path.clone(), i);
                            let kept = match self.detail {
                                Detail::Lines => Kept::Lines {
                                    lines: Vec::new(),
                                    branches: HashMap::new(),
                                },
                                Detail::Totals => Kept::Tally(Box::default()),
                            };
                            self.files.push(PendingFile {
                                path,
                                input,
                                at,
                                kept,
                                functions: HashMap::new(),
                            });
                            i
                        }
                    };
                    current = Some((index, line_no));
                    records += 1;
                }
                "TN" | "VER" | "LF" | "LH" | "BRF" | "BRH" | "FNF" | "FNH" => {}
                "DA" | "BRDA" | "FN" | "FNDA" | "FNL" | "FNA" => {
                    let Some((file, _)) = current else {
                        return Err(ParseError::syntax(
                            format!("{key} record outside a file (no SF before it)"),
                            at,
                        ));
                    };
                    let file = &mut self.files[file];
                    if self.second_pass && !matches!(file.kept, Kept::Lines { .. }) {
                        // Counted in the first pass.
                        continue;
                    }
                    match key {
                        "DA" => {
                            let mut parts = value.splitn(3, ',');
                            let line = parse_u32(parts.next()).ok_or_else(|| bad("line number"))?;
                            let count = parse_count(parts.next()).ok_or_else(|| bad("count"))?;
                            match &mut file.kept {
                                Kept::Lines { lines, .. } => lines.push((line, count)),
                                Kept::Tally(tally) => {
                                    let l = LineCov {
                                        line,
                                        hits: super::hits(count),
                                        ..LineCov::default()
                                    };
                                    if !tally.lines.push(l, add_hits) {
                                        file.kept = Kept::Redo;
                                        self.redo = true;
                                    }
                                }
                                Kept::Redo => {}
                            }
                        }
                        "BRDA" => {
                            let (line, rest) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            let line = parse_u32(Some(line)).ok_or_else(|| bad("line number"))?;
                            let (id, taken) =
                                rest.rsplit_once(',').ok_or_else(|| bad("too few fields"))?;
                            if !id.contains(',') {
                                return Err(bad("too few fields"));
                            }
                            let taken = match taken.trim() {
                                "-" => None,
                                t => Some(t.parse::<u64>().map_err(|_| bad("times taken"))?),
                            };
                            match &mut file.kept {
                                Kept::Lines { branches, .. } => add_taken(
                                    branches.entry((line, id.into())).or_insert(None),
                                    taken,
                                ),
                                Kept::Tally(tally) => match tally.branch_line {
                                    Some(l) if l > line => {
                                        file.kept = Kept::Redo;
                                        self.redo = true;
                                    }
                                    _ => {
                                        if tally.branch_line != Some(line) {
                                            tally.close_branch_line();
                                            tally.branch_line = Some(line);
                                        }
                                        let slot = match tally.line_branches.get_mut(id) {
                                            Some(slot) => slot,
                                            None => {
                                                tally.line_branches.entry(id.into()).or_insert(None)
                                            }
                                        };
                                        add_taken(slot, taken);
                                    }
                                },
                                Kept::Redo => {}
                            }
                            self.has_branches = true;
                        }
                        "FN" => {
                            // FN:<line>,[<end line>,]<name>
                            let (line, rest) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            parse_u32(Some(line)).ok_or_else(|| bad("line number"))?;
                            let name = match rest.split_once(',') {
                                Some((end, name)) if parse_u32(Some(end)).is_some() => name,
                                _ => rest,
                            };
                            file.functions.entry(name.into()).or_insert(0);
                            self.has_functions = true;
                        }
                        "FNDA" => {
                            let (count, name) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            let count = parse_count(Some(count)).ok_or_else(|| bad("count"))?;
                            let slot = file.functions.entry(name.into()).or_insert(0);
                            *slot = slot.saturating_add(count);
                            self.has_functions = true;
                        }
                        "FNL" => {
                            // FNL:<index>,<line>[,<end line>]
                            let (index, _) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            parse_u32(Some(index)).ok_or_else(|| bad("index"))?;
                            file.functions
                                .entry(format!("#{}", index.trim()).into())
                                .or_insert(0);
                            self.has_functions = true;
                        }
                        _ => {
                            // FNA:<index>,<count>,<name>: aliases of one function add up.
                            let mut parts = value.splitn(3, ',');
                            let index = parse_u32(parts.next()).ok_or_else(|| bad("index"))?;
                            let count = parse_count(parts.next()).ok_or_else(|| bad("count"))?;
                            let slot = file
                                .functions
                                .entry(format!("#{index}").into())
                                .or_insert(0);
                            *slot = slot.saturating_add(count);
                            self.has_functions = true;
                        }
                    }
                }
                // Records added by later lcov versions are skipped.
                _ if key.chars().all(|c| c.is_ascii_uppercase()) && !key.is_empty() => {}
                _ => {
                    return Err(ParseError::syntax(
                        format!(
                            "expected an lcov record such as `DA:3,1`, found `{}`",
                            shorten(text)
                        ),
                        at,
                    ));
                }
            }
        }
        if let Some((file, started)) = current {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                format!("unexpected end of file: the record of {} (from line {started}) has no end_of_record (is the file truncated?)", self.files[file].path),
            )
            .at(At::LineCol(line_no.max(1), 1)));
        }
        if line_no == 0 {
            return Err(ParseError::new(ErrorKind::Empty, "empty file"));
        }
        Ok(records)
    }

    pub fn finish(self) -> Vec<(FileCoverage, usize, At)> {
        let (has_branches, has_functions) = (self.has_branches, self.has_functions);
        self.files
            .into_iter()
            .map(|f| {
                let (da, branch_map) = match f.kept {
                    Kept::Lines { lines, branches } => (lines, branches),
                    Kept::Tally(mut tally) => {
                        tally.close_branch_line();
                        let (lines, _) = tally.lines.finish();
                        let summary = Summary {
                            lines,
                            branches: has_branches.then_some(tally.branches),
                            functions: has_functions.then(|| function_counter(&f.functions)),
                            statements: None,
                        };
                        return (
                            FileCoverage {
                                path: f.path,
                                summary,
                                lines: Vec::new(),
                            },
                            f.input,
                            f.at,
                        );
                    }
                    // Only before the second pass.
                    Kept::Redo => (Vec::new(), HashMap::new()),
                };
                let mut da = da;
                da.sort_unstable_by_key(|&(line, _)| line);
                let mut branch_by_line: Vec<(u32, bool)> = branch_map
                    .iter()
                    .map(|(&(line, _), taken)| (line, taken.unwrap_or(0) > 0))
                    .collect();
                branch_by_line.sort_unstable();
                let mut lines: Vec<LineCov> = Vec::with_capacity(da.len());
                for (line, count) in da {
                    match lines.last_mut() {
                        Some(l) if l.line == line => {
                            l.hits = l.hits.saturating_add(super::hits(count))
                        }
                        _ => lines.push(LineCov {
                            line,
                            hits: super::hits(count),
                            ..LineCov::default()
                        }),
                    }
                }
                let mut branches = Counter::default();
                for &(line, taken) in &branch_by_line {
                    branches.count(taken);
                    if let Ok(i) = lines.binary_search_by_key(&line, |l| l.line) {
                        lines[i].branches_total = lines[i].branches_total.saturating_add(1);
                        lines[i].branches_covered =
                            lines[i].branches_covered.saturating_add(taken as u16);
                    }
                }
                let mut summary = Summary::default();
                for l in &lines {
                    summary.lines.count(l.hits > 0);
                }
                if has_branches {
                    summary.branches = Some(branches);
                }
                if has_functions {
                    summary.functions = Some(function_counter(&f.functions));
                }
                (
                    FileCoverage {
                        path: f.path,
                        summary,
                        lines,
                    },
                    f.input,
                    f.at,
                )
            })
            .collect()
    }
}

fn function_counter(functions: &HashMap<Box<str>, u64>) -> Counter {
    let mut counter = Counter::default();
    for &calls in functions.values() {
        counter.count(calls > 0);
    }
    counter
}

fn parse_u32(s: Option<&str>) -> Option<u32> {
    s?.trim().parse().ok()
}

/// A count: an integer, or a float some writers print ("1.0"); not negative.
fn parse_count(s: Option<&str>) -> Option<u64> {
    let s = s?.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = s.parse().ok()?;
    (f.is_finite() && f >= 0.0).then_some(f as u64)
}

fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<FileCoverage>, ParseError> {
        let mut acc = Accumulator::default();
        acc.parse(0, text.as_bytes())?;
        Ok(acc.finish().into_iter().map(|f| f.0).collect())
    }

    #[test]
    fn summary_lines_are_ignored_and_repeats_add_up() {
        let files = parse(
            "TN:\nSF:src/a.js\nFN:1,f\nFN:5,g\nFNDA:2,f\nFNDA:0,g\nFNF:9\nFNH:9\nBRDA:1,0,0,1\nBRDA:1,0,1,-\nBRDA:1,0,1,0\nBRF:9\nDA:1,1\nDA:2,0\nDA:3,0\nLF:99\nLH:99\nend_of_record\nSF:src/a.js\nDA:2,4\nFNDA:1,g\nend_of_record\n",
        )
        .unwrap();
        assert_eq!(files.len(), 1);
        let s = files[0].summary;
        assert_eq!(s.lines, Counter::new(2, 3));
        assert_eq!(s.branches, Some(Counter::new(1, 2)));
        assert_eq!(s.functions, Some(Counter::new(2, 2)));
        assert_eq!(
            files[0].lines[0],
            LineCov {
                line: 1,
                hits: 1,
                branches_covered: 1,
                branches_total: 2
            }
        );
    }

    #[test]
    fn lcov2_function_records() {
        let files = parse("SF:a.c\nFNL:0,3,9\nFNA:0,0,f\nFNA:0,2,f_alias\nFNL:1,12\nFNA:1,0,g\nFN:20,22,h\nDA:3,1\nend_of_record\n").unwrap();
        assert_eq!(files[0].summary.functions, Some(Counter::new(1, 3)));
    }

    #[test]
    fn truncated_and_malformed() {
        let err = parse("SF:a.js\nDA:1,1\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert_eq!(err.at, Some(At::LineCol(2, 1)));
        let err = parse("SF:a.js\nDA:x,1\nend_of_record\n").unwrap_err();
        assert_eq!(err.message, "bad DA record (line number): `DA:x,1`");
        assert_eq!(err.at, Some(At::LineCol(2, 1)));
        let err = parse("DA:1,1\n").unwrap_err();
        assert_eq!(err.message, "DA record outside a file (no SF before it)");
        let err = parse("SF:a.js\nhello world\n").unwrap_err();
        assert_eq!(err.at, Some(At::LineCol(2, 1)));
        let err = parse("SF:a.js\nDA:1,-1\nend_of_record\n").unwrap_err();
        assert_eq!(err.message, "bad DA record (count): `DA:1,-1`");
    }
}
