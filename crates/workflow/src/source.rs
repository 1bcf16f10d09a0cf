//! Source files and positions. Lines and columns are 1-based and count
//! characters, the way editors and GitHub's own annotations count them.

use serde::Serialize;

/// A point in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A stretch of a source file. `end` is exclusive and on the same line as
/// `start` when the span is shown with a caret; multi-line spans are shown
/// from `start` to the end of that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn point(line: usize, column: usize) -> Span {
        let p = Pos { line, column };
        Span {
            start: p,
            end: Pos {
                line,
                column: column + 1,
            },
        }
    }

    /// A span of `len` characters on one line.
    pub fn on_line(line: usize, column: usize, len: usize) -> Span {
        Span {
            start: Pos { line, column },
            end: Pos {
                line,
                column: column + len.max(1),
            },
        }
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// A file as read, kept for showing source lines under diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the repository when possible).
    pub path: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&str> {
        if line == 0 {
            return None;
        }
        self.text
            .split('\n')
            .nth(line - 1)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}
