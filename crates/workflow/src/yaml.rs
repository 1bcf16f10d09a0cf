//! YAML as written: a node tree that keeps every node's position and each
//! scalar's text and style, so the reader can check keys and types itself
//! and report all problems at once with line and column.
//!
//! Scalars stay strings here; what a scalar means (a bool, a number, an
//! expression) depends on the key it sits under, and the reader decides.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::source::{Pos, SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Scalar {
        text: String,
        style: Style,
    },
    Seq(Vec<Node>),
    /// Entries in the order written. Duplicate keys are reported by the
    /// loader and the first one kept.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: NodeValue,
}

/// A problem found while parsing the YAML itself.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Scalar { .. } if self.is_null() => "null",
            NodeValue::Scalar { .. } => "a scalar",
            NodeValue::Seq(_) => "a sequence",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar, whatever it looks like (`true`, `3`, `x`).
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn style(&self) -> Option<Style> {
        match &self.value {
            NodeValue::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// YAML 1.2 core schema null: `~`, `null`, or nothing, when plain.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, NodeValue::Scalar { text, style: Style::Plain }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// YAML 1.2 core schema booleans, when plain.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            NodeValue::Scalar {
                text,
                style: Style::Plain,
            } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// YAML 1.2 core schema numbers, when plain.
    pub fn as_number(&self) -> Option<f64> {
        let NodeValue::Scalar {
            text,
            style: Style::Plain,
        } = &self.value
        else {
            return None;
        };
        let t = text.as_str();
        if let Some(hex) = t.strip_prefix("0x") {
            return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
        }
        if let Some(oct) = t.strip_prefix("0o") {
            return i64::from_str_radix(oct, 8).ok().map(|n| n as f64);
        }
        match t {
            ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
            _ => {}
        }
        let looks_numeric = !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            && t.chars().any(|c| c.is_ascii_digit());
        if looks_numeric {
            t.parse::<f64>().ok()
        } else {
            None
        }
    }

    /// A key lookup in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v)
    }

    /// Where the character at `offset` (counted in chars) of a scalar's
    /// value was written. Exact for one-line scalars and literal blocks,
    /// found by searching the source for folded and multi-line ones.
    pub fn pos_of(&self, offset: usize, source: &SourceFile) -> Pos {
        let NodeValue::Scalar { text, style } = &self.value else {
            return self.span.start;
        };
        let (line_index, column_in_line) = line_and_column(text, offset);
        let quote = usize::from(matches!(style, Style::SingleQuoted | Style::DoubleQuoted));
        if !text.contains('\n') && !matches!(style, Style::Literal | Style::Folded) {
            return Pos {
                line: self.span.start.line,
                column: self.span.start.column + quote + column_in_line,
            };
        }
        let value_line = text.split('\n').nth(line_index).unwrap_or("");
        if *style == Style::Literal {
            // The span starts at the first content line, after any blank
            // lines the value begins with.
            let leading = text.chars().take_while(|c| *c == '\n').count();
            let line = (self.span.start.line + line_index)
                .saturating_sub(leading)
                .max(1);
            return Pos {
                line,
                column: self.span.start.column + column_in_line,
            };
        }
        // Folded or multi-line flow scalars: look for the line's text.
        let needle = value_line.trim();
        if !needle.is_empty() {
            for line in self.span.start.line..=self.span.end.line.max(self.span.start.line) + 1 {
                if let Some(src) = source.line(line) {
                    if let Some(byte) = src.find(needle) {
                        let lead = value_line.len() - value_line.trim_start().len();
                        let column = src[..byte].chars().count() + 1;
                        return Pos {
                            line,
                            column: column + column_in_line.saturating_sub(lead),
                        };
                    }
                }
            }
        }
        self.span.start
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 0;
    let mut column = 0;
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    (line, column)
}

