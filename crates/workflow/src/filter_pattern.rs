//! GitHub Actions filter patterns, as used by `branches`, `branches-ignore`,
//! `tags`, `tags-ignore`, `paths` and `paths-ignore` under `on.push`,
//! `on.pull_request` and `on.pull_request_target`.
//!
//! # Syntax
//!
//! A pattern always matches the whole subject (a branch name, a tag name or
//! a changed file's path), case-sensitively.
//!
//! | Pattern | Meaning |
//! |---------|---------|
//! | `*`     | zero or more characters, but not `/` |
//! | `**`    | zero or more of any character, `/` included |
//! | `**/`   | at the start of the pattern or right after a `/`: zero or more whole directories, so `**/README.md` matches `README.md` and `docs/README.md` |
//! | `?`     | zero or one of the preceding character (or `[...]`) |
//! | `+`     | one or more of the preceding character (or `[...]`) |
//! | `[...]` | one character listed or inside a range, as in `[0-9a-z]` or `[CB]at` |
//! | `\`     | the next character is matched literally (`\*`, `\[`, `\?`, `\\`, `\!`) |
//! | `!`     | as the first character only: negates the pattern |
//!
//! Every other character, `.`, `(`, `)`, `{`, `}`, `|`, `^` and `$`
//! included, matches itself.
//!
//! Details that GitHub's documentation leaves open, settled here:
//!
//! - `docs/**` needs the `/`: it matches everything under `docs`, not
//!   `docs` itself.
//! - `\` may precede any character, which is then matched literally; only a
//!   `\` at the very end of a pattern is an error.
//! - Inside `[...]` any character may be listed; `-` is literal as the
//!   first or last member, and `\` escapes the next member (`[\]\-]`).
//! - `?` and `+` need a character or `[...]` to repeat: at the start of a
//!   pattern, or after `*`, `**`, `?` or `+`, they are errors (escape them
//!   to match them literally).
//!
//! # Lists
//!
//! Patterns in a list are evaluated in order and the *last* pattern that
//! matches a subject decides about it:
//!
//! - `branches`, `tags`, `paths` ([`included`]): the subject is included
//!   when the last matching pattern is a positive one, so `!` patterns
//!   exclude what earlier patterns included and later positive patterns can
//!   include it again.
//! - `branches-ignore`, `tags-ignore`, `paths-ignore` ([`ignored`]): the
//!   subject is ignored when the last matching pattern is a positive one; a
//!   `!` pattern matching later takes a subject back out of the ignore list.
//!   Without `!` patterns this is simply "ignored when any pattern
//!   matches".
//!
//! For a change set, `paths` runs the workflow when at least one changed
//! file is included ([`paths_match`]) and `paths-ignore` runs it unless
//! every changed file is ignored ([`paths_ignore_match`]).

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use regex::Regex;

/// One pattern of a filter list, compiled once.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    source: String,
    negated: bool,
    regex: Regex,
}

/// Why a pattern could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Lowercase, says what is wrong and how to fix it.
    pub message: String,
    /// 0-based character (not byte) offset of the offending character in
    /// the pattern text, counting a leading `!`.
    pub column: usize,
}

impl PatternError {
    fn new(column: usize, message: impl Into<String>) -> PatternError {
        PatternError {
            message: message.into(),
            column,
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.column + 1)
    }
}

impl std::error::Error for PatternError {}

impl FilterPattern {
    /// Reads one pattern as written in the workflow, `!` included.
    pub fn parse(pattern: &str) -> Result<FilterPattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.is_empty() {
            return Err(PatternError::new(
                0,
                "empty pattern; write a name or glob such as `main` or `docs/**`, or remove the entry",
            ));
        }
        let negated = chars[0] == '!';
        let start = usize::from(negated);
        if negated && chars.len() == 1 {
            return Err(PatternError::new(
                0,
                "a pattern that is only `!` negates nothing; follow `!` with a pattern such as `!docs/**`, or escape it as `\\!` to match a literal `!`",
            ));
        }
        let body = translate(&chars, start)?;
        let regex = Regex::new(&format!(r"(?s)\A(?:{body})\z")).map_err(|_| {
            PatternError::new(
                0,
                "pattern is too large to compile; split it into several shorter patterns",
            )
        })?;
        Ok(FilterPattern {
            source: pattern.to_string(),
            negated,
            regex,
        })
    }

    /// The pattern as written, leading `!` included.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern starts with `!`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// Whether the glob (without its `!`) matches the whole subject.
    pub fn matches(&self, subject: &str) -> bool {
        self.regex.is_match(subject)
    }
}

impl PartialEq for FilterPattern {
    fn eq(&self, other: &FilterPattern) -> bool {
        self.source == other.source
    }
}

impl Eq for FilterPattern {}

impl fmt::Display for FilterPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for FilterPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<FilterPattern, PatternError> {
        FilterPattern::parse(s)
    }
}

/// The last pattern in `patterns` whose glob matches `subject`: the one
/// that decides about it in both kinds of lists.
pub fn last_match<'a>(patterns: &'a [FilterPattern], subject: &str) -> Option<&'a FilterPattern> {
    patterns.iter().rev().find(|p| p.matches(subject))
}

/// `branches` / `tags` / `paths` semantics for one subject: included when
/// the last matching pattern is not negated. No match means not included.
pub fn included(patterns: &[FilterPattern], subject: &str) -> bool {
    last_match(patterns, subject).is_some_and(|p| !p.negated)
}

/// `branches-ignore` / `tags-ignore` / `paths-ignore` semantics for one
/// subject: ignored when the last matching pattern is not negated, so a
/// later `!` pattern takes a subject back out. No match means not ignored.
pub fn ignored(patterns: &[FilterPattern], subject: &str) -> bool {
    last_match(patterns, subject).is_some_and(|p| !p.negated)
}

