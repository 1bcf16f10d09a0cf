//! Go coverprofiles: `mode: set|count|atomic`, then one block per line,
//! `file.go:startLine.startCol,endLine.endCol numStmts count`.
//!
//! `go test -coverpkg=./...` writes every block once per test binary, so
//! the same block appears several times. As `go tool cover` does, blocks
//! are keyed by file and position and merged: `set` ORs the counts,
//! `count` and `atomic` add them. The total is weighted by statements.

use std::collections::HashMap;
use std::io::BufRead;

use super::{Counter, FileCoverage, LineCov, Summary};
use crate::error::{At, ErrorKind, ParseError};

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

#[derive(Clone, Copy)]
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

#[derive(Default)]
pub struct Accumulator {
    mode: Option<Mode>,
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
}

impl Accumulator {
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
                let mode = match mode.trim() {
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
                match self.mode {
                    Some(m) if m != mode => {
                        return Err(ParseError::syntax(
                            format!(
                                "mode `{}` does not match the mode of the profiles before it",
                                mode.name()
                            ),
                            At::LineCol(line_no as u64, 1),
                        ))
                    }
                    _ => self.mode = Some(mode),
                }
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
    pub fn finish(self) -> Result<Vec<(FileCoverage, usize, At)>, ParseError> {
        let set = self.mode == Some(Mode::Set);
        let mut out = Vec::with_capacity(self.files.len());
        for f in self.files {
            let mut merged = f.blocks;
            merge_blocks(&f.path, &mut merged, set)?;
            let mut statements = Counter::default();
            let mut per_line: Vec<(u32, u64)> = Vec::new();
            for b in &merged {
                statements.add(Counter::new(
                    if b.count > 0 { b.stmts as u64 } else { 0 },
                    b.stmts as u64,
                ));
                for line in b.start_line..=b.end_line {
                    per_line.push((line, b.count));
                }
            }
            per_line.sort_unstable_by_key(|&(line, _)| line);
            let mut lines: Vec<LineCov> = Vec::with_capacity(per_line.len());
            for (line, count) in per_line {
                match lines.last_mut() {
                    Some(l) if l.line == line => l.hits = l.hits.max(super::hits(count)),
                    _ => lines.push(LineCov {
                        line,
                        hits: super::hits(count),
                        ..LineCov::default()
                    }),
                }
            }
            let mut line_counter = Counter::default();
            for l in &lines {
                line_counter.count(l.hits > 0);
            }
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
        Ok(out)
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
        acc.finish().unwrap()
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
        let err = acc.finish().err().unwrap();
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
