//! Istanbul JSON: `coverage-final.json` (per file: `statementMap`, `s`,
//! `fnMap`, `f`, `branchMap`, `b`) and `coverage-summary.json` (per file
//! and `total`: `lines`, `statements`, `functions`, `branches` counts).
//!
//! The document is read one file entry at a time. Counted as
//! istanbul-lib-coverage counts: statements, functions and branch paths
//! covered when their counter is above 0; lines derived from statements
//! (a line's count is the largest count of the statements starting on it).
//! The same file given twice adds up, key by key, as Istanbul merges.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufRead, Read};
use std::marker::PhantomData;
use std::rc::Rc;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::fold::{Repeats, Role};
use super::{Counter, Detail, FileCoverage, LineCov, Summary};
use crate::error::{At, ErrorKind, ParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `coverage-final.json`
    Final,
    /// `coverage-summary.json`
    Summary,
}

#[derive(Default)]
struct Counts {
    /// statement id -> (count, line it starts on)
    s: BTreeMap<String, (u64, Option<u32>)>,
    f: BTreeMap<String, u64>,
    /// branch id -> (line, count of each path)
    b: BTreeMap<String, (Option<u32>, Vec<u64>)>,
}

impl Counts {
    /// Add an entry's counters, key by key.
    fn add_entry(&mut self, entry: Entry) {
        let statement_map = entry.statement_map.unwrap_or_default();
        for (id, count) in entry.s.unwrap_or_default() {
            let line = statement_map.get(&id).and_then(|l| l.start.line);
            self.add_statement(id, count, line);
        }
        for (id, count) in entry.f.unwrap_or_default() {
            self.add_function(id, count);
        }
        let branch_map = entry.branch_map.unwrap_or_default();
        for (id, paths) in entry.b.unwrap_or_default() {
            let line = branch_map
                .get(&id)
                .and_then(|b| b.line.or_else(|| b.loc.as_ref().and_then(|l| l.start.line)));
            self.add_branch(id, line, &paths);
        }
    }

    /// Add the counters of another run of the same file.
    fn merge(&mut self, other: Counts) {
        for (id, (count, line)) in other.s {
            self.add_statement(id, count, line);
        }
        for (id, count) in other.f {
            self.add_function(id, count);
        }
        for (id, (line, paths)) in other.b {
            self.add_branch(id, line, &paths);
        }
    }

    fn add_statement(&mut self, id: String, count: u64, line: Option<u32>) {
        let slot = self.s.entry(id).or_insert((0, line));
        slot.0 = slot.0.saturating_add(count);
    }

    fn add_function(&mut self, id: String, count: u64) {
        let slot = self.f.entry(id).or_insert(0);
        *slot = slot.saturating_add(count);
    }

    fn add_branch(&mut self, id: String, line: Option<u32>, paths: &[u64]) {
        let slot = self.b.entry(id).or_insert_with(|| (line, Vec::new()));
        if slot.1.len() < paths.len() {
            slot.1.resize(paths.len(), 0);
        }
        for (total, &count) in slot.1.iter_mut().zip(paths) {
            *total = total.saturating_add(count);
        }
    }
}

enum Data {
    Final(Counts),
    Summary(Summary),
}

struct PendingFile {
    path: String,
    input: usize,
    at: At,
    data: Data,
}

#[derive(Default)]
pub struct Accumulator {
    kind: Option<Kind>,
    /// With line data: every file, its counters kept.
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    detail: Detail,
    /// Totals only: the file being read and what was counted.
    counting: Counting,
}

/// Totals only (see [`super::fold`]): the counters of the file being
/// read, counted when another file begins.
#[derive(Default)]
struct Counting {
    repeats: Repeats,
    /// The file being read, and what to do with it once read.
    run: Option<Role>,
    path: String,
    counts: Counts,
    total: Summary,
    /// Second reading: the counters of the paths named more than once.
    kept: HashMap<String, Counts>,
}

impl Counting {
    fn end(&mut self) {
        match self.run.take() {
            Some(Role::Count) => {
                let counts = std::mem::take(&mut self.counts);
                self.total.add(&from_counts(String::new(), counts).summary);
            }
            Some(Role::Keep) => {
                let counts = std::mem::take(&mut self.counts);
                self.kept
                    .entry(std::mem::take(&mut self.path))
                    .or_default()
                    .merge(counts);
            }
            None => {}
        }
    }
}

