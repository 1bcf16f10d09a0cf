//! Reading coverage reports: detect each input's format, stream it through
//! its parser, and tie errors to the file and position.

use std::io::BufRead;

use super::fold::{path_hash, HashSet64};
use super::{
    cobertura, gocover, istanbul, lcov, CoverageReport, Detail, FileCoverage, Format, Summary,
};
use crate::detect::{sniff, Sniffed};
use crate::error::{At, ErrorKind, ParseError, ReadError};
use crate::input::Input;
use crate::paths::{PathResolver, ReportContext, SourceTree, Unresolved};

enum Accumulator {
    Cobertura(cobertura::Accumulator),
    Go(gocover::Accumulator),
    /// Go, totals only.
    GoCounting(gocover::Counting),
    Lcov(lcov::Accumulator),
    Istanbul(istanbul::Accumulator),
}

impl Accumulator {
    fn family(&self) -> &'static str {
        match self {
            Accumulator::Cobertura(_) => "a Cobertura XML report",
            Accumulator::Go(_) | Accumulator::GoCounting(_) => "a Go coverprofile",
            Accumulator::Lcov(_) => "an lcov tracefile",
            Accumulator::Istanbul(_) => "an Istanbul JSON report",
        }
    }

    /// Whether, counting only, some file was named again after other
    /// files, so the reports are read a second time.
    fn needs_redo(&self) -> bool {
        match self {
            Accumulator::Cobertura(a) => a.needs_redo(),
            Accumulator::Lcov(a) => a.needs_redo(),
            Accumulator::Istanbul(a) => a.needs_redo(),
            // Blocks are kept (merged) until the end; Go counting only
            // reads its runs again from where they are.
            Accumulator::Go(_) | Accumulator::GoCounting(_) => false,
        }
    }

    fn begin_redo(&mut self) {
        match self {
            Accumulator::Cobertura(a) => a.begin_redo(),
            Accumulator::Lcov(a) => a.begin_redo(),
            Accumulator::Istanbul(a) => a.begin_redo(),
            Accumulator::Go(_) | Accumulator::GoCounting(_) => {}
        }
    }
}

/// Open an input past its byte order mark: the reader and how many bytes
/// were skipped.
fn open(input: &dyn Input) -> Result<(Box<dyn BufRead + '_>, Sniffed, u64), ReadError> {
    let io = |e: std::io::Error| {
        ReadError::new(ErrorKind::Io, input.name(), format!("cannot read: {e}"))
    };
    let mut reader = input.open().map_err(io)?;
    let (sniffed, skipped) = sniff(&mut reader).map_err(io)?;
    Ok((reader, sniffed, skipped))
}

/// A file of a report with its path as written and where it was named.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub coverage: FileCoverage,
    /// Index of the input that named it first.
    pub input: usize,
    pub at: At,
}

/// Reports read and merged, paths as the tools wrote them.
#[derive(Debug)]
pub struct ParsedCoverage {
    pub format: Format,
    /// With line data: the files of every format but Go's, counted.
    pub files: Vec<RawFile>,
    /// With line data: Go's blocks, merged; counted once the source files
    /// can be read (statements count only inside function declarations).
    go: Option<gocover::Accumulator>,
    /// Totals only: the total, Go's counting every block.
    total: Option<Summary>,
    /// Totals only, Go: what counting again with the sources needs.
    go_counting: Option<gocover::Counting>,
    /// Cobertura `<source>` folders, per input.
    pub sources: Vec<Vec<String>>,
    /// Bytes skipped at the start of each input (a byte order mark).
    skipped: Vec<u64>,
    /// What was kept: without line data, files have counters only.
    pub detail: Detail,
}

/// Read every input into one report, with line data. All inputs must be
/// of one format.
pub fn parse_coverage(inputs: &[&dyn Input]) -> Result<ParsedCoverage, ReadError> {
    parse_coverage_with(inputs, Detail::Lines)
}

