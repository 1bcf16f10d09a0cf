//! A small Docker Engine API client over the Unix socket: the few calls a
//! build and a push need (build, inspect, tag, save, remove, ping) and the
//! ones the local cluster runs containers with (pull; create, start, stop,
//! wait for, inspect, list, remove a container; follow its output), on
//! hyper, which the tree already has through reqwest.
//!
//! Lifecycle: `Docker::connect()` only works out where the socket is; each
//! call opens its own connection, so a long build stream and an inspect can
//! run at the same time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWrite, AsyncWriteExt};
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

/// What `POST /containers/create` is given: the parts slipway sets.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    pub image: String,
    /// `NAME=value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `8080/tcp` -> `{}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    pub host_config: HostConfig,
}

impl ContainerConfig {
    /// Publishes the container's TCP `port` on `host_ip:host_port`.
    pub fn publish(&mut self, port: u16, host_ip: &str, host_port: u16) {
        let key = format!("{port}/tcp");
        self.exposed_ports.insert(key.clone(), Empty {});
        self.host_config
            .port_bindings
            .entry(key)
            .or_default()
            .push(PortBinding {
                host_ip: host_ip.to_string(),
                host_port: host_port.to_string(),
            });
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(default)]
    pub host_ip: String,
    #[serde(default)]
    pub host_port: String,
}

/// `{}` in the engine's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// What `GET /containers/{id}/json` says, the parts used here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    /// `/name`, with the engine's leading slash.
    #[serde(default)]
    pub name: String,
    pub state: ContainerState,
    #[serde(default)]
    pub config: Option<ContainerInspectConfig>,
    #[serde(default)]
    pub network_settings: Option<NetworkSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// `created`, `running`, `exited`, ...
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub running: bool,
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub pid: i64,
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspectConfig {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// `8080/tcp` -> its bindings on the host (`None`: not published).
    #[serde(default)]
    pub ports: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
}