#[derive(Deserialize)]
struct Entry {
    path: Option<String>,
    #[serde(rename = "statementMap")]
    statement_map: Option<HashMap<String, Location>>,
    #[serde(rename = "fnMap")]
    _fn_map: Option<IgnoredAny>,
    #[serde(rename = "branchMap")]
    branch_map: Option<HashMap<String, BranchLocation>>,
    s: Option<HashMap<String, u64>>,
    f: Option<HashMap<String, u64>>,
    b: Option<HashMap<String, Vec<u64>>>,
    lines: Option<SummaryCounter>,
    statements: Option<SummaryCounter>,
    functions: Option<SummaryCounter>,
    branches: Option<SummaryCounter>,
}

#[derive(Deserialize)]
struct Location {
    start: Position,
}

#[derive(Deserialize)]
struct Position {
    line: Option<u32>,
}

#[derive(Deserialize)]
struct BranchLocation {
    line: Option<u32>,
    loc: Option<Location>,
}

#[derive(Deserialize)]
struct SummaryCounter {
    total: u64,
    covered: u64,
}

impl SummaryCounter {
    fn counter(&self) -> Counter {
        Counter::new(self.covered, self.total)
    }
}

impl Accumulator {
    pub fn new(detail: Detail) -> Accumulator {
        Accumulator {
            detail,
            ..Accumulator::default()
        }
    }

    /// Totals only: whether some path was named again after other files,
    /// so the reports must be read a second time
    /// ([`Accumulator::begin_redo`]).
    pub fn needs_redo(&self) -> bool {
        self.counting.repeats.any() && !self.counting.repeats.second_pass()
    }

    /// Get ready to read every report again: the files named once are
    /// counted again, the others kept with their counters and counted at
    /// the end.
    pub fn begin_redo(&mut self) {
        let c = &mut self.counting;
        c.repeats.begin_second_pass();
        c.total = Summary::default();
    }

    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// Read one JSON report. Returns how many file entries it had.
    pub fn parse<R: BufRead>(&mut self, input: usize, source: R) -> Result<usize, ParseError> {
        let n = read_entries(source, &mut |key, entry: Entry, at| {
            self.add(key, entry, input, at)
        })?;
        // A file's run ends with its report.
        self.counting.end();
        Ok(n)
    }

    /// With line data: the files read, each with its position in its
    /// report.
    pub fn finish(self) -> Vec<(FileCoverage, usize, At)> {
        self.files
            .into_iter()
            .map(|f| {
                let coverage = match f.data {
                    Data::Summary(summary) => FileCoverage {
                        path: f.path,
                        summary,
                        lines: Vec::new(),
                    },
                    Data::Final(counts) => from_counts(f.path, counts),
                };
                (coverage, f.input, f.at)
            })
            .collect()
    }

    /// Totals only: the total of every file read.
    pub fn finish_totals(mut self) -> Summary {
        let c = &mut self.counting;
        c.end();
        for (_, counts) in c.kept.drain() {
            c.total.add(&from_counts(String::new(), counts).summary);
        }
        c.total
    }

    fn add(&mut self, key: String, entry: Entry, input: usize, at: At) -> Result<(), ParseError> {
        let is_final = entry.s.is_some() || entry.statement_map.is_some();
        let is_summary = !is_final && entry.lines.is_some();
        let kind = if is_final {
            Kind::Final
        } else if is_summary {
            Kind::Summary
        } else {
            return Err(ParseError::syntax(
                format!("entry `{key}` is not Istanbul coverage: it has neither `s`/`statementMap` (coverage-final.json) nor `lines` (coverage-summary.json)"),
                at,
            ));
        };
        match self.kind {
            Some(k) if k != kind => {
                return Err(ParseError::syntax(
                    format!(
                        "entry `{key}` mixes coverage-final.json and coverage-summary.json data"
                    ),
                    at,
                ))
            }
            _ => self.kind = Some(kind),
        }
        if kind == Kind::Summary && key == "total" {
            return Ok(());
        }
        let path = entry
            .path
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or(key)
            .replace('\\', "/");
        if self.detail == Detail::Totals {
            let c = &mut self.counting;
            match kind {
                // Counts only: they add up whatever the file.
                Kind::Summary => {
                    if !c.repeats.second_pass() {
                        c.total.add(&entry_summary(&entry));
                    }
                }
                Kind::Final => {
                    if c.run.is_none() || c.path != path {
                        c.end();
                        c.run = Some(c.repeats.begin(&path));
                        c.path = path;
                    }
                    c.counts.add_entry(entry);
                }
            }
            return Ok(());
        }
        let index = match self.by_path.get(&path) {
            Some(&i) => i,
            None => {
                let i = self.files.len();
                self.by_path.insert(path.clone(), i);
                let data = match kind {
                    Kind::Final => Data::Final(Counts::default()),
                    Kind::Summary => Data::Summary(Summary::default()),
                };
                self.files.push(PendingFile {
                    path,
                    input,
                    at,
                    data,
                });
                i
            }
        };
        match &mut self.files[index].data {
            Data::Summary(summary) => summary.add(&entry_summary(&entry)),
            Data::Final(counts) => counts.add_entry(entry),
        }
        Ok(())
    }
}

