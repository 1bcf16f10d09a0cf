//! The built-in functions that compute from their arguments' values (the
//! status functions, `case` and `hashFiles` need the evaluator and live
//! there).

use crate::ast::Node;
use crate::compare::{contains_ignore_case, equals, Operand};
use crate::data::{check_growth, memory_error, Data, MAX_MEMORY_BYTES, STRING_OVERHEAD};
use crate::error::{at, Error};
use crate::format::{scan, FormatError, Piece};
use crate::json::{write_json, write_json_items};
use crate::number::js_trim;
use crate::value::Value;

pub(crate) fn contains(search: &Data<'_>, item: &Data<'_>) -> bool {
    if search.is_primitive() {
        return item.is_primitive() && contains_ignore_case(&search.display(), &item.display());
    }
    match search.items() {
        Some(items) => items
            .into_iter()
            .any(|v| equals(item.operand(), Operand::of(v))),
        None => false,
    }
}

/// `startsWith` and `endsWith`: both primitives, compared ignoring case.
pub(crate) fn affix(s: &Data<'_>, part: &Data<'_>, test: fn(&str, &str) -> bool) -> bool {
    s.is_primitive() && part.is_primitive() && test(&s.display(), &part.display())
}

pub(crate) fn format(values: &[Data<'_>], args: &[Node], offset: usize) -> Result<String, Error> {
    let fmt = values[0].display();
    let fmt_offset = args.first().map_or(offset, Node::offset);
    let mut cache: Vec<Option<String>> = vec![None; values.len() - 1];
    let mut out = String::new();
    let scanned = scan(&fmt, |piece| {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Arg(n) => {
                let Some(slot) = cache.get_mut(n) else {
                    return Err(Error::evaluation(
                        fmt_offset,
                        format!(
                            "format string '{fmt}' {} references {{{n}}} but only {} argument(s) follow it",
                            at(fmt_offset),
                            values.len() - 1
                        ),
                    ));
                };
                out.push_str(slot.get_or_insert_with(|| values[n + 1].to_display_string()));
            }
        }
        check_growth(out.len(), offset)
    })?;
    match scanned {
        Ok(()) => Ok(out),
        Err(FormatError::Invalid) => Err(Error::evaluation(
            fmt_offset,
            format!("invalid format string '{fmt}' {}", at(fmt_offset)),
        )),
        Err(FormatError::Specifiers(spec)) => Err(Error::evaluation(
            fmt_offset,
            format!(
                "format specifiers (':{spec}') are not supported, in format string '{fmt}' {}",
                at(fmt_offset)
            ),
        )),
    }
}

pub(crate) fn join(values: &[Data<'_>], offset: usize) -> Result<String, Error> {
    let target = &values[0];
    if target.is_primitive() {
        return Ok(target.to_display_string());
    }
    let Some(items) = target.items() else {
        return Ok(String::new());
    };
    let separator = match values.get(1) {
        Some(sep) if sep.is_primitive() => sep.to_display_string(),
        _ => ",".to_string(),
    };
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(&separator);
        }
        out.push_str(&Data::Ref(item).display());
        check_growth(out.len(), offset)?;
    }
    Ok(out)
}

pub(crate) fn to_json(d: &Data<'_>, offset: usize) -> Result<String, Error> {
    let limit = (MAX_MEMORY_BYTES - STRING_OVERHEAD) / 2;
    let mut out = String::new();
    let written = match d.value() {
        Some(v) => write_json(&mut out, v, limit),
        None => write_json_items(&mut out, &d.items().unwrap_or_default(), limit),
    };
    match written {
        Ok(()) => Ok(out),
        Err(_) => Err(memory_error(offset)),
    }
}

pub(crate) fn from_json(d: &Data<'_>, offset: usize) -> Result<Value, Error> {
    let text = d.display();
    if js_trim(&text).is_empty() {
        return Err(Error::evaluation(
            offset,
            format!("fromJSON {}: empty input", at(offset)),
        ));
    }
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(e) => Err(Error::evaluation(
            offset,
            format!("fromJSON {}: invalid JSON: {e}", at(offset)),
        )),
    }
}
