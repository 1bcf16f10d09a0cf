//! Cobertura XML, as coverage.py (`coverage xml`) and others write it.
//!
//! Only `<class>`'s own `<lines>` count: the lines under `<methods>` repeat
//! them. A line with `condition-coverage="50% (1/2)"` has 2 branches, 1
//! taken. coverage.py's total is computed from these lines, not from the
//! `line-rate` attribute, which leaves branches out.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use super::{Counter, Detail, FileCoverage, LineCov, LineTally, Summary};
use crate::error::{At, ErrorKind, ParseError};
use crate::xml;

#[derive(Default)]
pub struct Accumulator {
    files: Vec<PendingFile>,
    by_path: HashMap<String, usize>,
    /// `<source>` folders of each input, in order.
    pub sources: Vec<(usize, Vec<String>)>,
    has_branches: bool,
    detail: Detail,
    /// Some file's lines came out of order while only counting.
    redo: bool,
    /// Reading again for the files marked [`Kept::Redo`].
    second_pass: bool,
}

enum Kept {
    Lines(Vec<LineCov>),
    Tally(LineTally),
    /// Out of order while counting: read again with its lines.
    Redo,
}

struct PendingFile {
    path: String,
    input: usize,
    at: At,
    kept: Kept,
}

/// Two `<line>`s of one number: hits add up, branches the larger count.
fn merge_line(a: &mut LineCov, b: LineCov) {
    a.hits = a.hits.saturating_add(b.hits);
    a.branches_covered = a.branches_covered.max(b.branches_covered);
    a.branches_total = a.branches_total.max(b.branches_total);
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

    /// Whether some file must be read again ([`Accumulator::begin_redo`]).
    pub fn needs_redo(&self) -> bool {
        self.redo && !self.second_pass
    }

    /// Get ready to read every report again, keeping the lines of the
    /// files whose lines came out of order; the others are counted.
    pub fn begin_redo(&mut self) {
        self.second_pass = true;
        for f in &mut self.files {
            if matches!(f.kept, Kept::Redo) {
                f.kept = Kept::Lines(Vec::new());
            }
        }
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
                                if let Kept::Lines(lines) = &mut self.files[i].kept {
                                    lines.shrink_to_fit();
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
        if !self.second_pass {
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
        if let Some(&i) = self.by_path.get(&path) {
            return Ok(i);
        }
        let i = self.files.len();
        self.by_path.insert(path.clone(), i);
        let kept = match self.detail {
            Detail::Lines => Kept::Lines(Vec::new()),
            Detail::Totals => Kept::Tally(LineTally::default()),
        };
        self.files.push(PendingFile {
            path,
            input,
            at,
            kept,
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
        let f = &mut self.files[file];
        match &mut f.kept {
            Kept::Lines(lines) => lines.push(line),
            Kept::Tally(_) if self.second_pass => {}
            Kept::Tally(tally) => {
                if !tally.push(line, merge_line) {
                    f.kept = Kept::Redo;
                    self.redo = true;
                }
            }
            Kept::Redo => {}
        }
        Ok(())
    }

    /// The files read so far, each with its position in its report.
    pub fn finish(self) -> Vec<(FileCoverage, usize, At)> {
        let has_branches = self.has_branches;
        self.files
            .into_iter()
            .map(|f| {
                let (lines, mut summary, branches) = match f.kept {
                    Kept::Lines(mut lines) => {
                        lines.sort_by_key(|l| l.line);
                        lines.dedup_by(|b, a| {
                            if a.line == b.line {
                                merge_line(a, *b);
                                true
                            } else {
                                false
                            }
                        });
                        let mut summary = Summary::default();
                        let mut branches = Counter::default();
                        for l in &lines {
                            summary.lines.count(l.hits > 0);
                            branches.add(Counter::new(
                                l.branches_covered as u64,
                                l.branches_total as u64,
                            ));
                        }
                        (lines, summary, branches)
                    }
                    Kept::Tally(tally) => {
                        let (lines, branches) = tally.finish();
                        let summary = Summary {
                            lines,
                            ..Summary::default()
                        };
                        (Vec::new(), summary, branches)
                    }
                    // Only before the second pass.
                    Kept::Redo => (Vec::new(), Summary::default(), Counter::default()),
                };
                if has_branches {
                    summary.branches = Some(branches);
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
