//! Slack notifications against a real HTTP receiver on loopback: the
//! built-in `slackapi/slack-github-action` through `slipway run`, and
//! `slipway notify slack`. Webhook URLs are secrets: no output shows one.

mod support;

use std::path::Path;
use std::time::Duration;

use slipway_notify::receiver::{Answer, Receiver};
use support::{git, job, repo, Ran, Slipway};

/// The secret part of every webhook URL here; it must never be printed.
const SECRET_PATH: &str = "/services/T0001/B0001/s3cretT0kenXYZ";

fn secrets(dir: &Path, receiver: &Receiver) -> String {
    let file = dir.join("secrets.txt");
    std::fs::write(
        &file,
        format!("SLACK_WEBHOOK={}\n", receiver.url(SECRET_PATH)),
    )
    .unwrap();
    file.to_str().unwrap().to_string()
}

fn run(dir: &Path, receiver: &Receiver) -> Ran {
    let secret_file = secrets(dir, receiver);
    support::run_json(dir, &["--in-place", "--secret-file", &secret_file])
}

fn head(dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn step_conclusion(r: &Ran, job_id: &str, index: usize) -> String {
    job(&r.summary, job_id)["steps"][index]["conclusion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Everything a user could read: the run's output, its stored logs and
/// the outbox.
fn assert_no_url(dir: &Path, r: &Ran) {
    assert!(!r.logs.contains(SECRET_PATH), "{}", r.logs);
    let summary = r.summary.to_string();
    assert!(!summary.contains(SECRET_PATH), "{summary}");
    let run_id = r.summary["run_id"].as_u64().unwrap().to_string();
    let logs = Slipway::new()
        .args(["logs", &run_id, "-C"])
        .args([dir])
        .run();
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(!logs.stdout.contains(SECRET_PATH), "{}", logs.stdout);
    for f in outbox(dir) {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(SECRET_PATH), "{text}");
    }
}

fn outbox(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join(".slipway/outbox"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

const NOTIFY_AFTER_FAILURE: &str = r#"on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "deploying"; exit 1
      - name: Notify Slack
        if: always()
        uses: slackapi/slack-github-action@v1
        with:
          webhook-url: ${{ secrets.SLACK_WEBHOOK }}
          payload: |
            {
              "text": "Production Deployment: ${{ job.status }}",
              "blocks": [
                {
                  "type": "section",
                  "text": {
                    "type": "mrkdwn",
                    "text": "*Production Deployment*\nStatus: ${{ job.status }}\nCommit: ${{ github.sha }}\nBranch: ${{ github.ref_name }}\n@channel"
                  }
                }
              ]
            }
"#;

#[test]
fn a_failed_job_still_notifies_with_if_always_and_the_block_kit_payload_arrives_intact() {
    let receiver = Receiver::start(vec![]);
    let dir = repo(NOTIFY_AFTER_FAILURE);
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 1, "{}", r.logs);
    assert_eq!(step_conclusion(&r, "deploy", 0), "failure");
    assert_eq!(step_conclusion(&r, "deploy", 1), "success");
    let got = receiver.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "{}", r.logs);
    let expected = format!(
        r#"{{
  "text": "Production Deployment: failure",
  "blocks": [
    {{
      "type": "section",
      "text": {{
        "type": "mrkdwn",
        "text": "*Production Deployment*\nStatus: failure\nCommit: {}\nBranch: main\n@channel"
      }}
    }}
  ]
}}
"#,
        head(dir.path())
    );
    assert_eq!(got[0].body_text(), expected);
    assert_eq!(got[0].path, SECRET_PATH);
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert!(
        r.logs.contains(&format!(
            "sent to the Slack webhook at {}",
            receiver.url("")
        )),
        "{}",
        r.logs
    );
    assert_no_url(dir.path(), &r);
}

