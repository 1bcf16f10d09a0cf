//! GitHub's loose equality and ordering: JavaScript's abstract comparison,
//! except that strings compare ignoring case and arrays and objects are
//! never converted to primitives (they are equal only to themselves).

use std::cmp::Ordering;

use crate::number::parse_number;
use crate::value::Value;

/// One side of a comparison. Arrays and objects carry their identity (an
/// address), so that only the very same array equals itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operand<'x> {
    Null,
    Bool(bool),
    Number(f64),
    String(&'x str),
    Array(usize),
    Object(usize),
}

impl<'x> Operand<'x> {
    pub(crate) fn of(v: &'x Value) -> Self {
        match v {
            Value::Null => Operand::Null,
            Value::Bool(b) => Operand::Bool(*b),
            Value::Number(n) => Operand::Number(*n),
            Value::String(s) => Operand::String(s),
            Value::Array(_) => Operand::Array(v as *const Value as usize),
            Value::Object(_) => Operand::Object(v as *const Value as usize),
        }
    }

    fn to_number(self) -> f64 {
        match self {
            Operand::Null => 0.0,
            Operand::Bool(b) => f64::from(u8::from(b)),
            Operand::Number(n) => n,
            Operand::String(s) => parse_number(s),
            Operand::Array(_) | Operand::Object(_) => f64::NAN,
        }
    }

    fn same_kind(self, other: Operand<'x>) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// Brings both sides to one kind where GitHub does: number and string ->
/// numbers; null or boolean against anything -> number.
fn coerce<'x>(l: Operand<'x>, r: Operand<'x>) -> (Operand<'x>, Operand<'x>) {
    if l.same_kind(r) {
        return (l, r);
    }
    match (l, r) {
        (Operand::Number(_), Operand::String(_)) => return (l, Operand::Number(r.to_number())),
        (Operand::String(_), Operand::Number(_)) => return (Operand::Number(l.to_number()), r),
        (Operand::Null | Operand::Bool(_), _) => return coerce(Operand::Number(l.to_number()), r),
        _ => {}
    }
    match r {
        Operand::Null | Operand::Bool(_) => coerce(l, Operand::Number(r.to_number())),
        _ => (l, r),
    }
}

pub(crate) fn equals(l: Operand<'_>, r: Operand<'_>) -> bool {
    match coerce(l, r) {
        (Operand::Null, Operand::Null) => true,
        (Operand::Bool(a), Operand::Bool(b)) => a == b,
        (Operand::Number(a), Operand::Number(b)) => a == b,
        (Operand::String(a), Operand::String(b)) => eq_ignore_case(a, b),
        (Operand::Array(a), Operand::Array(b)) | (Operand::Object(a), Operand::Object(b)) => a == b,
        _ => false,
    }
}

/// `l > r` as GitHub has it; false whenever the sides cannot be ordered.
pub(crate) fn greater_than(l: Operand<'_>, r: Operand<'_>) -> bool {
    order(l, r) == Some(Ordering::Greater)
}

pub(crate) fn less_than(l: Operand<'_>, r: Operand<'_>) -> bool {
    order(l, r) == Some(Ordering::Less)
}

fn order(l: Operand<'_>, r: Operand<'_>) -> Option<Ordering> {
    match coerce(l, r) {
        (Operand::Number(a), Operand::Number(b)) => a.partial_cmp(&b),
        (Operand::String(a), Operand::String(b)) => Some(compare_strings(a, b)),
        (Operand::Bool(a), Operand::Bool(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

/// Case-insensitive ordering, by UTF-16 code units as JavaScript orders
/// strings.
pub(crate) fn compare_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase()));
    }
    fold_case(a).encode_utf16().cmp(fold_case(b).encode_utf16())
}

/// Upper case, except that the dotless `ı` stays as it is (GitHub keeps
/// `ı` and `I` apart, and `i` and `İ`).
pub(crate) fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == 'ı' {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
    }
    out
}

/// Equal ignoring case (strings, object keys, context names).
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b || fold_case(a) == fold_case(b)
    }
}

/// `contains` of strings, ignoring case.
pub(crate) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let n = needle.len();
        return n == 0
            || haystack
                .as_bytes()
                .windows(n)
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    }
    fold_case(haystack).contains(&fold_case(needle))
}

pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    if s.is_ascii() && prefix.is_ascii() {
        return s.len() >= prefix.len()
            && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
    }
    fold_case(s).starts_with(&fold_case(prefix))
}

pub(crate) fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    if s.is_ascii() && suffix.is_ascii() {
        return s.len() >= suffix.len()
            && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes());
    }
    fold_case(s).ends_with(&fold_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Operand<'_> {
        Operand::String(x)
    }

    #[test]
    fn loose_equality() {
        assert!(equals(Operand::Null, Operand::Number(0.0)));
        assert!(equals(Operand::Bool(true), s(" 1.0 ")));
        assert!(equals(s(""), Operand::Null));
        assert!(equals(s("0"), Operand::Null));
        assert!(!equals(s("null"), Operand::Null));
        assert!(!equals(
            Operand::Number(f64::NAN),
            Operand::Number(f64::NAN)
        ));
        assert!(!equals(Operand::Bool(false), Operand::Object(1)));
        assert!(equals(Operand::Object(1), Operand::Object(1)));
        assert!(!equals(Operand::Array(1), Operand::Array(2)));
        assert!(equals(s("abc"), s("ABC")));
        assert!(equals(s("ς"), s("Σ")));
        assert!(!equals(s("i"), s("İ")));
        assert!(!equals(s("ı"), s("I")));
    }

    #[test]
    fn affixes_ignore_case() {
        assert!(contains_ignore_case("abCdEf", "cDe"));
        assert!(contains_ignore_case("abc", ""));
        assert!(!contains_ignore_case("ab", "abc"));
        assert!(contains_ignore_case("ÜBER", "über"));
        assert!(starts_with_ignore_case("Refs/Heads/x", "refs/heads/"));
        assert!(!starts_with_ignore_case("re", "refs"));
        assert!(starts_with_ignore_case("ς_asdf", "Σ"));
        assert!(ends_with_ignore_case("asdf_ABC", "abc"));
        assert!(!ends_with_ignore_case("asdf_i", "İ"));
    }

    #[test]
    fn ordering() {
        assert!(less_than(s("a"), s("[")));
        assert!(less_than(s("I"), s("ı")));
        assert!(greater_than(Operand::Bool(true), Operand::Bool(false)));
        assert!(greater_than(Operand::Number(1.0), Operand::Null));
        assert!(!greater_than(
            Operand::Number(f64::NAN),
            Operand::Bool(false)
        ));
        assert!(!less_than(Operand::Array(1), Operand::Array(1)));
        assert!(greater_than(s("1"), Operand::Null));
        assert!(less_than(Operand::Null, s(" 1 ")));
    }
}
