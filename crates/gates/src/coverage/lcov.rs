//! lcov tracefiles: `SF:` starts a file, `end_of_record` ends it; `DA`,
//! `BRDA`, `FN`/`FNDA` (and lcov 2's `FNL`/`FNA`) are the records.
//!
//! Totals are recomputed from the records; the `LF`/`LH`, `BRF`/`BRH` and
//! `FNF`/`FNH` summary lines are ignored. A file or a line given twice adds
//! up, as `lcov -a` adds tracefiles.

use std::collections::HashMap;
use std::io::BufRead;

use super::fold::{Repeats, Role};
use super::{Counter, Detail, FileCoverage, LineCov, Summary};
use crate::error::{At, ErrorKind, ParseError};

struct PendingFile {
    path: String,
    input: usize,
    at: At,
    records: Records,
}

/// The records of one file, merged as `lcov -a` merges them.
#[derive(Default)]
struct Records {
    /// (line, count) of each `DA`, in the order read.
    lines: Vec<(u32, u64)>,
    /// (line, block and branch as written) -> times taken; None for `-`
    /// (the block never ran).
    branches: HashMap<(u32, Box<str>), Option<u64>>,
    /// name (or `#index` for `FNL`) -> calls.
    functions: HashMap<Box<str>, u64>,
}

impl Records {
    /// Add another run of the same file.
    fn merge(&mut self, other: Records) {
        self.lines.extend(other.lines);
        for (key, taken) in other.branches {
            add_taken(self.branches.entry(key).or_insert(None), taken);
        }
        for (name, calls) in other.functions {
            let slot = self.functions.entry(name).or_insert(0);
            *slot = slot.saturating_add(calls);
        }
    }

    /// `DA` lines sorted, repeats summed.
    fn line_data(&mut self) -> Vec<LineCov> {
        self.lines.sort_unstable_by_key(|&(line, _)| line);
        let mut lines: Vec<LineCov> = Vec::with_capacity(self.lines.len());
        for &(line, count) in &self.lines {
            match lines.last_mut() {
                Some(l) if l.line == line => l.hits = l.hits.saturating_add(super::hits(count)),
                _ => lines.push(LineCov {
                    line,
                    hits: super::hits(count),
                    ..LineCov::default()
                }),
            }
        }
        lines
    }

    /// (lines, branches, functions), as [`Accumulator::finish`] counts
    /// them, without making the lines.
    fn count(&mut self) -> (Counter, Counter, Counter) {
        self.lines.sort_unstable_by_key(|&(line, _)| line);
        let mut lines = Counter::default();
        let mut i = 0;
        while i < self.lines.len() {
            let line = self.lines[i].0;
            let mut covered = false;
            while i < self.lines.len() && self.lines[i].0 == line {
                covered |= self.lines[i].1 > 0;
                i += 1;
            }
            lines.count(covered);
        }
        let mut branches = Counter::default();
        for taken in self.branches.values() {
            branches.count(taken.unwrap_or(0) > 0);
        }
        (lines, branches, function_counter(&self.functions))
    }

    fn clear(&mut self) {
        self.lines.clear();
        self.branches.clear();
        self.functions.clear();
    }
}

/// Totals only (see [`super::fold`]): the records of the file being
/// read, counted when another file begins (a file's records one after
/// another merge first).
#[derive(Default)]
struct Counting {
    repeats: Repeats,
    /// The file being read, and what to do with it once read.
    run: Option<Role>,
    path: String,
    records: Records,
    lines: Counter,
    branches: Counter,
    functions: Counter,
    /// Second reading: the records of the paths named more than once.
    kept: HashMap<String, Records>,
}

impl Counting {
    fn begin(&mut self, path: String) {
        if self.run.is_some() && self.path == path {
            return;
        }
        self.end();
        self.run = Some(self.repeats.begin(&path));
        self.path = path;
    }

    fn end(&mut self) {
        match self.run.take() {
            Some(Role::Count) => {
                let (lines, branches, functions) = self.records.count();
                self.lines.add(lines);
                self.branches.add(branches);
                self.functions.add(functions);
                self.records.clear();
            }
            Some(Role::Keep) => {
                let records = std::mem::take(&mut self.records);
                self.kept
                    .entry(std::mem::take(&mut self.path))
                    .or_default()
                    .merge(records);
            }
            None => {}
        }
    }
}

fn add_taken(slot: &mut Option<u64>, taken: Option<u64>) {
    *slot = match (*slot, taken) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    };
}

#[derive(Default)]
pub struct Accumulator {
    /// With line data: every file, its records kept.
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    has_branches: bool,
    has_functions: bool,
    detail: Detail,
    /// Totals only: the file being read and what was counted.
    counting: Counting,
}

impl Accumulator {
    pub fn new(detail: Detail) -> Accumulator {
        Accumulator {
            detail,
            ..Accumulator::default()
        }
    }

