//! A client for the OCI distribution API, the part a push needs: blob
//! checks and uploads, manifest puts and heads.
//!
//! Authentication follows the registry's challenge: nothing when it lets
//! us in, `Basic` with the credentials when it asks for them, and the token
//! flow (`Bearer realm=...,service=...,scope=...`: a token fetched from the
//! realm with the credentials, if any) otherwise. Transient failures (no
//! connection, a timeout, 408, 429, 5xx) are retried with exponential
//! back-off; other 4xx answers are final.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};

use crate::auth::Credentials;

pub const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_V1: &str = "application/vnd.docker.container.image.v1+json";
pub const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach the registry at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the registry {registry} wants credentials{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unauthorized {
        registry: String,
        hint: Option<String>,
    },
    #[error("{what}: the registry answered {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{what}: gave up after {attempts} attempts; last: {last}")]
    GaveUp {
        what: String,
        attempts: u32,
        last: String,
    },
    #[error("{what}: the registry answered digest {got}, expected {expected}")]
    DigestMismatch {
        what: String,
        expected: String,
        got: String,
    },
    #[error("{0}")]
    Local(String),
}

/// How often and how long to retry transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// One registry, one repository.
pub struct Repository {
    http: reqwest::Client,
    /// `http://127.0.0.1:5000` or `https://ghcr.io`
    base: String,
    registry: String,
    name: String,
    creds: Option<Credentials>,
    auth: Mutex<Option<String>>,
    retry: RetryPolicy,
    /// Retries made, for reports.
    pub retries: std::sync::atomic::AtomicU32,
}

/// A body that can be sent again on a retry.
#[derive(Clone)]
pub enum Body {
    Empty,
    Bytes(bytes::Bytes),
    File { path: std::path::PathBuf, len: u64 },
}

