//! Errors: a kind to match on, a lowercase message that says what and where,
//! and the character offset of the problem.

use std::fmt;

/// Which phase refused the expression, named as GitHub's conformance data
/// names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A character sequence that is no token (`=`, `@x`, an unterminated
    /// string, a malformed number) or an expression over the length limit.
    Lexing,
    /// Tokens in an order the grammar refuses, an unknown function or
    /// context, a wrong number of arguments, nesting over the depth limit,
    /// an invalid literal `format` string.
    Parsing,
    /// A well-formed expression that fails on its values (`fromJSON` of
    /// invalid JSON, `case` with a predicate that is not a boolean, the
    /// memory limit, a value only known at run time when one was needed).
    Evaluation,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Lexing => "lexing",
            ErrorKind::Parsing => "parsing",
            ErrorKind::Evaluation => "evaluation",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An expression that cannot be read or evaluated.
///
/// `offset` counts characters (not bytes) from the start of the text that
/// was parsed: the expression for [`crate::parse`], the whole string for
/// [`crate::parse_template`]. Messages give the same place as a 1-based
/// `position`, as GitHub does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            offset,
        }
    }

    pub(crate) fn lexing(offset: usize, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Lexing, offset, message)
    }

    pub(crate) fn parsing(offset: usize, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Parsing, offset, message)
    }

    pub(crate) fn evaluation(offset: usize, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Evaluation, offset, message)
    }

    /// The same error for a text that starts `by` characters later.
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        let old = at(self.offset);
        self.offset += by;
        self.message = self.message.replacen(&old, &at(self.offset), 1);
        self
    }
}

/// "at position N", 1-based, for messages.
pub(crate) fn at(offset: usize) -> String {
    format!("at position {}", offset + 1)
}
