//! `toJSON()`: JSON as JavaScript's `JSON.stringify(value, null, 2)` writes
//! it, which is what GitHub shows.

use std::fmt::Write;

use crate::number::js_number_to_string;
use crate::value::Value;

/// The output would pass the length limit.
#[derive(Debug)]
pub(crate) struct TooLong;

/// Writes `v` pretty-printed with two-space indentation; stops once `out`
/// is longer than `limit` bytes.
pub(crate) fn write_json(out: &mut String, v: &Value, limit: usize) -> Result<(), TooLong> {
    value(out, v, 0, limit)
}

/// Writes an array of these items.
pub(crate) fn write_json_items(
    out: &mut String,
    items: &[&Value],
    limit: usize,
) -> Result<(), TooLong> {
    array(out, items.iter().copied(), items.len(), 0, limit)
}

fn value(out: &mut String, v: &Value, indent: usize, limit: usize) -> Result<(), TooLong> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // JSON has no NaN or infinities; JavaScript writes null.
        Value::Number(n) if !n.is_finite() => out.push_str("null"),
        Value::Number(n) => out.push_str(&js_number_to_string(*n)),
        Value::String(s) => string(out, s),
        Value::Array(items) => return array(out, items.iter(), items.len(), indent, limit),
        Value::Object(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent + 1);
                string(out, k);
                out.push_str(": ");
                value(out, v, indent + 1, limit)?;
            }
            newline(out, indent);
            out.push('}');
        }
    }
    if out.len() > limit {
        Err(TooLong)
    } else {
        Ok(())
    }
}

fn array<'v>(
    out: &mut String,
    items: impl Iterator<Item = &'v Value>,
    len: usize,
    indent: usize,
    limit: usize,
) -> Result<(), TooLong> {
    if len == 0 {
        out.push_str("[]");
        return Ok(());
    }
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, indent + 1);
        value(out, item, indent + 1, limit)?;
    }
    newline(out, indent);
    out.push(']');
    if out.len() > limit {
        Err(TooLong)
    } else {
        Ok(())
    }
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pretty(j: serde_json::Value) -> String {
        let mut out = String::new();
        write_json(&mut out, &Value::from_json(&j), usize::MAX).unwrap();
        out
    }

    #[test]
    fn like_json_stringify_with_two_spaces() {
        assert_eq!(pretty(json!([])), "[]");
        assert_eq!(pretty(json!({})), "{}");
        assert_eq!(pretty(json!([1, [], {}])), "[\n  1,\n  [],\n  {}\n]");
        assert_eq!(
            pretty(json!({"a": {"b": null}})),
            "{\n  \"a\": {\n    \"b\": null\n  }\n}"
        );
        assert_eq!(
            pretty(json!("tab\there \"q\" \\ \u{1}")),
            r#""tab\there \"q\" \\ \u0001""#
        );
        assert_eq!(pretty(json!(1234.5)), "1234.5");
        let mut out = String::new();
        write_json(&mut out, &Value::Number(f64::NAN), usize::MAX).unwrap();
        assert_eq!(out, "null");
    }

    #[test]
    fn stops_at_the_limit() {
        let big = Value::Array(vec![Value::from("x".repeat(100)); 100]);
        let mut out = String::new();
        assert!(write_json(&mut out, &big, 1000).is_err());
        assert!(out.len() < 1200);
    }
}