/// One entry of `GET /containers/json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    pub id: String,
    /// `/name`s.
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub image: String,
    /// `running`, `exited`, ...
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
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
    /// `docker pull image:tag` from the image's registry. The engine answers
    /// 404 when the registry has no such repository or tag; an error it
    /// reports inside the progress stream (after answering 200) comes back
    /// as a 500 with its message.
    pub async fn pull_image(&self, image: &str, tag: &str) -> Result<(), DockerError> {
        let path = format!(
            "/images/create?fromImage={}&tag={}",
            encode_query(image),
            encode_query(tag)
        );
        let (_, body) = self
            .call(Self::request("POST", &path, Self::empty()))
            .await?;
        #[derive(Deserialize)]
        struct Progress {
            #[serde(default)]
            error: Option<String>,
        }
        for line in body.split(|b| *b == b'\n') {
            if let Ok(Progress {
                error: Some(message),
            }) = serde_json::from_slice(line)
            {
                return Err(DockerError::Api {
                    status: 500,
                    message,
                });
            }
        }
        Ok(())
    }

    /// Creates a container named `name`; its id.
    pub async fn create_container(
        &self,
        name: &str,
        config: &ContainerConfig,
    ) -> Result<String, DockerError> {
        let json = serde_json::to_vec(config)
            .map_err(|e| DockerError::Http(format!("writing a container config: {e}")))?;
        let body = Full::new(Bytes::from(json))
            .map_err(|never| match never {})
            .boxed_unsync();
        let path = format!("/containers/create?name={}", encode_query(name));
        let mut req = Self::request("POST", &path, body);
        req.headers_mut().insert(
            "content-type",
            "application/json".parse().expect("a header"),
        );
        let (_, body) = self.call(req).await?;
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "Id")]
            id: String,
        }
        serde_json::from_slice::<Created>(&body)
            .map(|c| c.id)
            .map_err(|e| DockerError::Http(format!("reading a created container: {e}")))
    }

    /// Starts a container (one already running is fine).
    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let path = format!("/containers/{}/start", encode_path(id));
        match self.call(Self::request("POST", &path, Self::empty())).await {
            Ok(_) | Err(DockerError::Api { status: 304, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `docker stop -t`: SIGTERM, SIGKILL after `timeout` (whole seconds,
    /// rounded up). One already stopped is fine.
    pub async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), DockerError> {
        let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        let path = format!("/containers/{}/stop?t={secs}", encode_path(id));
        match self.call(Self::request("POST", &path, Self::empty())).await {
            Ok(_) | Err(DockerError::Api { status: 304, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes a container and its anonymous volumes (`force`: even while
    /// it runs). False when there was no such container.
    pub async fn remove_container(&self, id: &str, force: bool) -> Result<bool, DockerError> {
        let path = format!("/containers/{}?force={force}&v=true", encode_path(id));
        match self
            .call(Self::request("DELETE", &path, Self::empty()))
            .await
        {
            Ok(_) => Ok(true),
            Err(DockerError::Api { status: 404, .. }) => Ok(false),
            // Someone else is removing it already.
            Err(DockerError::Api {
                status: 409,
                message,
            }) if message.contains("already in progress") => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// None when the engine has no such container.
    pub async fn inspect_container(
        &self,
        id: &str,
    ) -> Result<Option<ContainerInspect>, DockerError> {
        let path = format!("/containers/{}/json", encode_path(id));
        match self.call(Self::request("GET", &path, Self::empty())).await {
            Ok((_, body)) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| DockerError::Http(format!("reading a container inspect: {e}"))),
            Err(DockerError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Containers, stopped ones too, that carry every one of `labels`
    /// (`key=value` or `key`).
    pub async fn list_containers(
        &self,
        labels: &[&str],
    ) -> Result<Vec<ContainerSummary>, DockerError> {
        let filters = serde_json::json!({ "label": labels }).to_string();
        let path = format!(
            "/containers/json?all=true&filters={}",
            encode_query(&filters)
        );
        let (_, body) = self
            .call(Self::request("GET", &path, Self::empty()))
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| DockerError::Http(format!("reading a container list: {e}")))
    }

    /// Waits until the container is not running; its exit code. The answer
    /// comes when it stops, so this holds a connection that long.
    pub async fn wait_container(&self, id: &str) -> Result<i64, DockerError> {
        let path = format!("/containers/{}/wait?condition=not-running", encode_path(id));
        let (_, body) = self
            .call(Self::request("POST", &path, Self::empty()))
            .await?;
        #[derive(Deserialize)]
        struct Waited {
            #[serde(rename = "StatusCode")]
            status_code: i64,
        }
        serde_json::from_slice::<Waited>(&body)
            .map(|w| w.status_code)
            .map_err(|e| DockerError::Http(format!("reading a container wait: {e}")))
    }

    /// `docker logs --follow --since`: writes the container's stdout and
    /// stderr, interleaved as they came, to `out` until the container stops
    /// (or its output ends); the number of bytes written. For containers
    /// without a TTY, whose output the engine multiplexes.
    pub async fn follow_logs<W: AsyncWrite + Unpin>(
        &self,
        id: &str,
        since: i64,
        out: &mut W,
    ) -> Result<u64, DockerError> {
        let path = format!(
            "/containers/{}/logs?follow=true&stdout=true&stderr=true&since={since}",
            encode_path(id)
        );
        let resp = self
            .send(Self::request("GET", &path, Self::empty()))
            .await?;
        let stream = body_stream(resp).await?;
        let mut stream = std::pin::pin!(stream);
        let mut frames = Demux::default();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            for payload in frames.push(&chunk?) {
                out.write_all(&payload)
                    .await
                    .map_err(|e| DockerError::Http(format!("writing container output: {e}")))?;
                written += payload.len() as u64;
            }
        }
        out.flush()
            .await
            .map_err(|e| DockerError::Http(format!("writing container output: {e}")))?;
        Ok(written)
    }
}

/// The engine's multiplexed output stream: frames of an 8-byte header
/// (stream, 0, 0, 0, big-endian length) and a payload, split anywhere
/// across chunks.
#[derive(Debug, Default)]
struct Demux {
    pending: Vec<u8>,
}

impl Demux {
    /// The payloads complete after `chunk`.
    fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut at = 0;
        while self.pending.len() - at >= 8 {
            let header = &self.pending[at..at + 8];
            let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
            if self.pending.len() - at - 8 < len {
                break;
            }
            out.push(self.pending[at + 8..at + 8 + len].to_vec());
            at += 8 + len;
        }
        self.pending.drain(..at);
        out
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

    #[test]
    fn splits_multiplexed_output_across_chunks() {
        let mut frames = Vec::new();
        frames.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 6]);
        frames.extend_from_slice(b"hello\n");
        frames.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        frames.extend_from_slice(b"err\n");
        let mut demux = Demux::default();
        let mut out = Vec::new();
        for piece in frames.chunks(5) {
            out.extend(demux.push(piece));
        }
        assert_eq!(out, vec![b"hello\n".to_vec(), b"err\n".to_vec()]);
        assert!(demux.pending.is_empty());
    }

    #[test]
    fn a_container_config_publishes_on_loopback() {
        let mut config = ContainerConfig {
            image: "r/a:v1".into(),
            ..ContainerConfig::default()
        };
        config.publish(8080, "127.0.0.1", 40001);
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::json!({
                "Image": "r/a:v1",
                "ExposedPorts": { "8080/tcp": {} },
                "HostConfig": { "PortBindings": { "8080/tcp": [{ "HostIp": "127.0.0.1", "HostPort": "40001" }] } }
            })
        );
    }
}
