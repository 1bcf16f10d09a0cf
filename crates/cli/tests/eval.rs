//! `slipway eval`: values and errors as JSON, exit codes.

mod support;

use support::Slipway;

#[test]
fn prints_kind_and_value() {
    let run = Slipway::new().args(["eval", "1 == '1'"]).run();
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.trim(), r#"{"kind":"Boolean","value":true}"#);
}

#[test]
fn errors_exit_2_with_their_kind() {
    let run = Slipway::new().args(["eval", "1 <"]).run();
    assert_eq!(run.code, 2);
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["error"]["kind"], "parsing");
    let run = Slipway::new().args(["eval", "'unterminated"]).run();
    assert_eq!(run.code, 2);
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["error"]["kind"], "lexing");
}

#[test]
fn reads_contexts_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctx.json");
    std::fs::write(&path, r#"{"github": {"ref": "refs/heads/main", "event": {"commits": [{"message": "a"}, {"message": "b"}]}}}"#).unwrap();
    let run = Slipway::new()
        .args([
            "eval",
            "join(github.event.commits.*.message, '+')",
            "--contexts",
        ])
        .args([&path])
        .run();
    assert_eq!(run.stdout.trim(), r#"{"kind":"String","value":"a+b"}"#);
    let run = Slipway::new()
        .args(["eval", "x", "--contexts", "/nonexistent.json"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--contexts /nonexistent.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn jsonl_answers_every_line() {
    let input = concat!(
        r#"{"expr": "github.ref", "contexts": {"github": {"ref": "refs/heads/dev"}}}"#,
        "\n",
        r#"{"expr": "1 +"}"#,
        "\n",
        "not json\n",
        r#"{"expr": "format('{0}-{1}', 'a', 2)"}"#,
        "\n",
    );
    let run = Slipway::new().args(["eval", "--jsonl"]).stdin(input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["value"], "refs/heads/dev");
    assert!(lines[1]["error"]["kind"].is_string());
    assert_eq!(lines[2]["error"]["kind"], "input");
    assert_eq!(lines[3]["value"], "a-2");
}
