//! `slipway notify slack`: post one message to a Slack webhook with the
//! retries the built-in action uses, to try a webhook or to notify from a
//! script. The webhook URL is a secret: it is shown as scheme and host.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde::Serialize;
use slipway_model::exit;
use slipway_notify::config::parse_duration;
use slipway_notify::retry::seconds;
use slipway_notify::{
    blocking, deliver, payload, ErrorKind, HttpTransport, NotifyConfig, RetryPolicy, SystemClock,
    WebhookUrl,
};

use crate::output::{print_json, Format};
use crate::{Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: NotifyCommand,
}

#[derive(Subcommand)]
enum NotifyCommand {
    /// Post a message to a Slack incoming webhook, retrying on 429 (after Retry-After), 5xx and connection errors. Exits 1 when it was not delivered
    Slack(SlackArgs),
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("body").required(true).args(["text", "payload"])))]
struct SlackArgs {
    /// The webhook URL (visible to other users of this machine while it runs: prefer --webhook-env)
    #[arg(long, value_name = "URL", conflicts_with = "webhook_env")]
    webhook: Option<String>,
    /// The environment variable holding the webhook URL [default: SLACK_WEBHOOK_URL]
    #[arg(long, value_name = "NAME")]
    webhook_env: Option<String>,
    /// Send `{"text": T}`
    #[arg(long, value_name = "T")]
    text: Option<String>,
    /// Send this JSON file as it is (`-` reads standard input)
    #[arg(long, value_name = "FILE")]
    payload: Option<PathBuf>,
    /// Stop retrying after this long (`500ms`, `30s`, `2m`) [default: slipway.toml's [notify] give-up-after, else 60s]
    #[arg(long, value_name = "DURATION")]
    give_up_after: Option<String>,
    /// The repository folder, for slipway.toml
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// `--format json`: one object, whether or not the message was delivered.
#[derive(Serialize)]
struct SlackView {
    delivered: bool,
    /// Scheme and host of the webhook.
    webhook: String,
    attempts: u32,
    /// The HTTP status of the last answer, if one came.
    status: Option<u16>,
    /// What the webhook answered when it accepted the message (`ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<String>,
    /// `rejected` or `gave_up` when not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    retries: Vec<RetryView>,
    seconds: f64,
}

#[derive(Serialize)]
struct RetryView {
    attempt: u32,
    reason: String,
    wait_seconds: f64,
    retry_after: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let NotifyCommand::Slack(args) = args.command;
    slack(args)
}

fn slack(args: SlackArgs) -> anyhow::Result<()> {
    let config = NotifyConfig::load(&args.dir).map_err(|e| UsageError(e.to_string()))?;
    let give_up_after = match &args.give_up_after {
        Some(text) => parse_duration(text).ok_or_else(|| {
            UsageError(format!(
                "--give-up-after {text}: expected a duration like 500ms, 30s or 2m"
            ))
        })?,
        None => config.give_up_after,
    };
    let url = webhook(&args)?;
    let body = match (&args.text, &args.payload) {
        (Some(text), _) => serde_json::json!({ "text": text }).to_string(),
        (None, Some(file)) => read_payload(file)?,
        (None, None) => unreachable!("clap requires --text or --payload"),
    };

    let started = Instant::now();
    let json = args.format == Format::Json;
    let mut retries = Vec::new();
    let result = blocking::block_on(deliver(
        &HttpTransport::new().map_err(anyhow::Error::msg)?,
        &SystemClock,
        &RetryPolicy::giving_up_after(give_up_after),
        &url,
        body.as_bytes(),
        |r| {
            if !json {
                eprintln!(
                    "{}; retrying in {}{} (attempt {})",
                    r.reason,
                    seconds(r.wait),
                    if r.asked { " as Retry-After asks" } else { "" },
                    r.attempt + 1
                );
            }
            retries.push(RetryView {
                attempt: r.attempt,
                reason: r.reason.clone(),
                wait_seconds: r.wait.as_secs_f64(),
                retry_after: r.asked,
            });
        },
    ));
    let elapsed = round_ms(started.elapsed());
    let view = match &result {
        Ok(d) => SlackView {
            delivered: true,
            webhook: url.redacted().to_string(),
            attempts: d.attempts,
            status: Some(d.status),
            response: Some(d.body.clone()),
            error_kind: None,
            error: None,
            retries,
            seconds: elapsed,
        },
        Err(e) => SlackView {
            delivered: false,
            webhook: url.redacted().to_string(),
            attempts: e.attempts,
            status: e.status,
            response: None,
            error_kind: Some(match e.kind() {
                ErrorKind::InvalidUrl => "invalid_url",
                ErrorKind::Rejected => "rejected",
                ErrorKind::GaveUp => "gave_up",
            }),
            error: Some(e.to_string()),
            retries,
            seconds: elapsed,
        },
    };
    if json {
        print_json(&view)?;
    }
    match result {
        Ok(d) => {
            if !json {
                println!(
                    "sent to the Slack webhook at {}{}",
                    url.redacted(),
                    match d.attempts {
                        1 => String::new(),
                        n => format!(" on attempt {n}"),
                    }
                );
            }
            Ok(())
        }
        Err(e) => {
            if !json {
                eprintln!("error: {e}");
            }
            Err(Exit(exit::FAILED).into())
        }
    }
}

fn webhook(args: &SlackArgs) -> anyhow::Result<WebhookUrl> {
    let (url, from) = match (&args.webhook, &args.webhook_env) {
        (Some(url), _) => (url.clone(), "--webhook".to_string()),
        (None, name) => {
            let name = name.as_deref().unwrap_or("SLACK_WEBHOOK_URL");
            match std::env::var(name) {
                Ok(url) if !url.trim().is_empty() => (url, name.to_string()),
                _ => {
                    return Err(UsageError(format!(
                    "no webhook: {name} is not set (or pass --webhook-env NAME or --webhook URL)"
                ))
                    .into())
                }
            }
        }
    };
    WebhookUrl::parse(&url).map_err(|e| UsageError(format!("{from}: {e}")).into())
}

/// The file as it is, once it is known to be JSON.
fn read_payload(file: &PathBuf) -> anyhow::Result<String> {
    let shown = file.display();
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| UsageError(format!("standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| UsageError(format!("{shown}: {e}")))?
    };
    payload::parse(&text).map_err(|e| {
        let name = if file.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            shown.to_string()
        };
        UsageError(format!("{name}:{e} (the payload must be JSON)"))
    })?;
    Ok(text)
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}
