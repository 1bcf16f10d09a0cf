//! Cobertura XML, as coverage.py (`coverage xml`) and others write it.
//!
//! Only `<class>`'s own `<lines>` count: the lines under `<methods>` repeat
//! them. A line with `condition-coverage="50% (1/2)"` has 2 branches, 1
//! taken. coverage.py's total is computed from these lines, not from the
//! `line-rate` attribute, which leaves branches out.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use super::fold::{Repeats, Role};
use super::{Counter, Detail, FileCoverage, LineCov, Summary};
use crate::error::{At, ErrorKind, ParseError};
use crate::xml;

#[derive(Default)]
pub struct Accumulator {
    /// With line data: every file, its lines kept.
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    /// `<source>` folders of each input, in order.
    pub sources: Vec<(usize, Vec<String>)>,
    has_branches: bool,
    detail: Detail,
    /// Totals only: the file being read and what was counted.
    counting: Counting,
}

struct PendingFile {
    path: String,
    input: usize,
    at: At,
    lines: Vec<LineCov>,
}

/// Totals only (see [`super::fold`]): the lines of the file being read,
/// counted when another file begins. A file's `<class>` elements usually
/// come together (Java's inner classes share their file), so their lines,
/// in any order, merge before they are counted.
#[derive(Default)]
struct Counting {
    repeats: Repeats,
    /// The file being read, and what to do with it once read.
    run: Option<Role>,
    path: String,
    lines: Vec<LineCov>,
    total_lines: Counter,
    total_branches: Counter,
    /// Second reading: the lines of the paths named more than once.
    kept: HashMap<String, Vec<LineCov>>,
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
                let (lines, branches) = count(&mut self.lines);
                self.total_lines.add(lines);
                self.total_branches.add(branches);
                self.lines.clear();
            }
            Some(Role::Keep) => self
                .kept
                .entry(std::mem::take(&mut self.path))
                .or_default()
                .append(&mut self.lines),
            None => {}
        }
    }
}

/// Two `<line>`s of one number: hits add up, branches the larger count.
fn merge_line(a: &mut LineCov, b: LineCov) {
    a.hits = a.hits.saturating_add(b.hits);
    a.branches_covered = a.branches_covered.max(b.branches_covered);
    a.branches_total = a.branches_total.max(b.branches_total);
}

/// A file's lines sorted, one entry per line.
fn normalize(lines: &mut Vec<LineCov>) {
    lines.sort_by_key(|l| l.line);
    lines.dedup_by(|b, a| {
        if a.line == b.line {
            merge_line(a, *b);
            true
        } else {
            false
        }
    });
}

/// (lines, branches) of a file's lines, in any order.
fn count(lines: &mut Vec<LineCov>) -> (Counter, Counter) {
    normalize(lines);
    let mut counted = Counter::default();
    let mut branches = Counter::default();
    for l in lines.iter() {
        counted.count(l.hits > 0);
        branches.add(Counter::new(
            l.branches_covered as u64,
            l.branches_total as u64,
        ));
    }
    (counted, branches)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Sources,
    Source,
    Class,
    Methods,
    Lines,
    Line,
    Other,
}