/// Loopback registries speak plain HTTP, as docker assumes.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl Repository {
    pub fn new(
        registry: &str,
        name: &str,
        creds: Option<Credentials>,
        insecure: bool,
        retry: RetryPolicy,
    ) -> Result<Repository, RegistryError> {
        let scheme = if insecure || is_loopback_host(registry) {
            "http"
        } else {
            "https"
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Local(e.to_string()))?;
        Ok(Repository {
            http,
            base: format!("{scheme}://{registry}"),
            registry: registry.to_string(),
            name: name.to_string(),
            creds,
            auth: Mutex::new(None),
            retry,
            retries: Default::default(),
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{}", self.base, self.name, path)
    }

    /// Sends a request, answering an auth challenge once and retrying
    /// transient failures. Returns the final answer, whatever its status.
    async fn send(
        &self,
        what: &str,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: &Body,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut attempt = 0;
        let mut challenged = false;
        let mut delay = self.retry.first_delay;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(a) = self.auth.lock().expect("auth").clone() {
                req = req.header(AUTHORIZATION, a);
            }
            req = match body {
                Body::Empty => req.header(CONTENT_LENGTH, 0),
                Body::Bytes(b) => req.header(CONTENT_LENGTH, b.len()).body(b.clone()),
                Body::File { path, len } => {
                    let f = tokio::fs::File::open(path)
                        .await
                        .map_err(|e| RegistryError::Local(format!("{}: {e}", path.display())))?;
                    req.header(CONTENT_LENGTH, *len)
                        .body(reqwest::Body::from(f))
                }
            };
            let transient = match req.send().await {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !challenged => {
                    challenged = true;
                    self.authenticate(&resp).await?;
                    attempt -= 1;
                    continue;
                }
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    return Err(RegistryError::Unauthorized {
                        registry: self.registry.clone(),
                        hint: Some(if self.creds.is_some() {
                            "the credentials given were refused".into()
                        } else {
                            "none were given: `docker login`, or [registry] username-env/password-env".into()
                        }),
                    });
                }
                Ok(resp) if is_transient(resp.status()) => {
                    let status = resp.status();
                    let wait = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    (format!("{status} {}", short(&text)), wait)
                }
                Ok(resp) => return Ok(resp),
                Err(e) => (describe(&e), None),
            };
            if attempt >= self.retry.attempts {
                if attempt == 1 || transient.0.contains("connect") {
                    return Err(RegistryError::Unreachable {
                        url: self.base.clone(),
                        message: format!("{} (after {attempt} attempts)", transient.0),
                    });
                }
                return Err(RegistryError::GaveUp {
                    what: what.to_string(),
                    attempts: attempt,
                    last: transient.0,
                });
            }
            self.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let wait = transient.1.unwrap_or(delay).min(self.retry.max_delay);
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(self.retry.max_delay);
        }
    }

    /// Answers a 401: Basic with the credentials, or a bearer token.
    async fn authenticate(&self, resp: &reqwest::Response) -> Result<(), RegistryError> {
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (scheme, params) = parse_challenge(&challenge);
        let header = match scheme.to_ascii_lowercase().as_str() {
            "basic" => match &self.creds {
                Some(c) => c.basic_header(),
                None => return Err(RegistryError::Unauthorized {
                    registry: self.registry.clone(),
                    hint: Some(
                        "none were given: `docker login`, or [registry] username-env/password-env"
                            .into(),
                    ),
                }),
            },
            "bearer" => format!("Bearer {}", self.token(&params).await?),
            _ => {
                return Err(RegistryError::Unauthorized {
                    registry: self.registry.clone(),
                    hint: Some(format!("unsupported challenge `{challenge}`")),
                })
            }
        };
        *self.auth.lock().expect("auth") = Some(header);
        Ok(())
    }

    async fn token(&self, params: &[(String, String)]) -> Result<String, RegistryError> {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let realm = get("realm").ok_or_else(|| RegistryError::Unauthorized {
            registry: self.registry.clone(),
            hint: Some("its bearer challenge names no realm".into()),
        })?;
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(s) = get("service") {
            query.push(("service".into(), s));
        }
        query.push((
            "scope".into(),
            format!("repository:{}:pull,push", self.name),
        ));
        let mut attempt = 0;
        let mut delay = self.retry.first_delay;
        loop {
            attempt += 1;
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::docker::encode_query(v)))
                .collect();
            let sep = if realm.contains('?') { '&' } else { '?' };
            let mut req = self.http.get(format!("{realm}{sep}{}", q.join("&")));
            if let Some(c) = &self.creds {
                req = req.header(AUTHORIZATION, c.basic_header());
            }
            let last = match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    #[derive(serde::Deserialize)]
                    struct Token {
                        token: Option<String>,
                        access_token: Option<String>,
                    }
                    let body = resp.bytes().await.unwrap_or_default();
                    let t: Token =
                        serde_json::from_slice(&body).map_err(|e| RegistryError::Unauthorized {
                            registry: self.registry.clone(),
                            hint: Some(format!("the token service at {realm} answered: {e}")),
                        })?;
                    return t
                        .token
                        .or(t.access_token)
                        .ok_or_else(|| RegistryError::Unauthorized {
                            registry: self.registry.clone(),
                            hint: Some(format!("the token service at {realm} gave no token")),
                        });
                }
                Ok(resp) if is_transient(resp.status()) => resp.status().to_string(),
                Ok(resp) => {
                    return Err(RegistryError::Unauthorized {
                        registry: self.registry.clone(),
                        hint: Some(format!(
                            "the token service at {realm} answered {}{}",
                            resp.status(),
                            if self.creds.is_some() {
                                " to the credentials given"
                            } else {
                                " (no credentials were given)"
                            }
                        )),
                    })
                }
                Err(e) => describe(&e),
            };
            if attempt >= self.retry.attempts {
                return Err(RegistryError::GaveUp {
                    what: format!("getting a token from {realm}"),
                    attempts: attempt,
                    last,
                });
            }
            self.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.retry.max_delay);
        }
    }

    /// `GET /v2/`: reachable, and credentials accepted if asked for.
    pub async fn check(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        // The token scope comes from the repository, so ask for the
        // repository's tags list: it triggers the same challenge.
        let probe = self.url("tags/list");
        let resp = self
            .send(
                "checking the registry",
                Method::GET,
                &probe,
                &HeaderMap::new(),
                &Body::Empty,
            )
            .await
            .map_err(|e| match e {
                RegistryError::GaveUp { last, attempts, .. } => RegistryError::Unreachable {
                    url: url.clone(),
                    message: format!("{last} (after {attempts} attempts)"),
                },
                e => e,
            })?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(refused("checking the registry", resp).await)
    }

    /// Whether the repository has blob `digest`.
    pub async fn has_blob(&self, digest: &str) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self
            .send(
                &format!("checking blob {}", short_digest(digest)),
                Method::HEAD,
                &url,
                &HeaderMap::new(),
                &Body::Empty,
            )
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(refused(&format!("checking blob {}", short_digest(digest)), resp).await),
        }
    }

    /// Uploads a blob (a PATCH of the whole body, then the closing PUT, as
    /// docker does), restarting the upload on transient failures. Checks the
    /// digest the registry answers.
    pub async fn upload_blob(&self, digest: &str, body: Body) -> Result<(), RegistryError> {
        let what = format!("uploading blob {}", short_digest(digest));
        let mut restarts = 0;
        loop {
            match self.upload_once(&what, digest, &body).await {
                Err(RegistryError::Refused { status, .. })
                    if status == 404 && restarts < self.retry.attempts =>
                {
                    // The upload session was lost (a registry restart):
                    // start a new one.
                    restarts += 1;
                }
                other => return other,
            }
        }
    }

    async fn upload_once(
        &self,
        what: &str,
        digest: &str,
        body: &Body,
    ) -> Result<(), RegistryError> {
        let start = self.url("blobs/uploads/");
        let resp = self
            .send(what, Method::POST, &start, &HeaderMap::new(), &Body::Empty)
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(refused(what, resp).await);
        }
        let location = self.location(&resp, what)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let resp = self
            .send(what, Method::PATCH, &location, &headers, body)
            .await?;
        if resp.status() != StatusCode::ACCEPTED && resp.status() != StatusCode::NO_CONTENT {
            return Err(refused(what, resp).await);
        }
        let location = self.location(&resp, what).unwrap_or(location);
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={}", digest.replace(':', "%3A"));
        let resp = self
            .send(what, Method::PUT, &put, &HeaderMap::new(), &Body::Empty)
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(refused(what, resp).await);
        }
        check_digest(what, digest, resp.headers())
    }

    /// Uploads a blob while it is being made: one PATCH whose body is the
    /// chunks as they come (chunked transfer encoding), then the closing
    /// PUT once `digest` says what they added up to. No retries: a caller
    /// keeps the bytes and falls back to `upload_blob` if this fails.
    pub async fn upload_streaming(
        &self,
        chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
        digest: tokio::sync::oneshot::Receiver<String>,
    ) -> Result<String, RegistryError> {
        let what = "uploading a blob as it is compressed";
        let start = self.url("blobs/uploads/");
        let resp = self
            .send(what, Method::POST, &start, &HeaderMap::new(), &Body::Empty)
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(refused(what, resp).await);
        }
        let location = self.location(&resp, what)?;
        let stream = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
        });
        let mut req = self
            .http
            .patch(&location)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        if let Some(a) = self.auth.lock().expect("auth").clone() {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(|e| RegistryError::Unreachable {
            url: self.base.clone(),
            message: describe(&e),
        })?;
        if resp.status() != StatusCode::ACCEPTED && resp.status() != StatusCode::NO_CONTENT {
            return Err(refused(what, resp).await);
        }
        let location = self.location(&resp, what).unwrap_or(location);
        let digest = digest
            .await
            .map_err(|_| RegistryError::Local("the compression stopped".into()))?;
        let what = format!("uploading blob {}", short_digest(&digest));
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={}", digest.replace(':', "%3A"));
        let resp = self
            .send(&what, Method::PUT, &put, &HeaderMap::new(), &Body::Empty)
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(refused(&what, resp).await);
        }
        check_digest(&what, &digest, resp.headers())?;
        Ok(digest)
    }

    fn location(&self, resp: &reqwest::Response, what: &str) -> Result<String, RegistryError> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Refused {
                what: what.to_string(),
                status: resp.status().as_u16(),
                body: "no Location header for the upload".into(),
            })?;
        Ok(
            if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.to_string()
            } else {
                format!("{}{}", self.base, loc)
            },
        )
    }

    /// Puts a manifest under `tag`; returns the digest the registry
    /// answered, checked against the bytes sent.
    pub async fn put_manifest(
        &self,
        tag: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> Result<String, RegistryError> {
        let expected = crate::sha256_digest(manifest);
        let what = format!(
            "putting the manifest of {}/{}:{tag}",
            self.registry, self.name
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(media_type).expect("a media type"),
        );
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self
            .send(
                &what,
                Method::PUT,
                &url,
                &headers,
                &Body::Bytes(bytes::Bytes::copy_from_slice(manifest)),
            )
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(refused(&what, resp).await);
        }
        check_digest(&what, &expected, resp.headers())?;
        Ok(expected)
    }

    /// The digest the registry serves for `tag` (HEAD of the manifest).
    pub async fn manifest_digest(&self, tag: &str) -> Result<Option<String>, RegistryError> {
        let what = format!("checking {}/{}:{tag}", self.registry, self.name);
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_str(&format!("{MANIFEST_V2}, {OCI_MANIFEST}")).expect("a header"),
        );
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self
            .send(&what, Method::HEAD, &url, &headers, &Body::Empty)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(&what, resp).await),
        }
    }
}

