//! JUnit XML test reports in the dialects test tools write: pytest
//! (`--junitxml`), go-junit-report, Vitest, Maven Surefire (with
//! `flakyFailure`/`flakyError` for a test that failed and then passed on a
//! rerun, `rerunFailure`/`rerunError` for reruns that failed too). The root
//! is `<testsuites>` or a single `<testsuite>`; suites may nest.

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use crate::detect::{sniff, Sniffed};
use crate::error::{At, ErrorKind, ParseError, ReadError};
use crate::input::Input;
use crate::xml;

/// Failure text beyond this is cut (a stack trace can be megabytes).
const MAX_TEXT: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Errored,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// An assertion failed.
    Failure,
    /// The test could not run to its end (an exception, a setup error).
    Error,
}

/// Where a test or its failure is in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    /// The element's text (a traceback, a stack trace), trimmed and cut at
    /// 16 KiB.
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    pub suite: String,
    pub classname: String,
    pub name: String,
    /// Seconds, when the report says.
    pub time: Option<f64>,
    pub outcome: Outcome,
    /// Why it failed (failed and errored tests).
    pub failure: Option<Failure>,
    /// Why it was skipped, when the report says.
    pub skip_message: Option<String>,
    /// Runs that failed before a rerun passed (Surefire's flaky elements).
    pub flaky_runs: Vec<Failure>,
    /// Reruns that failed too (Surefire's rerun elements).
    pub failed_reruns: usize,
    pub location: Option<Location>,
}

impl TestCase {
    pub fn is_flaky(&self) -> bool {
        self.outcome == Outcome::Passed && !self.flaky_runs.is_empty()
    }

    /// `classname::name`, or the name alone when the class is empty or the
    /// name already starts with it.
    pub fn full_name(&self) -> String {
        if self.classname.is_empty() || self.name.starts_with(&self.classname) {
            self.name.clone()
        } else {
            format!("{}::{}", self.classname, self.name)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestReport {
    pub cases: Vec<TestCase>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TestCounts {
    pub tests: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    pub flaky: usize,
    /// Sum of the tests' times, in seconds.
    pub time: f64,
}

impl TestReport {
    pub fn counts(&self) -> TestCounts {
        let mut c = TestCounts {
            tests: self.cases.len(),
            ..TestCounts::default()
        };
        for t in &self.cases {
            match t.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed => c.failed += 1,
                Outcome::Errored => c.errored += 1,
                Outcome::Skipped => c.skipped += 1,
            }
            if t.is_flaky() {
                c.flaky += 1;
            }
            c.time += t.time.unwrap_or(0.0);
        }
        // Reports give milliseconds at best; drop the float sum's noise.
        c.time = (c.time * 1000.0).round() / 1000.0;
        c
    }

    pub fn failures(&self) -> impl Iterator<Item = &TestCase> {
        self.cases
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Failed | Outcome::Errored))
    }

    pub fn flaky(&self) -> impl Iterator<Item = &TestCase> {
        self.cases.iter().filter(|t| t.is_flaky())
    }

    /// The `n` slowest tests that ran and have a time, slowest first.
    pub fn slowest(&self, n: usize) -> Vec<&TestCase> {
        let mut timed: Vec<&TestCase> = self
            .cases
            .iter()
            .filter(|t| t.time.is_some() && t.outcome != Outcome::Skipped)
            .collect();
        timed.sort_by(|a, b| {
            b.time
                .partial_cmp(&a.time)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.full_name().cmp(&b.full_name()))
        });
        timed.truncate(n);
        timed
    }
}

