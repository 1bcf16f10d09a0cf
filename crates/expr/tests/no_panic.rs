//! Generated inputs, deterministic: parsing and evaluating never panic
//! (the fuzz target in `fuzz/` does the same with coverage guidance).

use slipway_expr::{parse, parse_template, MapContexts, Value};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const PIECES: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "*",
    "!",
    "!=",
    "==",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    " ",
    "'",
    "''",
    "'a'",
    "'{0}'",
    "'{{'",
    "'}}'",
    "'{'",
    "0",
    "1",
    "-1",
    ".5",
    "1e400",
    "0x1F",
    "NaN",
    "Infinity",
    "-Infinity",
    "null",
    "true",
    "false",
    "github",
    "matrix",
    "env",
    "needs",
    "x",
    "_",
    "a-b",
    "contains(",
    "startsWith(",
    "endsWith(",
    "format(",
    "join(",
    "toJSON(",
    "fromJSON(",
    "hashFiles(",
    "case(",
    "success()",
    "failure()",
    "always()",
    "cancelled()",
    "unknown(",
    "${{",
    "}}",
    "😊",
    "é",
    "\n",
    "'[1,[2,{\"a\":3}]]'",
    "'{\"a\":{\"b\":[]}}'",
    "=",
    "&",
];

fn contexts() -> MapContexts {
    let json = serde_json::json!({
        "github": {"event": {"commits": [{"message": "m", "author": {"name": "n"}}]}, "ref": "refs/heads/main"},
        "matrix": {"os": ["linux", "mac"], "n": 3},
        "env": {"A": "1", "B": ""},
        "x": [[1, 2], {"k": null}, "s"],
    });
    MapContexts::from_json(&json).unwrap()
}

#[test]
fn generated_expressions_never_panic() {
    let ctx = contexts();
    let empty = MapContexts::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let len = (rng.next() % 24) as usize;
        let src: String = (0..len).map(|_| rng.pick(PIECES)).collect();
        if let Ok(expr) = parse(&src) {
            let _ = expr.eval(&ctx);
            let _ = expr.eval(&empty);
            let _ = expr.eval_partial(&ctx);
            for r in expr.references() {
                // A reference path is itself an expression.
                assert!(parse(&r.path).is_ok(), "{src:?} gave path {:?}", r.path);
            }
            let _ = expr.functions();
        }
        if let Ok(t) = parse_template(&src) {
            let _ = t.eval(&ctx);
        }
    }
}

#[test]
fn deep_and_long_inputs_are_refused_not_overflowed() {
    for src in [
        "(".repeat(100_000),
        "!".repeat(20_000),
        format!("{}1", "x.".repeat(10_000)),
        vec!["1"; 10_000].join("<"),
        vec!["1"; 10_000].join("=="),
        vec!["1"; 10_000].join("||"),
        format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)),
        format!("{}1{}", "format(".repeat(5_000), ")".repeat(5_000)),
    ] {
        if let Ok(expr) = parse(&src) {
            let _ = expr.eval(&MapContexts::default());
        }
    }
    let long = format!("${{{{ {} }}}}", vec!["1"; 4_000].join(" <= "));
    let t = parse_template(&long).unwrap();
    assert_eq!(t.eval(&MapContexts::default()).unwrap(), Value::Bool(true));
}
