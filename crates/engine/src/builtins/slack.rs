//! `slackapi/slack-github-action`: posts the step's payload to a Slack
//! webhook, retrying as Slack asks (see `slipway-notify`). What it does
//! not do (post through the Web API with a bot token) it says so.
//!
//! Versions differ in where the webhook comes from and what is set
//! afterwards; slipway reads every version's way:
//! - the webhook: `webhook` (v2), `webhook-url` (not an input of either
//!   version, but written often; accepted), or `SLACK_WEBHOOK_URL`;
//! - its type: `webhook-type` (v2) or `SLACK_WEBHOOK_TYPE` (v1), with
//!   `incoming-webhook` when neither is set;
//! - the payload: `payload` as JSON (expressions already substituted; sent
//!   as written) or a `.json` file at `payload-file-path`.
//!
//! A message that cannot be delivered is kept in `.slipway/outbox/` and
//! the step still succeeds, unless `errors: true` (v2's own input) or
//! `slipway.toml`'s `[notify] fail-on-error = true`. A payload that is not
//! JSON fails the step either way.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use slipway_model::LogLevel;
use slipway_notify::payload::{self, PayloadError};
use slipway_notify::retry::seconds;
use slipway_notify::{
    blocking, deliver, HttpTransport, NotifyConfig, Outbox, OutboxEntry, RetryPolicy, SystemClock,
    WebhookUrl,
};

use super::{BuiltinInput, BuiltinResult};

pub(super) const SLUG: &str = "slackapi/slack-github-action";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Major {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebhookType {
    Incoming,
    Trigger,
}

/// Inputs only v2 reads: how a ref that names no version is told apart.
const V2_ONLY: &[&str] = &[
    "webhook",
    "webhook-type",
    "method",
    "token",
    "errors",
    "retries",
    "api",
    "payload-templated",
];

fn major(version: &str, input: &BuiltinInput) -> Major {
    let v = version.trim_start_matches('v');
    match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
        Some(1) => Major::V1,
        Some(_) => Major::V2,
        // A commit or a branch.
        None if V2_ONLY.iter().any(|k| input.input(k).is_some()) => Major::V2,
        None => Major::V1,
    }
}

/// For the registry, which knows no version: the current major.
pub(super) fn run_latest(input: &BuiltinInput) -> BuiltinResult {
    run("v2", input)
}