/// Read JUnit reports, one after another, into one report.
pub fn read_junit(inputs: &[&dyn Input]) -> Result<TestReport, ReadError> {
    let mut report = TestReport::default();
    for input in inputs {
        let mut reader = input.open().map_err(|e| {
            ReadError::new(ErrorKind::Io, input.name(), format!("cannot read: {e}"))
        })?;
        let (sniffed, skipped) = sniff(&mut reader).map_err(|e| {
            ReadError::new(ErrorKind::Io, input.name(), format!("cannot read: {e}"))
        })?;
        match sniffed {
            Sniffed::Xml => {}
            Sniffed::Empty => return Err(ReadError::new(ErrorKind::Empty, input.name(), "empty file")),
            Sniffed::GoProfile | Sniffed::Lcov | Sniffed::Json => {
                return Err(ReadError::new(
                    ErrorKind::WrongKind,
                    input.name(),
                    "this is a coverage report, not a JUnit test report (see `slipway coverage report`)",
                ))
            }
            Sniffed::Unknown => {
                let mut e = ReadError::new(ErrorKind::UnknownFormat, input.name(), "unknown format: expected JUnit XML");
                e.line = Some(1);
                e.column = Some(1);
                return Err(e);
            }
        }
        let result = parse_junit(&mut reader, &mut report.cases);
        drop(reader);
        if let Err(e) = result {
            return Err(crate::coverage::read::locate(*input, e, skipped));
        }
    }
    Ok(report)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Failure(FailureKind),
    Skipped,
    Flaky(FailureKind),
    Rerun,
}

struct Open {
    case: TestCase,
    /// The child element whose text is being collected, and its depth.
    capture: Option<(Capture, usize, Failure)>,
}

/// Parse one JUnit document, appending its test cases.
pub fn parse_junit<R: BufRead>(source: R, cases: &mut Vec<TestCase>) -> Result<(), ParseError> {
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
        "testsuites" | "testsuite" => {}
        "coverage" => {
            return Err(ParseError::new(
                ErrorKind::WrongKind,
                "this is a Cobertura coverage report, not a JUnit test report (see `slipway coverage report`)",
            ))
        }
        other => {
            return Err(ParseError::new(
                ErrorKind::UnknownFormat,
                format!("unknown XML report: the root element is <{other}>, not JUnit's <testsuites> or <testsuite>"),
            )
            .at(At::Offset(root_at)))
        }
    }
    if root_empty {
        return Ok(());
    }
    // The open elements (name, where each was opened), and the testsuite
    // names.
    let mut stack: Vec<(String, u64)> = vec![(xml::local_name(&root).to_string(), root_at)];
    let mut suites: Vec<String> = vec![if xml::local_name(&root) == "testsuite" {
        attr(&root, "name", &reader)?.unwrap_or_default()
    } else {
        String::new()
    }];
    let mut open: Option<Open> = None;
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml::error(&reader, e))?;
        match event {
            Event::Start(e) => {
                let name = xml::local_name(&e).to_string();
                start(
                    &e,
                    &name,
                    false,
                    &reader,
                    &mut suites,
                    &mut open,
                    stack.len(),
                    cases,
                )?;
                let at = xml::start_offset(&reader, &e, false);
                stack.push((name, at));
            }
            Event::Empty(e) => {
                let name = xml::local_name(&e).to_string();
                start(
                    &e,
                    &name,
                    true,
                    &reader,
                    &mut suites,
                    &mut open,
                    stack.len(),
                    cases,
                )?;
            }
            Event::Text(t) => capture_text(&mut open, &t.xml10_content()),
            Event::CData(c) => capture_text(&mut open, &c),
            Event::GeneralRef(r) => capture_text(&mut open, &xml::resolve_ref(&r)),
            Event::End(_) => {
                let (name, _) = stack.pop().unwrap_or_default();
                let depth = stack.len();
                if let Some(o) = &mut open {
                    if o.capture.as_ref().is_some_and(|c| c.1 == depth) {
                        let (capture, _, failure) = o.capture.take().unwrap();
                        finish_capture(&mut o.case, capture, failure);
                    } else if name == "testcase" {
                        cases.push(open.take().unwrap().case);
                    }
                }
                if name == "testsuite" {
                    suites.pop();
                }
                if stack.is_empty() {
                    break;
                }
            }
            Event::Eof => {
                let (name, at) = stack.last().cloned().unwrap_or_default();
                return Err(ParseError::new(
                    ErrorKind::Truncated,
                    format!(
                        "unexpected end of file: <{name}> is not closed (is the report truncated?)"
                    ),
                )
                .at(At::Offset(at)));
            }
            _ => {}
        }
    }
    Ok(())
}

fn attr<R>(
    e: &BytesStart<'_>,
    name: &str,
    reader: &quick_xml::Reader<R>,
) -> Result<Option<String>, ParseError> {
    xml::attr(e, name)
        .map(|v| v.map(|v| v.into_owned()))
        .map_err(|m| {
            ParseError::syntax(
                m,
                At::Offset(reader.buffer_position().saturating_sub(e.len() as u64 + 2)),
            )
        })
}

