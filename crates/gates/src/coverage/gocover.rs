//! Go coverprofiles: `mode: set|count|atomic`, then one block per line,
//! `file.go:startLine.startCol,endLine.endCol numStmts count`.
//!
//! `go test -coverpkg=./...` writes every block once per test binary, so
//! the same block appears several times. As `go tool cover` does, blocks
//! are keyed by file and position and merged: `set` ORs the counts,
//! `count` and `atomic` add them. The total is weighted by statements.

use std::collections::HashMap;
use std::io::BufRead;

use super::fold::{path_hash, Repeats, Role};
use super::{Counter, Detail, FileCoverage, LineCov, Summary};
use crate::error::{At, ErrorKind, ParseError};
use crate::input::Input;

/// A block longer than this is not from a real program; refusing it keeps
/// a hostile profile from making the line view huge.
const MAX_BLOCK_LINES: u32 = 100_000;

/// Blocks of a file kept before repeats are first merged.
const MERGE_AT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Set,
    Count,
    Atomic,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    start_line: u32,
    start_col: u32,
    end_line: u32,
    end_col: u32,
    stmts: u32,
    /// Where the block was read, for messages.
    source_line: u32,
    count: u64,
}

#[derive(Debug)]
struct PendingFile {
    path: String,
    input: usize,
    at: At,
    blocks: Vec<Block>,
    /// Merge repeats once the list reaches this length, so a profile that
    /// repeats its blocks (-coverpkg) takes memory for the distinct ones.
    merge_at: usize,
}

/// Sort the blocks by position and merge repeats of one block: `set`
/// ORs the counts, the other modes add them. One block with two statement
/// counts is an error, as in `go tool cover`.
fn merge_blocks(path: &str, blocks: &mut Vec<Block>, set: bool) -> Result<(), ParseError> {
    blocks.sort_unstable_by_key(|b| {
        (
            b.start_line,
            b.start_col,
            b.end_line,
            b.end_col,
            b.source_line,
        )
    });
    let mut kept = 0;
    for i in 0..blocks.len() {
        let b = blocks[i];
        if kept > 0 {
            let last = &mut blocks[kept - 1];
            if (last.start_line, last.start_col, last.end_line, last.end_col)
                == (b.start_line, b.start_col, b.end_line, b.end_col)
            {
                if last.stmts != b.stmts {
                    return Err(ParseError::syntax(
                        format!(
                            "inconsistent statement count for {path}:{}.{},{}.{}: {} here, {} on line {}",
                            b.start_line, b.start_col, b.end_line, b.end_col, b.stmts, last.stmts, last.source_line
                        ),
                        At::LineCol(b.source_line as u64, 1),
                    ));
                }
                if set {
                    last.count |= b.count;
                } else {
                    last.count = last.count.saturating_add(b.count);
                }
                continue;
            }
        }
        blocks[kept] = b;
        kept += 1;
    }
    blocks.truncate(kept);
    Ok(())
}

#[derive(Debug, Default)]
pub struct Accumulator {
    mode: Option<Mode>,
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    detail: Detail,
}