/// `paths` over a change set: the workflow runs when at least one changed
/// file is [`included`]. Returns the first such file, or `None` when the
/// workflow does not run (also when no file changed).
pub fn paths_match(patterns: &[FilterPattern], files: &[String]) -> Option<String> {
    files.iter().find(|f| included(patterns, f)).cloned()
}

/// `paths-ignore` over a change set: the workflow runs unless every changed
/// file is [`ignored`]. Returns the first file that is not ignored, or
/// `None` when the workflow does not run (also when no file changed).
pub fn paths_ignore_match(patterns: &[FilterPattern], files: &[String]) -> Option<String> {
    files.iter().find(|f| !ignored(patterns, f)).cloned()
}

/// What came just before a `?` or `+`.
#[derive(Clone, Copy)]
enum Prev {
    /// Nothing: the start of the pattern (after a leading `!`).
    Start,
    /// A character or `[...]` that `?` and `+` can repeat.
    Repeatable,
    /// A wildcard or quantifier, named for messages.
    Special(&'static str),
}

/// Turns the glob `chars[start..]` into a regex body.
fn translate(chars: &[char], start: usize) -> Result<String, PatternError> {
    let mut out = String::with_capacity(chars.len() * 2);
    let mut prev = Prev::Start;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                let segment_start = i == start || chars[i - 1] == '/';
                let slash =
                    chars.get(i + 2) == Some(&'/') && !matches!(chars.get(i + 3), Some('?' | '+'));
                if segment_start && slash {
                    out.push_str("(?:.*/)?");
                    prev = Prev::Special("`**/`");
                    i += 3;
                } else {
                    out.push_str(".*");
                    prev = Prev::Special("`**`");
                    i += 2;
                }
            }
            '*' => {
                out.push_str("[^/]*");
                prev = Prev::Special("`*`");
                i += 1;
            }
            '?' | '+' => {
                match prev {
                    Prev::Start => {
                        return Err(PatternError::new(
                            i,
                            format!(
                                "`{c}` at the start of a pattern has no preceding character to repeat; escape it as `\\{c}` to match a literal `{c}`"
                            ),
                        ))
                    }
                    Prev::Special(what) => {
                        return Err(PatternError::new(
                            i,
                            format!(
                                "`{c}` cannot follow {what}: it repeats the preceding character, so put a character or `[...]` before it, or escape it as `\\{c}` to match a literal `{c}`"
                            ),
                        ))
                    }
                    Prev::Repeatable => {}
                }
                out.push(c);
                prev = Prev::Special(if c == '?' { "`?`" } else { "`+`" });
                i += 1;
            }
            '[' => {
                i = class(chars, i, &mut out)?;
                prev = Prev::Repeatable;
            }
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(PatternError::new(
                        i,
                        "trailing `\\` escapes nothing; remove it, or write `\\\\` to match a literal `\\`",
                    ));
                };
                push_literal(&mut out, next);
                prev = Prev::Repeatable;
                i += 2;
            }
            _ => {
                push_literal(&mut out, c);
                prev = Prev::Repeatable;
                i += 1;
            }
        }
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

/// Reads the `[...]` starting at `chars[open]`, appends its regex class to
/// `out` and returns the index just past the closing `]`.
fn class(chars: &[char], open: usize, out: &mut String) -> Result<usize, PatternError> {
    let unclosed = || {
        PatternError::new(
            open,
            "unclosed `[` in pattern; close it with `]` or escape it as `\\[`",
        )
    };
    // One member: a character, or an escaped one, with its column.
    let member = |j: usize| -> Result<(char, usize), PatternError> {
        match chars.get(j) {
            Some('\\') => match chars.get(j + 1) {
                Some(&c) => Ok((c, j + 2)),
                None => Err(unclosed()),
            },
            Some(&c) => Ok((c, j + 1)),
            None => Err(unclosed()),
        }
    };
    let mut j = open + 1;
    match chars.get(j) {
        Some(']') => {
            return Err(PatternError::new(
                open,
                "empty `[]` matches no character; list characters or ranges inside it, such as `[0-9]`, or escape it as `\\[]`",
            ))
        }
        None => return Err(unclosed()),
        Some(_) => {}
    }
    out.push('[');
    loop {
        match chars.get(j) {
            None => return Err(unclosed()),
            Some(']') => break,
            Some(_) => {}
        }
        let low_column = j;
        let (low, after) = member(j)?;
        let is_range =
            chars.get(after) == Some(&'-') && !matches!(chars.get(after + 1), None | Some(']'));
        if is_range {
            let (high, after_high) = member(after + 1)?;
            if low > high {
                // `a-Z` most likely means both cases of the alphabet.
                let fixed = if low.is_ascii_lowercase() && high.is_ascii_uppercase() {
                    format!("{low}-zA-{high}")
                } else {
                    format!("{high}-{low}")
                };
                return Err(PatternError::new(
                    low_column,
                    format!(
                        "range `{low}-{high}` in `[...]` is reversed; write it from low to high, as `{fixed}`"
                    ),
                ));
            }
            push_class_char(out, low);
            out.push('-');
            push_class_char(out, high);
            j = after_high;
        } else {
            push_class_char(out, low);
            j = after;
        }
    }
    out.push(']');
    Ok(j + 1)
}

/// A class member as `\x{HEX}`, which the regex syntax reads as that one
/// character whatever it is (`]`, `-`, `^`, `&`, `~` included).
fn push_class_char(out: &mut String, c: char) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
}