/// Read every input into one report, keeping `detail`. The totals are the
/// same either way; [`Detail::Totals`] keeps no line data, so its memory
/// does not grow with the number of lines (see [`Detail`]).
pub fn parse_coverage_with(
    inputs: &[&dyn Input],
    detail: Detail,
) -> Result<ParsedCoverage, ReadError> {
    let mut acc: Option<(Accumulator, usize)> = None;
    let mut skips = vec![0; inputs.len()];
    for (index, input) in inputs.iter().enumerate() {
        let (mut reader, sniffed, skipped) = open(*input)?;
        skips[index] = skipped;
        let fresh = match sniffed {
            Sniffed::Xml => Accumulator::Cobertura(cobertura::Accumulator::new(detail)),
            Sniffed::Json => Accumulator::Istanbul(istanbul::Accumulator::new(detail)),
            Sniffed::GoProfile if detail == Detail::Totals => {
                Accumulator::GoCounting(gocover::Counting::new())
            }
            Sniffed::GoProfile => Accumulator::Go(gocover::Accumulator::new(detail)),
            Sniffed::Lcov => Accumulator::Lcov(lcov::Accumulator::new(detail)),
            Sniffed::Empty => return Err(ReadError::new(ErrorKind::Empty, input.name(), "empty file")),
            Sniffed::Unknown => {
                return Err(locate(
                    *input,
                    ParseError::new(
                        ErrorKind::UnknownFormat,
                        "unknown format: expected Cobertura XML, a Go coverprofile, an lcov tracefile or Istanbul JSON",
                    )
                    .at(At::LineCol(1, 1)),
                    0,
                ))
            }
        };
        let current = match &mut acc {
            Some((current, first)) => {
                if std::mem::discriminant(current) != std::mem::discriminant(&fresh) {
                    return Err(ReadError::new(
                        ErrorKind::Mixed,
                        input.name(),
                        format!(
                            "is {}, but {} is {}: reports of different formats cannot make one report",
                            fresh.family(),
                            inputs[*first].name(),
                            current.family()
                        ),
                    ));
                }
                current
            }
            None => &mut acc.insert((fresh, index)).0,
        };
        let result = parse_one(current, index, &mut reader);
        drop(reader);
        match result {
            Ok(0) => {
                let message = match current {
                    Accumulator::Go(_) | Accumulator::GoCounting(_) => {
                        "empty profile: no coverage blocks after the mode line"
                    }
                    Accumulator::Lcov(_) => "no coverage data: no SF record",
                    _ => "no coverage data: the report names no files",
                };
                return Err(ReadError::new(ErrorKind::Empty, input.name(), message));
            }
            Ok(_) => {}
            Err(e) => return Err(locate(*input, e, skipped)),
        }
    }
    let Some((mut acc, _)) = acc else {
        return Err(ReadError::new(ErrorKind::Empty, "", "no report given"));
    };
    if acc.needs_redo() {
        // Counting only, some file was named again after other files:
        // read again, keeping the records of those files.
        acc.begin_redo();
        for (index, input) in inputs.iter().enumerate() {
            let (mut reader, _, _) = open(*input)?;
            parse_one(&mut acc, index, &mut reader).map_err(|e| locate(*input, e, skips[index]))?;
        }
    }
    let mut sources = vec![Vec::new(); inputs.len()];
    let mut go = None;
    let mut go_counting = None;
    let totals = detail == Detail::Totals;
    let mut total = None;
    let (format, files) = match acc {
        Accumulator::Cobertura(mut a) => {
            for (i, s) in std::mem::take(&mut a.sources) {
                sources[i] = s;
            }
            if totals {
                total = Some(a.finish_totals());
                (Format::Cobertura, Vec::new())
            } else {
                (Format::Cobertura, a.finish())
            }
        }
        Accumulator::GoCounting(mut a) => {
            if let Some((i, e)) = a.take_inconsistent() {
                return Err(locate(inputs[i], e, skips[i]));
            }
            // Some file's blocks came back after other files': find the
            // runs of such files read before they were noted, then count
            // those files from their runs.
            if let Some((last, until)) = a.begin_rescan() {
                for (index, input) in inputs.iter().enumerate().take(last + 1) {
                    let (mut reader, _, _) = open(*input)?;
                    a.rescan(index, &mut reader, (index == last).then_some(until))
                        .map_err(|e| locate(*input, e, skips[index]))?;
                }
            }
            a.count_repeated(inputs, &skips, true, &mut |_, _, _| None)
                .map_err(|(i, e)| locate(inputs[i], e, skips[i]))?;
            total = Some(a.total());
            go_counting = Some(a);
            (Format::Go, Vec::new())
        }
        Accumulator::Go(mut a) => {
            a.merge_all().map_err(|e| {
                // A block repeated with another statement count: the
                // position is in the last input that had the file.
                let name = inputs.last().map(|i| i.name()).unwrap_or("");
                let mut err = ReadError::new(e.kind, name, e.message.clone());
                if let Some(At::LineCol(l, c)) = e.at {
                    if inputs.len() == 1 {
                        err.line = Some(l);
                        err.column = Some(c);
                    }
                }
                err
            })?;
            // Counted once paths are known and sources can be read.
            go = Some(a);
            (Format::Go, Vec::new())
        }
        Accumulator::Lcov(a) if totals => {
            total = Some(a.finish_totals());
            (Format::Lcov, Vec::new())
        }
        Accumulator::Lcov(a) => (Format::Lcov, a.finish()),
        Accumulator::Istanbul(a) => {
            let format = match a.kind() {
                Some(istanbul::Kind::Summary) => Format::IstanbulSummary,
                _ => Format::Istanbul,
            };
            if totals {
                total = Some(a.finish_totals());
                (format, Vec::new())
            } else {
                (format, a.finish())
            }
        }
    };
    let files = files
        .into_iter()
        .map(|(coverage, input, at)| RawFile {
            coverage,
            input,
            at,
        })
        .collect();
    Ok(ParsedCoverage {
        format,
        files,
        go,
        total,
        go_counting,
        sources,
        skipped: skips,
        detail,
    })
}