impl Accumulator {
    pub fn new(detail: Detail) -> Accumulator {
        Accumulator {
            detail,
            ..Accumulator::default()
        }
    }

    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// Read one profile. Returns how many blocks it had.
    pub fn parse<R: BufRead>(&mut self, input: usize, mut source: R) -> Result<usize, ParseError> {
        let mut buf = Vec::with_capacity(256);
        let mut line_no = 0u32;
        let mut blocks = 0usize;
        let mut seen_mode = false;
        let mut last: Option<usize> = None;
        loop {
            buf.clear();
            let n = source
                .read_until(b'\n', &mut buf)
                .map_err(|e| ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            line_no = line_no.saturating_add(1);
            let text = std::str::from_utf8(&buf)
                .map_err(|_| ParseError::syntax("not UTF-8 text", At::LineCol(line_no as u64, 1)))?
                .trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            if let Some(mode) = text.strip_prefix("mode:") {
                read_mode(mode, line_no, &mut self.mode)?;
                seen_mode = true;
                continue;
            }
            if !seen_mode {
                return Err(ParseError::syntax(
                    "a Go coverprofile starts with a `mode:` line",
                    At::LineCol(line_no as u64, 1),
                ));
            }
            let (path, block) = parse_block(text, line_no)?;
            let index = match last {
                Some(i) if self.files[i].path == path && self.files[i].input == input => i,
                _ => match self.by_path.get(path) {
                    Some(&i) => i,
                    None => {
                        let i = self.files.len();
                        self.by_path.insert(path.to_string(), i);
                        self.files.push(PendingFile {
                            path: path.to_string(),
                            input,
                            at: At::LineCol(line_no as u64, 1),
                            blocks: Vec::new(),
                            merge_at: MERGE_AT,
                        });
                        i
                    }
                },
            };
            last = Some(index);
            let set = self.mode == Some(Mode::Set);
            let file = &mut self.files[index];
            file.blocks.push(block);
            if file.blocks.len() >= file.merge_at {
                merge_blocks(&file.path, &mut file.blocks, set)?;
                file.merge_at = (file.blocks.len() * 2).max(MERGE_AT);
            }
            blocks += 1;
        }
        if !seen_mode {
            return Err(ParseError::new(
                ErrorKind::Empty,
                "empty file: a Go coverprofile starts with a `mode:` line",
            ));
        }
        Ok(blocks)
    }

    /// Merge repeated blocks and count. Fails when one block is given with
    /// different statement counts, as `go tool cover` does.
    /// Merge the repeats of every file (a block given twice with two
    /// statement counts is an error).
    pub fn merge_all(&mut self) -> Result<(), ParseError> {
        let set = self.mode == Some(Mode::Set);
        for f in &mut self.files {
            merge_blocks(&f.path, &mut f.blocks, set)?;
            f.merge_at = usize::MAX;
        }
        Ok(())
    }

    /// The files read, as (index, path as written, input, where).
    pub fn files(&self) -> impl Iterator<Item = (usize, &str, usize, At)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (i, f.path.as_str(), f.input, f.at))
    }

    /// Count, after [`Accumulator::merge_all`]. `extents(i)` gives the
    /// functions of file `i` when its source can be read: statements then
    /// count as `go tool cover -func` counts them, only inside function
    /// declarations (a function literal assigned to a package-level
    /// variable is left out). Without the source every block counts, as
    /// in `go test -cover`'s figure. Lines are derived from every block.
    pub fn finish(
        self,
        extents: &mut dyn FnMut(usize) -> Option<Vec<FuncExtent>>,
    ) -> Vec<(FileCoverage, usize, At)> {
        let mut out = Vec::with_capacity(self.files.len());
        for (index, f) in self.files.into_iter().enumerate() {
            let merged = f.blocks;
            // With the source, only blocks inside functions count, as in
            // `go tool cover -func`; lines follow the same blocks so the
            // table and its missed lines agree.
            let counted = match extents(index) {
                Some(funcs) => in_functions(&merged, &funcs),
                None => vec![true; merged.len()],
            };
            let mut statements = Counter::default();
            for (b, _) in merged.iter().zip(&counted).filter(|(_, &c)| c) {
                statements.add(Counter::new(
                    if b.count > 0 { b.stmts as u64 } else { 0 },
                    b.stmts as u64,
                ));
            }
            let blocks = || {
                merged
                    .iter()
                    .zip(&counted)
                    .filter(|(_, &c)| c)
                    .map(|(b, _)| b)
            };
            let (lines, line_counter) = match self.detail {
                Detail::Lines => {
                    let lines = block_lines(blocks());
                    let mut counter = Counter::default();
                    for l in &lines {
                        counter.count(l.hits > 0);
                    }
                    (lines, counter)
                }
                Detail::Totals => (Vec::new(), count_lines(blocks())),
            };
            drop(merged);
            let summary = Summary {
                lines: line_counter,
                branches: None,
                functions: None,
                statements: Some(statements),
            };
            out.push((
                FileCoverage {
                    path: f.path,
                    summary,
                    lines,
                },
                f.input,
                f.at,
            ));
        }
        out
    }
}

/// The functions of a source file when it can be read, given the path as
/// the profile writes it, the input that names it first and where.
pub type Functions<'a> = dyn FnMut(&str, usize, At) -> Option<Vec<FuncExtent>> + 'a;

/// Where a run of blocks of one file is in a profile: bytes
/// `start..end` of input `input` (after a byte order mark), from line
/// `line`.
#[derive(Debug, Clone, Copy)]
struct Run {
    hash: u64,
    start: u64,
    end: u64,
    input: u32,
    line: u32,
}

impl Run {
    fn input(&self) -> usize {
        self.input as usize
    }
}

/// The run being read.
struct Current {
    role: Role,
    start: u64,
    line: u32,
    merge_at: usize,
}

/// Totals only (see the `fold` module): the blocks of a file are kept
/// while its run (its consecutive lines) is read, then merged, counted
/// and let go. A file whose blocks come back later (`-coverpkg` writes
/// every block once per test binary) cannot be counted that way: from the
/// first such file on, where each run is gets noted (a few words), the
/// start of the profile is scanned again for the runs before, and then
/// the runs of each file named more than once are read from their places,
/// one file at a time, and merged: what their runs added to the total
/// alone is taken off, and the merged blocks counted instead. Memory: the
/// blocks of one file, 8 bytes for each path, and a few words for each
/// run noted.
#[derive(Debug, Default)]
pub struct Counting {
    mode: Option<Mode>,
    repeats: Repeats,
    /// First reading, from the first file named again on: every run is
    /// noted (those of files named once are dropped at the end).
    noting: bool,
    /// Where noting began: input and offset.
    noted_from: Option<(usize, u64)>,
    runs: Vec<Run>,
    statements: Counter,
    lines: Counter,
    /// The file being counted: its path as written and its blocks.
    path: String,
    blocks: Vec<Block>,
    /// One run's blocks, when a file is gathered from its runs.
    run_blocks: Vec<Block>,
    /// A block given twice with two statement counts, in one run.
    inconsistent: Option<(usize, ParseError)>,
}

