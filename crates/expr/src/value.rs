//! `Value`: what an expression computes and what contexts hold.

use serde_json::Value as Json;

use crate::compare::eq_ignore_case;
use crate::number::format_number;

/// A value of the expression language. Objects keep their keys in order and
/// are looked up case-insensitively (the first matching key wins), as GitHub
/// does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The kind as GitHub names it: `Null`, `Boolean`, `Number`, `String`,
    /// `Array` or `Object`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "Null",
            Value::Bool(_) => "Boolean",
            Value::Number(_) => "Number",
            Value::String(_) => "String",
            Value::Array(_) => "Array",
            Value::Object(_) => "Object",
        }
    }

    /// Null, booleans, numbers and strings; arrays and objects are not.
    pub fn is_primitive(&self) -> bool {
        !matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// `false`, `0`, `-0`, `NaN`, `''` and `null` are falsy; everything else,
    /// empty arrays and objects included, is truthy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => !(*n == 0.0 || n.is_nan()),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// The value as GitHub turns it into a string: what `format('{0}', x)`
    /// gives and what `a ${{ x }} b` puts between `a ` and ` b`. Null is
    /// empty, booleans `true`/`false`, numbers at most 15 significant digits
    /// (`-0` is `0`), and arrays and objects are the words `Array` and
    /// `Object` (use `toJSON(x)` for their contents), as on GitHub.
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(*n),
            Value::String(s) => s.clone(),
            Value::Array(_) => "Array".to_string(),
            Value::Object(_) => "Object".to_string(),
        }
    }

    /// The value as a number, as comparisons coerce it: null 0, booleans
    /// 0/1, strings parsed like JavaScript's `Number()` (empty 0, invalid
    /// NaN), arrays and objects NaN.
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => crate::number::parse_number(s),
            Value::Array(_) | Value::Object(_) => f64::NAN,
        }
    }

    /// An object's value for `key`, compared case-insensitively; `None` for
    /// a missing key or a value that is not an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries
                .iter()
                .find(|(k, _)| eq_ignore_case(k, key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// As JSON. Integral numbers become JSON integers; JSON has no NaN or
    /// infinities, so those become the strings `"NaN"`, `"Infinity"` and
    /// `"-Infinity"` (the value's `kind()` still says `Number`).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// From JSON; every number becomes an `f64`.
    pub fn from_json(v: &Json) -> Value {
        match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

fn number_to_json(n: f64) -> Json {
    if n.is_nan() {
        return Json::String("NaN".into());
    }
    if n.is_infinite() {
        return Json::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into());
    }
    // Exactly representable integers print without a fraction.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Json::from(n as i64);
    }
    serde_json::Number::from_f64(n)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<&Json> for Value {
    fn from(v: &Json) -> Self {
        Value::from_json(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness() {
        for falsy in [
            Value::Null,
            Value::Bool(false),
            Value::Number(0.0),
            Value::Number(-0.0),
            Value::Number(f64::NAN),
            Value::from(""),
        ] {
            assert!(!falsy.is_truthy(), "{falsy:?}");
        }
        for truthy in [
            Value::from("0"),
            Value::from(" "),
            Value::Array(vec![]),
            Value::Object(vec![]),
            Value::Number(-1.0),
        ] {
            assert!(truthy.is_truthy(), "{truthy:?}");
        }
    }

    #[test]
    fn display_strings_follow_github() {
        assert_eq!(Value::Null.to_display_string(), "");
        assert_eq!(Value::Bool(true).to_display_string(), "true");
        assert_eq!(Value::Number(-0.0).to_display_string(), "0");
        assert_eq!(Value::Number(1.5).to_display_string(), "1.5");
        assert_eq!(Value::Array(vec![Value::Null]).to_display_string(), "Array");
        assert_eq!(Value::Object(vec![]).to_display_string(), "Object");
    }

    #[test]
    fn json_round_trip_keeps_order_and_prints_integers() {
        let j = json!({"b": 1, "a": [true, null, 1.5, "x"], "c": {}});
        let v = Value::from_json(&j);
        assert_eq!(v.to_json(), j);
        assert_eq!(
            v.to_json().to_string(),
            r#"{"b":1,"a":[true,null,1.5,"x"],"c":{}}"#
        );
        assert_eq!(Value::Number(f64::NAN).to_json(), json!("NaN"));
        assert_eq!(
            Value::Number(f64::NEG_INFINITY).to_json(),
            json!("-Infinity")
        );
        assert_eq!(Value::Number(-0.0).to_json(), json!(0));
    }

    #[test]
    fn object_lookup_ignores_case_and_first_key_wins() {
        let v = Value::Object(vec![
            ("Key".into(), Value::from("first")),
            ("KEY".into(), Value::from("second")),
        ]);
        assert_eq!(v.get("key"), Some(&Value::from("first")));
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::Null.get("key"), None);
    }
}
