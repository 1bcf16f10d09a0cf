//! Evaluating what a workflow wrote, fully or partly, against contexts.

use slipway_expr::{Contexts, Error, Partial, Segment, Template, Value};

/// A template's value, or Unknown when any expression in it is.
pub fn template_partial(template: &Template, ctx: &dyn Contexts) -> Result<Partial, Error> {
    if let Some(expr) = template.whole_expression() {
        return expr.eval_partial(ctx);
    }
    let mut out = String::new();
    let mut depends_on: Vec<String> = Vec::new();
    for segment in &template.segments {
        match segment {
            Segment::Literal(s) => out.push_str(s),
            Segment::Expr { expr, .. } => match expr.eval_partial(ctx)? {
                Partial::Known(v) => out.push_str(&v.to_display_string()),
                Partial::Unknown { depends_on: d } => depends_on.extend(d),
            },
        }
    }
    if depends_on.is_empty() {
        Ok(Partial::Known(Value::String(out)))
    } else {
        Ok(Partial::Unknown { depends_on })
    }
}
