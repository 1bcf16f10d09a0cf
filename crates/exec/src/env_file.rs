//! GitHub's environment-file format, shared by `GITHUB_OUTPUT`,
//! `GITHUB_ENV` and `GITHUB_STATE`.

/// A line of an environment file that GitHub would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvFileError {
    /// A line that is neither `NAME=value` nor `NAME<<DELIMITER`, or has an
    /// empty name or delimiter.
    #[error("invalid format at line {line}: `{text}`")]
    InvalidFormat { line: usize, text: String },
    /// A heredoc whose closing delimiter never comes.
    #[error("matching delimiter `{delimiter}` not found for the value that starts at line {line}")]
    MissingDelimiter { line: usize, delimiter: String },
}

impl EnvFileError {
    /// The 1-based line the error points at.
    pub fn line(&self) -> usize {
        match self {
            EnvFileError::InvalidFormat { line, .. }
            | EnvFileError::MissingDelimiter { line, .. } => *line,
        }
    }
}

/// Parses `NAME=value` lines and `NAME<<DELIMITER` ... `DELIMITER` heredocs.
///
/// Follows the runner: whichever of `=` and `<<` comes first decides the
/// form, so `A=x<<y` is a plain value and `A<<EOF=` a heredoc whose
/// delimiter is `EOF=`. A heredoc value keeps its inner line breaks as
/// written and loses only the one before the delimiter. Empty lines between
/// entries are skipped. Entries come back in file order; duplicates are kept.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut lines = Lines {
        text,
        pos: 0,
        number: 0,
    };
    let mut entries = Vec::new();
    while let Some(line) = lines.next_line() {
        if line.text.is_empty() {
            continue;
        }
        let equals = line.text.find('=');
        let heredoc = line.text.find("<<");
        let invalid = || EnvFileError::InvalidFormat {
            line: line.number,
            text: line.text.to_string(),
        };
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (name, value) = (&line.text[..e], &line.text[e + 1..]);
                if name.is_empty() {
                    return Err(invalid());
                }
                entries.push((name.to_string(), value.to_string()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line.text[..h], &line.text[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(invalid());
                }
                let start = lines.pos;
                let mut end = start;
                loop {
                    match lines.next_line() {
                        Some(l) if l.text == delimiter => break,
                        Some(l) => end = l.end,
                        None => {
                            return Err(EnvFileError::MissingDelimiter {
                                line: line.number,
                                delimiter: delimiter.to_string(),
                            })
                        }
                    }
                }
                entries.push((name.to_string(), text[start..end].to_string()));
            }
            _ => return Err(invalid()),
        }
    }
    Ok(entries)
}

struct Line<'a> {
    text: &'a str,
    number: usize,
    /// Byte offset just past the line's content, before its line break.
    end: usize,
}

/// Lines split on `\n` only, remembering offsets so heredoc values can be
/// cut from the original text. A `\r` before the `\n` stays part of the
/// line, as in the runner on Linux.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (content, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        let end = self.pos + content.len();
        self.pos += advance;
        self.number += 1;
        Some(Line {
            text: content,
            number: self.number,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn plain_values() {
        assert_eq!(
            parse_env_file("A=1\nB=two words\nC=\nD=x=y\n").unwrap(),
            pairs(&[("A", "1"), ("B", "two words"), ("C", ""), ("D", "x=y")])
        );
    }

    #[test]
    fn empty_text_and_empty_lines() {
        assert_eq!(parse_env_file("").unwrap(), vec![]);
        assert_eq!(
            parse_env_file("\n\nA=1\n\nB=2").unwrap(),
            pairs(&[("A", "1"), ("B", "2")])
        );
    }

    #[test]
    fn carriage_returns_are_kept_as_on_linux_runners() {
        assert_eq!(
            parse_env_file("A=1\r\nB<<EOF\r\nx\r\nEOF\r\n").unwrap(),
            pairs(&[("A", "1\r"), ("B", "x\r")])
        );
        // A lone `\r` line is not empty, so it is malformed.
        assert!(parse_env_file("A=1\n\r\n").is_err());
        // `EOF\r` does not close a heredoc opened with `EOF`.
        assert!(parse_env_file("B<<EOF\nx\nEOF\r\n").is_err());
    }

    #[test]
    fn heredoc_values() {
        let text = "JSON<<EOF\n{\n  \"a\": 1\n}\nEOF\nNEXT=1\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            pairs(&[("JSON", "{\n  \"a\": 1\n}"), ("NEXT", "1")])
        );
    }

    #[test]
    fn heredoc_edge_cases() {
        // Empty value.
        assert_eq!(parse_env_file("A<<E\nE\n").unwrap(), pairs(&[("A", "")]));
        // Blank lines inside the value are kept.
        assert_eq!(
            parse_env_file("A<<E\n\nx\n\nE").unwrap(),
            pairs(&[("A", "\nx\n")])
        );
        // A line that only starts with the delimiter does not end the value.
        assert_eq!(
            parse_env_file("A<<E\nEOF\n E\nE\n").unwrap(),
            pairs(&[("A", "EOF\n E")])
        );
        // `=` after `<<` belongs to the delimiter; `<<` after `=` to the value.
        assert_eq!(
            parse_env_file("A<<E=\nv\nE=\nB=x<<y\n").unwrap(),
            pairs(&[("A", "v"), ("B", "x<<y")])
        );
        // Lines that look like entries inside a heredoc are value text.
        assert_eq!(
            parse_env_file("A<<E\nB=1\nE\n").unwrap(),
            pairs(&[("A", "B=1")])
        );
        // Multi-byte text survives the offset arithmetic.
        assert_eq!(
            parse_env_file("A<<É\nça\r\nva\nÉ\n").unwrap(),
            pairs(&[("A", "ça\r\nva")])
        );
    }

    #[test]
    fn missing_delimiter_names_the_heredoc_line() {
        let err = parse_env_file("A=1\nB<<EOF\nx\n").unwrap_err();
        assert_eq!(
            err,
            EnvFileError::MissingDelimiter {
                line: 2,
                delimiter: "EOF".into()
            }
        );
        assert_eq!(err.line(), 2);
        assert_eq!(
            err.to_string(),
            "matching delimiter `EOF` not found for the value that starts at line 2"
        );
    }

    #[test]
    fn invalid_lines_are_named() {
        let err = parse_env_file("A=1\njust text\n").unwrap_err();
        assert_eq!(
            err,
            EnvFileError::InvalidFormat {
                line: 2,
                text: "just text".into()
            }
        );
        assert_eq!(err.to_string(), "invalid format at line 2: `just text`");
        for bad in ["=value", "<<EOF", "A<<", "  "] {
            assert!(
                matches!(
                    parse_env_file(bad),
                    Err(EnvFileError::InvalidFormat { line: 1, .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn duplicates_are_kept_in_order() {
        assert_eq!(
            parse_env_file("A=1\nA=2\n").unwrap(),
            pairs(&[("A", "1"), ("A", "2")])
        );
    }
}
