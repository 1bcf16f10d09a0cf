//! A small Docker Engine API client over the Unix socket: the few calls a
//! build and a push need (build, inspect, tag, save, remove, ping), on
//! hyper, which the tree already has through reqwest.
//!
//! Lifecycle: `Docker::connect()` only works out where the socket is; each
//! call opens its own connection, so a long build stream and an inspect can
//! run at the same time.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::UnixStream;

/// The API version asked for: Docker 20.10's, which newer engines serve.
pub const API_VERSION: &str = "v1.41";

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker Engine at {socket}: {source} (is it running? set DOCKER_HOST=unix:///path/to/docker.sock for another socket)")]
    Connect {
        socket: String,
        #[source]
        source: std::io::Error,
    },
    #[error("DOCKER_HOST `{0}`: only unix:// sockets are supported")]
    Host(String),
    #[error("the Docker Engine answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("talking to the Docker Engine: {0}")]
    Http(String),
}

impl DockerError {
    pub fn status(&self) -> Option<u16> {
        match self {
            DockerError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Debug, Clone)]
pub struct Docker {
    socket: PathBuf,
}

/// What `GET /images/{name}/json` says, the parts used here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// `sha256:...`, the digest of the image's config.
    pub id: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    #[serde(default)]
    pub size: u64,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(default)]
    pub layers: Vec<String>,
}

impl Docker {
    /// The engine at `DOCKER_HOST` (unix:// only) or /var/run/docker.sock.
    pub fn connect() -> Result<Docker, DockerError> {
        match std::env::var("DOCKER_HOST") {
            Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
                Some(path) => Ok(Docker::at(Path::new(path))),
                None => Err(DockerError::Host(host)),
            },
            _ => Ok(Docker::at(Path::new("/var/run/docker.sock"))),
        }
    }

    pub fn at(socket: &Path) -> Docker {
        Docker {
            socket: socket.to_path_buf(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn send(&self, req: Request<Body>) -> Result<Response<Incoming>, DockerError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| DockerError::Connect {
                    socket: self.socket.display().to_string(),
                    source,
                })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| DockerError::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender
            .send_request(req)
            .await
            .map_err(|e| DockerError::Http(e.to_string()))
    }

    fn request(method: &str, path_and_query: &str, body: Body) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(format!("http://docker/{API_VERSION}{path_and_query}"))
            .header("host", "docker")
            .header("user-agent", concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .body(body)
            .expect("a valid request")
    }

    fn empty() -> Body {
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    /// A call whose answer is read whole; errors carry the engine's message.
    async fn call(&self, req: Request<Body>) -> Result<(StatusCode, Bytes), DockerError> {
        let resp = self.send(req).await?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| DockerError::Http(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok((status, body))
    }

    pub async fn ping(&self) -> Result<(), DockerError> {
        self.call(Self::request("GET", "/_ping", Self::empty()))
            .await
            .map(|_| ())
    }

    /// None when the engine has no such image.
    pub async fn inspect_image(&self, name: &str) -> Result<Option<ImageInspect>, DockerError> {
        let path = format!("/images/{}/json", encode_path(name));
        match self.call(Self::request("GET", &path, Self::empty())).await {
            Ok((_, body)) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| DockerError::Http(format!("reading an image inspect: {e}"))),
            Err(DockerError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives image `id` the name `repo:tag`.
    pub async fn tag_image(&self, id: &str, repo: &str, tag: &str) -> Result<(), DockerError> {
        let path = format!(
            "/images/{}/tag?repo={}&tag={}",
            encode_path(id),
            encode_query(repo),
            encode_query(tag)
        );
        self.call(Self::request("POST", &path, Self::empty()))
            .await
            .map(|_| ())
    }

    pub async fn remove_image(&self, name: &str, force: bool) -> Result<(), DockerError> {
        let path = format!("/images/{}?force={force}", encode_path(name));
        self.call(Self::request("DELETE", &path, Self::empty()))
            .await
            .map(|_| ())
    }

    /// `docker save`: the image as a tar stream.
    pub async fn export_image(
        &self,
        name: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, DockerError>>, DockerError> {
        let path = format!("/images/{}/get", encode_path(name));
        let resp = self
            .send(Self::request("GET", &path, Self::empty()))
            .await?;
        body_stream(resp).await
    }

    /// `docker load` of a tar stream (used to make test images).
    pub async fn load_image<S>(&self, tar: S) -> Result<String, DockerError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let body = StreamBody::new(tar.map(|r| r.map(Frame::data))).boxed_unsync();
        let mut req = Self::request("POST", "/images/load?quiet=1", body);
        req.headers_mut().insert(
            "content-type",
            "application/x-tar".parse().expect("a header"),
        );
        let (_, body) = self.call(req).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// `POST /build` with a context tar stream; the answer is the build's
    /// JSON message stream.
    pub async fn build<S>(
        &self,
        query: &str,
        context: S,
    ) -> Result<impl Stream<Item = Result<Bytes, DockerError>>, DockerError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let body = StreamBody::new(context.map(|r| r.map(Frame::data))).boxed_unsync();
        let mut req = Self::request("POST", &format!("/build?{query}"), body);
        req.headers_mut().insert(
            "content-type",
            "application/x-tar".parse().expect("a header"),
        );
        let resp = self.send(req).await?;
        body_stream(resp).await
    }
}

async fn body_stream(
    resp: Response<Incoming>,
) -> Result<impl Stream<Item = Result<Bytes, DockerError>>, DockerError> {
    let status = resp.status();
    if !status.is_success() {
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| DockerError::Http(e.to_string()))?
            .to_bytes();
        return Err(api_error(status, &body));
    }
    let stream = http_body_util::BodyStream::new(resp.into_body()).filter_map(|frame| async {
        match frame {
            Ok(f) => f.into_data().ok().map(Ok),
            Err(e) => Some(Err(DockerError::Http(e.to_string()))),
        }
    });
    Ok(stream)
}

fn api_error(status: StatusCode, body: &[u8]) -> DockerError {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let message = serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string());
    DockerError::Api {
        status: status.as_u16(),
        message,
    }
}

/// Percent-encoding for a path segment (image names hold `/` and `:`,
/// which the engine's router takes as they are).
fn encode_path(s: &str) -> String {
    encode(s, |b| b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b))
}

pub fn encode_query(s: &str) -> String {
    encode(s, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_and_queries() {
        assert_eq!(
            encode_path("127.0.0.1:5000/a/b:v1"),
            "127.0.0.1:5000/a/b:v1"
        );
        assert_eq!(
            encode_query("{\"A\":\"b c\"}"),
            "%7B%22A%22%3A%22b%20c%22%7D"
        );
    }
}
