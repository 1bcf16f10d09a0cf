//! Intermediate values of an evaluation, how accesses select from them,
//! and the memory they hold.
//!
//! Values read from contexts and literals are borrowed, not copied, so that
//! an array or object keeps its identity (`a == a` is true for the same
//! context object, false for two equal-looking ones, as on GitHub). Values
//! a function builds are owned. A `.*` filter gives a filtered array, to
//! which further accesses apply element by element.

use std::borrow::Cow;

use crate::compare::{eq_ignore_case, Operand};
use crate::error::{at, Error};
use crate::value::Value;

/// Evaluation refuses to hold more than this many bytes of results at
/// once, counted as GitHub counts them (a string 26 + 2 per character,
/// anything else 24). GitHub fails the same expressions.
pub const MAX_MEMORY_BYTES: usize = 1 << 20;

pub(crate) const STRING_OVERHEAD: usize = 26;
const MIN_OBJECT_SIZE: usize = 24;

/// An intermediate value.
#[derive(Debug)]
pub(crate) enum Data<'a> {
    /// Read from a context or a literal.
    Ref(&'a Value),
    /// Built during evaluation.
    Own(Value),
    /// The result of a `.*` filter. Items are never `Filtered` themselves.
    Filtered(Vec<Data<'a>>),
}

impl<'a> Data<'a> {
    pub(crate) fn null() -> Self {
        Data::Own(Value::Null)
    }

    pub(crate) fn value(&self) -> Option<&Value> {
        match self {
            Data::Ref(v) => Some(v),
            Data::Own(v) => Some(v),
            Data::Filtered(_) => None,
        }
    }

    pub(crate) fn operand(&self) -> Operand<'_> {
        match self {
            Data::Ref(v) => Operand::of(v),
            Data::Own(v) => Operand::of(v),
            Data::Filtered(items) => Operand::Array(items as *const Vec<Data<'a>> as usize),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.value().map_or("Array", Value::kind)
    }

    pub(crate) fn is_truthy(&self) -> bool {
        self.value().is_none_or(Value::is_truthy)
    }

    pub(crate) fn is_primitive(&self) -> bool {
        self.value().is_some_and(Value::is_primitive)
    }

    pub(crate) fn to_display_string(&self) -> String {
        self.display().into_owned()
    }

    /// As a string, borrowed when it is one.
    pub(crate) fn display(&self) -> Cow<'_, str> {
        match self.value() {
            Some(Value::String(s)) => Cow::Borrowed(s),
            Some(v) => Cow::Owned(v.to_display_string()),
            None => Cow::Borrowed("Array"),
        }
    }

    pub(crate) fn to_number(&self) -> f64 {
        self.value().map_or(f64::NAN, Value::to_number)
    }

    /// The items of an array or a filtered array.
    pub(crate) fn items(&self) -> Option<Vec<&Value>> {
        match self {
            Data::Ref(Value::Array(items)) | Data::Own(Value::Array(items)) => {
                Some(items.iter().collect())
            }
            Data::Filtered(items) => Some(items.iter().filter_map(Data::value).collect()),
            _ => None,
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Data::Ref(v) => v.clone(),
            Data::Own(v) => v,
            Data::Filtered(items) => {
                Value::Array(items.into_iter().map(Data::into_value).collect())
            }
        }
    }

    /// Memory held, as GitHub counts it; what is borrowed counts as one
    /// object.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Data::Ref(_) => MIN_OBJECT_SIZE,
            Data::Own(v) => value_bytes(v, MAX_MEMORY_BYTES + 1),
            Data::Filtered(items) => items.iter().fold(MIN_OBJECT_SIZE, |acc, i| {
                acc.saturating_add(i.bytes()).min(MAX_MEMORY_BYTES + 1)
            }),
        }
    }
}

pub(crate) fn string_bytes(len: usize) -> usize {
    STRING_OVERHEAD.saturating_add(len.saturating_mul(2))
}

/// The size of a value, counting no further than `cap`.
fn value_bytes(v: &Value, cap: usize) -> usize {
    match v {
        Value::String(s) => string_bytes(s.len()),
        Value::Array(items) => {
            let mut total = MIN_OBJECT_SIZE;
            for i in items {
                total = total.saturating_add(value_bytes(i, cap));
                if total > cap {
                    break;
                }
            }
            total
        }
        Value::Object(entries) => {
            let mut total = MIN_OBJECT_SIZE;
            for (k, i) in entries {
                total = total
                    .saturating_add(string_bytes(k.len()))
                    .saturating_add(value_bytes(i, cap));
                if total > cap {
                    break;
                }
            }
            total
        }
        _ => MIN_OBJECT_SIZE,
    }
}