impl Counting {
    pub fn new() -> Counting {
        Counting::default()
    }

    /// The total of the files counted.
    pub fn total(&self) -> Summary {
        Summary {
            lines: self.lines,
            branches: None,
            functions: None,
            statements: Some(self.statements),
        }
    }

    /// Read one profile. In the first reading, a file's first run is
    /// counted as if the file had no other; once paths are resolved
    /// ([`Counting::begin_recount`]), only the files named once are.
    /// Returns how many blocks the profile had.
    pub fn parse<R: BufRead>(
        &mut self,
        input: usize,
        mut source: R,
        functions: &mut Functions<'_>,
    ) -> Result<usize, ParseError> {
        let mut buf = Vec::with_capacity(256);
        let mut line_no = 0u32;
        let mut offset = 0u64;
        let mut blocks = 0usize;
        let mut seen_mode = false;
        let mut current: Option<Current> = None;
        loop {
            buf.clear();
            let n = source
                .read_until(b'\n', &mut buf)
                .map_err(|e| ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            let line_start = offset;
            offset += n as u64;
            line_no = line_no.saturating_add(1);
            let text = std::str::from_utf8(&buf)
                .map_err(|_| ParseError::syntax("not UTF-8 text", At::LineCol(line_no as u64, 1)))?
                .trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            if let Some(mode) = text.strip_prefix("mode:") {
                self.end_run(current.take(), line_start, input, functions)?;
                read_mode(mode, line_no, &mut self.mode)?;
                seen_mode = true;
                continue;
            }
            if !seen_mode {
                return Err(ParseError::syntax(
                    "a Go coverprofile starts with a `mode:` line",
                    At::LineCol(line_no as u64, 1),
                ));
            }
            let (path, block) = parse_block(text, line_no)?;
            blocks += 1;
            let run = match current {
                Some(ref mut run) if self.path == path => run,
                _ => {
                    self.end_run(current.take(), line_start, input, functions)?;
                    let mut role = self.repeats.begin(path);
                    if !self.repeats.second_pass() && self.repeats.is_repeated(path_hash(path)) {
                        // Named before: counted from its runs at the end.
                        role = Role::Keep;
                        if !self.noting {
                            self.noting = true;
                            self.noted_from = Some((input, line_start));
                        }
                    }
                    self.path.clear();
                    self.path.push_str(path);
                    current.insert(Current {
                        role,
                        start: line_start,
                        line: line_no,
                        merge_at: MERGE_AT,
                    })
                }
            };
            if run.role == Role::Count {
                self.blocks.push(block);
                if self.blocks.len() >= run.merge_at {
                    self.merge(input);
                    run.merge_at = (self.blocks.len() * 2).max(MERGE_AT);
                }
            }
        }
        self.end_run(current.take(), offset, input, functions)?;
        if !seen_mode {
            return Err(ParseError::new(
                ErrorKind::Empty,
                "empty file: a Go coverprofile starts with a `mode:` line",
            ));
        }
        Ok(blocks)
    }

    fn end_run(
        &mut self,
        run: Option<Current>,
        end: u64,
        input: usize,
        functions: &mut Functions<'_>,
    ) -> Result<(), ParseError> {
        let Some(run) = run else { return Ok(()) };
        if run.role == Role::Count {
            self.merge(input);
            let funcs = functions(&self.path, input, At::LineCol(run.line as u64, 1));
            let (statements, lines) = count_blocks(&self.blocks, funcs.as_deref());
            self.statements.add(statements);
            self.lines.add(lines);
            self.blocks.clear();
        }
        if self.noting {
            self.note(run.start, end, input, run.line)?;
        }
        Ok(())
    }

    /// Merge the blocks of the run. A block given twice with two statement
    /// counts is told once every profile has been read, as with line data
    /// (an error of syntax further on comes first).
    fn merge(&mut self, input: usize) {
        if let Err(e) = merge_blocks(&self.path, &mut self.blocks, self.mode == Some(Mode::Set)) {
            self.inconsistent.get_or_insert((input, e));
        }
    }

    /// The first block given twice with two statement counts in one run,
    /// with its input.
    pub fn take_inconsistent(&mut self) -> Option<(usize, ParseError)> {
        self.inconsistent.take()
    }

    fn note(&mut self, start: u64, end: u64, input: usize, line: u32) -> Result<(), ParseError> {
        let input = u32::try_from(input)
            .map_err(|_| ParseError::new(ErrorKind::Io, "too many profiles at once"))?;
        self.runs.push(Run {
            hash: path_hash(&self.path),
            start,
            end,
            input,
            line,
        });
        Ok(())
    }

    /// After the first reading: where the profiles must be scanned again
    /// ([`Counting::rescan`]) for the runs of the files named more than
    /// once noted before noting began, as (input, offset where to stop in
    /// it); None when every file was named once.
    pub fn begin_rescan(&mut self) -> Option<(usize, u64)> {
        if !self.repeats.any() {
            return None;
        }
        self.repeats.begin_second_pass();
        self.noting = false;
        let repeats = &self.repeats;
        self.runs.retain(|r| repeats.is_repeated(r.hash));
        self.noted_from
    }

    /// Scan the start of a profile, up to `until` (bytes), noting the runs
    /// of the files named more than once (it was read before: it is well
    /// formed).
    pub fn rescan<R: BufRead>(
        &mut self,
        input: usize,
        mut source: R,
        until: Option<u64>,
    ) -> Result<(), ParseError> {
        let mut buf = Vec::with_capacity(256);
        let (mut line_no, mut offset) = (0u32, 0u64);
        // The run being scanned: start, line, noted.
        let mut current: Option<(u64, u32, bool)> = None;
        loop {
            if until.is_some_and(|u| offset >= u) {
                break;
            }
            buf.clear();
            let n = source
                .read_until(b'\n', &mut buf)
                .map_err(|e| ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))?;
            if n == 0 {
                break;
            }
            let line_start = offset;
            offset += n as u64;
            line_no = line_no.saturating_add(1);
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let path = if text.starts_with("mode:") {
                None
            } else {
                block_path(text)
            };
            if current.is_some() && path == Some(self.path.as_str()) {
                continue;
            }
            if let Some((start, line, true)) = current.take() {
                self.note(start, line_start, input, line)?;
            }
            if let Some(path) = path {
                self.path.clear();
                self.path.push_str(path);
                let repeated = self.repeats.is_repeated(path_hash(path));
                current = Some((line_start, line_no, repeated));
            }
        }
        if let Some((start, line, true)) = current {
            self.note(start, offset, input, line)?;
        }
        Ok(())
    }

