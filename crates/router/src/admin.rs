//! The admin server, on loopback only: `/metrics` for Prometheus and a JSON
//! API to read figures and move traffic. Shapes are documented in the
//! README's "Router" section.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::RouterError;
use crate::listener;
use crate::router::Router;
use crate::service::ServiceStats;
use crate::spec::VersionSpec;

/// The largest request body the admin API reads.
const MAX_BODY: usize = 1 << 20;

/// A running admin server.
pub struct AdminServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Serves `router`'s admin API on `addr`, which must be a loopback
    /// address (port 0 picks a free port).
    pub async fn start(router: Router, addr: SocketAddr) -> Result<AdminServer, RouterError> {
        if !addr.ip().is_loopback() {
            return Err(RouterError::AdminNotLoopback(addr));
        }
        let listener = listener::bind("the router's admin server", addr).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| RouterError::listen("the router's admin server", addr, e))?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(listener::serve(listener, stop.clone(), move |_peer| {
            let router = router.clone();
            service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, Infallible>(handle(&router, req).await) }
            })
        }));
        Ok(AdminServer { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// `PUT /api/v1/services/{service}/weights`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsBody {
    pub weights: BTreeMap<String, u32>,
}

/// `PUT /api/v1/services/{service}/versions`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VersionsBody {
    pub versions: Vec<VersionSpec>,
}

#[derive(Serialize)]
struct ServicesBody {
    services: Vec<ServiceStats>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    kind: &'a str,
    message: String,
}

struct Failure {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// For 405: the method the endpoint takes.
    allow: Option<&'static str>,
}

impl From<RouterError> for Failure {
    fn from(e: RouterError) -> Self {
        let status = match &e {
            RouterError::Invalid(_) => StatusCode::BAD_REQUEST,
            RouterError::UnknownService { .. } | RouterError::UnknownVersion { .. } => {
                StatusCode::NOT_FOUND
            }
            RouterError::StillRouted { .. } | RouterError::ServiceExists(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure {
            status,
            kind: e.kind(),
            message: e.to_string(),
            allow: None,
        }
    }
}

fn invalid(message: String) -> Failure {
    Failure {
        status: StatusCode::BAD_REQUEST,
        kind: "invalid",
        message,
        allow: None,
    }
}

/// Answers one request of the admin API; for servers that serve the
/// router's API among their own (the cluster daemon).
pub async fn respond(router: &Router, req: Request<Incoming>) -> Response<Full<Bytes>> {
    handle(router, req).await
}

async fn handle(router: &Router, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match route(router, req).await {
        Ok(res) => res,
        Err(f) => {
            let mut res = json(
                f.status,
                &ErrorBody {
                    error: ErrorDetail {
                        kind: f.kind,
                        message: f.message,
                    },
                },
            );
            if let Some(allow) = f.allow {
                res.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            res
        }
    }
}

async fn route(router: &Router, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Failure> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = req.method().clone();
    let window = window(router, req.uri().query())?;
    match (segments.as_slice(), &method) {
        (["metrics"], &Method::GET) => {
            let mut res = Response::new(Full::new(Bytes::from(router.metrics())));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            Ok(res)
        }
        (["api", "v1", "services"], &Method::GET) => Ok(json(
            StatusCode::OK,
            &ServicesBody {
                services: router.all_stats(window),
            },
        )),
        (["api", "v1", "services", service], &Method::GET) => {
            Ok(json(StatusCode::OK, &router.stats(service, window)?))
        }
        (["api", "v1", "services", service, "weights"], &Method::PUT) => {
            let body: WeightsBody = read_json(req, &method, &path).await?;
            let weights: Vec<(&str, u32)> =
                body.weights.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            router.set_weights(service, &weights)?;
            Ok(json(StatusCode::OK, &router.stats(service, window)?))
        }
        (["api", "v1", "services", service, "versions"], &Method::PUT) => {
            let body: VersionsBody = read_json(req, &method, &path).await?;
            router.set_versions(service, &body.versions)?;
            Ok(json(StatusCode::OK, &router.stats(service, window)?))
        }
        (["api", "v1", "services", service, "versions", version], &Method::DELETE) => {
            router.remove_version(service, version)?;
            Ok(json(StatusCode::OK, &router.stats(service, window)?))
        }
        (["metrics"], _)
        | (["api", "v1", "services"], _)
        | (["api", "v1", "services", _], _)
        | (["api", "v1", "services", _, "weights"], _)
        | (["api", "v1", "services", _, "versions"], _)
        | (["api", "v1", "services", _, "versions", _], _) => {
            let allowed = match segments.len() {
                1 | 3 | 4 => "GET",
                5 => "PUT",
                _ => "DELETE",
            };
            Err(Failure {
                status: StatusCode::METHOD_NOT_ALLOWED,
                kind: "method_not_allowed",
                message: format!("{method} {path} is not supported: use {allowed}"),
                allow: Some(allowed),
            })
        }
        _ => Err(Failure {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: format!(
                "no such endpoint {path}: the admin API serves /metrics and /api/v1/services"
            ),
            allow: None,
        }),
    }
}

/// `?window=SECONDS`, 1 to the router's retention.
fn window(router: &Router, query: Option<&str>) -> Result<Duration, Failure> {
    let max = router.retention().as_secs();
    let Some(value) = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("window="))
    else {
        return Ok(Router::DEFAULT_WINDOW.min(router.retention()));
    };
    match value.parse::<u64>() {
        Ok(s) if (1..=max).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(invalid(format!(
            "window `{value}` is not a number of seconds from 1 to {max} (the router keeps {max} s)"
        ))),
    }
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    req: Request<Incoming>,
    method: &Method,
    path: &str,
) -> Result<T, Failure> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| invalid(format!("cannot read the body of {method} {path}: {e}")))?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        invalid(format!(
            "the body of {method} {path} is not the expected JSON: {e}"
        ))
    })
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let mut text = serde_json::to_vec_pretty(value).unwrap_or_default();
    text.push(b'\n');
    let mut res = Response::new(Full::new(Bytes::from(text)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
