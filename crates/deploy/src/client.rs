//! The commands' side of the admin API: find a cluster's daemon (start it
//! when asked to), then deploy, roll back, follow a deploy's events, read
//! the status, or shut it down.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use slipway_model::deploy::{DeployEventRecord, Held};

use crate::daemon::info::{alive, cluster_dir, DaemonInfo, DaemonLock};
use crate::protocol::{
    AbortRequest, Accepted, ClusterStatus, DeployRequest, ErrorBody, RollbackRequest,
};

/// How long a starting daemon may take to answer: it may start the
/// serving versions again first (checkouts, builds, images).
const START_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request was wrong: exit 2.
    Invalid,
    /// Another deploy holds a service: exit 2, with who holds it.
    Held(Box<Held>),
    /// No daemon answers.
    Unreachable,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ClientError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            message: message.into(),
        }
    }

    pub fn is_bad_input(&self) -> bool {
        matches!(self.kind, ErrorKind::Invalid | ErrorKind::Held(_))
    }
}

pub struct Client {
    pub info: DaemonInfo,
    pub dir: PathBuf,
}

impl Client {
    /// The cluster's daemon, if one runs and answers.
    pub async fn find(root: &Path, cluster: &str) -> Option<Client> {
        let dir = cluster_dir(root, cluster);
        let info = DaemonInfo::read(&dir)?;
        if !alive(info.pid) {
            return None;
        }
        let client = Client { info, dir };
        client.health().await.ok()?;
        Some(client)
    }

