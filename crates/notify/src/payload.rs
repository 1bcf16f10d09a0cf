//! Message bodies: checking that a payload is JSON (with the line and
//! column where it is not), and flattening one for Slack's workflow
//! triggers, which take only top-level string values.

use serde_json::{Map, Value};

/// Why a payload is not JSON, and where (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct PayloadError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse a payload, keeping the order of keys as written.
pub fn parse(text: &str) -> Result<Value, PayloadError> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // serde_json ends its message with " at line L column C".
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        PayloadError {
            line: e.line(),
            // serde_json counts a position at the start of a line as column 0.
            column: e.column().max(1),
            message,
        }
    })
}

/// Nested keys joined by `delimiter` (`a.b`, `list.0`), every value made a
/// string: what the upstream action sends to a workflow trigger.
pub fn flatten(value: &Value, delimiter: &str) -> Value {
    fn walk(prefix: Option<&str>, value: &Value, delimiter: &str, out: &mut Map<String, Value>) {
        let key = |k: &str| match prefix {
            Some(p) => format!("{p}{delimiter}{k}"),
            None => k.to_string(),
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    walk(Some(&key(k)), v, delimiter, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    walk(Some(&key(&i.to_string())), v, delimiter, out);
                }
            }
            other => {
                let text = match other {
                    Value::String(s) => s.clone(),
                    Value::Null => "null".into(),
                    // `${{}}` of an empty object or array in JavaScript.
                    Value::Object(_) => "[object Object]".into(),
                    Value::Array(_) => String::new(),
                    v => v.to_string(),
                };
                out.insert(prefix.unwrap_or_default().to_string(), Value::String(text));
            }
        }
    }
    let mut out = Map::new();
    match value {
        Value::Object(_) | Value::Array(_) => walk(None, value, delimiter, &mut out),
        other => walk(Some(""), other, delimiter, &mut out),
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_where() {
        let err = parse("{\n  \"text\": \"hi\",\n  \"blocks\": [\n}").unwrap_err();
        assert_eq!((err.line, err.column), (4, 1));
        assert_eq!(err.to_string(), "4:1: expected value");
    }

    #[test]
    fn keeps_key_order() {
        let v = parse(r#"{"z": 1, "a": 2}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"z":1,"a":2}"#);
    }

    #[test]
    fn flattens_like_the_flat_package() {
        let v = parse(r#"{"text": "hi", "n": 3, "ok": true, "deep": {"a": {"b": null}}, "list": ["x", {"y": 1}]}"#)
            .unwrap();
        assert_eq!(
            flatten(&v, ".").to_string(),
            r#"{"text":"hi","n":"3","ok":"true","deep.a.b":"null","list.0":"x","list.1.y":"1"}"#
        );
        assert_eq!(
            flatten(&parse(r#"{"a": {"b": 1}}"#).unwrap(), "_").to_string(),
            r#"{"a_b":"1"}"#
        );
    }
}
