//! `slipway eval`: one expression, or many as JSON lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{json, Value as Json};
use slipway_expr::{parse, MapContexts};

use crate::{Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    /// The expression, without `${{ }}` (e.g. "contains(github.ref, 'main')")
    #[arg(required_unless_present = "jsonl", conflicts_with = "jsonl")]
    expr: Option<String>,
    /// A JSON object whose keys are contexts: {"github": {...}, "env": {...}}
    #[arg(long, value_name = "FILE.json")]
    contexts: Option<PathBuf>,
    /// Read one {"expr": "...", "contexts": {...}} per line from stdin and
    /// write one result per line; errors do not stop the batch
    #[arg(long)]
    jsonl: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.jsonl {
        return run_lines();
    }
    let contexts = match &args.contexts {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--contexts {}: {e}", path.display())))?;
            let json: Json = serde_json::from_str(&text).map_err(|e| {
                UsageError(format!(
                    "--contexts {}:{}:{}: not valid JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ))
            })?;
            contexts_from(&json)
                .map_err(|e| UsageError(format!("--contexts {}: {e}", path.display())))?
        }
        None => MapContexts::default(),
    };
    let expr = args.expr.unwrap_or_default();
    let (line, ok) = evaluate(&expr, &contexts);
    println!("{line}");
    if ok {
        Ok(())
    } else {
        Err(Exit(slipway_model::exit::INVALID).into())
    }
}

fn run_lines() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Json>(&line) {
            Ok(input) => match (
                input.get("expr").and_then(Json::as_str),
                input.get("contexts"),
            ) {
                (Some(expr), contexts) => match contexts_from(contexts.unwrap_or(&Json::Null)) {
                    Ok(ctx) => evaluate(expr, &ctx).0,
                    Err(e) => input_error(n, &e),
                },
                (None, _) => input_error(n, "needs a string `expr`"),
            },
            Err(e) => input_error(n, &format!("not valid JSON at column {}: {e}", e.column())),
        };
        writeln!(out, "{result}")?;
    }
    out.flush()?;
    Ok(())
}

fn input_error(n: usize, message: &str) -> String {
    json!({"error": {"kind": "input", "message": format!("line {}: {message}", n + 1)}}).to_string()
}

fn contexts_from(json: &Json) -> Result<MapContexts, String> {
    MapContexts::from_json(json)
}

/// The result line, and whether evaluation succeeded.
fn evaluate(expr: &str, ctx: &MapContexts) -> (String, bool) {
    let result = parse(expr).and_then(|e| e.eval(ctx));
    match result {
        Ok(value) => (
            json!({"kind": value.kind(), "value": value.to_json()}).to_string(),
            true,
        ),
        Err(e) => (
            json!({"error": {"kind": e.kind.as_str(), "message": e.message}}).to_string(),
            false,
        ),
    }
}