#[test]
fn v2_takes_webhook_and_type_and_sets_its_outputs() {
    let receiver = Receiver::start(vec![]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    env:
      SERVICE: svc-portal
    steps:
      - id: slack
        uses: slackapi/slack-github-action@v2.1.0
        with:
          webhook: ${{ secrets.SLACK_WEBHOOK }}
          webhook-type: incoming-webhook
          payload: |
            {"text": "${{ env.SERVICE }} on ${{ github.ref_name }}", "blocks": [{"type": "divider"}]}
      - run: echo "ok=$OK response=$RESPONSE time=$TIME"
        env:
          OK: ${{ steps.slack.outputs.ok }}
          RESPONSE: ${{ steps.slack.outputs.response }}
          TIME: ${{ steps.slack.outputs.time }}
"#,
    );
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 0, "{}", r.logs);
    let got = receiver.wait_for(1, Duration::from_secs(5));
    assert_eq!(
        got[0].body_text(),
        "{\"text\": \"svc-portal on main\", \"blocks\": [{\"type\": \"divider\"}]}\n"
    );
    assert!(
        r.logs.contains("ok=true response=\"ok\" time=1"),
        "{}",
        r.logs
    );
}

#[test]
fn a_429_is_retried_after_retry_after() {
    let receiver = Receiver::start(vec![Answer::RetryAfter(1)]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v1
        with:
          payload: '{"text": "hello"}'
        env:
          SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK }}
          SLACK_WEBHOOK_TYPE: INCOMING_WEBHOOK
"#,
    );
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 0, "{}", r.logs);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "{}", r.logs);
    assert!(got[1].at - got[0].at >= Duration::from_secs(1));
    assert_eq!(got[0].body_text(), r#"{"text": "hello"}"#);
    assert_eq!(got[1].body_text(), r#"{"text": "hello"}"#);
    assert!(
        r.logs.contains(
            "Slack webhook: rate limited (429); retrying in 1 s as Retry-After asks (attempt 2)"
        ),
        "{}",
        r.logs
    );
    assert!(r.logs.contains("(attempt 2)"), "{}", r.logs);
}

#[test]
fn server_errors_are_retried_then_delivered() {
    let receiver = Receiver::start(vec![
        Answer::Status(500, "internal_error".into()),
        Answer::Status(503, String::new()),
    ]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v1
        with:
          webhook-url: ${{ secrets.SLACK_WEBHOOK }}
          payload: '{"text": "hello"}'
"#,
    );
    std::fs::write(
        dir.path().join("slipway.toml"),
        "[notify]\ngive-up-after = \"4s\"\n",
    )
    .unwrap();
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert_eq!(receiver.received().len(), 3);
    assert!(
        r.logs.contains(
            "Slack webhook: server error 500 (internal_error); retrying in 500 ms (attempt 2)"
        ),
        "{}",
        r.logs
    );
    assert!(
        r.logs.contains("on attempt 3") || r.logs.contains("(attempt 3)"),
        "{}",
        r.logs
    );
    assert!(outbox(dir.path()).is_empty());
}

#[test]
fn server_errors_for_ever_give_up_in_the_log_keep_the_message_and_the_job_succeeds() {
    let receiver = Receiver::start_with(vec![], Answer::Status(500, "down".into()));
    // The URL written in the workflow, not a secret: only slipway's own
    // care keeps it out of the logs.
    let dir = repo(&format!(
        r#"on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "deploying"
      - name: Notify Slack
        if: failure() || success()
        uses: slackapi/slack-github-action@v1
        with:
          payload: '{{"text": "deployed ${{{{ github.ref_name }}}}"}}'
        env:
          SLACK_WEBHOOK_URL: {}
"#,
        receiver.url(SECRET_PATH)
    ));
    std::fs::write(
        dir.path().join("slipway.toml"),
        "[notify]\ngive-up-after = \"1s\"\n",
    )
    .unwrap();
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert_eq!(step_conclusion(&r, "deploy", 1), "success");
    let attempts = receiver.received().len();
    assert!(attempts >= 3, "{attempts}");
    let expected = format!(
        "the Slack notification was not delivered: gave up on {}/… after {attempts} attempts",
        receiver.url("")
    );
    assert!(r.logs.contains(&expected), "{}", r.logs);
    assert!(
        r.logs
            .contains("server error 500 (down) (retries stop after 1 s)"),
        "{}",
        r.logs
    );
    assert!(
        r.logs.contains("the message is kept in .slipway/outbox/"),
        "{}",
        r.logs
    );
    assert!(
        r.logs.contains("the step does not fail for it"),
        "{}",
        r.logs
    );
    let kept = outbox(dir.path());
    assert_eq!(kept.len(), 1);
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
    assert_eq!(entry["kind"], "slack.message");
    assert_eq!(entry["payload"]["text"], "deployed main");
    assert_no_url(dir.path(), &r);
}

#[test]
fn errors_true_fails_the_step_when_slack_refuses() {
    let receiver = Receiver::start(vec![Answer::Status(404, "no_service".into())]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v2
        with:
          webhook: ${{ secrets.SLACK_WEBHOOK }}
          webhook-type: incoming-webhook
          errors: true
          payload: '{"text": "hello"}'
"#,
    );
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 1, "{}", r.logs);
    assert_eq!(receiver.received().len(), 1);
    assert!(
        r.logs.contains(&format!(
            "the Slack notification was not delivered: {}/… refused the message: 404 (no_service)",
            receiver.url("")
        )),
        "{}",
        r.logs
    );
    assert_no_url(dir.path(), &r);
}

