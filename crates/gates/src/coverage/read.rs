//! Reading coverage reports: detect each input's format, stream it through
//! its parser, and tie errors to the file and position.

use std::io::BufRead;

use super::{cobertura, gocover, istanbul, lcov, CoverageReport, FileCoverage, Format};
use crate::detect::{sniff, Sniffed};
use crate::error::{At, ErrorKind, ParseError, ReadError};
use crate::input::Input;
use crate::paths::{PathResolver, ReportContext, SourceTree, Unresolved};

enum Accumulator {
    Cobertura(cobertura::Accumulator),
    Go(gocover::Accumulator),
    Lcov(lcov::Accumulator),
    Istanbul(istanbul::Accumulator),
}

impl Accumulator {
    fn family(&self) -> &'static str {
        match self {
            Accumulator::Cobertura(_) => "a Cobertura XML report",
            Accumulator::Go(_) => "a Go coverprofile",
            Accumulator::Lcov(_) => "an lcov tracefile",
            Accumulator::Istanbul(_) => "an Istanbul JSON report",
        }
    }
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
    /// The files of every format but Go's, counted.
    pub files: Vec<RawFile>,
    /// Go's blocks, merged; counted once the source files can be read
    /// (statements count only inside function declarations).
    go: Option<gocover::Accumulator>,
    /// Cobertura `<source>` folders, per input.
    pub sources: Vec<Vec<String>>,
    /// Bytes skipped at the start of each input (a byte order mark).
    skipped: Vec<u64>,
}

/// Read every input into one report. All inputs must be of one format.
pub fn parse_coverage(inputs: &[&dyn Input]) -> Result<ParsedCoverage, ReadError> {
    let mut acc: Option<(Accumulator, usize)> = None;
    let mut skips = vec![0; inputs.len()];
    for (index, input) in inputs.iter().enumerate() {
        let mut reader = input.open().map_err(|e| {
            ReadError::new(ErrorKind::Io, input.name(), format!("cannot read: {e}"))
        })?;
        let (sniffed, skipped) = sniff(&mut reader).map_err(|e| {
            ReadError::new(ErrorKind::Io, input.name(), format!("cannot read: {e}"))
        })?;
        skips[index] = skipped;
        let fresh = match sniffed {
            Sniffed::Xml => Accumulator::Cobertura(cobertura::Accumulator::default()),
            Sniffed::Json => Accumulator::Istanbul(istanbul::Accumulator::default()),
            Sniffed::GoProfile => Accumulator::Go(gocover::Accumulator::default()),
            Sniffed::Lcov => Accumulator::Lcov(lcov::Accumulator::default()),
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
                    Accumulator::Go(_) => "empty profile: no coverage blocks after the mode line",
                    Accumulator::Lcov(_) => "no coverage data: no SF record",
                    _ => "no coverage data: the report names no files",
                };
                return Err(ReadError::new(ErrorKind::Empty, input.name(), message));
            }
            Ok(_) => {}
            Err(e) => return Err(locate(*input, e, skipped)),
        }
    }
    let Some((acc, _)) = acc else {
        return Err(ReadError::new(ErrorKind::Empty, "", "no report given"));
    };
    let mut sources = vec![Vec::new(); inputs.len()];
    let mut go = None;
    let (format, files) = match acc {
        Accumulator::Cobertura(mut a) => {
            for (i, s) in std::mem::take(&mut a.sources) {
                sources[i] = s;
            }
            (Format::Cobertura, a.finish())
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
        Accumulator::Lcov(a) => (Format::Lcov, a.finish()),
        Accumulator::Istanbul(a) => {
            let format = match a.kind() {
                Some(istanbul::Kind::Summary) => Format::IstanbulSummary,
                _ => Format::Istanbul,
            };
            (format, a.finish())
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
        sources,
        skipped: skips,
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
    /// sources are not read).
    pub fn into_report(self) -> CoverageReport {
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
    pub fn resolve(
        self,
        inputs: &[&dyn Input],
        report_dirs: &[Option<String>],
        tree: &dyn SourceTree,
        root: &str,
    ) -> Result<CoverageReport, ReadError> {
        let mut resolver = PathResolver::new(tree, root);
        let mut resolve = |path: &str, input: usize, at: At| -> Result<String, ReadError> {
            let ctx = ReportContext {
                report_dir: report_dirs.get(input).cloned().flatten(),
                sources: self.sources.get(input).cloned().unwrap_or_default(),
            };
            resolver.resolve(path, &ctx).map_err(|why| {
                let message = match why {
                    Unresolved::NotFound => format!("source file `{path}` is not in the repository"),
                    Unresolved::Ambiguous(list) => format!(
                        "source file `{path}` could be any of {}; run the report from the repository root or give paths relative to it",
                        list.join(", ")
                    ),
                };
                let skipped = self.skipped.get(input).copied().unwrap_or(0);
                locate(inputs[input], ParseError::new(ErrorKind::MissingSource, message).at(at), skipped)
            })
        };
        let mut files = Vec::with_capacity(self.files.len());
        for mut f in self.files {
            f.coverage.path = resolve(&f.coverage.path, f.input, f.at)?;
            files.push(f.coverage);
        }
        if let Some(go) = self.go {
            let mut paths = Vec::new();
            for (_, path, input, at) in go.files() {
                paths.push(resolve(path, input, at)?);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
