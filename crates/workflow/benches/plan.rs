//! Read + check + plan, and expression evaluation, measured side by side
//! with a baseline in the same run:
//! - workflows: against a bare pass of the YAML parser over the same text
//!   (the floor any reader pays);
//! - expressions: parse+eval and eval of a pre-parsed expression, against
//!   the same comparison written in Rust.
//!
//! Run: `cargo bench -p slipway-workflow --bench plan`

use std::hint::black_box;
use std::time::{Duration, Instant};

use slipway_expr::{parse, MapContexts, Value};
use slipway_workflow::event::Event;
use slipway_workflow::plan::plan_workflow;
use slipway_workflow::{read_workflow, SourceFile};

/// Median time of one call, over enough runs to fill about `budget`.
fn measure(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(50));
    let runs = ((budget.as_nanos() / once.as_nanos()) as usize).clamp(5, 200_000);
    let batches = 15usize.min(runs);
    let per_batch = (runs / batches).max(1);
    let mut samples: Vec<Duration> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed() / per_batch as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// A workflow of `n` jobs: a fan of test jobs, chains of needs, conditions,
/// env, matrices and steps with expressions, like large real workflows.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "name: generated\non:\n  push:\n    branches: [main, develop, 'release/**']\n    paths-ignore: ['docs/**']\n  pull_request:\n    branches: [main]\nenv:\n  REGISTRY: registry.local\njobs:\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  job-{i}:\n    name: Job {i}\n    runs-on: ubuntu-latest\n"
        ));
        if i > 0 {
            let a = i - 1;
            let b = i / 2;
            s.push_str(&format!("    needs: [job-{a}, job-{b}]\n"));
        }
        match i % 4 {
            0 => s.push_str("    if: github.event_name == 'push'\n"),
            1 => s.push_str("    if: ${{ github.ref == 'refs/heads/develop' || contains(github.event.head_commit.message, 'deploy') }}\n"),
            2 => s.push_str("    strategy:\n      matrix:\n        os: [linux, mac]\n        v: [1, 2]\n"),
            _ => {}
        }
        s.push_str(&format!(
            "    env:\n      TAG: ${{{{ github.sha }}}}-{i}\n    steps:\n      - uses: actions/checkout@v4\n      - id: s{i}\n        run: |\n          echo \"building ${{{{ github.ref_name }}}} {i}\"\n          echo \"tag=$TAG\" >> \"$GITHUB_OUTPUT\"\n"
        ));
    }
    s
}

fn yaml_floor(text: &str) {
    for event in saphyr_parser::Parser::new_from_str(text) {
        black_box(event.ok());
    }
}

fn read_check_plan(source: &SourceFile, event: &Event) {
    let outcome = read_workflow(source);
    let wf = outcome.workflow.expect("the benchmark workflow is valid");
    black_box(plan_workflow(&wf, event));
}

fn row(
    what: &str,
    ours: Duration,
    baseline: Duration,
    baseline_name: &str,
    target: Option<Duration>,
) {
    let verdict = match target {
        Some(t) if ours <= t => format!("target < {t:?}: met"),
        Some(t) => format!("target < {t:?}: MISSED"),
        None => String::new(),
    };
    println!(
        "{what:<42} {:>12} | {baseline_name:<26} {:>12} | x{:<6.1} {verdict}",
        format!("{ours:.2?}"),
        format!("{baseline:.2?}"),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn main() {
    let budget = Duration::from_millis(if std::env::args().any(|a| a == "--quick") {
        200
    } else {
        1500
    });
    let event = Event::sample_push("refs/heads/develop", &["mpac-pgw/main.go"]);
    println!(
        "{:<42} {:>12} | {:<26} {:>12} | ratio",
        "measure (median)", "slipway", "baseline", "time"
    );

    let example_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/mpac-smartpos/.github/workflows/ci-cd.yml"
    );
    let text = std::fs::read_to_string(example_path).expect("the example workflow exists");
    let example = SourceFile::new(".github/workflows/ci-cd.yml", text.clone());
    let ours = measure(budget, || read_check_plan(&example, &event));
    let floor = measure(budget, || yaml_floor(&text));
    row(
        "example workflow: read + check + plan",
        ours,
        floor,
        "YAML parse only",
        Some(Duration::from_millis(5)),
    );

    let big_text = generated(1000);
    let big = SourceFile::new("generated.yml", big_text.clone());
    let ours = measure(budget, || read_check_plan(&big, &event));
    let floor = measure(budget, || yaml_floor(&big_text));
    row(
        "1,000-job workflow: read + check + plan",
        ours,
        floor,
        "YAML parse only",
        Some(Duration::from_millis(100)),
    );

    let mut ctx = MapContexts::default();
    ctx.insert(
        "github",
        Value::from_json(&serde_json::json!({"ref": "refs/heads/develop", "event_name": "push", "event": {"head_commit": {"message": "deploy it"}}})),
    );
    let source = "github.event_name == 'push' && (github.ref == 'refs/heads/main' || contains(github.event.head_commit.message, 'deploy'))";
    let parsed = parse(source).unwrap();
    let native = || {
        let msg = "deploy it";
        black_box(
            "push".eq_ignore_ascii_case(black_box("push"))
                && (black_box("refs/heads/develop") == "refs/heads/main"
                    || msg.to_lowercase().contains("deploy")),
        )
    };
    let n = 1000;
    let parse_eval = measure(budget, || {
        for _ in 0..n {
            black_box(parse(black_box(source)).unwrap().eval(&ctx).unwrap());
        }
    }) / n;
    let eval_only = measure(budget, || {
        for _ in 0..n {
            black_box(parsed.eval(&ctx).unwrap());
        }
    }) / n;
    let rust = measure(budget, || {
        for _ in 0..n {
            black_box(native());
        }
    }) / n;
    row(
        "expression: parse + eval",
        parse_eval,
        rust,
        "same test in Rust",
        None,
    );
    row(
        "expression: eval (pre-parsed)",
        eval_only,
        rust,
        "same test in Rust",
        None,
    );
    println!(
        "\nexpression evaluations per second: {:.0} parse+eval, {:.0} eval only",
        1.0 / parse_eval.as_secs_f64(),
        1.0 / eval_only.as_secs_f64()
    );
}