#[test]
fn a_payload_that_is_not_json_fails_the_step_naming_the_input() {
    let receiver = Receiver::start(vec![]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v1
        with:
          webhook-url: ${{ secrets.SLACK_WEBHOOK }}
          payload: |
            {
              "text": "${{ github.ref_name }}",
            }
"#,
    );
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 1, "{}", r.logs);
    assert!(
        r.logs
            .contains("input `payload` is not valid JSON: line 3, column 1: trailing comma"),
        "{}",
        r.logs
    );
    assert!(receiver.received().is_empty());
}

#[test]
fn without_a_webhook_the_message_is_kept_in_the_outbox() {
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v1
        with:
          webhook-url: ${{ secrets.NOT_SET }}
          payload: '{"text": "hello"}'
"#,
    );
    let r = support::run_json(dir.path(), &["--in-place"]);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert!(
        r.logs.contains(
            "the Slack notification was not delivered: no Slack webhook: set `SLACK_WEBHOOK_URL`"
        ),
        "{}",
        r.logs
    );
    let kept = outbox(dir.path());
    assert_eq!(kept.len(), 1);
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
    assert_eq!(entry["payload"], serde_json::json!({"text": "hello"}));
}

#[test]
fn the_action_is_runnable_now() {
    let dir = repo(NOTIFY_AFTER_FAILURE);
    let lint = Slipway::new().args(["lint", "-C"]).args([dir.path()]).run();
    assert!(
        !lint.stdout.contains("unsupported-action"),
        "{}",
        lint.stdout
    );
    assert!(
        !lint.stderr.contains("unsupported-action"),
        "{}",
        lint.stderr
    );
    // The input upstream v1 ignores is still pointed out.
    let all = format!("{}{}", lint.stdout, lint.stderr);
    assert!(all.contains("has no input `webhook-url`"), "{all}");
    git(dir.path(), &["status", "--short"]);
}

// `slipway notify slack`

fn notify(args: &[&str]) -> support::Run {
    Slipway::new().args(["notify", "slack"]).args(args).run()
}

/// Output with the receiver's port made `PORT`.
fn redact(receiver: &Receiver, text: &str) -> String {
    text.replace(&receiver.url(""), "http://127.0.0.1:PORT")
}