/// A `coverage-summary.json` entry's counts.
fn entry_summary(entry: &Entry) -> Summary {
    let counter = |c: &Option<SummaryCounter>| c.as_ref().map(SummaryCounter::counter);
    Summary {
        lines: counter(&entry.lines).unwrap_or_default(),
        branches: counter(&entry.branches),
        functions: counter(&entry.functions),
        statements: counter(&entry.statements),
    }
}

fn from_counts(path: String, counts: Counts) -> FileCoverage {
    let mut statements = Counter::default();
    let mut by_line: BTreeMap<u32, LineCov> = BTreeMap::new();
    for &(count, line) in counts.s.values() {
        statements.count(count > 0);
        if let Some(line) = line {
            let l = by_line.entry(line).or_insert(LineCov {
                line,
                ..LineCov::default()
            });
            l.hits = l.hits.max(super::hits(count));
        }
    }
    let mut functions = Counter::default();
    for &count in counts.f.values() {
        functions.count(count > 0);
    }
    let mut branches = Counter::default();
    for (line, paths) in counts.b.values() {
        for &count in paths {
            branches.count(count > 0);
        }
        if let Some(l) = line.and_then(|line| by_line.get_mut(&line)) {
            let covered = paths.iter().filter(|&&c| c > 0).count() as u64;
            l.branches_total = super::branch_count(l.branches_total as u64 + paths.len() as u64);
            l.branches_covered = super::branch_count(l.branches_covered as u64 + covered);
        }
    }
    let lines: Vec<LineCov> = by_line.into_values().collect();
    let mut line_counter = Counter::default();
    for l in &lines {
        line_counter.count(l.hits > 0);
    }
    FileCoverage {
        path,
        summary: Summary {
            lines: line_counter,
            branches: Some(branches),
            functions: Some(functions),
            statements: Some(statements),
        },
        lines,
    }
}

fn json_error(e: &serde_json::Error) -> ParseError {
    let kind = match e.classify() {
        serde_json::error::Category::Eof => ErrorKind::Truncated,
        serde_json::error::Category::Io => ErrorKind::Io,
        _ => ErrorKind::Syntax,
    };
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) if e.line() > 0 => text[..i].to_string(),
        _ => text,
    };
    let message = if kind == ErrorKind::Truncated {
        format!("unexpected end of file: {message} (is the report truncated?)")
    } else {
        format!("malformed JSON: {message}")
    };
    let err = ParseError::new(kind, message);
    if e.line() > 0 {
        err.at(At::LineCol(e.line() as u64, e.column().max(1) as u64))
    } else {
        err
    }
}

/// Counts the bytes the JSON parser has taken, so a file entry can be
/// located in the report.
struct CountingReader<R> {
    inner: R,
    offset: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.offset.set(self.offset.get() + n as u64);
        Ok(n)
    }
}