fn tag(name: &str) -> Tag {
    match name {
        "sources" => Tag::Sources,
        "source" => Tag::Source,
        "class" => Tag::Class,
        "methods" => Tag::Methods,
        "lines" => Tag::Lines,
        "line" => Tag::Line,
        _ => Tag::Other,
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
    /// counted again, the others kept with their lines and counted at the
    /// end.
    pub fn begin_redo(&mut self) {
        let c = &mut self.counting;
        c.repeats.begin_second_pass();
        c.total_lines = Counter::default();
        c.total_branches = Counter::default();
    }

    /// Read one report. Returns how many `<class>` elements it had.
    pub fn parse<R: BufRead>(&mut self, input: usize, source: R) -> Result<usize, ParseError> {
        let mut reader = xml::reader(source);
        let mut buf = Vec::with_capacity(1024);
        let (root, root_at) = match xml::root(&mut reader, &mut buf)? {
            Some(r) => r,
            None => {
                return Err(ParseError::new(
                    ErrorKind::Empty,
                    "no XML element in the file",
                ))
            }
        };
        let root_empty = matches!(root, Event::Empty(_));
        let (Event::Start(root) | Event::Empty(root)) = root else {
            unreachable!()
        };
        match xml::local_name(&root) {
            "coverage" => {}
            "testsuites" | "testsuite" => {
                return Err(ParseError::new(
                    ErrorKind::WrongKind,
                    "this is a JUnit test report, not a coverage report (see `slipway tests report`)",
                ))
            }
            other => {
                return Err(ParseError::new(
                    ErrorKind::UnknownFormat,
                    format!("unknown XML report: the root element is <{other}>, not Cobertura's <coverage> or JUnit's <testsuites>"),
                )
                .at(At::Offset(root_at)))
            }
        }
        if root_empty {
            return Ok(0);
        }

        // Open elements: kind, name, and where each was opened.
        let mut stack: Vec<(Tag, String, u64)> =
            vec![(Tag::Other, "coverage".to_string(), root_at)];
        let mut sources: Vec<String> = Vec::new();
        let mut source_text = String::new();
        let mut current: Option<usize> = None;
        let mut classes = 0usize;
        loop {
            buf.clear();
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| xml::error(&reader, e))?;
            match event {
                Event::Start(e) => {
                    let t = tag(xml::local_name(&e));
                    let parent = stack.last().map(|s| s.0);
                    match t {
                        Tag::Class => {
                            let at = xml::start_offset(&reader, &e, false);
                            current = Some(self.open_class(&e, input, at)?);
                            classes += 1;
                        }
                        Tag::Line
                            if parent == Some(Tag::Lines)
                                && stack.len() >= 2
                                && stack[stack.len() - 2].0 == Tag::Class =>
                        {
                            let at = xml::start_offset(&reader, &e, false);
                            self.line(&e, current, at)?;
                        }
                        Tag::Source => source_text.clear(),
                        _ => {}
                    }
                    let at = xml::start_offset(&reader, &e, false);
                    stack.push((t, xml::local_name(&e).to_string(), at));
                }
                Event::Empty(e) => {
                    let t = tag(xml::local_name(&e));
                    let parent = stack.last().map(|s| s.0);
                    match t {
                        Tag::Class => {
                            let at = xml::start_offset(&reader, &e, true);
                            self.open_class(&e, input, at)?;
                            classes += 1;
                        }
                        Tag::Line
                            if parent == Some(Tag::Lines)
                                && stack.len() >= 2
                                && stack[stack.len() - 2].0 == Tag::Class =>
                        {
                            let at = xml::start_offset(&reader, &e, true);
                            self.line(&e, current, at)?;
                        }
                        _ => {}
                    }
                }
                Event::Text(t) if stack.last().map(|s| s.0) == Some(Tag::Source) => {
                    source_text.push_str(&t.xml10_content())
                }
                Event::GeneralRef(r) if stack.last().map(|s| s.0) == Some(Tag::Source) => {
                    source_text.push_str(&xml::resolve_ref(&r))
                }
                Event::CData(c) if stack.last().map(|s| s.0) == Some(Tag::Source) => {
                    source_text.push_str(&c)
                }
                Event::End(_) => {
                    let (t, _, _) = stack.pop().unwrap_or((Tag::Other, String::new(), 0));
                    match t {
                        Tag::Class => {
                            // A big report holds millions of lines: no
                            // spare capacity is kept past a class.
                            if let Some(i) = current.take() {
                                if self.detail == Detail::Lines {
                                    self.files[i].lines.shrink_to_fit();
                                }
                            }
                        }
                        Tag::Source => sources.push(source_text.trim().to_string()),
                        Tag::Sources | Tag::Methods | Tag::Lines | Tag::Line | Tag::Other => {}
                    }
                    if stack.is_empty() {
                        break;
                    }
                }
                Event::Eof => {
                    let (_, open, at) =
                        stack
                            .last()
                            .cloned()
                            .unwrap_or((Tag::Other, String::new(), 0));
                    return Err(ParseError::new(
                        ErrorKind::Truncated,
                        format!("unexpected end of file: <{open}> is not closed (is the report truncated?)"),
                    )
                    .at(At::Offset(at)));
                }
                _ => {}
            }
        }
        // A file's run ends with its report.
        self.counting.end();
        if !self.counting.repeats.second_pass() {
            self.sources.push((input, sources));
        }
        Ok(classes)
    }

    fn open_class(
        &mut self,
        e: &BytesStart<'_>,
        input: usize,
        at: u64,
    ) -> Result<usize, ParseError> {
        let at = At::Offset(at);
        let filename = xml::attr(e, "filename")
            .map_err(|m| ParseError::syntax(m, at))?
            .ok_or_else(|| ParseError::syntax("<class> has no filename attribute", at))?;
        let path = filename.replace('\\', "/");
        if self.detail == Detail::Totals {
            self.counting.begin(path);
            return Ok(0);
        }
        if let Some(&i) = self.by_path.get(&path) {
            return Ok(i);
        }
        let i = self.files.len();
        self.by_path.insert(path.clone(), i);
        self.files.push(PendingFile {
            path,
            input,
            at,
            lines: Vec::new(),
        });
        Ok(i)
    }

    fn line(
        &mut self,
        e: &BytesStart<'_>,
        current: Option<usize>,
        at: u64,
    ) -> Result<(), ParseError> {
        let at = At::Offset(at);
        let Some(file) = current else { return Ok(()) };
        let mut number: Option<u32> = None;
        let mut hits: Option<u64> = None;
        let mut condition: Option<(u32, u32)> = None;
        for a in e.attributes().with_checks(false) {
            let a =
                a.map_err(|err| ParseError::syntax(format!("malformed attribute: {err}"), at))?;
            match a.key.as_ref() {
                "number" => {
                    number = Some(a.value.trim().parse().map_err(|_| {
                        ParseError::syntax(
                            format!("<line> number `{}` is not a line number", a.value),
                            at,
                        )
                    })?)
                }
                "hits" => {
                    hits = Some(parse_hits(&a.value).ok_or_else(|| {
                        ParseError::syntax(format!("<line> hits `{}` is not a count", a.value), at)
                    })?)
                }
                "condition-coverage" => {
                    condition = Some(parse_condition(&a.value).ok_or_else(|| {
                        ParseError::syntax(
                            format!(
                                "<line> condition-coverage `{}` is not like `50% (1/2)`",
                                a.value
                            ),
                            at,
                        )
                    })?)
                }
                _ => {}
            }
        }
        let number =
            number.ok_or_else(|| ParseError::syntax("<line> has no number attribute", at))?;
        let hits = hits.ok_or_else(|| ParseError::syntax("<line> has no hits attribute", at))?;
        let (branches_covered, branches_total) = condition.unwrap_or((0, 0));
        if condition.is_some() {
            self.has_branches = true;
        }
        let line = LineCov {
            line: number,
            hits: super::hits(hits),
            branches_covered: super::branch_count(branches_covered as u64),
            branches_total: super::branch_count(branches_total as u64),
        };
        match self.detail {
            Detail::Lines => self.files[file].lines.push(line),
            Detail::Totals => self.counting.lines.push(line),
        }
        Ok(())
    }

    /// With line data: the files read, each with its position in its
    /// report.
    pub fn finish(self) -> Vec<(FileCoverage, usize, At)> {
        let has_branches = self.has_branches;
        self.files
            .into_iter()
            .map(|mut f| {
                let (lines, branches) = count(&mut f.lines);
                let summary = Summary {
                    lines,
                    branches: has_branches.then_some(branches),
                    ..Summary::default()
                };
                let coverage = FileCoverage {
                    path: f.path,
                    summary,
                    lines: f.lines,
                };
                (coverage, f.input, f.at)
            })
            .collect()
    }

    /// Totals only: the total of every file read.
    pub fn finish_totals(mut self) -> Summary {
        let c = &mut self.counting;
        c.end();
        for lines in c.kept.values_mut() {
            let (lines, branches) = count(lines);
            c.total_lines.add(lines);
            c.total_branches.add(branches);
        }
        Summary {
            lines: c.total_lines,
            branches: self.has_branches.then_some(c.total_branches),
            ..Summary::default()
        }
    }
}