fn check_digest(what: &str, expected: &str, headers: &HeaderMap) -> Result<(), RegistryError> {
    match headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        Some(got) if got != expected => Err(RegistryError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            got: got.to_string(),
        }),
        // Registries that do not answer a digest are taken at their word.
        _ => Ok(()),
    }
}

async fn refused(what: &str, resp: reqwest::Response) -> RegistryError {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    RegistryError::Refused {
        what: what.to_string(),
        status,
        body: registry_errors(&text),
    }
}

/// `{"errors":[{"code":"TAG_INVALID","message":"..."}]}` -> `TAG_INVALID: ...`
fn registry_errors(text: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<E>,
    }
    #[derive(serde::Deserialize)]
    struct E {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Errors>(text) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|e| match (&e.code, &e.message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.clone(),
                (None, Some(m)) => m.clone(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => short(text),
    }
}

fn short(text: &str) -> String {
    let t = text.trim();
    if t.len() > 200 {
        format!("{}…", &t[..t.floor_char_boundary(200)])
    } else {
        t.to_string()
    }
}

pub fn short_digest(d: &str) -> &str {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    &hex[..hex.len().min(12)]
}

fn is_transient(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    if e.is_connect() && !s.contains("connect") {
        s = format!("connect: {s}");
    }
    s
}

/// `Bearer realm="x",service="y"` -> ("Bearer", [(realm, x), (service, y)])
pub fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n)
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    (scheme.to_string(), params)
}

/// A blob for upload from a file.
pub fn file_body(path: &Path) -> std::io::Result<Body> {
    let len = std::fs::metadata(path)?.len();
    Ok(Body::File {
        path: path.to_path_buf(),
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(
            p,
            [
                (
                    "realm".to_string(),
                    "https://auth.example.com/token".to_string()
                ),
                ("service".into(), "registry.example.com".into()),
                ("scope".into(), "repository:a/b:pull,push".into())
            ]
        );
        let (s, p) = parse_challenge(r#"Basic realm="slipway-registry""#);
        assert_eq!((s.as_str(), p.len()), ("Basic", 1));
    }

    #[test]
    fn loopback_is_plain_http() {
        for h in [
            "127.0.0.1:5000",
            "localhost:5000",
            "[::1]:5000",
            "127.1.2.3",
            "localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "123.dkr.ecr.ap-northeast-1.amazonaws.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn registry_error_bodies() {
        assert_eq!(
            registry_errors(
                r#"{"errors":[{"code":"TAG_INVALID","message":"manifest tag did not match URI"}]}"#
            ),
            "TAG_INVALID: manifest tag did not match URI"
        );
        assert_eq!(registry_errors("plain"), "plain");
    }
}