/// Read a report's entries one at a time, each given to `handle` with its
/// key and where the key is. Returns how many there were.
fn read_entries<R: BufRead, E: DeserializeOwned>(
    source: R,
    handle: &mut dyn FnMut(String, E, At) -> Result<(), ParseError>,
) -> Result<usize, ParseError> {
    let offset = Rc::new(Cell::new(0u64));
    let reader = CountingReader {
        inner: source,
        offset: offset.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut problem: Option<ParseError> = None;
    let seed = FilesSeed {
        handle,
        offset,
        entries: 0,
        problem: &mut problem,
        entry: PhantomData,
    };
    let result = seed.deserialize(&mut de).and_then(|n| de.end().map(|()| n));
    match result {
        Ok(n) => Ok(n),
        Err(e) => Err(problem.take().unwrap_or_else(|| json_error(&e))),
    }
}

/// What the second reading needs of an entry: its path and its kind.
#[derive(Deserialize)]
struct NameEntry {
    path: Option<String>,
    #[serde(rename = "statementMap")]
    statement_map: Option<IgnoredAny>,
    s: Option<IgnoredAny>,
    lines: Option<IgnoredAny>,
}

/// The files a report names, in order, each with where its key is (the
/// report was read before: it is well formed).
pub fn names<R: BufRead>(source: R, each: &mut dyn FnMut(&str, At)) -> Result<(), ParseError> {
    read_entries(source, &mut |key, entry: NameEntry, at| {
        let is_final = entry.s.is_some() || entry.statement_map.is_some();
        if !is_final && entry.lines.is_some() && key == "total" {
            return Ok(());
        }
        let path = entry.path.filter(|p| !p.is_empty()).unwrap_or(key);
        each(&path.replace('\\', "/"), at);
        Ok(())
    })?;
    Ok(())
}

struct FilesSeed<'a, E> {
    handle: &'a mut dyn FnMut(String, E, At) -> Result<(), ParseError>,
    offset: Rc<Cell<u64>>,
    entries: usize,
    /// An error found while adding an entry, with its own position.
    problem: &'a mut Option<ParseError>,
    entry: PhantomData<E>,
}

impl<'de, E: DeserializeOwned> DeserializeSeed<'de> for FilesSeed<'_, E> {
    type Value = usize;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, E: DeserializeOwned> Visitor<'de> for FilesSeed<'_, E> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of files (Istanbul coverage)")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<usize, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            // The key has just been read: step back over it and its quotes.
            let at = At::Offset(self.offset.get().saturating_sub(key.len() as u64 + 2));
            let entry: E = map.next_value()?;
            if let Err(e) = (self.handle)(key, entry, at) {
                *self.problem = Some(e.clone());
                return Err(serde::de::Error::custom(e.message));
            }
            self.entries += 1;
        }
        Ok(self.entries)
    }
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
    fn lines_from_statements_take_the_largest_count() {
        let files = parse(
            r#"{"/app/src/a.js": {"path": "/app/src/a.js",
              "statementMap": {"0": {"start": {"line": 1, "column": 0}, "end": {"line": 1, "column": 9}},
                               "1": {"start": {"line": 1, "column": 10}, "end": {"line": 1, "column": 20}},
                               "2": {"start": {"line": 2, "column": 2}, "end": {"line": 2, "column": 9}}},
              "fnMap": {"0": {"name": "f", "decl": {}, "loc": {}, "line": 1}},
              "branchMap": {"0": {"loc": {"start": {"line": 2, "column": 0}, "end": {}}, "type": "if", "locations": [{}, {}], "line": 2}},
              "s": {"0": 0, "1": 3, "2": 0}, "f": {"0": 3}, "b": {"0": [0, 0]}}}"#,
        )
        .unwrap();
        let s = files[0].summary;
        assert_eq!(s.statements, Some(Counter::new(1, 3)));
        assert_eq!(s.lines, Counter::new(1, 2));
        assert_eq!(s.functions, Some(Counter::new(1, 1)));
        assert_eq!(s.branches, Some(Counter::new(0, 2)));
        assert_eq!(
            files[0].lines[1],
            LineCov {
                line: 2,
                hits: 0,
                branches_covered: 0,
                branches_total: 2
            }
        );
    }

    #[test]
    fn truncated_json_says_where() {
        let err = parse("{\"a.js\": {\"s\": {\"0\": 1},\n \"statementMap\": {").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert_eq!(err.at, Some(At::LineCol(2, 18)));
        assert!(
            err.message
                .starts_with("unexpected end of file: EOF while parsing"),
            "{}",
            err.message
        );
    }

    #[test]
    fn entries_that_are_not_coverage() {
        let err = parse("{\"a.js\": {\"s\": {\"0\": 1}},\n  \"b.js\": {\"x\": 1}}").unwrap_err();
        assert_eq!(err.at, Some(At::Offset(28)));
        assert!(
            err.message
                .starts_with("entry `b.js` is not Istanbul coverage"),
            "{}",
            err.message
        );
        let err = parse("[1, 2]").unwrap_err();
        assert_eq!(err.message, "malformed JSON: invalid type: sequence, expected a JSON object of files (Istanbul coverage)");
        let err = parse("{\"a.js\": {\"s\": {\"0\": -1}}}").unwrap_err();
        assert!(
            err.message
                .starts_with("malformed JSON: invalid value: integer `-1`"),
            "{}",
            err.message
        );
    }
}
