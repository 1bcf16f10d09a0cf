//! `Data` (YAML values that may hold expressions) into values.

use serde_json::{json, Value as Json};
use slipway_expr::{Contexts, Partial, Value};

use crate::workflow::Data;

/// As written, with expressions left as their text.
pub fn to_json_literal(d: &Data) -> Json {
    match d {
        Data::Null => Json::Null,
        Data::Bool(b) => json!(b),
        Data::Number(n) => json!(n),
        Data::Str(t) => json!(t.raw),
        Data::Seq(items) => Json::Array(items.iter().map(to_json_literal).collect()),
        Data::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json_literal(v)))
                .collect(),
        ),
    }
}

/// Evaluate every expression inside; Unknown when any depends on what is
/// known only at run time.
pub fn eval_partial(d: &Data, ctx: &dyn Contexts) -> Result<Partial, slipway_expr::Error> {
    Ok(match d {
        Data::Null => Partial::Known(Value::Null),
        Data::Bool(b) => Partial::Known(Value::Bool(*b)),
        Data::Number(n) => Partial::Known(Value::Number(*n)),
        Data::Str(t) => t.template.eval_partial(ctx)?,
        Data::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                match eval_partial(item, ctx)? {
                    Partial::Known(v) => out.push(v),
                    unknown => return Ok(unknown),
                }
            }
            Partial::Known(Value::Array(out))
        }
        Data::Map(entries) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                match eval_partial(v, ctx)? {
                    Partial::Known(v) => out.push((k.clone(), v)),
                    unknown => return Ok(unknown),
                }
            }
            Partial::Known(Value::Object(out))
        }
    })
}
