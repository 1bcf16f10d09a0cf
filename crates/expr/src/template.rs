//! Strings with embedded `${{ }}` expressions, as workflow values are
//! written.

use crate::ast::Expr;
use crate::contexts::{Contexts, Partial};
use crate::error::{at, Error};
use crate::parser::parse;
use crate::value::Value;

/// A string split into literal text and expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Literal(String),
    Expr {
        expr: Expr,
        /// The text between `${{` and `}}`, as written.
        source: String,
        /// Character offset of `source` in the whole string (just after
        /// `${{`); offsets inside `expr` are relative to it.
        offset: usize,
    },
}

/// Splits `s` at its `${{ ... }}` expressions and parses each. An
/// expression ends at the first `}}` outside a string literal, so
/// `${{ format('{{0}}}}', x) }}` is one expression. Errors carry offsets
/// into `s`.
pub fn parse_template(s: &str) -> Result<Template, Error> {
    let chars: Vec<char> = s.chars().collect();
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !starts_with(&chars, i, "${{") {
            literal.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i + 3;
        let Some(end) = expression_end(&chars, start) else {
            return Err(Error::parsing(
                i,
                format!("`${{{{` {} is never closed with `}}}}`", at(i)),
            ));
        };
        if !literal.is_empty() {
            segments.push(Segment::Literal(std::mem::take(&mut literal)));
        }
        let source: String = chars[start..end].iter().collect();
        let expr = parse(&source).map_err(|e| e.shifted(start))?;
        segments.push(Segment::Expr {
            expr,
            source,
            offset: start,
        });
        i = end + 2;
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(Template { segments })
}

fn starts_with(chars: &[char], at: usize, pattern: &str) -> bool {
    let mut rest = chars.get(at..).unwrap_or_default().iter();
    pattern.chars().all(|p| rest.next() == Some(&p))
}

/// The index of the `}}` that closes an expression starting at `from`.
fn expression_end(chars: &[char], from: usize) -> Option<usize> {
    let mut in_string = false;
    let mut i = from;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    i += 2;
                    continue;
                }
                in_string = false;
            }
        } else if c == '\'' {
            in_string = true;
        } else if c == '}' && chars.get(i + 1) == Some(&'}') {
            return Some(i);
        }
        i += 1;
    }
    None
}