    /// Get ready to count again once paths resolve, statements inside
    /// functions only: [`Counting::parse`] counts the files named once
    /// (unless [`Counting::all_repeated`]), [`Counting::count_repeated`]
    /// the others.
    pub fn begin_recount(&mut self) {
        self.repeats.begin_second_pass();
        self.noting = false;
        self.statements = Counter::default();
        self.lines = Counter::default();
        self.blocks.clear();
    }

    /// Whether every file is named more than once: then the profiles
    /// need not be read again to recount, the noted runs are enough.
    pub fn all_repeated(&self) -> bool {
        self.repeats.distinct() == self.repeats.repeated()
    }

    /// Count the files named more than once, one at a time, from the runs
    /// noted. In the first reading (`first`), what a file's first run
    /// added to the total alone is taken off. An error comes with the
    /// input it is in.
    pub fn count_repeated(
        &mut self,
        inputs: &[&dyn Input],
        skipped: &[u64],
        first: bool,
        functions: &mut Functions<'_>,
    ) -> Result<(), (usize, ParseError)> {
        let mut runs = std::mem::take(&mut self.runs);
        // Each file's runs together, in the order of the profiles.
        runs.sort_by_key(|r| (r.hash, r.input, r.start));
        let mut result = Ok(());
        let mut text = Vec::new();
        'groups: for group in runs.chunk_by(|a, b| a.hash == b.hash) {
            // Two paths of one hash: the runs of the first path are
            // counted, then those of the others.
            let mut pending: Vec<Run> = group.to_vec();
            // The run the first reading counted: the first of its hash.
            let counted = first.then_some((group[0].input, group[0].start));
            while let Some(&run) = pending.first() {
                match self.gather(&pending, inputs, skipped, counted, &mut text) {
                    Ok(others) => pending = others,
                    Err(e) => {
                        result = Err(e);
                        break 'groups;
                    }
                }
                let at = At::LineCol(run.line as u64, 1);
                let funcs = functions(&self.path, run.input(), at);
                let (statements, lines) = count_blocks(&self.blocks, funcs.as_deref());
                self.statements.add(statements);
                self.lines.add(lines);
                self.blocks.clear();
            }
        }
        self.runs = runs;
        result
    }

    /// Read the runs of the path of `runs[0]` into [`Counting::blocks`],
    /// merged, taking what the run at `counted` (input, start) counted
    /// alone off the total. Returns the runs of other paths (of the same
    /// hash).
    fn gather(
        &mut self,
        runs: &[Run],
        inputs: &[&dyn Input],
        skipped: &[u64],
        counted: Option<(u32, u64)>,
        text: &mut Vec<u8>,
    ) -> Result<Vec<Run>, (usize, ParseError)> {
        let set = self.mode == Some(Mode::Set);
        let mut others = Vec::new();
        let mut read_from: Option<(usize, bool)> = None;
        self.path.clear();
        self.blocks.clear();
        let mut merge_at = MERGE_AT;
        for run in runs {
            let in_input = |e: ParseError| (run.input(), e);
            let skip = skipped.get(run.input()).copied().unwrap_or(0);
            inputs[run.input()]
                .read_range(skip + run.start, skip + run.end, text)
                .map_err(|e| {
                    in_input(ParseError::new(ErrorKind::Io, format!("cannot read: {e}")))
                })?;
            self.run_blocks.clear();
            let mut line_no = run.line;
            for raw in text.split(|&b| b == b'\n') {
                let at = At::LineCol(line_no as u64, 1);
                line_no = line_no.saturating_add(1);
                let line = std::str::from_utf8(raw)
                    .map_err(|_| in_input(ParseError::syntax("not UTF-8 text", at)))?
                    .trim_end_matches('\r');
                if line.trim().is_empty() || line.starts_with("mode:") {
                    continue;
                }
                let (path, block) = parse_block(line, line_no - 1).map_err(in_input)?;
                if self.path.is_empty() {
                    self.path.push_str(path);
                } else if self.path != path {
                    if !self.run_blocks.is_empty() {
                        return Err(in_input(ParseError::new(
                            ErrorKind::Io,
                            "the profile changed while it was read",
                        )));
                    }
                    others.push(*run);
                    break;
                }
                self.run_blocks.push(block);
            }
            if self.run_blocks.is_empty() {
                continue;
            }
            read_from = match read_from {
                None => Some((run.input(), true)),
                Some((i, one)) => Some((run.input(), one && i == run.input())),
            };
            if counted == Some((run.input, run.start)) {
                // As the first reading counted the run.
                merge_blocks(&self.path, &mut self.run_blocks, set).map_err(in_input)?;
                let (statements, lines) = count_blocks(&self.run_blocks, None);
                self.statements = self.statements.minus(statements);
                self.lines = self.lines.minus(lines);
            }
            self.blocks.append(&mut self.run_blocks);
            if self.blocks.len() >= merge_at {
                merge_blocks(&self.path, &mut self.blocks, set).map_err(in_input)?;
                merge_at = (self.blocks.len() * 2).max(MERGE_AT);
            }
        }
        merge_blocks(&self.path, &mut self.blocks, set).map_err(|e| {
            // The repeat is in the last input read; its line says where
            // only when every run was in that input.
            let (input, one) = read_from.unwrap_or((runs[0].input(), true));
            (input, if one { e } else { ParseError { at: None, ..e } })
        })?;
        Ok(others)
    }
}