fn parse_one<R: BufRead>(
    acc: &mut Accumulator,
    index: usize,
    reader: R,
) -> Result<usize, ParseError> {
    match acc {
        Accumulator::Cobertura(a) => a.parse(index, reader),
        Accumulator::Go(a) => a.parse(index, reader),
        Accumulator::GoCounting(a) => a.parse(index, reader, &mut |_, _, _| None),
        Accumulator::Lcov(a) => a.parse(index, reader),
        Accumulator::Istanbul(a) => a.parse(index, reader),
    }
}

/// Tie a parse error to its input, turning a byte offset into line:column.
pub fn locate(input: &dyn Input, err: ParseError, skipped: u64) -> ReadError {
    let mut out = ReadError::new(err.kind, input.name(), err.message);
    match err.at {
        Some(At::LineCol(l, c)) => {
            out.line = Some(l);
            out.column = Some(c);
        }
        Some(At::Offset(o)) => {
            if let Ok(reader) = input.open() {
                let (l, c) = crate::error::line_col_in(reader, o + skipped);
                out.line = Some(l);
                out.column = Some(c);
            }
        }
        None => {}
    }
    out
}

impl ParsedCoverage {
    /// The report with paths as written. Go statements all count (the
    /// sources are not read). Totals only, it has no files.
    pub fn into_report(self) -> CoverageReport {
        if let Some(total) = self.total {
            return CoverageReport {
                format: self.format,
                total,
                files: Vec::new(),
            };
        }
        let mut files: Vec<FileCoverage> = self.files.into_iter().map(|f| f.coverage).collect();
        if let Some(go) = self.go {
            files.extend(go.finish(&mut |_| None).into_iter().map(|f| f.0));
        }
        CoverageReport::new(self.format, files)
    }

    /// The report with paths of the repository. `report_dirs[i]` is the
    /// folder of input `i` relative to the root (None when outside it).
    /// A file that is not in the repository is an error naming the report
    /// and the place that names it.
    ///
    /// Totals only, the reports are read again for the paths they name
    /// (Go: for the blocks, counted inside the functions of their sources,
    /// one file at a time), and the report has no files.
    pub fn resolve(
        self,
        inputs: &[&dyn Input],
        report_dirs: &[Option<String>],
        tree: &dyn SourceTree,
        root: &str,
    ) -> Result<CoverageReport, ReadError> {
        if let Some(total) = self.total {
            return self.resolve_totals(total, inputs, report_dirs, tree, root);
        }
        let mut resolver = PathResolver::new(tree, root);
        let mut resolve = |path: &str, input: usize, at: At| -> Result<String, ReadError> {
            let ctx = ReportContext {
                report_dir: report_dirs.get(input).cloned().flatten(),
                sources: self.sources.get(input).cloned().unwrap_or_default(),
            };
            resolver.resolve(path, &ctx).map_err(|why| {
                let message = unresolved_message(path, why);
                let skipped = self.skipped.get(input).copied().unwrap_or(0);
                locate(
                    inputs[input],
                    ParseError::new(ErrorKind::MissingSource, message).at(at),
                    skipped,
                )
            })
        };
        let mut resolved = Vec::with_capacity(self.files.len());
        for f in &self.files {
            resolved.push(resolve(&f.coverage.path, f.input, f.at)?);
        }
        let mut paths = Vec::new();
        if let Some(go) = &self.go {
            for (_, path, input, at) in go.files() {
                paths.push(resolve(path, input, at)?);
            }
        }
        let mut files = Vec::with_capacity(self.files.len());
        for (mut f, path) in self.files.into_iter().zip(resolved) {
            f.coverage.path = path;
            files.push(f.coverage);
        }
        if let Some(go) = self.go {
            let counted = go.finish(&mut |i| {
                tree.read_file(&paths[i])
                    .map(|src| gocover::func_extents(&src))
            });
            for ((mut coverage, _, _), path) in counted.into_iter().zip(paths) {
                coverage.path = path;
                files.push(coverage);
            }
        }
        Ok(CoverageReport::new(self.format, files))
    }
}