impl Template {
    /// The expression when the whole string is one `${{ expr }}` (blanks
    /// around it allowed): the value is then the expression's value, of any
    /// kind, not a string.
    pub fn whole_expression(&self) -> Option<&Expr> {
        let mut found = None;
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) if text.trim().is_empty() => {}
                Segment::Literal(_) => return None,
                Segment::Expr { expr, .. } => {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(expr);
                }
            }
        }
        found
    }

    pub fn has_expressions(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Expr { .. }))
    }

    /// A whole expression's value; otherwise the text with each expression
    /// replaced by its value as a string (see [`Value::to_display_string`]).
    pub fn eval(&self, ctx: &dyn Contexts) -> Result<Value, Error> {
        if let Some(expr) = self.whole_expression() {
            return expr.eval(ctx);
        }
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Expr { expr, offset, .. } => {
                    let value = expr.eval(ctx).map_err(|e| e.shifted(*offset))?;
                    out.push_str(&value.to_display_string());
                }
            }
        }
        Ok(Value::String(out))
    }

    /// As [`Template::eval`], three-valued (see [`Expr::eval_partial`]):
    /// unknown when any expression is.
    pub fn eval_partial(&self, ctx: &dyn Contexts) -> Result<Partial, Error> {
        if let Some(expr) = self.whole_expression() {
            return expr.eval_partial(ctx);
        }
        let mut out = String::new();
        let mut depends_on: Vec<String> = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Expr { expr, offset, .. } => {
                    match expr.eval_partial(ctx).map_err(|e| e.shifted(*offset))? {
                        Partial::Known(v) => out.push_str(&v.to_display_string()),
                        Partial::Unknown { depends_on: d } => {
                            for x in d {
                                if !depends_on.contains(&x) {
                                    depends_on.push(x);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(if depends_on.is_empty() {
            Partial::Known(Value::String(out))
        } else {
            Partial::Unknown { depends_on }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::MapContexts;
    use serde_json::json;

    fn ctx() -> MapContexts {
        MapContexts::from_json(&json!({"github": {"sha": "abc", "labels": ["x"]}, "n": 3})).unwrap()
    }

    #[test]
    fn segments_and_offsets() {
        let t = parse_template("a ${{ github.sha }}-${{n}}").unwrap();
        assert_eq!(t.segments.len(), 4);
        assert_eq!(t.segments[0], Segment::Literal("a ".into()));
        let Segment::Expr {
            source,
            offset,
            expr,
        } = &t.segments[1]
        else {
            panic!()
        };
        assert_eq!((source.as_str(), *offset), (" github.sha ", 5));
        assert_eq!(expr.references()[0].offset, 1);
        assert_eq!(t.segments[2], Segment::Literal("-".into()));
        assert!(matches!(&t.segments[3], Segment::Expr { offset: 23, .. }));
        assert!(t.has_expressions());
        assert!(t.whole_expression().is_none());
        assert_eq!(t.eval(&ctx()).unwrap(), Value::from("a abc-3"));
    }

    #[test]
    fn closing_braces_inside_strings_do_not_end_the_expression() {
        let t = parse_template("${{ format('}}{0}{{', '}}') }}").unwrap();
        assert_eq!(t.segments.len(), 1);
        assert_eq!(t.eval(&ctx()).unwrap(), Value::from("}}}{"));
        let t = parse_template("${{ 'it''s }}' }}").unwrap();
        assert_eq!(t.eval(&ctx()).unwrap(), Value::from("it's }}"));
    }

    #[test]
    fn a_whole_expression_keeps_its_kind() {
        let t = parse_template("  ${{ github.labels }}\n").unwrap();
        assert!(t.whole_expression().is_some());
        assert_eq!(
            t.eval(&ctx()).unwrap(),
            Value::Array(vec![Value::from("x")])
        );
        let t = parse_template("labels: ${{ github.labels }}").unwrap();
        assert_eq!(t.eval(&ctx()).unwrap(), Value::from("labels: Array"));
        let t = parse_template("no expressions").unwrap();
        assert!(!t.has_expressions());
        assert_eq!(t.eval(&ctx()).unwrap(), Value::from("no expressions"));
        assert_eq!(
            parse_template("").unwrap().eval(&ctx()).unwrap(),
            Value::from("")
        );
    }

    #[test]
    fn errors_point_into_the_whole_string() {
        let e = parse_template("echo ${{ github.sha ) }}").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Parsing, 20));
        assert_eq!(e.message, "unexpected symbol `)` at position 21");
        let e = parse_template("a ${{ 'open }}").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("never closed"), "{}", e.message);
        let e = parse_template("x ${{ fromJSON('') }}")
            .unwrap()
            .eval(&ctx())
            .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Evaluation, 6));
    }

    #[test]
    fn partial_templates() {
        struct Later;
        impl Contexts for Later {
            fn context(&self, name: &str) -> crate::Lookup {
                if name == "needs" {
                    crate::Lookup::Unknown
                } else {
                    crate::Lookup::Known(Value::from_json(&json!({"A": "v", "B": "v"})))
                }
            }
            fn status(&self, _: crate::StatusFunction) -> crate::Lookup<bool> {
                crate::Lookup::Known(true)
            }
        }
        let t = parse_template("${{ env.A }}-${{ needs.a.outputs.x }}").unwrap();
        assert_eq!(
            t.eval_partial(&Later).unwrap(),
            Partial::Unknown {
                depends_on: vec!["needs.a.outputs.x".into()]
            }
        );
        let t = parse_template("${{ env.A }}-${{ env.B }}").unwrap();
        assert_eq!(
            t.eval_partial(&Later).unwrap(),
            Partial::Known(Value::from("v-v"))
        );
    }
}