pub(crate) fn memory_error(offset: usize) -> Error {
    Error::evaluation(
        offset,
        format!(
            "the maximum allowed memory size of {MAX_MEMORY_BYTES} bytes was exceeded {}",
            at(offset)
        ),
    )
}

/// A string being built may not outgrow the memory limit on its own.
pub(crate) fn check_growth(len: usize, offset: usize) -> Result<(), Error> {
    if string_bytes(len) > MAX_MEMORY_BYTES {
        Err(memory_error(offset))
    } else {
        Ok(())
    }
}

/// How an index selects.
pub(crate) enum Key {
    Star,
    Lookup {
        name: Option<String>,
        position: Option<usize>,
    },
}

impl Key {
    /// GitHub's coercion of an index value: primitives also as their
    /// string (for objects), anything with a finite non-negative number
    /// as a position (for arrays).
    pub(crate) fn of(d: &Data<'_>) -> Key {
        let name = d.is_primitive().then(|| d.to_display_string());
        let n = d.to_number();
        let position = (n.is_finite() && n >= 0.0).then(|| n.floor() as usize);
        Key::Lookup { name, position }
    }
}

/// `object[key]`, `object.name`, `object.*`: a missing element is null,
/// never an error.
pub(crate) fn select<'a>(obj: Data<'a>, key: &Key) -> Data<'a> {
    match obj {
        Data::Filtered(items) => Data::Filtered(
            items
                .into_iter()
                .flat_map(|item| select_each(item, key))
                .collect(),
        ),
        Data::Ref(v) => match (v, key) {
            (Value::Array(items), Key::Star) => {
                Data::Filtered(items.iter().map(Data::Ref).collect())
            }
            (Value::Object(entries), Key::Star) => {
                Data::Filtered(entries.iter().map(|(_, v)| Data::Ref(v)).collect())
            }
            (_, Key::Star) => Data::Filtered(Vec::new()),
            (
                Value::Array(items),
                Key::Lookup {
                    position: Some(i), ..
                },
            ) => items.get(*i).map_or_else(Data::null, Data::Ref),
            (
                Value::Object(_),
                Key::Lookup {
                    name: Some(name), ..
                },
            ) => v.get(name).map_or_else(Data::null, Data::Ref),
            _ => Data::null(),
        },
        Data::Own(v) => match (v, key) {
            (Value::Array(items), Key::Star) => {
                Data::Filtered(items.into_iter().map(Data::Own).collect())
            }
            (Value::Object(entries), Key::Star) => {
                Data::Filtered(entries.into_iter().map(|(_, v)| Data::Own(v)).collect())
            }
            (_, Key::Star) => Data::Filtered(Vec::new()),
            (
                Value::Array(items),
                Key::Lookup {
                    position: Some(i), ..
                },
            ) => items.into_iter().nth(*i).map_or_else(Data::null, Data::Own),
            (
                Value::Object(entries),
                Key::Lookup {
                    name: Some(name), ..
                },
            ) => entries
                .into_iter()
                .find(|(k, _)| eq_ignore_case(k, name))
                .map_or_else(Data::null, |(_, v)| Data::Own(v)),
            _ => Data::null(),
        },
    }
}

/// An access applied to one item of a filtered array: what it finds, if
/// anything (missing elements are left out, not null).
pub(crate) fn select_each<'a>(item: Data<'a>, key: &Key) -> Vec<Data<'a>> {
    let found = match (item.value(), key) {
        (Some(Value::Array(_) | Value::Object(_)), Key::Star) => true,
        (
            Some(Value::Array(items)),
            Key::Lookup {
                position: Some(i), ..
            },
        ) => *i < items.len(),
        (
            Some(v @ Value::Object(_)),
            Key::Lookup {
                name: Some(name), ..
            },
        ) => v.get(name).is_some(),
        _ => false,
    };
    if !found {
        return Vec::new();
    }
    match select(item, key) {
        Data::Filtered(items) => items,
        one => vec![one],
    }
}