/// The path of a block line (well formed).
fn block_path(text: &str) -> Option<&str> {
    let rest = text.rsplit_once(' ')?.0;
    let rest = rest.rsplit_once(' ')?.0;
    Some(rest.rsplit_once(':')?.0)
}

/// Statements and lines of a file's merged blocks; with its functions,
/// only the blocks inside them, as `go tool cover -func` counts.
fn count_blocks(blocks: &[Block], funcs: Option<&[FuncExtent]>) -> (Counter, Counter) {
    let counted = match funcs {
        Some(funcs) => in_functions(blocks, funcs),
        None => vec![true; blocks.len()],
    };
    let counted = || {
        blocks
            .iter()
            .zip(&counted)
            .filter(|(_, &c)| c)
            .map(|(b, _)| b)
    };
    let mut statements = Counter::default();
    for b in counted() {
        statements.add(Counter::new(
            if b.count > 0 { b.stmts as u64 } else { 0 },
            b.stmts as u64,
        ));
    }
    (statements, count_lines(counted()))
}

/// The lines a file's blocks span, each with the largest count of the
/// blocks on it. Blocks come sorted by start; the lines made so far are
/// the union of the spans before, so the lines a block shares with them
/// are the last ones made.
fn block_lines<'a>(blocks: impl Iterator<Item = &'a Block> + Clone) -> Vec<LineCov> {
    let mut lines: Vec<LineCov> = Vec::with_capacity(count_lines(blocks.clone()).total as usize);
    for b in blocks {
        let hits = super::hits(b.count);
        let mut next = b.start_line as u64;
        if let Some(last) = lines.last().map(|l| l.line) {
            if last >= b.start_line {
                let from = lines.partition_point(|l| l.line < b.start_line);
                for l in &mut lines[from..] {
                    if l.line > b.end_line {
                        break;
                    }
                    l.hits = l.hits.max(hits);
                }
                next = last as u64 + 1;
            }
        }
        for line in next..=b.end_line as u64 {
            lines.push(LineCov {
                line: line as u32,
                hits,
                ..LineCov::default()
            });
        }
    }
    lines
}

