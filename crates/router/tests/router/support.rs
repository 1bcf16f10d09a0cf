//! Real upstreams and real load on loopback for the router's tests.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What a backend does with its `n`th request (from 0): the status, and a
/// delay before answering.
pub type Behavior = Arc<dyn Fn(u64) -> (u16, Duration) + Send + Sync>;

struct Shared {
    served: AtomicU64,
    connections: AtomicU64,
    release: Notify,
    released: AtomicBool,
    behavior: Behavior,
}

/// A small HTTP/1.1 server answering with its name. `/hold` waits until
/// [`Backend::release`]; other paths follow the backend's [`Behavior`].
/// Every response carries the `Host` and `X-Forwarded-For` it received
/// (`x-seen-host`, `x-seen-forwarded-for`).
pub struct Backend {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Backend {
    pub async fn start(name: &'static str) -> Backend {
        Self::with_behavior(name, Arc::new(|_| (200, Duration::ZERO))).await
    }

    /// A backend that closes every connection after one response.
    pub async fn closing(name: &'static str) -> Backend {
        Self::serve(name, Arc::new(|_| (200, Duration::ZERO)), false).await
    }

    pub async fn with_behavior(name: &'static str, behavior: Behavior) -> Backend {
        Self::serve(name, behavior, true).await
    }

    async fn serve(name: &'static str, behavior: Behavior, keep_alive: bool) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            served: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            release: Notify::new(),
            released: AtomicBool::new(false),
            behavior,
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accepting.clone();
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(name, shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Backend { addr, shared }
    }

    pub fn upstream(&self) -> String {
        self.addr.to_string()
    }

    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Lets every `/hold` request, waiting or to come, answer.
    pub fn release(&self) {
        self.shared.released.store(true, Ordering::SeqCst);
        self.shared.release.notify_waiters();
    }
}

async fn answer(
    name: &'static str,
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let host = header(&req, "host");
    let xff = header(&req, "x-forwarded-for");
    let hold = req.uri().path() == "/hold";
    let _ = req.into_body().collect().await;
    let n = shared.served.fetch_add(1, Ordering::SeqCst);
    let status = if hold {
        loop {
            let notified = shared.release.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shared.released.load(Ordering::SeqCst) {
                break;
            }
            notified.await;
        }
        200
    } else {
        let (status, delay) = (shared.behavior)(n);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        status
    };
    let mut res = Response::new(Full::new(Bytes::from_static(name.as_bytes())));
    *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    res.headers_mut()
        .insert("x-seen-host", host.parse().unwrap());
    res.headers_mut()
        .insert("x-seen-forwarded-for", xff.parse().unwrap());
    Ok(res)
}

fn header(req: &Request<Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A port nothing listens on (bound, then closed).
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// An HTTP/1.1 client with a keep-alive pool, as load generators use.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// An HTTP/2 client without TLS (prior knowledge, `h2c`).
pub fn h2_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// One response: its status and body, or the client's error.
#[derive(Debug, Clone)]
pub struct Reply {
    pub started: Instant,
    pub ended: Instant,
    pub result: Result<(u16, String), String>,
}

impl Reply {
    pub fn ok_body(&self) -> Option<&str> {
        match &self.result {
            Ok((200, body)) => Some(body),
            _ => None,
        }
    }
}

pub async fn get(client: &HttpClient, url: &str) -> Reply {
    let started = Instant::now();
    let req = Request::get(url).body(Full::new(Bytes::new())).unwrap();
    let result = match client.request(req).await {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.into_body().collect().await {
                Ok(b) => Ok((status, String::from_utf8_lossy(&b.to_bytes()).into_owned())),
                Err(e) => Err(format!("body: {e}")),
            }
        }
        Err(e) => Err(format!("{e:?}")),
    };
    Reply {
        started,
        ended: Instant::now(),
        result,
    }
}

/// `total` GETs of `url` by `concurrency` workers.
pub async fn load(client: &HttpClient, url: &str, total: usize, concurrency: usize) -> Vec<Reply> {
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (client, url) = (client.clone(), url.to_string());
        let n = total / concurrency + usize::from(w < total % concurrency);
        workers.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(get(&client, &url).await);
            }
            out
        }));
    }
    let mut replies = Vec::with_capacity(total);
    for w in workers {
        replies.extend(w.await.unwrap());
    }
    replies
}

/// Steady load until stopped: `concurrency` workers, each sending its next
/// request as soon as the last one is answered.
pub struct SteadyLoad {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Vec<Reply>>>,
}

impl SteadyLoad {
    pub fn start(client: &HttpClient, url: &str, concurrency: usize) -> SteadyLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..concurrency)
            .map(|_| {
                let (client, url, stop) = (client.clone(), url.to_string(), stop.clone());
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        out.push(get(&client, &url).await);
                    }
                    out
                })
            })
            .collect();
        SteadyLoad { stop, workers }
    }

    pub async fn stop(self) -> Vec<Reply> {
        self.stop.store(true, Ordering::SeqCst);
        let mut replies = Vec::new();
        for w in self.workers {
            replies.extend(w.await.unwrap());
        }
        replies
    }
}

/// How many 200 responses each body had, and every other outcome.
pub fn tally(replies: &[Reply]) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut ok = BTreeMap::new();
    let mut other = Vec::new();
    for r in replies {
        match &r.result {
            Ok((200, body)) => *ok.entry(body.clone()).or_default() += 1,
            Ok((status, body)) => other.push(format!("{status} {body}")),
            Err(e) => other.push(e.clone()),
        }
    }
    (ok, other)
}

/// Polls `check` until it holds (at most 30 s, generous for a loaded
/// machine).
pub async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