    /// The cluster's daemon, started (in the background, where it stays)
    /// when none runs. `say` hears what is going on.
    pub async fn find_or_start(
        root: &Path,
        cluster: &str,
        exe: &Path,
        say: &dyn Fn(&str),
    ) -> Result<Client, ClientError> {
        if let Some(c) = Self::find(root, cluster).await {
            return Ok(c);
        }
        let dir = cluster_dir(root, cluster);
        std::fs::create_dir_all(&dir).map_err(|e| {
            ClientError::new(
                ErrorKind::Failed,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        let log_path = dir.join("daemon.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| {
                ClientError::new(
                    ErrorKind::Failed,
                    format!("cannot open {}: {e}", log_path.display()),
                )
            })?;
        let log_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let err_log = log.try_clone().map_err(|e| {
            ClientError::new(ErrorKind::Failed, format!("{}: {e}", log_path.display()))
        })?;
        say(&format!(
            "starting the daemon of cluster {cluster} (log: {})",
            log_path.display()
        ));
        let mut cmd = Command::new(exe);
        cmd.args(["cluster", "daemon", "--cluster", cluster, "-C"])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log);
        // SAFETY: setsid only, between fork and exec: the daemon gets a
        // session of its own, out of reach of the terminal's Ctrl-C.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            ClientError::new(
                ErrorKind::Failed,
                format!("cannot start {}: {e}", exe.display()),
            )
        })?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            let exited = child.try_wait().ok().flatten();
            // Another command may have started a daemon at the same time,
            // and the lock let that one run: wait for it instead.
            let other = exited.is_some() && matches!(DaemonLock::try_take(&dir), Ok(None));
            if other {
                if let Some(c) = Self::find(root, cluster).await {
                    return Ok(c);
                }
            } else if let Some(status) = exited {
                let tail = log_tail(&log_path, log_len);
                let kind = if status.code() == Some(2) {
                    ErrorKind::Invalid
                } else {
                    ErrorKind::Failed
                };
                return Err(ClientError::new(
                    kind,
                    format!("the daemon of cluster {cluster} stopped at once ({status}):\n{tail}"),
                ));
            }
            if let Some(info) = DaemonInfo::read(&dir).filter(|i| other || i.pid == child.id()) {
                let client = Client {
                    info,
                    dir: dir.clone(),
                };
                if client.health().await.is_ok() {
                    return Ok(client);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::new(
                    ErrorKind::Failed,
                    format!(
                        "the daemon of cluster {cluster} did not answer within {} s; see {}",
                        START_TIMEOUT.as_secs(),
                        log_path.display()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ClientError::new(
                ErrorKind::Unreachable,
                format!(
                    "the daemon of cluster {} does not answer on {}: {e}",
                    self.info.cluster, self.info.admin
                ),
            )
        };
        let stream = tokio::net::TcpStream::connect(self.info.admin)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.info.admin.to_string())
            .header(header::AUTHORIZATION, format!("Bearer {}", self.info.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::new(ErrorKind::Failed, e.to_string()))?;
        sender.send_request(req).await.map_err(|e| unreachable(&e))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let res = self.send(method, path, body).await?;
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::new(ErrorKind::Unreachable, e.to_string()))?
            .to_bytes();
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::new(
                    ErrorKind::Failed,
                    format!("the daemon answered {path} with something unexpected: {e}"),
                )
            });
        }
        Err(answer_error(status, &bytes))
    }

    pub async fn health(&self) -> Result<serde_json::Value, ClientError> {
        self.call(Method::GET, "/api/v1/health", None).await
    }

    pub async fn status(&self, window: Duration) -> Result<ClusterStatus, ClientError> {
        self.call(
            Method::GET,
            &format!("/api/v1/status?window={}", window.as_secs().max(1)),
            None,
        )
        .await
    }

    pub async fn deploy(&self, req: &DeployRequest) -> Result<Accepted, ClientError> {
        let body = serde_json::to_vec(req).unwrap_or_default();
        self.call(Method::POST, "/api/v1/deploys", Some(body)).await
    }

    pub async fn rollback(&self, req: &RollbackRequest) -> Result<Accepted, ClientError> {
        let body = serde_json::to_vec(req).unwrap_or_default();
        self.call(Method::POST, "/api/v1/rollback", Some(body))
            .await
    }

    pub async fn abort(&self, id: i64, reason: &str) -> Result<(), ClientError> {
        let body = serde_json::to_vec(&AbortRequest {
            reason: reason.to_string(),
        })
        .unwrap_or_default();
        let _: serde_json::Value = self
            .call(
                Method::POST,
                &format!("/api/v1/deploys/{id}/abort"),
                Some(body),
            )
            .await?;
        Ok(())
    }

    pub async fn shutdown(&self, stop_instances: bool) -> Result<(), ClientError> {
        let body = serde_json::to_vec(&serde_json::json!({ "stop_instances": stop_instances }))
            .unwrap_or_default();
        let _: serde_json::Value = self
            .call(Method::POST, "/api/v1/shutdown", Some(body))
            .await?;
        Ok(())
    }

    /// The deploy's events after `after`, as they come, until it ends.
    pub async fn events(&self, id: i64, after: i64) -> Result<EventStream, ClientError> {
        let res = self
            .send(
                Method::GET,
                &format!("/api/v1/deploys/{id}/events?after={after}"),
                None,
            )
            .await?;
        let status = res.status();
        if !status.is_success() {
            let bytes = res
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(answer_error(status, &bytes));
        }
        Ok(EventStream {
            body: res.into_body(),
            buffer: Vec::new(),
        })
    }
}

fn answer_error(status: StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(b) => {
            let kind = match (b.error.kind.as_str(), b.error.held) {
                ("held", Some(h)) => ErrorKind::Held(Box::new(h)),
                ("invalid", _) | ("not_found", _) => ErrorKind::Invalid,
                _ => ErrorKind::Failed,
            };
            ClientError::new(kind, b.error.message)
        }
        Err(_) => ClientError::new(
            ErrorKind::Failed,
            format!(
                "the daemon answered {status}: {}",
                String::from_utf8_lossy(bytes)
            ),
        ),
    }
}

/// Events read line by line from the daemon's stream.
pub struct EventStream {
    body: Incoming,
    buffer: Vec<u8>,
}

impl EventStream {
    /// The next event; `Ok(None)` when the stream ended (after the
    /// deploy's last event, or because the daemon went away).
    pub async fn next(&mut self) -> Result<Option<DeployEventRecord>, ClientError> {
        loop {
            if let Some(at) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=at).collect();
                let record = serde_json::from_slice(&line).map_err(|e| {
                    ClientError::new(
                        ErrorKind::Failed,
                        format!("the daemon sent an event that cannot be read: {e}"),
                    )
                })?;
                return Ok(Some(record));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }
}

fn log_tail(path: &Path, from: u64) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