/// The lines of [`block_lines`] counted without making them: the union of
/// the blocks' spans, and the union of the spans of blocks that ran.
fn count_lines<'a>(blocks: impl Iterator<Item = &'a Block>) -> Counter {
    // One past the last line counted, of all blocks and of those that ran.
    let (mut all_end, mut run_end) = (0u64, 0u64);
    let mut counter = Counter::default();
    fn extend(end: &mut u64, b: &Block) -> u64 {
        let from = (b.start_line as u64).max(*end);
        let to = b.end_line as u64 + 1;
        if to > from {
            *end = to;
            to - from
        } else {
            0
        }
    }
    for b in blocks {
        counter.total += extend(&mut all_end, b);
        if b.count > 0 {
            counter.covered += extend(&mut run_end, b);
        }
    }
    counter
}

/// Where a function declaration is in its file, as Go's `token.Position`s:
/// from the `func` keyword to just after the closing brace, 1-based lines
/// and byte columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncExtent {
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

/// Which blocks `go tool cover -func` counts: for each function, those
/// neither wholly before it nor past its end. Blocks and functions are in
/// source order and do not overlap, so one pass over both gives what Go's
/// loop over every function and every block gives.
fn in_functions(blocks: &[Block], funcs: &[FuncExtent]) -> Vec<bool> {
    let mut counted = vec![false; blocks.len()];
    let mut i = 0;
    for f in funcs {
        while i < blocks.len() {
            let b = &blocks[i];
            let before = b.end_line < f.start_line
                || (b.end_line == f.start_line && b.end_col <= f.start_col);
            if !before {
                break;
            }
            i += 1;
        }
        while i < blocks.len() {
            let b = &blocks[i];
            let past = b.start_line > f.end_line
                || (b.start_line == f.end_line && b.start_col >= f.end_col);
            if past {
                break;
            }
            counted[i] = true;
            i += 1;
        }
    }
    counted
}

/// The function declarations of a Go source file (with a body), found by a
/// small scanner: comments, strings, raw strings and runes are skipped; a
/// `func` keyword at the top level that begins a declaration (not one
/// assigned to a variable) starts one, and it ends after the closing brace
/// that brings the nesting back to the top level at the end of a line.
pub fn func_extents(src: &str) -> Vec<FuncExtent> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Prev {
        /// The start of the file, or a token after which a line break ends
        /// a declaration (a name, a literal, a closing bracket).
        Ends,
        /// An operator, `=`, `,`, an opening bracket: the line goes on.
        Continues,
        Semicolon,
    }
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut line, mut line_start) = (1u32, 0usize);
    let (mut braces, mut parens) = (0i64, 0i64);
    let mut prev = Prev::Ends;
    let mut broke_line = true;
    let mut open: Option<(u32, u32)> = None;
    let mut i = 0;
    let newline = |i: usize, line: &mut u32, line_start: &mut usize| {
        *line += 1;
        *line_start = i + 1;
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                newline(i, &mut line, &mut line_start);
                broke_line = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        newline(i, &mut line, &mut line_start);
                        broke_line = true;
                    }
                    i += 1;
                }
                i += 2;
            }
            b'"' | b'\'' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                prev = Prev::Ends;
                broke_line = false;
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    if b[i] == b'\n' {
                        newline(i, &mut line, &mut line_start);
                    }
                    i += 1;
                }
                i += 1;
                prev = Prev::Ends;
                broke_line = false;
            }
            b'{' => {
                braces += 1;
                prev = Prev::Continues;
                broke_line = false;
                i += 1;
            }
            b'}' => {
                braces -= 1;
                i += 1;
                if braces == 0 && parens == 0 {
                    if let Some((start_line, start_col)) = open {
                        // Ends the declaration if nothing but spaces and a
                        // comment follow on the line.
                        let mut k = i;
                        while k < b.len() && (b[k] == b' ' || b[k] == b'\t' || b[k] == b'\r') {
                            k += 1;
                        }
                        let ends = k >= b.len()
                            || b[k] == b'\n'
                            || b[k] == b';'
                            || b[k..].starts_with(b"//")
                            || b[k..].starts_with(b"/*");
                        if ends {
                            out.push(FuncExtent {
                                start_line,
                                start_col,
                                end_line: line,
                                end_col: (i - line_start) as u32 + 1,
                            });
                            open = None;
                        }
                    }
                }
                prev = Prev::Ends;
                broke_line = false;
            }
            b'(' | b'[' => {
                parens += 1;
                prev = Prev::Continues;
                broke_line = false;
                i += 1;
            }
            b')' | b']' => {
                parens -= 1;
                prev = Prev::Ends;
                broke_line = false;
                i += 1;
            }
            b';' => {
                prev = Prev::Semicolon;
                broke_line = false;
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] >= 0x80
                        || (b[i] == b'.' && b[start].is_ascii_digit()))
                {
                    i += 1;
                }
                let word = &b[start..i];
                // (A declaration without a body, an assembly function, stays
                // open until the next one begins.)
                let begins = braces == 0
                    && parens == 0
                    && (prev == Prev::Semicolon || (prev == Prev::Ends && broke_line));
                if word == b"func" && begins {
                    open = Some((line, (start - line_start) as u32 + 1));
                }
                prev = Prev::Ends;
                broke_line = false;
            }
            _ => {
                prev = Prev::Continues;
                broke_line = false;
                i += 1;
            }
        }
    }
    out
}

