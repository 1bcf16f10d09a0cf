//! One HTTP POST of a JSON body: the port the retry loop sends through.
//! [`HttpTransport`] is the real one (reqwest with rustls); tests of the
//! retry rules script their own.
//!
//! A transport is built once and may be shared by many deliveries.

use std::future::Future;
use std::time::Duration;

use crate::webhook::WebhookUrl;

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `Retry-After` in seconds, when the receiver sent it as a number.
    pub retry_after: Option<Duration>,
    /// The start of the body, as text, for error messages.
    pub body: String,
}

/// No answer came: connection refused or reset, DNS, TLS, timeout. Worth
/// retrying. The text never holds the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoReply(pub String);

pub trait Transport: Send + Sync {
    fn post_json(
        &self,
        url: &WebhookUrl,
        body: &[u8],
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply, NoReply>> + Send;
}

/// The longest body kept for messages.
const BODY_KEPT: usize = 512;

#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new() -> Result<HttpTransport, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            // A webhook that redirects is misconfigured; following it would
            // turn the POST into a GET somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| describe(&e))?;
        Ok(HttpTransport { client })
    }
}

impl Transport for HttpTransport {
    async fn post_json(
        &self,
        url: &WebhookUrl,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, NoReply> {
        let response = self
            .client
            .post(url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| NoReply(describe(&e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_KEPT)])
            .trim()
            .to_string();
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }
}

/// What went wrong, from the error and its causes, without the URL that
/// reqwest puts in its own message.
fn describe(err: &reqwest::Error) -> String {
    let what = if err.is_timeout() {
        "no answer in time"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut deepest = None;
    while let Some(c) = cause {
        deepest = Some(c.to_string());
        cause = c.source();
    }
    match deepest {
        Some(c) if !c.contains("://") => format!("{what}: {c}"),
        _ => what.to_string(),
    }
}
