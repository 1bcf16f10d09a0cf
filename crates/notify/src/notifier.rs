//! Events to channels: what the deploy controller (and anything else that
//! reports to people) calls. An event goes to every configured channel
//! that takes its kind; when there is none, or delivery fails, it is kept
//! in the outbox instead.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, NotifyConfig, SlackChannel, WebhookSource};
use crate::outbox::{Outbox, OutboxEntry};
use crate::retry::{deliver, RetryPolicy};
use crate::transport::{HttpTransport, Transport};
use crate::webhook::WebhookUrl;

type Env = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Delivers events; built once, used for many.
pub struct Notifier<T = HttpTransport, C = SystemClock> {
    config: NotifyConfig,
    outbox: Outbox,
    transport: T,
    clock: C,
    env: Env,
}

/// What became of an event, one entry per channel (or one for the outbox
/// when no channel took it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        channel: String,
        attempts: u32,
    },
    /// Kept in the outbox; `channel` is the one it was meant for, if any.
    Kept {
        channel: Option<String>,
        path: PathBuf,
        reason: String,
    },
    /// Neither delivered nor kept: the outbox could not be written either.
    Lost {
        channel: Option<String>,
        reason: String,
    },
}

impl Notifier {
    /// A repository's notifier: its `slipway.toml`, its `.slipway/outbox/`,
    /// this process's environment and the real network.
    pub fn for_repo(root: &Path) -> Result<Notifier, ConfigError> {
        let config = NotifyConfig::load(root)?;
        let transport = HttpTransport::new().map_err(ConfigError)?;
        Ok(Notifier::new(
            config,
            Outbox::in_repo(root),
            transport,
            SystemClock,
        ))
    }
}

impl<T: Transport, C: Clock> Notifier<T, C> {
    pub fn new(config: NotifyConfig, outbox: Outbox, transport: T, clock: C) -> Self {
        Notifier {
            config,
            outbox,
            transport,
            clock,
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// Where `webhook-env` variables are read (the process environment by
    /// default).
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(env);
        self
    }

    /// Send an event (`deploy.started`, `deploy.traffic`,
    /// `deploy.rolled-back`, `deploy.done`, …) with its fields, in order,
    /// to the channels that take it, or to the outbox.
    pub async fn notify_event(&self, kind: &str, fields: &[(&str, &str)]) -> Vec<Outcome> {
        let channels: Vec<&SlackChannel> =
            self.config.slack.iter().filter(|c| c.wants(kind)).collect();
        if channels.is_empty() {
            let reason = if self.config.slack.is_empty() {
                "no notification channel is configured".to_string()
            } else {
                format!("no channel in slipway.toml takes `{kind}` events")
            };
            return vec![self.keep(kind, fields, None, reason)];
        }
        let body = slack_message(kind, fields).to_string();
        let policy = RetryPolicy::giving_up_after(self.config.give_up_after);
        let mut outcomes = Vec::new();
        for channel in channels {
            let url = match &channel.webhook {
                WebhookSource::Env(name) => match (self.env)(name) {
                    Some(url) if !url.trim().is_empty() => WebhookUrl::parse(&url),
                    _ => {
                        let reason = format!("{name} is not set");
                        outcomes.push(self.keep(kind, fields, Some(&channel.name), reason));
                        continue;
                    }
                },
                WebhookSource::Literal(url) => WebhookUrl::parse(url),
            };
            let result = match url {
                Ok(url) => {
                    deliver(
                        &self.transport,
                        &self.clock,
                        &policy,
                        &url,
                        body.as_bytes(),
                        |_| {},
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            outcomes.push(match result {
                Ok(d) => Outcome::Delivered {
                    channel: channel.name.clone(),
                    attempts: d.attempts,
                },
                Err(e) => self.keep(kind, fields, Some(&channel.name), e.to_string()),
            });
        }
        outcomes
    }

    fn keep(
        &self,
        kind: &str,
        fields: &[(&str, &str)],
        channel: Option<&str>,
        reason: String,
    ) -> Outcome {
        let entry = OutboxEntry {
            kind: kind.to_string(),
            time: String::new(),
            reason: reason.clone(),
            channel: channel.map(str::to_string),
            fields: Some(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
            ),
            payload: None,
        };
        match self.outbox.write(entry) {
            Ok(path) => Outcome::Kept {
                channel: channel.map(str::to_string),
                path,
                reason,
            },
            Err(e) => Outcome::Lost {
                channel: channel.map(str::to_string),
                reason: format!(
                    "{reason}; and the outbox {} cannot be written: {e}",
                    self.outbox.dir().display()
                ),
            },
        }
    }
}

/// `deploy.rolled-back` -> `Deploy rolled back`.
fn title(kind: &str) -> String {
    let words = kind.replace(['.', '-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Slack's mrkdwn treats these three as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An incoming-webhook message for an event: a plain `text` for
/// notifications and a section block with one line per field.
pub fn slack_message(kind: &str, fields: &[(&str, &str)]) -> Value {
    let title = title(kind);
    let plain: Vec<String> = fields.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let text = if plain.is_empty() {
        title.clone()
    } else {
        format!("{title}: {}", plain.join(", "))
    };
    let mut lines = vec![format!("*{}*", escape(&title))];
    lines.extend(
        fields
            .iter()
            .map(|(k, v)| format!("*{}*: {}", escape(k), escape(v))),
    );
    let mut message = Map::new();
    message.insert("text".into(), Value::String(escape(&text)));
    message.insert(
        "blocks".into(),
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}}]),
    );
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let m = slack_message(
            "deploy.rolled-back",
            &[
                ("service", "svc-portal"),
                ("reason", "p95 1200 ms > 1000 ms"),
            ],
        );
        assert_eq!(
            m.to_string(),
            r#"{"text":"Deploy rolled back: service svc-portal, reason p95 1200 ms &gt; 1000 ms","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Deploy rolled back*\n*service*: svc-portal\n*reason*: p95 1200 ms &gt; 1000 ms"}}]}"#
        );
    }
}
