//! Keep-alive connections to one upstream, HTTP/1.1, one idle list per
//! worker thread so that a connection is only ever used on the thread that
//! drives it (no cross-thread wake-ups on the data path).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections older than this are closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per worker and upstream; more are closed.
const MAX_IDLE: usize = 512;

/// Why a request could not be completed with the upstream.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// Connecting failed (refused, unreachable, no such host).
    Connect,
    /// The connection failed while sending the request or reading the
    /// response head.
    Exchange,
}

struct Idle {
    sender: http1::SendRequest<Incoming>,
    since: Instant,
}

/// One upstream address and its idle connections.
pub(crate) struct UpstreamPool {
    pub authority: Authority,
    connect_timeout: Duration,
    idle: Vec<Mutex<Vec<Idle>>>,
}

/// A connection in use; given back with [`UpstreamPool::put_back`] once
/// the response has been read to its end.
pub(crate) struct Lease {
    sender: http1::SendRequest<Incoming>,
}

impl UpstreamPool {
    pub fn new(authority: Authority, connect_timeout: Duration, workers: usize) -> Self {
        UpstreamPool {
            authority,
            connect_timeout,
            idle: (0..workers.max(1))
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }

    fn idle(&self, worker: usize) -> MutexGuard<'_, Vec<Idle>> {
        self.idle[worker % self.idle.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `req` on an idle connection of this worker (the most recently
    /// used first), or on a new one. A request that an idle connection
    /// closed before taking is sent again on the next, so a keep-alive race
    /// with the upstream costs the client nothing.
    pub async fn send(
        &self,
        worker: usize,
        mut req: Request<Incoming>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        loop {
            let Some(mut idle) = self.idle(worker).pop() else {
                break;
            };
            if idle.since.elapsed() > IDLE_TIMEOUT || idle.sender.ready().await.is_err() {
                continue;
            }
            match idle.sender.try_send_request(req).await {
                Ok(res) => {
                    return Ok((
                        res,
                        Lease {
                            sender: idle.sender,
                        },
                    ))
                }
                Err(mut e) => match e.take_message() {
                    Some(back) => req = back,
                    None => return Err(UpstreamError::Exchange),
                },
            }
        }

        let mut sender = self.connect().await?;
        match sender.send_request(req).await {
            Ok(res) => Ok((res, Lease { sender })),
            Err(_) => Err(UpstreamError::Exchange),
        }
    }

    async fn connect(&self) -> Result<http1::SendRequest<Incoming>, UpstreamError> {
        let host = self.authority.host();
        // `[::1]` in an authority, `::1` to connect.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = self.authority.port_u16().unwrap_or(80);
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((host, port)),
        )
        .await
        {
            Err(_) => return Err(UpstreamError::ConnectTimeout),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(UpstreamError::ConnectTimeout)
            }
            Ok(Err(_)) => return Err(UpstreamError::Connect),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| UpstreamError::Connect)?;
        // The connection's task runs on this worker; it ends when the
        // upstream closes or every sender is dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Returns a connection whose response was read to its end.
    pub fn put_back(&self, worker: usize, lease: Lease) {
        if lease.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle(worker);
        // The oldest are at the front: close those unused for too long.
        let stale = idle
            .iter()
            .take_while(|i| now.saturating_duration_since(i.since) > IDLE_TIMEOUT)
            .count();
        idle.drain(..stale);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                sender: lease.sender,
                since: now,
            });
        }
    }
}