fn convert_marker(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

fn convert_span(s: &saphyr_parser::Span) -> Span {
    Span {
        start: convert_marker(&s.start),
        end: convert_marker(&s.end),
    }
}

/// Parse one YAML document. Duplicate keys are reported in `problems` and
/// parsing goes on; a syntax error stops parsing and is returned.
pub fn parse(text: &str) -> Result<(Node, Vec<YamlError>), YamlError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            YamlError {
                message: e.info().to_string(),
                span: Span::point(m.line(), m.col() + 1),
            }
        })?;
        if builder.push(event, convert_span(&span))? {
            break;
        }
    }
    let root = builder.root.unwrap_or(Node {
        span: Span::point(1, 1),
        value: NodeValue::Scalar {
            text: String::new(),
            style: Style::Plain,
        },
    });
    Ok((root, builder.problems))
}

enum Open {
    Seq(Span, usize, Vec<Node>),
    Map(Span, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    problems: Vec<YamlError>,
    documents: usize,
}

impl Builder {
    /// Returns true when the document is complete.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError {
                        message: "a workflow file holds one YAML document; remove the second `---`"
                            .into(),
                        span,
                    });
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let node = Node {
                    span,
                    value: NodeValue::Scalar {
                        text: text.into_owned(),
                        style,
                    },
                };
                self.finish(node, anchor);
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        message: "alias refers to an unknown anchor".into(),
                        span,
                    });
                };
                let mut node = target.clone();
                node.span = span;
                self.finish(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(span, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(span, anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Open::Seq(start, anchor, items)) => (
                        Node {
                            span: Span {
                                start: start.start,
                                end: span.end,
                            },
                            value: NodeValue::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Open::Map(start, anchor, entries, _)) => (
                        Node {
                            span: Span {
                                start: start.start,
                                end: span.end,
                            },
                            value: NodeValue::Map(entries),
                        },
                        anchor,
                    ),
                    None => return Ok(false),
                };
                self.finish(node.0, node.1);
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::StreamEnd => return Ok(true),
            Event::StreamStart | Event::Nothing => {}
        }
        Ok(false)
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let duplicate = key.as_scalar().and_then(|k| {
                        entries
                            .iter()
                            .find(|(other, _)| other.as_scalar() == Some(k))
                            .map(|(other, _)| other.span.start.line)
                    });
                    match duplicate {
                        Some(first) => self.problems.push(YamlError {
                            message: format!(
                                "duplicate key `{}` (first written on line {first}); remove one of them",
                                key.as_scalar().unwrap_or_default()
                            ),
                            span: key.span,
                        }),
                        None => entries.push((key, node)),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_styles() {
        let (root, problems) = parse("on: push\njobs:\n  a:\n    run: |\n      echo hi\n").unwrap();
        assert!(problems.is_empty());
        let on = root.get("on").unwrap();
        assert_eq!(on.as_scalar(), Some("push"));
        assert_eq!(on.span.start, Pos { line: 1, column: 5 });
        let run = root
            .get("jobs")
            .unwrap()
            .get("a")
            .unwrap()
            .get("run")
            .unwrap();
        assert_eq!(run.style(), Some(Style::Literal));
        let src = SourceFile::new("x", "on: push\njobs:\n  a:\n    run: |\n      echo hi\n");
        assert_eq!(
            run.pos_of(5, &src),
            Pos {
                line: 5,
                column: 12
            }
        );
        let text = "run: |\n\n  a\n    b ${{ x }}\n";
        let (root, _) = parse(text).unwrap();
        let run = root.get("run").unwrap();
        let at = run.as_scalar().unwrap().find("${{").unwrap();
        assert_eq!(
            run.pos_of(at, &SourceFile::new("x", text)),
            Pos { line: 4, column: 7 }
        );
    }

    #[test]
    fn reports_duplicate_keys_and_goes_on() {
        let (root, problems) = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].span.start, Pos { line: 3, column: 1 });
        assert_eq!(root.get("a").unwrap().as_scalar(), Some("1"));
    }

    #[test]
    fn resolves_aliases() {
        let (root, _) = parse("x: &v [1, 2]\ny: *v\n").unwrap();
        assert_eq!(root.get("y").unwrap().as_seq().unwrap().len(), 2);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.start.line >= 1);
    }
}
