//! GitHub's expression test data (`actions/languageservices`,
//! `expressions/testdata/`), every file, every case.
//!
//! The data is read from `$SLIPWAY_CONFORMANCE_DIR/expressions` (a relative
//! path is tried against the current directory, then the workspace root),
//! or `../shared/conformance` beside the repository. Missing data fails the
//! test: it never passes by skipping. `options.skip` in the data names other
//! implementations and is ignored here.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use slipway_expr::{parse_with_contexts, MapContexts, Value};

fn data_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = match std::env::var_os("SLIPWAY_CONFORMANCE_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() || dir.exists() {
                dir
            } else {
                manifest.join("../..").join(&dir)
            }
        }
        None => manifest.join("../../../shared/conformance"),
    };
    let dir = root.join("expressions");
    assert!(
        dir.is_dir(),
        "conformance data not found at {} (set SLIPWAY_CONFORMANCE_DIR to the folder holding `expressions/`)",
        dir.display()
    );
    dir
}

struct Case {
    file: String,
    group: String,
    index: usize,
    raw: Json,
}

fn cases() -> Vec<Case> {
    let dir = data_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .json files in {}", dir.display());
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let json: Json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let groups = json
            .as_object()
            .unwrap_or_else(|| panic!("{} is not an object of groups", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for (group, list) in groups {
            let list = list
                .as_array()
                .unwrap_or_else(|| panic!("{file}: group `{group}` is not a list of cases"));
            for (index, raw) in list.iter().enumerate() {
                out.push(Case {
                    file: file.clone(),
                    group: group.clone(),
                    index,
                    raw: raw.clone(),
                });
            }
        }
    }
    out
}

/// `Ok(())` when the implementation does what the case says, else why not.
fn check(case: &Case) -> Result<(), String> {
    let expr = case.raw["expr"]
        .as_str()
        .ok_or("the case has no string `expr`")?;
    let contexts = case.raw.get("contexts").unwrap_or(&Json::Null);
    let ctx = MapContexts::from_json(contexts)?;
    let names: Vec<&str> = contexts
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();

    let outcome = parse_with_contexts(expr, &names).and_then(|e| e.eval(&ctx));
    match (case.raw.get("result"), case.raw.get("err")) {
        (Some(expected), None) => {
            let value = outcome
                .map_err(|e| format!("expected a value, got {} error: {}", e.kind, e.message))?;
            let kind = expected["kind"].as_str().ok_or("`result` has no `kind`")?;
            if value.kind() != kind {
                return Err(format!(
                    "expected kind {kind}, got {} ({:?})",
                    value.kind(),
                    value
                ));
            }
            if !same(&value, &expected["value"]) {
                return Err(format!(
                    "expected {}, got {}",
                    expected["value"],
                    value.to_json()
                ));
            }
            Ok(())
        }
        (None, Some(expected)) => {
            let kind = expected["kind"].as_str().ok_or("`err` has no `kind`")?;
            let error = match outcome {
                Ok(v) => {
                    return Err(format!(
                        "expected a {kind} error, got {} {}",
                        v.kind(),
                        v.to_json()
                    ))
                }
                Err(e) => e,
            };
            if error.kind.as_str() != kind {
                return Err(format!(
                    "expected a {kind} error, got {} error: {}",
                    error.kind, error.message
                ));
            }
            if error.message.is_empty() {
                return Err("the error has no message".into());
            }
            // Where GitHub names a position, it is the same place (GitHub's
            // tests match messages as substrings, so "position 1" also
            // stands for 10 to 19).
            let github = expected["value"].as_str().unwrap_or_default();
            if let Some(pos) = github.split("Located at position ").nth(1) {
                let pos: String = pos.chars().take_while(char::is_ascii_digit).collect();
                let ours = (error.offset + 1).to_string();
                if !ours.starts_with(&pos) {
                    return Err(format!(
                        "GitHub reports position {pos}, we report position {ours}: {}",
                        error.message
                    ));
                }
                if !error.message.contains(&format!("position {ours}")) {
                    return Err(format!("the message does not say where: {}", error.message));
                }
            }
            Ok(())
        }
        _ => Err("the case needs exactly one of `result` and `err`".into()),
    }
}

/// Numbers as numbers (`1` equals `1.0`, `-0` equals `0`), objects by their
/// keys and values in any order.
fn same(v: &Value, j: &Json) -> bool {
    match (v, j) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Number(a), Json::Number(b)) => b.as_f64().is_some_and(|b| *a == b),
        (Value::String(a), Json::String(b)) => a == b,
        (Value::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(x, y)))
        }
        _ => false,
    }
}

#[test]
fn every_case_of_githubs_test_data() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(case) {
            failures.push(format!(
                "{} / {} #{}: {}\n    expr: {}",
                case.file, case.group, case.index, why, case.raw["expr"]
            ));
        }
    }
    let passed = cases.len() - failures.len();
    println!("conformance: {passed} of {} cases pass", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