pub(super) fn run(version: &str, input: &BuiltinInput) -> BuiltinResult {
    let major = major(version, input);
    let env = |name: &str| {
        input
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let root = repo_root(input);
    let config = match NotifyConfig::load(&root) {
        Ok(c) => c,
        Err(e) => return BuiltinResult::fail(e.to_string()),
    };
    let fail_on_error = match input.input("errors").map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return BuiltinResult::fail(format!(
                "input `errors` must be `true` or `false`, not `{v}`"
            ))
        }
        None => config.fail_on_error,
    };

    let mut result = BuiltinResult::ok();
    let webhook = input
        .input("webhook")
        .or(input.input("webhook-url"))
        .or(env("SLACK_WEBHOOK_URL"));
    let bot_token = input.input("method").is_some()
        || input.input("token").is_some()
        || (major == Major::V1 && env("SLACK_BOT_TOKEN").is_some());
    if bot_token {
        let why = "posting through Slack's Web API with a bot token (`method`/`token`, or `channel-id` with `SLACK_BOT_TOKEN`) is not supported by slipway; use an incoming webhook: `webhook` with `webhook-type: incoming-webhook`, or `SLACK_WEBHOOK_URL`";
        if webhook.is_none() {
            return BuiltinResult::fail(why);
        }
        result.lines.push((
            LogLevel::Warning,
            format!("{why} (only the webhook is posted to)"),
        ));
    }

    let webhook_type = match input
        .input("webhook-type")
        .or(env("SLACK_WEBHOOK_TYPE"))
        .map(|t| t.trim().to_ascii_lowercase().replace('_', "-"))
        .as_deref()
    {
        Some("incoming-webhook") => WebhookType::Incoming,
        Some("webhook-trigger") | Some("workflow-trigger") => WebhookType::Trigger,
        Some(other) => {
            return BuiltinResult::fail(format!(
                "unknown webhook type `{other}`: use `incoming-webhook` or `webhook-trigger`"
            ))
        }
        None => {
            if major == Major::V1 && webhook.is_some() {
                result.lines.push((
                    LogLevel::Notice,
                    "SLACK_WEBHOOK_TYPE is not set: posting to an incoming webhook, the payload as written (GitHub's v1 action would flatten it for a workflow trigger)".into(),
                ));
            }
            WebhookType::Incoming
        }
    };

    let body = match payload_text(input, major) {
        Ok(p) => p,
        Err(e) => return BuiltinResult::fail(e),
    };
    let delimiter = input.input("payload-delimiter");
    let body = match (major, webhook_type, delimiter) {
        (Major::V1, WebhookType::Trigger, d) | (Major::V2, _, d @ Some(_)) => {
            payload::flatten(&body.value, d.unwrap_or(".")).to_string()
        }
        _ => body.text,
    };
    if input.input("payload-templated") == Some("true") {
        result.lines.push((
            LogLevel::Warning,
            "`payload-templated` is not supported: `${{ }}` in the payload file is sent as written"
                .into(),
        ));
    }

    let outcome = match webhook {
        None => Err(
            "no Slack webhook: set `SLACK_WEBHOOK_URL` in the step's env (or the `webhook` input)"
                .to_string(),
        ),
        Some(url) => match WebhookUrl::parse(url) {
            Err(e) => Err(e.to_string()),
            Ok(url) => send(input, &config, &url, &body, &mut result),
        },
    };
    let now = SystemTime::now();
    result.outputs.push((
        "time".into(),
        match major {
            Major::V1 => slipway_notify::time::js_time_string(now),
            Major::V2 => now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .to_string(),
        },
    ));
    match outcome {
        Ok(answer) => {
            if major == Major::V2 {
                result.outputs.push(("ok".into(), "true".into()));
                result.outputs.push((
                    "response".into(),
                    serde_json::Value::String(answer).to_string(),
                ));
            }
        }
        Err(why) => {
            if major == Major::V2 {
                result.outputs.push(("ok".into(), "false".into()));
                result.outputs.push((
                    "response".into(),
                    serde_json::Value::String(why.clone()).to_string(),
                ));
            }
            let level = if fail_on_error {
                result.ok = false;
                LogLevel::Error
            } else {
                LogLevel::Warning
            };
            result.lines.push((
                level,
                format!("the Slack notification was not delivered: {why}"),
            ));
            let entry = OutboxEntry {
                kind: "slack.message".into(),
                time: String::new(),
                reason: why,
                channel: Some(SLUG.into()),
                fields: None,
                payload: serde_json::from_str(&body).ok(),
            };
            let outbox = Outbox::in_repo(&root);
            match outbox.write(entry) {
                Ok(path) => result.lines.push((
                    LogLevel::Output,
                    format!(
                        "the message is kept in {}",
                        path.strip_prefix(&root).unwrap_or(&path).display()
                    ),
                )),
                Err(e) => result.lines.push((
                    LogLevel::Warning,
                    format!(
                        "and it could not be kept in {}: {e}",
                        outbox.dir().display()
                    ),
                )),
            }
            if !fail_on_error {
                result.lines.push((
                    LogLevel::Output,
                    "the step does not fail for it (set `errors: true`, or `fail-on-error = true` under [notify] in slipway.toml, to fail it)".into(),
                ));
            }
        }
    }
    result
}

/// Post with retries; progress goes to the step's log.
fn send(
    input: &BuiltinInput,
    config: &NotifyConfig,
    url: &WebhookUrl,
    body: &str,
    result: &mut BuiltinResult,
) -> Result<String, String> {
    let mut policy = RetryPolicy::giving_up_after(config.give_up_after);
    if input.input("retries").map(str::trim) == Some("0") {
        policy.give_up_after = std::time::Duration::ZERO;
    }
    let transport = HttpTransport::new()?;
    let mut lines = Vec::new();
    let sent = blocking::block_on(deliver(
        &transport,
        &SystemClock,
        &policy,
        url,
        body.as_bytes(),
        |r| {
            lines.push(format!(
                "Slack webhook: {}; retrying in {}{} (attempt {})",
                r.reason,
                seconds(r.wait),
                if r.asked { " as Retry-After asks" } else { "" },
                r.attempt + 1
            ))
        },
    ));
    result
        .lines
        .extend(lines.into_iter().map(|l| (LogLevel::Output, l)));
    match sent {
        Ok(d) => {
            result.lines.push((
                LogLevel::Output,
                format!(
                    "sent to the Slack webhook at {}{}",
                    url.redacted(),
                    if d.attempts == 1 {
                        String::new()
                    } else {
                        format!(" (attempt {})", d.attempts)
                    }
                ),
            ));
            Ok(d.body)
        }
        Err(e) => Err(e.to_string()),
    }
}

struct Payload {
    /// As written: what an incoming webhook is sent.
    text: String,
    value: serde_json::Value,
}