/// A `mode:` line (`rest` follows the colon), which must agree with the
/// mode of the profiles read before.
fn read_mode(rest: &str, line_no: u32, mode: &mut Option<Mode>) -> Result<(), ParseError> {
    let read = match rest.trim() {
        "set" => Mode::Set,
        "count" => Mode::Count,
        "atomic" => Mode::Atomic,
        other => {
            return Err(ParseError::syntax(
                format!("unknown mode `{other}` (expected set, count or atomic)"),
                At::LineCol(line_no as u64, 7),
            ))
        }
    };
    match *mode {
        Some(m) if m != read => Err(ParseError::syntax(
            format!(
                "mode `{}` does not match the mode of the profiles before it",
                read.name()
            ),
            At::LineCol(line_no as u64, 1),
        )),
        _ => {
            *mode = Some(read);
            Ok(())
        }
    }
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Set => "set",
            Mode::Count => "count",
            Mode::Atomic => "atomic",
        }
    }
}

/// `name.go:5.23,6.11 1 0` -> ("name.go", block).
fn parse_block(text: &str, line_no: u32) -> Result<(&str, Block), ParseError> {
    let bad = |what: &str| {
        ParseError::syntax(
            format!(
                "{what}: expected `file.go:line.column,line.column statements count`, found `{}`",
                shorten(text)
            ),
            At::LineCol(line_no as u64, 1),
        )
    };
    let (rest, count) = text
        .rsplit_once(' ')
        .ok_or_else(|| bad("not a coverage block"))?;
    let (rest, stmts) = rest
        .rsplit_once(' ')
        .ok_or_else(|| bad("not a coverage block"))?;
    let (path, span) = rest.rsplit_once(':').ok_or_else(|| bad("no file name"))?;
    let (start, end) = span.split_once(',').ok_or_else(|| bad("bad position"))?;
    let (start_line, start_col) = start.split_once('.').ok_or_else(|| bad("bad position"))?;
    let (end_line, end_col) = end.split_once('.').ok_or_else(|| bad("bad position"))?;
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad("bad number"));
    let block = Block {
        start_line: num(start_line)?,
        start_col: num(start_col)?,
        end_line: num(end_line)?,
        end_col: num(end_col)?,
        stmts: num(stmts)?,
        source_line: line_no,
        count: count.parse::<u64>().map_err(|_| bad("bad count"))?,
    };
    if path.is_empty() {
        return Err(bad("no file name"));
    }
    if block.end_line < block.start_line || block.end_line - block.start_line > MAX_BLOCK_LINES {
        return Err(bad("impossible block span"));
    }
    Ok((path, block))
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

    fn finish(text: &str) -> Vec<(FileCoverage, usize, At)> {
        let mut acc = Accumulator::default();
        acc.parse(0, text.as_bytes()).unwrap();
        acc.merge_all().unwrap();
        acc.finish(&mut |_| None)
    }

    const COVERPKG: &str = "mode: count
