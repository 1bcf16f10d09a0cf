//! Errors of reading a report. A parser knows where it stopped (a byte
//! offset or a line); the reader that opened the file turns that into
//! `file:line:column` for the message.

use std::fmt;

/// What went wrong, for callers that match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be opened or read.
    Io,
    /// The content is not what its format allows (malformed XML or JSON, a
    /// bad record, a number that is not one).
    Syntax,
    /// The file ends in the middle of the report.
    Truncated,
    /// The content is none of the formats slipway reads.
    UnknownFormat,
    /// A well-formed report with nothing in it.
    Empty,
    /// A report of the other kind (a test report where coverage was asked
    /// for, or the reverse).
    WrongKind,
    /// Reports of different formats given together.
    Mixed,
    /// The report names a source file that is not in the repository.
    MissingSource,
}

/// Where in the input a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A byte offset from the start of the file.
    Offset(u64),
    /// A 1-based line and column.
    LineCol(u64, u64),
}

/// An error found by a parser, before it is tied to a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub message: String,
    pub at: Option<At>,
}

impl ParseError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ParseError {
        ParseError {
            kind,
            message: message.into(),
            at: None,
        }
    }

    pub fn syntax(message: impl Into<String>, at: At) -> ParseError {
        ParseError {
            kind: ErrorKind::Syntax,
            message: message.into(),
            at: Some(at),
        }
    }

    pub fn at(mut self, at: At) -> ParseError {
        self.at = Some(at);
        self
    }

    pub fn at_line(self, line: u64) -> ParseError {
        self.at(At::LineCol(line, 1))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// A parse error tied to the file it came from, with its position resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReadError {
    pub kind: ErrorKind,
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl ReadError {
    pub fn new(kind: ErrorKind, file: &str, message: impl Into<String>) -> ReadError {
        ReadError {
            kind,
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset in `bytes`.
/// An offset past the end points just after the last byte.
pub fn line_col(bytes: &[u8], offset: u64) -> (u64, u64) {
    let end = (offset as usize).min(bytes.len());
    let before = &bytes[..end];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    (line, column)
}

/// Like [`line_col`], reading from a stream so the whole file need not be
/// held: only the current line is kept.
pub fn line_col_in(mut reader: impl std::io::BufRead, offset: u64) -> (u64, u64) {
    let mut line = 1u64;
    let mut consumed = 0u64;
    let mut current: Vec<u8> = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) if !buf.is_empty() => buf,
            _ => break,
        };
        let want = (offset - consumed).min(buf.len() as u64) as usize;
        let chunk = &buf[..want];
        match chunk.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                current.clear();
                current.extend_from_slice(&chunk[last + 1..]);
            }
            None => current.extend_from_slice(chunk),
        }
        reader.consume(want);
        consumed += want as u64;
        if consumed >= offset {
            break;
        }
    }
    (
        line,
        String::from_utf8_lossy(&current).chars().count() as u64 + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = b"ab\ncd\n\xc3\xa9f";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (2, 2));
        assert_eq!(line_col(text, 8), (3, 2));
        assert_eq!(line_col(text, 99), (3, 3));
        for offset in 0..12 {
            assert_eq!(
                line_col_in(&text[..], offset),
                line_col(text, offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn messages_name_the_file_and_position() {
        let mut e = ReadError::new(ErrorKind::Syntax, "coverage.xml", "unexpected end of file");
        assert_eq!(e.to_string(), "coverage.xml: unexpected end of file");
        e.line = Some(3);
        e.column = Some(7);
        assert_eq!(e.to_string(), "coverage.xml:3:7: unexpected end of file");
    }
}