/// The payload from `payload` or `payload-file-path`, checked to be JSON.
fn payload_text(input: &BuiltinInput, major: Major) -> Result<Payload, String> {
    let inline = input.input("payload");
    let file = input.input("payload-file-path");
    let (text, from) = match (inline, file) {
        (Some(_), Some(_)) if major == Major::V2 => {
            return Err("set `payload` or `payload-file-path`, not both".into())
        }
        (Some(text), _) => (text.to_string(), "input `payload`".to_string()),
        (None, Some(path)) => {
            if path.ends_with(".yml") || path.ends_with(".yaml") {
                return Err(format!(
                    "`payload-file-path: {path}`: YAML payload files are not supported; write the payload as JSON"
                ));
            }
            let full = input.workspace.join(path);
            let text = std::fs::read_to_string(&full)
                .map_err(|e| format!("`payload-file-path`: cannot read {path}: {e}"))?;
            (text, path.to_string())
        }
        (None, None) => {
            return Err("no payload: set `payload` (JSON) or `payload-file-path` (the upstream default of posting the whole event is not supported)".into())
        }
    };
    match payload::parse(&text) {
        Ok(value) => Ok(Payload { text, value }),
        Err(first) => {
            // v2 also takes the inside of an object, braces left out.
            let trimmed = text.trim();
            if major == Major::V2
                && inline.is_some()
                && !trimmed.starts_with('{')
                && !trimmed.ends_with('}')
            {
                let wrapped = format!("{{{}}}", trimmed.trim_end_matches(','));
                if let Ok(value) = payload::parse(&wrapped) {
                    return Ok(Payload {
                        text: wrapped,
                        value,
                    });
                }
            }
            Err(not_json(&from, &first))
        }
    }
}

fn not_json(from: &str, e: &PayloadError) -> String {
    format!(
        "{from} is not valid JSON: line {}, column {}: {}",
        e.line, e.column, e.message
    )
}

/// The repository the run started in: `run_dir` is
/// `<repo>/.slipway/runs/<id>`.
fn repo_root(input: &BuiltinInput) -> PathBuf {
    input
        .run_dir
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| input.workspace.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(with: &[(&str, &str)], env: &[(&str, &str)]) -> BuiltinInput {
        let nowhere = std::env::temp_dir().join("slipway-slack-test-nowhere");
        BuiltinInput {
            with: with
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            workspace: nowhere.clone(),
            temp: nowhere.join("tmp"),
            run_dir: nowhere.join(".slipway/runs/1"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sha: "0".repeat(40),
            branch: "main".into(),
            repository: "o/r".into(),
            slipway: None,
        }
    }

    fn error(result: &BuiltinResult) -> &str {
        assert!(!result.ok);
        &result.lines.last().unwrap().1
    }

    #[test]
    fn the_major_version_from_the_ref_or_the_inputs() {
        let plain = input(&[("payload", "{}")], &[]);
        assert_eq!(major("v1", &plain), Major::V1);
        assert_eq!(major("v1.27.0", &plain), Major::V1);
        assert_eq!(major("v2", &plain), Major::V2);
        assert_eq!(major("v2.1.0", &plain), Major::V2);
        let sha = "485a9d42d3a73031f12ec201c457e2162c45d02d";
        assert_eq!(major(sha, &plain), Major::V1);
        let v2 = input(&[("webhook-type", "incoming-webhook")], &[]);
        assert_eq!(major(sha, &v2), Major::V2);
    }

    #[test]
    fn v2_takes_an_object_without_its_braces() {
        let p = payload_text(
            &input(&[("payload", "\"text\": \"hi\",\n")], &[]),
            Major::V2,
        )
        .unwrap();
        assert_eq!(p.text, "{\"text\": \"hi\"}");
        let err = payload_text(&input(&[("payload", "\"text\": \"hi\"")], &[]), Major::V1)
            .err()
            .unwrap();
        assert_eq!(
            err,
            "input `payload` is not valid JSON: line 1, column 7: trailing characters"
        );
    }

    #[test]
    fn what_cannot_be_done_fails_the_step_saying_why() {
        let hook = (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/x",
        );
        let r = run(
            "v2",
            &input(&[("method", "chat.postMessage"), ("token", "xoxb")], &[]),
        );
        assert!(error(&r).starts_with("posting through Slack's Web API with a bot token"));
        let r = run(
            "v1",
            &input(
                &[("channel-id", "C1"), ("slack-message", "hi")],
                &[("SLACK_BOT_TOKEN", "xoxb")],
            ),
        );
        assert!(error(&r).starts_with("posting through Slack's Web API with a bot token"));
        let r = run(
            "v2",
            &input(&[("webhook-type", "socket"), ("payload", "{}")], &[hook]),
        );
        assert_eq!(
            error(&r),
            "unknown webhook type `socket`: use `incoming-webhook` or `webhook-trigger`"
        );
        let r = run("v1", &input(&[], &[hook]));
        assert!(error(&r).starts_with("no payload: set `payload`"));
        let r = run("v1", &input(&[("payload-file-path", "p.yml")], &[hook]));
        assert!(error(&r).contains("YAML payload files are not supported"));
        let r = run(
            "v2",
            &input(&[("errors", "maybe"), ("payload", "{}")], &[hook]),
        );
        assert_eq!(
            error(&r),
            "input `errors` must be `true` or `false`, not `maybe`"
        );
    }
}