impl ParsedCoverage {
    fn resolve_totals(
        self,
        total: Summary,
        inputs: &[&dyn Input],
        report_dirs: &[Option<String>],
        tree: &dyn SourceTree,
        root: &str,
    ) -> Result<CoverageReport, ReadError> {
        let contexts = (0..inputs.len())
            .map(|i| ReportContext {
                report_dir: report_dirs.get(i).cloned().flatten(),
                sources: self.sources.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        let mut paths = Resolving {
            resolver: PathResolver::new(tree, root),
            contexts,
            written: HashSet64::default(),
            resolved: HashSet64::default(),
            aliased: false,
            problem: None,
        };
        let skipped = &self.skipped;
        let total = match self.go_counting {
            Some(mut go) => {
                // Counted again, statements inside functions only.
                go.begin_recount();
                let mut functions = |path: &str, input: usize, at: At| {
                    let found = paths.resolve(path, input, at)?;
                    tree.read_file(&found)
                        .map(|src| gocover::func_extents(&src))
                };
                if !go.all_repeated() {
                    for (index, input) in inputs.iter().enumerate() {
                        let (mut reader, _, _) = open(*input)?;
                        go.parse(index, &mut reader, &mut functions)
                            .map_err(|e| locate(*input, e, skipped[index]))?;
                    }
                    if let Some((i, e)) = go.take_inconsistent() {
                        return Err(locate(inputs[i], e, skipped[i]));
                    }
                }
                go.count_repeated(inputs, skipped, false, &mut functions)
                    .map_err(|(i, e)| locate(inputs[i], e, skipped[i]))?;
                go.total()
            }
            None => {
                for (index, input) in inputs.iter().enumerate() {
                    let (reader, _, _) = open(*input)?;
                    let each = &mut |path: &str, at: At| paths.name(path, index, at);
                    match self.format {
                        Format::Cobertura => cobertura::names(reader, each),
                        Format::Lcov => lcov::names(reader, each),
                        Format::Istanbul | Format::IstanbulSummary => istanbul::names(reader, each),
                        Format::Go => Ok(()),
                    }
                    .map_err(|e| locate(*input, e, skipped[index]))?;
                }
                total
            }
        };
        let Resolving {
            problem, aliased, ..
        } = paths;
        if let Some((input, at, message)) = problem {
            let err = ParseError::new(ErrorKind::MissingSource, message).at(at);
            return Err(locate(inputs[input], err, skipped[input]));
        }
        if aliased {
            // Two paths of the report name one file of the repository:
            // their lines merge, so read again with line data.
            let report = parse_coverage_with(inputs, Detail::Lines)?.resolve(
                inputs,
                report_dirs,
                tree,
                root,
            )?;
            return Ok(CoverageReport {
                format: report.format,
                total: report.total,
                files: Vec::new(),
            });
        }
        Ok(CoverageReport {
            format: self.format,
            total,
            files: Vec::new(),
        })
    }
}

/// Paths resolved while reading again, totals only: 8 bytes for each path
/// as written and each path found, not the paths.
struct Resolving<'t> {
    resolver: PathResolver<'t>,
    /// Where each input is.
    contexts: Vec<ReportContext>,
    /// Paths as written, resolved already.
    written: HashSet64,
    /// Paths of the repository found.
    resolved: HashSet64,
    /// Two paths as written found one file.
    aliased: bool,
    /// The first path not found: input, where, message.
    problem: Option<(usize, At, String)>,
}

impl Resolving<'_> {
    /// A path as a report names it: resolved the first time, with the
    /// context of the input that names it first.
    fn name(&mut self, path: &str, input: usize, at: At) {
        if self.written.insert(path_hash(path)) {
            self.resolve(path, input, at);
        }
    }

    /// The file of the repository `path` names; None (the problem noted)
    /// when there is none or it is ambiguous.
    fn resolve(&mut self, path: &str, input: usize, at: At) -> Option<String> {
        match self.resolver.resolve(path, &self.contexts[input]) {
            Ok(found) => {
                if !self.resolved.insert(path_hash(&found)) {
                    self.aliased = true;
                }
                Some(found)
            }
            Err(why) => {
                let message = unresolved_message(path, why);
                // The first in the reports' order: Go counts the files
                // named more than once after the others.
                let key = |input: usize, at: At| match at {
                    At::Offset(o) => (input, o),
                    At::LineCol(l, _) => (input, l),
                };
                let earlier = match &self.problem {
                    Some((i, a, _)) => key(input, at) < key(*i, *a),
                    None => true,
                };
                if earlier {
                    self.problem = Some((input, at, message));
                }
                None
            }
        }
    }
}

