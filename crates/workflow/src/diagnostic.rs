//! Problems found in workflow files, as data: severity, rule, message,
//! place and an optional suggestion. Rendering follows rustc's layout: the
//! source line with a caret under the spot.

use std::fmt::Write;

use serde::Serialize;

use crate::source::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable name for the kind of problem, e.g. `unknown-key`.
    pub rule: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Span,
    /// What to do about it, shown under the caret ("did you mean `test`?").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(rule: &'static str, file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            rule,
            message: message.into(),
            file: file.to_string(),
            line: span.start.line,
            column: span.start.column,
            span,
            help: None,
        }
    }

    pub fn warning(rule: &'static str, file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(rule, file, span, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic with the source line and a caret under the spot.
    pub fn render(&self, source: Option<&SourceFile>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            self.severity.as_str(),
            self.rule,
            self.message
        );
        let line_no = self.span.start.line;
        let gutter = line_no.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(
            out,
            "{pad}--> {}:{}:{}",
            self.file, line_no, self.span.start.column
        );
        match source.and_then(|s| s.line(line_no)) {
            Some(text) => {
                let shown = text.replace('\t', " ");
                let width = shown.chars().count();
                let start = self.span.start.column.max(1);
                let end = if self.span.end.line == line_no && self.span.end.column > start {
                    self.span.end.column
                } else {
                    // To the end of the token or line when the span runs on.
                    let rest: String = shown.chars().skip(start - 1).collect();
                    let token = rest.trim_end().chars().count().max(1);
                    start + token
                };
                let end = end.min(width + 1).max(start + 1);
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{line_no} | {shown}");
                let carets = "^".repeat(end - start);
                let label = self
                    .help
                    .as_deref()
                    .map(|h| format!(" {h}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "{pad} | {}{carets}{label}", " ".repeat(start - 1));
            }
            None => {
                if let Some(help) = &self.help {
                    let _ = writeln!(out, "{pad} = help: {help}");
                }
            }
        }
        out
    }
}

/// Sort diagnostics the way people read a file: by file, then position.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.span.start, a.severity, a.rule).cmp(&(
            b.file.as_str(),
            b.span.start,
            b.severity,
            b.rule,
        ))
    });
}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&word.to_lowercase(), &candidate.to_lowercase());
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_span() {
        let src = SourceFile::new("ci.yml", "jobs:\n  a:\n    needs: [tset]\n");
        let d = Diagnostic::error(
            "unknown-job",
            "ci.yml",
            Span::on_line(3, 13, 4),
            "no job `tset`",
        )
        .with_help("did you mean `test`?");
        insta::assert_snapshot!(d.render(Some(&src)), @r"
        error[unknown-job]: no job `tset`
         --> ci.yml:3:13
          |
        3 |     needs: [tset]
          |             ^^^^ did you mean `test`?
        ");
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            suggest("tset", ["test", "build"]).as_deref(),
            Some("did you mean `test`?")
        );
        assert_eq!(suggest("zzz", ["test", "build"]), None);
    }
}