example.com/shop/a/a.go:5.23,6.11 1 1
example.com/shop/a/a.go:6.11,8.3 1 0
example.com/shop/a/a.go:9.2,9.24 1 1
example.com/shop/a/a.go:12.19,15.2 2 0
example.com/shop/b/b.go:3.24,5.2 1 1
example.com/shop/b/b.go:7.24,8.13 1 0
example.com/shop/b/b.go:8.13,10.3 1 0
example.com/shop/b/b.go:11.2,11.14 1 0
example.com/shop/a/a.go:5.23,6.11 1 0
example.com/shop/a/a.go:6.11,8.3 1 0
example.com/shop/a/a.go:9.2,9.24 1 0
example.com/shop/a/a.go:12.19,15.2 2 0
example.com/shop/b/b.go:3.24,5.2 1 0
example.com/shop/b/b.go:7.24,8.13 1 1
example.com/shop/b/b.go:8.13,10.3 1 0
example.com/shop/b/b.go:11.2,11.14 1 1
";

    #[test]
    fn duplicate_blocks_merge_statement_weighted() {
        let files = finish(COVERPKG);
        let mut total = Counter::default();
        for (f, _, _) in &files {
            total.add(f.summary.statements.unwrap());
        }
        // go tool cover -func: total: (statements) 55.6%
        assert_eq!(total, Counter::new(5, 9));
        assert_eq!(
            crate::percent::Percent::of(5, 9, crate::percent::Rule::Go).display(1),
            "55.6"
        );
        let a = &files[0].0;
        assert_eq!(a.path, "example.com/shop/a/a.go");
        assert_eq!(a.lines.iter().find(|l| l.line == 9).unwrap().hits, 1);
        assert_eq!(a.lines.iter().find(|l| l.line == 7).unwrap().hits, 0);
    }

    #[test]
    fn set_mode_ors() {
        let files = finish("mode: set\na.go:1.1,2.2 3 1\na.go:1.1,2.2 3 1\na.go:3.1,4.2 1 0\n");
        assert_eq!(files[0].0.summary.statements, Some(Counter::new(3, 4)));
        assert_eq!(files[0].0.lines[0].hits, 1);
    }

    #[test]
    fn inconsistent_statement_counts() {
        let mut acc = Accumulator::default();
        acc.parse(
            0,
            "mode: set\na.go:1.1,2.2 3 1\na.go:1.1,2.2 2 1\n".as_bytes(),
        )
        .unwrap();
        let err = acc.merge_all().err().unwrap();
        assert_eq!(err.at, Some(At::LineCol(3, 1)));
        assert!(
            err.message
                .starts_with("inconsistent statement count for a.go:1.1,2.2: 2 here, 3 on line 2"),
            "{}",
            err.message
        );
    }

    #[test]
    fn malformed_lines() {
        for (text, line) in [
            ("mode: set\na.go:1.1,2.2 3\n", 2),
            ("mode: set\na.go 1 1\n", 2),
            ("a.go:1.1,2.2 1 1\n", 1),
            ("mode: sometimes\n", 1),
            ("mode: set\n\na.go:1.1,2.x 1 1\n", 3),
            ("mode: set\na.go:5.1,2.1 1 1\n", 2),
        ] {
            let mut acc = Accumulator::default();
            let err = acc
                .parse(0, text.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(
                err.at,
                Some(At::LineCol(
                    line,
                    if text.starts_with("mode: some") { 7 } else { 1 }
                )),
                "{text:?}: {err:?}"
            );
        }
    }

    const TRICKY: &str = "package lit

import (
\t\"fmt\" // a { brace in a comment
)

var Double = func(n int) int {
\tif n > 10 {
\t\treturn 0
\t}
\treturn n * 2
}

/* func fake() { */

func Triple(n int) int { return n * 3 }

func (s *S) Str() string {
\treturn fmt.Sprintf(\"{%d}\", s.n) + `}
func raw() {` + string('}')
}

func asm(x int) int

func Make[T any]() interface{ M() } {
\treturn nil
}; type F func(int)
";

    #[test]
    fn function_declarations_as_go_finds_them() {
        let e = |sl, sc, el, ec| FuncExtent {
            start_line: sl,
            start_col: sc,
            end_line: el,
            end_col: ec,
        };
        assert_eq!(
            func_extents(TRICKY),
            vec![e(16, 1, 16, 40), e(18, 1, 21, 2), e(25, 1, 27, 2)]
        );
    }

    #[test]
    fn statements_only_inside_functions() {
        let mut acc = Accumulator::default();
        acc.parse(0, "mode: set\nx/lit.go:7.30,8.12 1 0\nx/lit.go:8.12,10.3 1 0\nx/lit.go:11.2,11.14 1 0\nx/lit.go:16.24,16.40 1 1\n".as_bytes()).unwrap();
        acc.merge_all().unwrap();
        let all = acc.finish(&mut |_| None);
        assert_eq!(all[0].0.summary.statements, Some(Counter::new(1, 4)));
        let mut acc = Accumulator::default();
        acc.parse(0, "mode: set\nx/lit.go:7.30,8.12 1 0\nx/lit.go:8.12,10.3 1 0\nx/lit.go:11.2,11.14 1 0\nx/lit.go:16.24,16.40 1 1\n".as_bytes()).unwrap();
        acc.merge_all().unwrap();
        let funcs = acc.finish(&mut |_| Some(func_extents(TRICKY)));
        // go tool cover -func: the literal assigned to Double is no function.
        assert_eq!(funcs[0].0.summary.statements, Some(Counter::new(1, 1)));
        assert_eq!(
            funcs[0].0.lines.iter().map(|l| l.line).collect::<Vec<_>>(),
            vec![16]
        );
        assert_eq!(all[0].0.lines.len(), 6);
    }

    #[test]
    fn mode_only_has_no_blocks() {
        let mut acc = Accumulator::default();
        assert_eq!(acc.parse(0, "mode: atomic\n".as_bytes()).unwrap(), 0);
        let mut acc = Accumulator::default();
        assert_eq!(
            acc.parse(0, "".as_bytes()).unwrap_err().kind,
            ErrorKind::Empty
        );
    }
}