fn unresolved_message(path: &str, why: Unresolved) -> String {
    match why {
        Unresolved::NotFound => format!("source file `{path}` is not in the repository"),
        Unresolved::Ambiguous(list) => format!(
            "source file `{path}` could be any of {}; run the report from the repository root or give paths relative to it",
            list.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::Counter;
    use crate::input::BytesInput;
    use crate::paths::ListTree;

    fn read(files: &[(&str, &str)]) -> Result<ParsedCoverage, ReadError> {
        let inputs: Vec<BytesInput> = files
            .iter()
            .map(|(n, t)| BytesInput::new(n, t.as_bytes()))
            .collect();
        let refs: Vec<&dyn Input> = inputs.iter().map(|i| i as &dyn Input).collect();
        parse_coverage(&refs)
    }

    #[test]
    fn formats_are_detected_and_not_mixed() {
        assert_eq!(
            read(&[("a.out", "mode: set\na.go:1.1,2.2 1 1\n")])
                .unwrap()
                .format,
            Format::Go
        );
        assert_eq!(
            read(&[("x", "TN:\nSF:a.js\nDA:1,1\nend_of_record\n")])
                .unwrap()
                .format,
            Format::Lcov
        );
        let err = read(&[
            ("a.out", "mode: set\na.go:1.1,2.2 1 1\n"),
            ("b.info", "SF:a.js\nend_of_record\n"),
        ])
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Mixed);
        assert_eq!(err.to_string(), "b.info: is an lcov tracefile, but a.out is a Go coverprofile: reports of different formats cannot make one report");
    }

    #[test]
    fn empty_reports_of_each_format() {
        for (name, text, message) in [
            (
                "a.out",
                "mode: set\n",
                "a.out: empty profile: no coverage blocks after the mode line",
            ),
            (
                "c.xml",
                "<coverage><packages/></coverage>",
                "c.xml: no coverage data: the report names no files",
            ),
            (
                "i.json",
                "{}",
                "i.json: no coverage data: the report names no files",
            ),
            ("blank", "  \n", "blank: empty file"),
        ] {
            let err = read(&[(name, text)]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Empty, "{name}");
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn positions_count_a_byte_order_mark() {
        let err = read(&[("bom.xml", "\u{feff}<coverage>\n  <class/></coverage>")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bom.xml:2:3: <class> has no filename attribute"
        );
    }

    #[test]
    fn resolution_errors_point_at_the_file_in_the_report() {
        let input = BytesInput::new(
            "lcov.info",
            b"SF:src/a.js\nDA:1,1\nend_of_record\nSF:src/gone.js\nDA:1,0\nend_of_record\n",
        );
        let inputs: [&dyn Input; 1] = [&input];
        let tree = ListTree {
            files: vec!["web/src/a.js".into()],
            ..ListTree::default()
        };
        let parsed = parse_coverage(&inputs).unwrap();
        let err = parsed
            .resolve(&inputs, &[Some("web".into())], &tree, "/repo")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "lcov.info:4:1: source file `src/gone.js` is not in the repository"
        );
        let parsed = parse_coverage(&inputs).unwrap();
        let tree = ListTree {
            files: vec!["web/src/a.js".into(), "web/src/gone.js".into()],
            ..ListTree::default()
        };
        let report = parsed
            .resolve(&inputs, &[Some("web".into())], &tree, "/repo")
            .unwrap();
        let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["web/src/a.js", "web/src/gone.js"]);
    }

    const FIXTURES: &str = "../../../cli/tests/fixtures/coverage";

    /// Inputs as (name, bytes).
    type Files = Vec<(&'static str, &'static [u8])>;

    /// Every report the tests hold, one input or several.
    fn cases() -> Vec<(&'static str, Files)> {
        macro_rules! fixture {
            ($path:literal) => {
                include_bytes!(concat!("../../../cli/tests/fixtures/coverage/", $path)) as &[u8]
            };
        }
        let cobertura = fixture!("portal/coverage.xml");
        let go = fixture!("shop/coverage.out");
        let lcov = fixture!("cart/lcov.info");
        let istanbul = fixture!("web/coverage/coverage-final.json");
        let summary = fixture!("web/coverage/coverage-summary.json");
        vec![
            ("cobertura fixture", vec![("coverage.xml", cobertura)]),
            ("cobertura twice", vec![("a.xml", cobertura), ("b.xml", cobertura)]),
            ("go fixture", vec![("coverage.out", go)]),
            ("go twice", vec![("a.out", go), ("b.out", go)]),
            ("lcov fixture", vec![("lcov.info", lcov)]),
            ("lcov twice", vec![("a.info", lcov), ("b.info", lcov)]),
            ("istanbul fixture", vec![("coverage-final.json", istanbul)]),
            ("istanbul twice", vec![("a.json", istanbul), ("b.json", istanbul)]),
            ("istanbul summary", vec![("coverage-summary.json", summary)]),
            ("istanbul summary twice", vec![("a.json", summary), ("b.json", summary)]),
            (
                // Java's Cobertura: inner classes share the file, lines
                // interleave; a line repeated; a class without lines.
                "cobertura out of order",
                vec![("java.xml", br#"<coverage><packages><package><classes>
<class name="A" filename="A.java"><lines>
  <line number="1" hits="1"/><line number="5" hits="0" branch="true" condition-coverage="0% (0/2)"/>
  <line number="5" hits="2" branch="true" condition-coverage="50% (1/2)"/><line number="9" hits="0"/>
</lines></class>
<class name="A$1" filename="A.java"><lines><line number="3" hits="0"/><line number="5" hits="0"/></lines></class>
<class name="B" filename="B.java"><lines><line number="2" hits="4"/><line number="7" hits="0"/></lines></class>
<class name="B$1" filename="B.java"><lines><line number="8" hits="1"/><line number="8" hits="0"/></lines></class>
<class name="C" filename="C.java"><lines/></class>
</classes></package></packages></coverage>"# as &[u8])],
            ),
            (
                "lcov out of order",
                vec![("x.info", b"SF:a.js\nFN:1,f\nFNDA:1,f\nDA:1,1\nDA:1,0\nDA:4,0\nBRDA:4,0,0,1\nBRDA:4,0,1,-\nBRDA:4,0,1,2\nBRDA:6,0,0,0\nend_of_record\nSF:b.js\nDA:3,0\nDA:2,5\nBRDA:3,0,0,0\nBRDA:2,0,0,1\nBRDA:3,0,0,1\nend_of_record\nSF:c.js\nDA:1,0\nDA:2,1\nBRDA:1,0,0,1\nend_of_record\nSF:c.js\nDA:2,0\nDA:3,0\nBRDA:1,0,0,0\nFN:1,g\nend_of_record\n" as &[u8])],
            ),
            (
                "go repeats and overlaps",
                vec![("c.out", b"mode: set\na.go:1.1,3.2 2 0\na.go:3.2,5.9 1 1\na.go:2.1,2.9 1 0\nb.go:4.1,9.2 3 0\na.go:1.1,3.2 2 1\nb.go:5.1,6.2 1 1\nb.go:12.1,12.4 1 0\n" as &[u8])],
            ),
            (
                // coverage.py run twice into one report by hand, or two
                // Java classes of one file far apart: a.py comes back
                // after b.py, its lines and branches merging with the first.
                "cobertura named again after other files",
                vec![("again.xml", br#"<coverage><packages><package><classes>
<class filename="a.py"><lines><line number="1" hits="1"/><line number="2" hits="0" branch="true" condition-coverage="0% (0/2)"/><line number="4" hits="0"/></lines></class>
<class filename="b.py"><lines><line number="1" hits="0"/><line number="3" hits="2"/></lines></class>
<class filename="a.py"><lines><line number="2" hits="3" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="0"/><line number="7" hits="0"/></lines></class>
<class filename="c.py"/>
<class filename="b.py"><lines><line number="1" hits="1"/></lines></class>
</classes></package></packages></coverage>"# as &[u8])],
            ),
            (
                "cobertura named again in another report",
                vec![
                    ("a.xml", br#"<coverage><class filename="a.py"><lines><line number="1" hits="0"/><line number="2" hits="1"/></lines></class><class filename="b.py"><lines><line number="5" hits="0"/></lines></class></coverage>"# as &[u8]),
                    ("b.xml", br#"<coverage><class filename="b.py"><lines><line number="5" hits="1"/></lines></class><class filename="c.py"><lines><line number="1" hits="0"/></lines></class><class filename="a.py"><lines><line number="1" hits="2"/><line number="3" hits="0"/></lines></class></coverage>"# as &[u8]),
                ],
            ),
            (
                // `lcov -a` of two tracefiles, or two given together.
                "lcov named again after other files",
                vec![("again.info", b"SF:a.js\nFN:1,f\nFN:5,g\nFNDA:0,f\nDA:1,0\nDA:2,0\nBRDA:2,0,0,0\nBRDA:2,0,1,-\nend_of_record\nSF:b.js\nDA:1,1\nBRDA:1,0,0,1\nend_of_record\nSF:a.js\nFNDA:2,f\nDA:2,4\nDA:3,0\nBRDA:2,0,1,1\nend_of_record\nSF:c.js\nDA:9,0\nend_of_record\nSF:b.js\nDA:1,0\nDA:4,0\nend_of_record\n" as &[u8])],
            ),
            (
                "istanbul named again after other files",
                vec![("again.json", br#"{"a.js": {"statementMap": {"0": {"start": {"line": 1}}, "1": {"start": {"line": 2}}}, "s": {"0": 0, "1": 0}, "fnMap": {}, "f": {"0": 0}, "branchMap": {"0": {"line": 2}}, "b": {"0": [0, 0]}},
 "b.js": {"statementMap": {"0": {"start": {"line": 1}}}, "s": {"0": 1}},
 "/ci/a.js": {"path": "a.js", "statementMap": {"0": {"start": {"line": 1}}, "1": {"start": {"line": 2}}}, "s": {"0": 3, "1": 0}, "f": {"0": 1}, "b": {"0": [0, 2]}}}"# as &[u8])],
            ),
            (
                // Profiles of several test binaries written one after
                // another (-coverpkg=./...): a.go and b.go in every one,
                // c.go and d.go in one each; blocks overlap.
                "go in several segments",
                vec![("segments.out", b"mode: count\na.go:1.1,3.2 2 0\na.go:3.2,5.9 1 1\nb.go:4.1,9.2 3 0\nc.go:1.1,2.2 1 5\nmode: count\na.go:1.1,3.2 2 1\na.go:2.1,2.9 1 0\nb.go:4.1,9.2 3 2\nb.go:12.1,12.4 1 0\n\nmode: count\nd.go:7.1,8.2 2 0\nb.go:4.1,9.2 3 0\na.go:3.2,5.9 1 0\n" as &[u8])],
            ),
            (
                "go in several reports",
                vec![
                    ("a.out", b"mode: set\na.go:1.1,3.2 2 0\nb.go:1.1,2.2 1 1\n" as &[u8]),
                    ("b.out", b"mode: set\nc.go:1.1,3.2 4 0\na.go:1.1,3.2 2 1\na.go:5.1,6.2 1 0\n" as &[u8]),
                ],
            ),
        ]
    }

    fn parse_as(files: &[(&str, &[u8])], detail: Detail) -> ParsedCoverage {
        let inputs: Vec<BytesInput> = files.iter().map(|(n, b)| BytesInput::new(n, b)).collect();
        let refs: Vec<&dyn Input> = inputs.iter().map(|i| i as &dyn Input).collect();
        parse_coverage_with(&refs, detail).unwrap()
    }

    fn assert_same_counts(what: &str, full: &CoverageReport, totals: &CoverageReport) {
        assert_eq!(full.format, totals.format, "{what}");
        assert_eq!(full.total, totals.total, "{what}");
        assert_eq!(
            full.percent().display(2),
            totals.percent().display(2),
            "{what}"
        );
        assert!(totals.files.is_empty(), "{what}: files kept");
    }

    #[test]
    fn totals_only_counts_as_the_line_data_does() {
        for (what, files) in cases() {
            let full = parse_as(&files, Detail::Lines).into_report();
            let totals = parse_as(&files, Detail::Totals).into_report();
            assert!(full.total.lines.total > 0, "{what}");
            assert_same_counts(what, &full, &totals);
        }
    }

    #[test]
    fn totals_only_tells_paths_of_one_hash_apart() {
        // Every path of one hash: each path named after the first is taken
        // for one named again, and told apart by its text.
        crate::coverage::fold::ONE_HASH.with(|one| one.set(true));
        for (what, files) in cases() {
            let full = parse_as(&files, Detail::Lines).into_report();
            let totals = parse_as(&files, Detail::Totals).into_report();
            assert_same_counts(what, &full, &totals);
        }
        crate::coverage::fold::ONE_HASH.with(|one| one.set(false));
    }

    #[test]
    fn totals_only_resolved_counts_as_the_line_data_does() {
        // Every path resolves to a file of its own.
        struct Everything;
        impl SourceTree for Everything {
            fn is_file(&self, _: &str) -> bool {
                true
            }
            fn go_module(&self, _: &str) -> Option<String> {
                None
            }
            fn list_files(&self) -> Vec<String> {
                Vec::new()
            }
            fn read_file(&self, _: &str) -> Option<String> {
                None
            }
        }
        for (what, files) in cases() {
            let inputs: Vec<BytesInput> =
                files.iter().map(|(n, b)| BytesInput::new(n, b)).collect();
            let refs: Vec<&dyn Input> = inputs.iter().map(|i| i as &dyn Input).collect();
            let dirs = vec![Some(String::new()); refs.len()];
            let resolve = |detail| {
                parse_coverage_with(&refs, detail)
                    .unwrap()
                    .resolve(&refs, &dirs, &Everything, "/")
                    .unwrap()
            };
            assert_same_counts(what, &resolve(Detail::Lines), &resolve(Detail::Totals));
        }
    }

    #[test]
    fn totals_only_reads_a_report_named_again_twice() {
        // The first reading notes a.py named again; the second keeps its
        // lines and counts b.py again.
        let xml = br#"<coverage><class filename="a.py"><lines><line number="1" hits="0"/></lines></class><class filename="b.py"><lines><line number="1" hits="1"/></lines></class><class filename="a.py"><lines><line number="1" hits="1"/></lines></class></coverage>"#;
        struct Counted<'a>(BytesInput<'a>, std::cell::Cell<usize>);
        impl Input for Counted<'_> {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn open(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
                self.1.set(self.1.get() + 1);
                self.0.open()
            }
        }
        let input = Counted(BytesInput::new("c.xml", xml), std::cell::Cell::new(0));
        let inputs: [&dyn Input; 1] = [&input];
        let report = parse_coverage_with(&inputs, Detail::Totals)
            .unwrap()
            .into_report();
        assert_eq!(input.1.get(), 2);
        assert_eq!(report.total.lines, Counter::new(2, 2));
    }

    #[test]
    fn totals_only_after_path_resolution() {
        // Go statements counted inside functions (the sources are read),
        // and two paths of one report naming one file of the repository.
        let dir = format!("{}/src/coverage/{FIXTURES}", env!("CARGO_MANIFEST_DIR"));
        let text = |p: &str| std::fs::read_to_string(format!("{dir}/{p}")).unwrap();
        let go = text("shop/coverage.out");
        let go_tree = ListTree {
            files: vec!["a/a.go".into(), "b/b.go".into(), "go.mod".into()],
            modules: vec![(String::new(), "example.com/shop".into())],
            texts: vec![
                ("a/a.go".into(), text("shop/a/a.go")),
                ("b/b.go".into(), text("shop/b/b.go")),
            ],
        };
        let lcov = "SF:src/a.js\nDA:1,1\nDA:2,0\nend_of_record\nSF:./src/a.js\nDA:2,3\nDA:3,0\nend_of_record\n";
        let js_tree = ListTree {
            files: vec!["src/a.js".into()],
            ..ListTree::default()
        };
        // Go profiles where the same file comes back: in two segments of
        // one profile, in two profiles; every block distinct.
        let twice = format!("{go}{}", go.trim_start_matches("mode: count\n"));
        let distinct = "mode: set\nexample.com/shop/a/a.go:5.23,6.11 1 1\nexample.com/shop/b/b.go:3.24,5.2 1 0\n";
        for (what, text, tree) in [
            ("go", go.as_str(), &go_tree),
            ("go, two segments again", twice.as_str(), &go_tree),
            ("go, every block distinct", distinct, &go_tree),
            ("lcov", lcov, &js_tree),
        ] {
            let input = BytesInput::new("report", text.as_bytes());
            let inputs: [&dyn Input; 1] = [&input];
            let resolve = |detail| {
                parse_coverage_with(&inputs, detail)
                    .unwrap()
                    .resolve(&inputs, &[Some(String::new())], tree, "/repo")
                    .unwrap()
            };
            let (full, totals) = (resolve(Detail::Lines), resolve(Detail::Totals));
            assert_same_counts(what, &full, &totals);
        }
        // Statements outside functions leave the total (b.go's line 1 is
        // a package clause).
        let input = BytesInput::new("a.out", go.as_bytes());
        let more = BytesInput::new(
            "b.out",
            b"mode: count\nexample.com/shop/b/b.go:1.1,1.10 1 1\n",
        );
        let inputs: [&dyn Input; 2] = [&input, &more];
        let dirs = [Some(String::new()), Some(String::new())];
        let resolve = |detail| {
            parse_coverage_with(&inputs, detail)
                .unwrap()
                .resolve(&inputs, &dirs, &go_tree, "/repo")
                .unwrap()
        };
        let (full, totals) = (resolve(Detail::Lines), resolve(Detail::Totals));
        assert_same_counts("go, two profiles", &full, &totals);
        assert_eq!(full.total.statements, Some(Counter::new(5, 9)));
    }

    #[test]
    fn totals_only_errors_are_those_of_the_line_data() {
        let tree = ListTree {
            files: vec!["a.py".into(), "a.go".into()],
            modules: vec![(String::new(), "example.com/m".into())],
            ..ListTree::default()
        };
        let cases: [(&str, &[u8]); 9] = [
            ("r.info", b"SF:a.py\nDA:1,1\nend_of_record\nSF:gone.py\nDA:1,0\nend_of_record\nSF:a.py\nend_of_record\nSF:gone2.py\nend_of_record\n"),
            ("r.xml", b"<coverage>\n<class filename=\"a.py\"/>\n  <class filename=\"b/gone.py\"><lines/></class><class filename=\"a.py\"/></coverage>"),
            ("r.json", b"{\"a.py\": {\"s\": {}},\n \"/ci/gone.js\": {\"s\": {\"0\": 1}}}"),
            // The first file not found in the profile's order, although
            // the file named again is counted last.
            ("r.out", b"mode: set\nexample.com/m/gone.go:1.1,2.2 1 1\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/gone2.go:1.1,2.2 1 1\nexample.com/m/gone.go:1.1,2.2 1 0\n"),
            ("r2.out", b"mode: set\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/gone2.go:1.1,2.2 1 1\nexample.com/m/gone.go:1.1,2.2 1 1\nexample.com/m/a.go:1.1,2.2 1 0\n"),
            // One block, two statement counts, in two segments.
            ("bad.out", b"mode: set\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/b.go:1.1,2.2 1 1\nmode: set\nexample.com/m/a.go:1.1,2.2 3 1\n"),
            ("bad2.out", b"mode: set\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/a.go:3.1,4.2 1 1\nexample.com/m/a.go:1.1,2.2 3 1\n"),
            // A bad line further on is told first.
            ("bad3.out", b"mode: set\nexample.com/m/a.go:1.1,2.2 1 1\nexample.com/m/a.go:1.1,2.2 3 1\nexample.com/m/b.go:x\n"),
            // Bytes after the root element are not read.
            ("after.xml", b"<coverage><class filename=\"gone.py\"/></coverage>\xff"),
        ];
        for (name, text) in cases {
            let input = BytesInput::new(name, text);
            let inputs: [&dyn Input; 1] = [&input];
            let resolve = |detail| {
                parse_coverage_with(&inputs, detail)
                    .and_then(|p| p.resolve(&inputs, &[Some(String::new())], &tree, "/repo"))
                    .unwrap_err()
                    .to_string()
            };
            assert_eq!(resolve(Detail::Lines), resolve(Detail::Totals), "{name}");
        }
    }
}