/// The files a report names, in order, each with where its `<class>` is
/// (the report was read before: it is well formed).
pub fn names<R: BufRead>(source: R, each: &mut dyn FnMut(&str, At)) -> Result<(), ParseError> {
    let mut reader = xml::reader(source);
    let mut buf = Vec::with_capacity(1024);
    // Open elements: the reading ends with the root, as the first did.
    let mut depth = 0usize;
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml::error(&reader, e))?;
        let (e, empty) = match &event {
            Event::Start(e) => {
                depth += 1;
                (e, false)
            }
            Event::Empty(_) if depth == 0 => return Ok(()),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(());
                }
                continue;
            }
            Event::Eof => return Ok(()),
            _ => continue,
        };
        if xml::local_name(e) == "class" {
            let at = At::Offset(xml::start_offset(&reader, e, empty));
            if let Ok(Some(filename)) = xml::attr(e, "filename") {
                each(&filename.replace('\\', "/"), at);
            }
        }
    }
}

fn parse_hits(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(n) = value.parse::<u64>() {
        return Some(n);
    }
    // Some writers print counts as floats ("1.0").
    let f: f64 = value.parse().ok()?;
    (f.is_finite() && f >= 0.0).then_some(f as u64)
}

/// `50% (1/2)` -> (1, 2).
fn parse_condition(value: &str) -> Option<(u32, u32)> {
    let inner = value.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    let (covered, total): (u32, u32) = (covered.trim().parse().ok()?, total.trim().parse().ok()?);
    (covered <= total).then_some((covered, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<(FileCoverage, usize, At)>, ParseError> {
        let mut acc = Accumulator::default();
        acc.parse(0, text.as_bytes())?;
        Ok(acc.finish())
    }

    #[test]
    fn condition_coverage() {
        assert_eq!(parse_condition("50% (1/2)"), Some((1, 2)));
        assert_eq!(parse_condition("100% (4/4)"), Some((4, 4)));
        assert_eq!(parse_condition("50%"), None);
        assert_eq!(parse_condition("(3/2)"), None);
    }

    #[test]
    fn method_lines_do_not_count_twice() {
        let files = parse(
            r#"<?xml version="1.0"?>
<coverage line-rate="0.5">
  <sources><source>/src/app</source></sources>
  <packages><package name="a"><classes>
    <class name="A" filename="a/A.java">
      <methods><method name="f"><lines><line number="3" hits="1"/></lines></method></methods>
      <lines>
        <line number="3" hits="1" branch="true" condition-coverage="50% (1/2)">
          <conditions><condition number="0" type="jump" coverage="50%"/></conditions>
        </line>
        <line number="4" hits="0"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>"#,
        )
        .unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0].0;
        assert_eq!(f.path, "a/A.java");
        assert_eq!(f.summary.lines, Counter::new(1, 2));
        assert_eq!(f.summary.branches, Some(Counter::new(1, 2)));
    }

    #[test]
    fn class_position_is_its_opening_bracket() {
        let mut acc = Accumulator::default();
        acc.parse(
            0,
            "<coverage>\n  <class filename=\"x.py\"><lines/></class>\n</coverage>".as_bytes(),
        )
        .unwrap();
        let files = acc.finish();
        assert_eq!(files[0].2, At::Offset(13));
    }

    #[test]
    fn truncated_report() {
        let err = parse("<coverage><packages><package><classes><class filename=\"a.py\"><lines><line number=\"1\" hits=\"1\"/>").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert!(
            err.message.contains("<lines> is not closed"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_numbers_are_reported_where_they_are() {
        let err = parse("<coverage>\n<class filename=\"a.py\"><lines>\n<line number=\"x\" hits=\"1\"/></lines></class></coverage>").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.at, Some(At::Offset(42)));
        assert_eq!(err.message, "<line> number `x` is not a line number");
    }

    #[test]
    fn junit_is_the_wrong_kind() {
        let err = parse("<testsuites><testsuite/></testsuites>").unwrap_err();
        assert_eq!(err.kind, ErrorKind::WrongKind);
    }

    #[test]
    fn mismatched_tags() {
        let err = parse("<coverage><packages></coverage>").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert!(err.message.starts_with("malformed XML:"), "{}", err.message);
    }
}