#[allow(clippy::too_many_arguments)]
fn start<R>(
    e: &BytesStart<'_>,
    name: &str,
    empty: bool,
    reader: &quick_xml::Reader<R>,
    suites: &mut Vec<String>,
    open: &mut Option<Open>,
    depth: usize,
    cases: &mut Vec<TestCase>,
) -> Result<(), ParseError> {
    let at = At::Offset(xml::start_offset(reader, e, empty));
    if let Some(o) = open {
        if o.capture.is_some() {
            // <stackTrace>, <system-out> inside a flaky element: text of the
            // stack trace is kept, the rest is not.
            return Ok(());
        }
        let capture = match name {
            "failure" => Some(Capture::Failure(FailureKind::Failure)),
            "error" => Some(Capture::Failure(FailureKind::Error)),
            "skipped" => Some(Capture::Skipped),
            "flakyFailure" => Some(Capture::Flaky(FailureKind::Failure)),
            "flakyError" => Some(Capture::Flaky(FailureKind::Error)),
            "rerunFailure" | "rerunError" => Some(Capture::Rerun),
            _ => None,
        };
        let Some(capture) = capture else {
            return Ok(());
        };
        let kind = match capture {
            Capture::Failure(k) | Capture::Flaky(k) => k,
            _ => FailureKind::Failure,
        };
        let failure = Failure {
            kind,
            message: attr(e, "message", reader)?.filter(|m| !m.is_empty()),
            error_type: attr(e, "type", reader)?.filter(|m| !m.is_empty()),
            details: String::new(),
        };
        if empty {
            finish_capture(&mut o.case, capture, failure);
        } else {
            o.capture = Some((capture, depth, failure));
        }
        return Ok(());
    }
    match name {
        "testsuite" if !empty => suites.push(attr(e, "name", reader)?.unwrap_or_default()),
        "testcase" => {
            let time = match attr(e, "time", reader)? {
                None => None,
                Some(t) if t.trim().is_empty() => None,
                Some(t) => Some(
                    t.replace(',', "")
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            ParseError::syntax(
                                format!("testcase time `{t}` is not a number of seconds"),
                                at,
                            )
                        })?,
                ),
            };
            let file = attr(e, "file", reader)?.filter(|f| !f.is_empty());
            let line = attr(e, "line", reader)?.and_then(|l| l.trim().parse::<u32>().ok());
            let case = TestCase {
                suite: suites.last().cloned().unwrap_or_default(),
                classname: attr(e, "classname", reader)?.unwrap_or_default(),
                name: attr(e, "name", reader)?.unwrap_or_default(),
                time,
                outcome: Outcome::Passed,
                failure: None,
                skip_message: None,
                flaky_runs: Vec::new(),
                failed_reruns: 0,
                location: file.map(|file| Location { file, line }),
            };
            if empty {
                cases.push(case);
            } else {
                *open = Some(Open {
                    case,
                    capture: None,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

fn capture_text(open: &mut Option<Open>, text: &str) {
    if let Some(Open {
        capture: Some((_, _, failure)),
        ..
    }) = open
    {
        if failure.details.len() < MAX_TEXT {
            let room = MAX_TEXT - failure.details.len();
            let mut cut = text.len().min(room);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            failure.details.push_str(&text[..cut]);
        }
    }
}

fn finish_capture(case: &mut TestCase, capture: Capture, mut failure: Failure) {
    failure.details = failure.details.trim().to_string();
    match capture {
        Capture::Failure(kind) => {
            if case.failure.is_none() {
                case.outcome = match kind {
                    FailureKind::Failure => Outcome::Failed,
                    FailureKind::Error => Outcome::Errored,
                };
                if case.location.as_ref().is_none_or(|l| l.line.is_none()) {
                    if let Some(found) = location_in(&failure.details, &case.classname) {
                        case.location = Some(found);
                    }
                }
                case.failure = Some(failure);
            }
        }
        Capture::Skipped => {
            if case.failure.is_none() {
                case.outcome = Outcome::Skipped;
                case.skip_message = failure
                    .message
                    .or_else(|| (!failure.details.is_empty()).then_some(failure.details));
            }
        }
        Capture::Flaky(_) => case.flaky_runs.push(failure),
        Capture::Rerun => case.failed_reruns += 1,
    }
}

/// The first `file:line` in a failure's text that is not in a library:
/// `tests/test_app.py:14: AssertionError` (pytest), `main_test.go:12:`
/// (go test), `❯ src/cart.test.ts:8:24` (Vitest), `at
/// com.x.CartTest.total(CartTest.java:42)` (Java; a frame of the test's own
/// class first).
pub fn location_in(text: &str, classname: &str) -> Option<Location> {
    // Java frames.
    let mut java: Option<Location> = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(frame) = line.strip_prefix("at ") else {
            continue;
        };
        let Some((method, rest)) = frame.split_once('(') else {
            continue;
        };
        let Some((file, line_no)) = rest.trim_end_matches(')').rsplit_once(':') else {
            continue;
        };
        let Ok(line_no) = line_no.parse::<u32>() else {
            continue;
        };
        let found = Location {
            file: file.to_string(),
            line: Some(line_no),
        };
        if !classname.is_empty() && method.starts_with(classname) {
            return Some(found);
        }
        java.get_or_insert(found);
    }
    if java.is_some() {
        return java;
    }
    for token in text
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\'' | ',' | '<' | '>'))
    {
        let token = token.trim_end_matches(':');
        let mut parts = token.split(':');
        let (Some(file), Some(line)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(line) = line.parse::<u32>() else {
            continue;
        };
        let Some((stem, ext)) = file.rsplit_once('.') else {
            continue;
        };
        let plausible = !stem.is_empty()
            && !ext.is_empty()
            && ext.len() <= 5
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
            && ![
                "site-packages/",
                "dist-packages/",
                "node_modules/",
                "/usr/lib/",
                "<frozen",
                "/go/src/",
                "/pkg/mod/",
            ]
            .iter()
            .any(|lib| file.contains(lib));
        if plausible {
            let file = file.strip_prefix("file://").unwrap_or(file);
            return Some(Location {
                file: file.to_string(),
                line: Some(line),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TestCase>, ParseError> {
        let mut cases = Vec::new();
        parse_junit(text.as_bytes(), &mut cases)?;
        Ok(cases)
    }

    #[test]
    fn locations_in_failure_text() {
        let loc =
            |t: &str, c: &str| location_in(t, c).map(|l| format!("{}:{}", l.file, l.line.unwrap()));
        assert_eq!(loc("def test_x():\n>       assert 1 == 2\nE       assert 1 == 2\n\ntests/test_app.py:14: AssertionError", ""), Some("tests/test_app.py:14".into()));
        assert_eq!(
            loc("    cart_test.go:12: total = 5, want 6", ""),
            Some("cart_test.go:12".into())
        );
        assert_eq!(
            loc(
                "AssertionError: expected 5 to be 6\n ❯ src/cart.test.ts:8:24",
                ""
            ),
            Some("src/cart.test.ts:8".into())
        );
        assert_eq!(
            loc(
                "org.opentest4j.AssertionFailedError: boom\n\tat org.junit.Assert.fail(Assert.java:89)\n\tat com.x.CartTest.total(CartTest.java:42)\n",
                "com.x.CartTest"
            ),
            Some("CartTest.java:42".into())
        );
        assert_eq!(
            loc(
                "/usr/lib/python3/site-packages/x.py:3: in f\nno location here",
                ""
            ),
            None
        );
        assert_eq!(loc("expected 1.5 to be 2", ""), None);
    }

    #[test]
    fn truncated_report() {
        let err = parse("<testsuites><testsuite name=\"x\"><testcase name=\"a\">").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert_eq!(
            err.message,
            "unexpected end of file: <testcase> is not closed (is the report truncated?)"
        );
    }

    #[test]
    fn cobertura_is_the_wrong_kind() {
        assert_eq!(parse("<coverage/>").unwrap_err().kind, ErrorKind::WrongKind);
    }

    #[test]
    fn bad_time() {
        let err =
            parse("<testsuite>\n  <testcase name=\"a\" time=\"soon\"/></testsuite>").unwrap_err();
        assert_eq!(err.at, Some(At::Offset(14)));
        assert_eq!(
            err.message,
            "testcase time `soon` is not a number of seconds"
        );
    }
}