    /// Totals only: whether some path was named again after other files,
    /// so the tracefiles must be read a second time
    /// ([`Accumulator::begin_redo`]).
    pub fn needs_redo(&self) -> bool {
        self.counting.repeats.any() && !self.counting.repeats.second_pass()
    }

    /// Get ready to read every tracefile again: the files named once are
    /// counted again, the others kept with their records and counted at
    /// the end.
    pub fn begin_redo(&mut self) {
        let c = &mut self.counting;
        c.repeats.begin_second_pass();
        c.lines = Counter::default();
        c.branches = Counter::default();
        c.functions = Counter::default();
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
                            format!("SF record before the end_of_record of {}", self.path(file)),
                            at,
                        ));
                    }
                    let path = value.trim().replace('\\', "/");
                    if path.is_empty() {
                        return Err(bad("no file name"));
                    }
                    let index = match self.detail {
                        Detail::Totals => {
                            self.counting.begin(path);
                            0
                        }
                        Detail::Lines => match self.by_path.get(&path) {
                            Some(&i) => i,
                            None => {
                                let i = self.files.len();
                                self.by_path.insert(path.clone(), i);
                                self.files.push(PendingFile {
                                    path,
                                    input,
                                    at,
                                    records: Records::default(),
                                });
                                i
                            }
                        },
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
                    match key {
                        "BRDA" => self.has_branches = true,
                        "DA" => {}
                        _ => self.has_functions = true,
                    }
                    let file = match self.detail {
                        Detail::Lines => &mut self.files[file].records,
                        Detail::Totals => &mut self.counting.records,
                    };
                    match key {
                        "DA" => {
                            let mut parts = value.splitn(3, ',');
                            let line = parse_u32(parts.next()).ok_or_else(|| bad("line number"))?;
                            let count = parse_count(parts.next()).ok_or_else(|| bad("count"))?;
                            file.lines.push((line, count));
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
                            add_taken(
                                file.branches.entry((line, id.into())).or_insert(None),
                                taken,
                            );
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
                        }
                        "FNDA" => {
                            let (count, name) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            let count = parse_count(Some(count)).ok_or_else(|| bad("count"))?;
                            let slot = file.functions.entry(name.into()).or_insert(0);
                            *slot = slot.saturating_add(count);
                        }
                        "FNL" => {
                            // FNL:<index>,<line>[,<end line>]
                            let (index, _) =
                                value.split_once(',').ok_or_else(|| bad("too few fields"))?;
                            parse_u32(Some(index)).ok_or_else(|| bad("index"))?;
                            file.functions
                                .entry(format!("#{}", index.trim()).into())
                                .or_insert(0);
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
                format!("unexpected end of file: the record of {} (from line {started}) has no end_of_record (is the file truncated?)", self.path(file)),
            )
            .at(At::LineCol(line_no.max(1), 1)));
        }
        if line_no == 0 {
            return Err(ParseError::new(ErrorKind::Empty, "empty file"));
        }
        // A file's run ends with its tracefile.
        self.counting.end();
        Ok(records)
    }

    /// The path of the file being read.
    fn path(&self, file: usize) -> &str {
        match self.detail {
            Detail::Lines => &self.files[file].path,
            Detail::Totals => &self.counting.path,
        }
    }

    /// With line data: the files read, each with its position in its
    /// tracefile.
    pub fn finish(self) -> Vec<(FileCoverage, usize, At)> {
        let (has_branches, has_functions) = (self.has_branches, self.has_functions);
        self.files
            .into_iter()
            .map(|mut f| {
                let mut lines = f.records.line_data();
                let mut branch_by_line: Vec<(u32, bool)> = f
                    .records
                    .branches
                    .iter()
                    .map(|(&(line, _), taken)| (line, taken.unwrap_or(0) > 0))
                    .collect();
                branch_by_line.sort_unstable();
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
                    summary.functions = Some(function_counter(&f.records.functions));
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

    /// Totals only: the total of every file read.
    pub fn finish_totals(mut self) -> Summary {
        let c = &mut self.counting;
        c.end();
        for records in c.kept.values_mut() {
            let (lines, branches, functions) = records.count();
            c.lines.add(lines);
            c.branches.add(branches);
            c.functions.add(functions);
        }
        Summary {
            lines: c.lines,
            branches: self.has_branches.then_some(c.branches),
            functions: self.has_functions.then_some(c.functions),
            statements: None,
        }
    }
}

/// The files a tracefile names, in order, each with the line of its `SF`
/// record (the tracefile was read before: it is well formed).
pub fn names<R: BufRead>(mut source: R, each: &mut dyn FnMut(&str, At)) -> Result<(), ParseError> {
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = source
            .read_until(b'\n', &mut buf)
            .map_err(|e| ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']).trim_start();
        if let Some(path) = text.strip_prefix("SF:") {
            each(&path.trim().replace('\\', "/"), At::LineCol(line_no, 1));
        }
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
