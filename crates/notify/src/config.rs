//! The `[notify]` section of `slipway.toml`:
//!
//! ```toml
//! [notify]
//! give-up-after = "60s"   # retries of one message stop after this
//! fail-on-error = false   # whether a Slack step fails when its message is not delivered
//!
//! [[notify.slack]]
//! name = "deploys"                 # how messages name the channel; default "slack"
//! webhook-env = "SLACK_WEBHOOK_URL"
//! events = ["deploy.*"]            # default: every event
//! ```
//!
//! `webhook = "https://hooks.slack.com/…"` is accepted in place of
//! `webhook-env`, but the file is usually committed and the URL is a
//! secret. Other sections of the file are not looked at here.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    pub give_up_after: Duration,
    pub fail_on_error: bool,
    pub slack: Vec<SlackChannel>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            give_up_after: Duration::from_secs(60),
            fail_on_error: false,
            slack: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackChannel {
    pub name: String,
    pub webhook: WebhookSource,
    /// Event kinds sent here; `deploy.*` matches a prefix. Empty: all.
    pub events: Vec<String>,
}

/// Where a channel's webhook URL comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookSource {
    Env(String),
    Literal(String),
}

impl std::fmt::Debug for WebhookSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSource::Env(name) => write!(f, "Env({name})"),
            WebhookSource::Literal(_) => f.write_str("Literal(…)"),
        }
    }
}

impl SlackChannel {
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty()
            || self.events.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => kind.starts_with(prefix),
                None => e == kind,
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slipway.toml: {0}")]
pub struct ConfigError(pub String);

#[derive(Deserialize)]
struct File {
    notify: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Section {
    give_up_after: Option<toml::Value>,
    fail_on_error: Option<bool>,
    #[serde(default)]
    slack: Vec<SlackSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SlackSection {
    name: Option<String>,
    webhook_env: Option<String>,
    webhook: Option<String>,
    #[serde(default)]
    events: Vec<String>,
}

impl NotifyConfig {
    /// Read the `[notify]` section of a `slipway.toml`'s text.
    pub fn from_toml(text: &str) -> Result<NotifyConfig, ConfigError> {
        let file: File =
            toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim_end().to_string()))?;
        let Some(section) = file.notify else {
            return Ok(NotifyConfig::default());
        };
        let mut config = NotifyConfig::default();
        if let Some(v) = &section.give_up_after {
            config.give_up_after = duration(v).ok_or_else(|| {
                ConfigError(format!(
                    "notify.give-up-after: expected seconds or a duration like \"60s\", \"500ms\", \"2m\"; found {}",
                    shown(v)
                ))
            })?;
        }
        config.fail_on_error = section.fail_on_error.unwrap_or(false);
        for (i, s) in section.slack.into_iter().enumerate() {
            let name = s.name.unwrap_or_else(|| "slack".to_string());
            let webhook = match (s.webhook_env, s.webhook) {
                (Some(env), None) => WebhookSource::Env(env),
                (None, Some(url)) => WebhookSource::Literal(url),
                (Some(_), Some(_)) => {
                    return Err(ConfigError(format!(
                        "notify.slack[{i}] ({name}): set `webhook-env` or `webhook`, not both"
                    )))
                }
                (None, None) => {
                    return Err(ConfigError(format!(
                        "notify.slack[{i}] ({name}): set `webhook-env` (the variable holding the webhook URL)"
                    )))
                }
            };
            config.slack.push(SlackChannel {
                name,
                webhook,
                events: s.events,
            });
        }
        Ok(config)
    }

    /// The configuration in `<root>/slipway.toml`; the defaults when the
    /// file does not exist.
    pub fn load(root: &std::path::Path) -> Result<NotifyConfig, ConfigError> {
        let path = root.join("slipway.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => NotifyConfig::from_toml(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NotifyConfig::default()),
            Err(e) => Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
        }
    }
}

fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// Seconds as a number, or `"500ms"`, `"60s"`, `"2m"`.
fn duration(v: &toml::Value) -> Option<Duration> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => Some(Duration::from_secs(*n as u64)),
        toml::Value::Float(f) if *f >= 0.0 && f.is_finite() => Some(Duration::from_secs_f64(*f)),
        toml::Value::String(s) => parse_duration(s),
        _ => None,
    }
}

/// `"500ms"`, `"60s"`, `"1.5s"`, `"2m"`, or plain seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => s.split_at(at),
        None => (s, "s"),
    };
    let n: f64 = number.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_section() {
        let config = NotifyConfig::from_toml(
            r#"
[coverage]
fail-under = 80

[notify]
give-up-after = "2.5s"
fail-on-error = true

[[notify.slack]]
webhook-env = "SLACK_WEBHOOK_URL"

[[notify.slack]]
name = "oncall"
webhook = "https://hooks.slack.com/services/T/B/secret"
events = ["deploy.rolled-back", "deploy.failed"]
"#,
        )
        .unwrap();
        assert_eq!(config.give_up_after, Duration::from_millis(2500));
        assert!(config.fail_on_error);
        assert_eq!(config.slack[0].name, "slack");
        assert_eq!(
            config.slack[0].webhook,
            WebhookSource::Env("SLACK_WEBHOOK_URL".into())
        );
        assert!(config.slack[0].wants("deploy.started"));
        assert!(config.slack[1].wants("deploy.rolled-back"));
        assert!(!config.slack[1].wants("deploy.started"));
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn defaults_without_the_section() {
        assert_eq!(
            NotifyConfig::from_toml("").unwrap(),
            NotifyConfig::default()
        );
        assert_eq!(
            NotifyConfig::default().give_up_after,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn prefix_patterns() {
        let channel = SlackChannel {
            name: "x".into(),
            webhook: WebhookSource::Env("X".into()),
            events: vec!["deploy.*".into()],
        };
        assert!(channel.wants("deploy.traffic"));
        assert!(!channel.wants("run.finished"));
    }

    #[test]
    fn errors_name_the_key() {
        let err = |text: &str| NotifyConfig::from_toml(text).unwrap_err().to_string();
        assert!(err("[notify]\ngive-up-after = \"soon\"").contains("notify.give-up-after"));
        assert!(err("[[notify.slack]]\nname = \"a\"")
            .contains("notify.slack[0] (a): set `webhook-env`"));
        assert!(err("[notify]\nretries = 3").contains("unknown field `retries`"));
        assert!(err("[[notify.slack]]\nwebhook-env = \"A\"\nwebhook = \"B\"").contains("not both"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("1h"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
