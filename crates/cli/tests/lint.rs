//! `slipway lint`: every error class with its exact message, and the
//! warnings for known mistakes.

mod support;

use support::Slipway;

fn lint_fixture(path: &str) -> support::Run {
    Slipway::new().args(["lint", path]).run()
}

macro_rules! error_fixture {
    ($name:ident, $file:literal) => {
        #[test]
        fn $name() {
            let run = lint_fixture(concat!("tests/fixtures/errors/", $file));
            assert_eq!(
                run.code, 2,
                "stdout:\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            );
            insta::assert_snapshot!(stringify!($name), run.stdout);
        }
    };
}

error_fixture!(yaml_syntax, "yaml-syntax.yml");
error_fixture!(unknown_key, "unknown-key.yml");
error_fixture!(unknown_job, "unknown-job.yml");
error_fixture!(needs_cycle, "needs-cycle.yml");
error_fixture!(duplicate_step_id, "duplicate-step-id.yml");
error_fixture!(invalid_expression, "invalid-expression.yml");
error_fixture!(invalid_filter, "invalid-filter.yml");
error_fixture!(filter_conflict, "filter-conflict.yml");
error_fixture!(unavailable_context, "unavailable-context.yml");

#[test]
fn warnings_for_known_mistakes() {
    let run = lint_fixture("tests/fixtures/warnings/mistakes.yml");
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("warnings", run.stdout);
}

#[test]
fn deny_warnings_exits_1() {
    let run = Slipway::new()
        .args([
            "lint",
            "--deny-warnings",
            "tests/fixtures/warnings/mistakes.yml",
        ])
        .run();
    assert_eq!(run.code, 1);
}

#[test]
fn json_has_file_line_column_severity_rule_message() {
    let run = Slipway::new()
        .args([
            "lint",
            "--format",
            "json",
            "tests/fixtures/errors/unknown-job.yml",
            "tests/fixtures/warnings/mistakes.yml",
        ])
        .run();
    assert_eq!(run.code, 2);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["files"], 2);
    assert_eq!(json["errors"], 1);
    let first = &json["diagnostics"][0];
    assert_eq!(first["file"], "tests/fixtures/errors/unknown-job.yml");
    assert_eq!(first["line"], 9);
    assert_eq!(first["column"], 13);
    assert_eq!(first["severity"], "error");
    assert_eq!(first["rule"], "unknown-job");
    assert_eq!(first["help"], "did you mean `test`?");
    let rules: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    for rule in [
        "always-true-if",
        "script-injection",
        "deprecated-command",
        "unknown-input",
        "never-runs",
        "unsupported",
    ] {
        assert!(rules.contains(&rule), "missing {rule} in {rules:?}");
    }
}

#[test]
fn the_example_workflow_is_valid_and_its_slack_input_is_flagged() {
    let run = Slipway::new()
        .args(["lint", "-C"])
        .args([support::example_repo()])
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("`slackapi/slack-github-action@v1` has no input `webhook-url`"),
        "{}",
        run.stdout
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[u8]; 6] = [
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b"on: push\njobs: 7\n",
        b"on: {push: {branches: [[]]}}\njobs: {a: {runs-on: x, steps: [{run: '${{'}]}}}\n",
        b"&a [*a]",
        b"jobs:\n  a:\n    needs: [a]\n    runs-on: x\n    steps: [{uses: nothing}]\non: [push, nope]\n",
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, bytes).unwrap();
        let run = Slipway::new().args(["lint"]).args([&path]).run();
        assert_eq!(run.code, 2, "case {i}: {}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "case {i}: {}", run.stderr);
    }
}