#[test]
fn notify_slack_prints_what_happened() {
    let receiver = Receiver::start(vec![Answer::Status(500, "internal_error".into())]);
    let url = receiver.url(SECRET_PATH);
    let out = notify(&[
        "--webhook",
        &url,
        "--text",
        "hello *team*",
        "--give-up-after",
        "2s",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        receiver.received()[1].body_text(),
        r#"{"text":"hello *team*"}"#
    );
    let failing = Receiver::start(vec![Answer::Status(403, "invalid_token".into())]);
    let refused = notify(&["--webhook", &failing.url(SECRET_PATH), "--text", "hello"]);
    assert_eq!(refused.code, 1);
    insta::assert_snapshot!(
        "notify_slack_text",
        format!(
            "$ slipway notify slack --webhook URL --text 'hello *team*' --give-up-after 2s\n{}{}\n$ slipway notify slack --webhook URL --text hello  # refused\n{}{}exit {}",
            redact(&receiver, &out.stderr),
            redact(&receiver, &out.stdout),
            redact(&failing, &refused.stderr),
            redact(&failing, &refused.stdout),
            refused.code
        )
    );
    for text in [&out.stdout, &out.stderr, &refused.stdout, &refused.stderr] {
        assert!(!text.contains(SECRET_PATH), "{text}");
    }
}

#[test]
fn notify_slack_json() {
    let receiver = Receiver::start(vec![Answer::RetryAfter(1)]);
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.json");
    let body = "{\n  \"text\": \"deployed\",\n  \"blocks\": [{\"type\": \"divider\"}]\n}\n";
    std::fs::write(&payload, body).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args([
            "notify",
            "slack",
            "--webhook-env",
            "HOOK",
            "--format",
            "json",
            "--payload",
        ])
        .arg(&payload)
        .env("HOOK", receiver.url(SECRET_PATH))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].body_text(), body);
    let mut v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["seconds"].as_f64().unwrap() >= 1.0);
    v["seconds"] = serde_json::json!(0);
    assert_eq!(
        redact(&receiver, &v.to_string()),
        r#"{"delivered":true,"webhook":"http://127.0.0.1:PORT","attempts":2,"status":200,"response":"ok","retries":[{"attempt":1,"reason":"rate limited (429)","wait_seconds":1.0,"retry_after":true}],"seconds":0}"#
    );
}

#[test]
fn notify_slack_refuses_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, "{\n  \"text\": \"hi\"\n  \"blocks\": []\n}\n").unwrap();
    let out = Slipway::new()
        .args([
            "notify",
            "slack",
            "--webhook",
            "http://127.0.0.1:9/x",
            "--payload",
        ])
        .args([&payload])
        .run();
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: {}:3:3: expected `,` or `}}` (the payload must be JSON)\n",
            payload.display()
        )
    );
    let out = Slipway::new()
        .args([
            "notify",
            "slack",
            "--webhook-env",
            "NO_SUCH_HOOK_VAR",
            "--text",
            "hi",
        ])
        .run();
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: no webhook: NO_SUCH_HOOK_VAR is not set (or pass --webhook-env NAME or --webhook URL)\n"
    );
    let out = notify(&[
        "--webhook",
        "hooks.slack.com/services/T/B/s3cret",
        "--text",
        "hi",
    ]);
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
    let out = notify(&["--webhook", "http://127.0.0.1:9/x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn a_payload_file_is_flattened_for_a_workflow_trigger() {
    let receiver = Receiver::start(vec![]);
    let dir = repo(
        r#"on: push
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v1.27.0
        with:
          payload-file-path: ./slack/payload.json
        env:
          SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK }}
          SLACK_WEBHOOK_TYPE: WORKFLOW_TRIGGER
"#,
    );
    std::fs::create_dir_all(dir.path().join("slack")).unwrap();
    std::fs::write(
        dir.path().join("slack/payload.json"),
        r#"{"status": "failure", "deploy": {"service": "svc-portal", "replicas": 3}}"#,
    )
    .unwrap();
    let r = run(dir.path(), &receiver);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert_eq!(
        receiver.received()[0].body_text(),
        r#"{"status":"failure","deploy.service":"svc-portal","deploy.replicas":"3"}"#
    );
}
