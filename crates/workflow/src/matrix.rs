//! `strategy.matrix`: its shape as written, and GitHub's expansion of it
//! into job instances (product, then `exclude`, then `include`).

use slipway_expr::Value;

use crate::source::{Span, Spanned};
use crate::workflow::{BoolOr, Data, NumberOr, Text};

/// GitHub refuses a matrix with more combinations than this.
pub const MAX_COMBINATIONS: usize = 256;

#[derive(Debug, Clone)]
pub struct Strategy {
    pub span: Span,
    pub matrix: Option<Matrix>,
    pub fail_fast: Option<BoolOr>,
    pub max_parallel: Option<NumberOr>,
}

#[derive(Debug, Clone)]
pub enum Matrix {
    /// `matrix: ${{ fromJSON(...) }}`: the whole matrix from an expression.
    Expr(Text),
    Map {
        span: Span,
        dimensions: Vec<(Spanned<String>, Dimension)>,
        // Boxed: rarely present, and they would make every `Matrix` large.
        include: Option<Box<Spanned<Data>>>,
        exclude: Option<Box<Spanned<Data>>>,
    },
}

#[derive(Debug, Clone)]
pub enum Dimension {
    Values(Vec<Data>),
    Expr(Text),
}

/// One matrix combination: key -> value, in the order keys were written.
pub type Combination = Vec<(String, Value)>;

#[derive(Debug, Clone, PartialEq)]
pub enum ExpandError {
    Empty,
    TooMany(usize),
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::Empty => write!(f, "the matrix has no combinations left"),
            ExpandError::TooMany(n) => write!(
                f,
                "the matrix has {n} combinations; GitHub allows at most {MAX_COMBINATIONS}"
            ),
        }
    }
}

/// Values compare as GitHub compares them in matrix filters: deep
/// equality, strings without regard to case.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .any(|(k2, v2)| k.eq_ignore_ascii_case(k2) && same(v, v2))
                })
        }
        _ => a == b,
    }
}

fn lookup<'a>(combo: &'a Combination, key: &str) -> Option<&'a Value> {
    combo.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Expand a matrix the way GitHub does:
/// 1. the product of the dimensions, in the order written;
/// 2. drop combinations that match every key of an `exclude` entry;
/// 3. each `include` entry is merged into every original combination whose
///    original values it does not change (values added by earlier includes
///    may be overwritten); an entry that fits none becomes a combination of
///    its own.
pub fn expand(
    dimensions: &[(String, Vec<Value>)],
    include: &[Combination],
    exclude: &[Combination],
) -> Result<Vec<Combination>, ExpandError> {
    let mut combos: Vec<Combination> = if dimensions.is_empty() {
        Vec::new()
    } else {
        let mut acc: Vec<Combination> = vec![Vec::new()];
        for (key, values) in dimensions {
            let mut next = Vec::with_capacity(acc.len() * values.len());
            for combo in &acc {
                for value in values {
                    let mut c = combo.clone();
                    c.push((key.clone(), value.clone()));
                    next.push(c);
                }
            }
            acc = next;
            if acc.len() > MAX_COMBINATIONS * 16 {
                return Err(ExpandError::TooMany(acc.len()));
            }
        }
        acc
    };
    combos.retain(|combo| {
        !exclude.iter().any(|ex| {
            ex.iter()
                .all(|(k, v)| lookup(combo, k).is_some_and(|have| same(have, v)))
        })
    });
    let originals = combos.len();
    let dimension_keys: Vec<&str> = dimensions.iter().map(|(k, _)| k.as_str()).collect();
    let mut extra: Vec<Combination> = Vec::new();
    for entry in include {
        let mut merged = false;
        for combo in combos.iter_mut().take(originals) {
            let fits = entry.iter().all(|(k, v)| {
                !dimension_keys.contains(&k.as_str())
                    || lookup(combo, k).is_none_or(|have| same(have, v))
            });
            if fits {
                for (k, v) in entry {
                    match combo.iter_mut().find(|(ck, _)| ck == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => combo.push((k.clone(), v.clone())),
                    }
                }
                merged = true;
            }
        }
        if !merged {
            extra.push(entry.clone());
        }
    }
    combos.extend(extra);
    if combos.is_empty() {
        return Err(ExpandError::Empty);
    }
    if combos.len() > MAX_COMBINATIONS {
        return Err(ExpandError::TooMany(combos.len()));
    }
    Ok(combos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::String(x.to_string())
    }

    fn combo(pairs: &[(&str, &str)]) -> Combination {
        pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect()
    }

    fn show(combos: &[Combination]) -> Vec<String> {
        combos
            .iter()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={}", v.to_display_string()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn githubs_documented_include_example() {
        let dims = vec![
            ("fruit".to_string(), vec![s("apple"), s("pear")]),
            ("animal".to_string(), vec![s("cat"), s("dog")]),
        ];
        let include = vec![
            combo(&[("color", "green")]),
            combo(&[("color", "pink"), ("animal", "cat")]),
            combo(&[("fruit", "apple"), ("shape", "circle")]),
            combo(&[("fruit", "banana")]),
            combo(&[("fruit", "banana"), ("animal", "cat")]),
        ];
        let out = expand(&dims, &include, &[]).unwrap();
        assert_eq!(
            show(&out),
            vec![
                "fruit=apple,animal=cat,color=pink,shape=circle",
                "fruit=apple,animal=dog,color=green,shape=circle",
                "fruit=pear,animal=cat,color=pink",
                "fruit=pear,animal=dog,color=green",
                "fruit=banana",
                "fruit=banana,animal=cat",
            ]
        );
    }

    #[test]
    fn exclude_matches_partially() {
        let dims = vec![
            ("os".to_string(), vec![s("linux"), s("windows")]),
            ("v".to_string(), vec![s("1"), s("2")]),
        ];
        let out = expand(&dims, &[], &[combo(&[("os", "Windows")])]).unwrap();
        assert_eq!(show(&out), vec!["os=linux,v=1", "os=linux,v=2"]);
    }

    #[test]
    fn include_only_and_empty() {
        let out = expand(&[], &[combo(&[("a", "1")])], &[]).unwrap();
        assert_eq!(show(&out), vec!["a=1"]);
        assert_eq!(expand(&[], &[], &[]), Err(ExpandError::Empty));
    }

    #[test]
    fn too_many() {
        let values: Vec<Value> = (0..20).map(|i| Value::Number(i as f64)).collect();
        let dims = vec![("a".to_string(), values.clone()), ("b".to_string(), values)];
        assert_eq!(expand(&dims, &[], &[]), Err(ExpandError::TooMany(400)));
    }
}
