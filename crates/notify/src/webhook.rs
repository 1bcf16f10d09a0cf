//! A webhook URL is a secret: whoever has it can post to the channel.
//! [`WebhookUrl`] keeps it out of `Debug` and `Display`; only the
//! transport reads it whole, through [`WebhookUrl::expose`].

use std::fmt;

use crate::error::{DeliveryError, ErrorKind};

#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: String,
    /// `scheme://host[:port]`, safe to print.
    shown: String,
}

impl WebhookUrl {
    /// Checks the URL is `http` or `https` with a host. The error does not
    /// repeat the URL.
    pub fn parse(url: &str) -> Result<WebhookUrl, DeliveryError> {
        let url = url.trim();
        let invalid = |why: &str| {
            DeliveryError::new(
                ErrorKind::InvalidUrl,
                format!("the Slack webhook is not a usable URL: {why}"),
            )
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("it must start with https://"));
        }
        let Some(host) = parsed.host_str() else {
            return Err(invalid("it has no host"));
        };
        let shown = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        Ok(WebhookUrl {
            url: url.to_string(),
            shown,
        })
    }

    /// The whole URL, for the request and nothing else.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// Scheme and host only, e.g. `https://hooks.slack.com`.
    pub fn redacted(&self) -> &str {
        &self.shown
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/…", self.shown)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_scheme_and_host_only() {
        let url = WebhookUrl::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(url.redacted(), "https://hooks.slack.com");
        assert_eq!(url.to_string(), "https://hooks.slack.com/…");
        assert_eq!(format!("{url:?}"), "WebhookUrl(https://hooks.slack.com/…)");
        let local = WebhookUrl::parse("http://127.0.0.1:8080/hook/secret").unwrap();
        assert_eq!(local.redacted(), "http://127.0.0.1:8080");
    }

    #[test]
    fn refuses_what_is_not_a_web_url_without_repeating_it() {
        for bad in ["hooks.slack.com/services/secret", "ftp://x/secret", ""] {
            let err = WebhookUrl::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidUrl);
            if !bad.is_empty() {
                assert!(!err.to_string().contains("secret"), "{err}");
            }
        }
    }
}
