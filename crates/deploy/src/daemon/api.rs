//! The daemon's admin API on loopback: the router's own endpoints
//! (`/metrics`, `/api/v1/services`, read only here: traffic moves through
//! deploys) and the cluster's (`/api/v1/status`, deploys, rollbacks,
//! shutdown). Requests that change something carry the token from
//! `daemon.json` as `Authorization: Bearer`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use slipway_model::deploy::DeployStore;
use tokio::net::TcpListener;

use super::deploys::ApiError;
use super::Daemon;
use crate::protocol::{AbortRequest, DeployRequest, RollbackRequest};

type Body = UnsyncBoxBody<Bytes, Infallible>;

const MAX_BODY: usize = 1 << 20;

pub async fn serve<S: DeployStore>(daemon: Arc<Daemon<S>>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let daemon = daemon.clone();
                async move { Ok::<_, Infallible>(handle(&daemon, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

fn json<T: serde::Serialize>(status: u16, value: &T) -> Response<Body> {
    let mut text = serde_json::to_vec(value).unwrap_or_default();
    text.push(b'\n');
    let mut res = Response::new(full(text));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn error(e: ApiError) -> Response<Body> {
    json(e.status, &*e.body)
}

async fn handle<S: DeployStore>(daemon: &Arc<Daemon<S>>, req: Request<Incoming>) -> Response<Body> {
    match route(daemon, req).await {
        Ok(res) => res,
        Err(e) => error(e),
    }
}

fn query<'a>(req: &'a Request<Incoming>, key: &str) -> Option<&'a str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn number(req: &Request<Incoming>, key: &str, default: i64) -> Result<i64, ApiError> {
    match query(req, key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(format!("?{key}={v} is not a number"))),
    }
}

fn authorized<S: DeployStore>(daemon: &Daemon<S>, req: &Request<Incoming>) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = daemon.info.token.as_bytes();
    // Compared in constant time: the port is reachable by every local user.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "unauthorized",
            "changes need the token of .slipway/clusters/<cluster>/daemon.json (slipway's commands send it)",
        ))
    }
}

async fn read_json<T: for<'de> Deserialize<'de>>(req: Request<Incoming>) -> Result<T, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::invalid(format!("cannot read the body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::invalid(format!(
            "the body of {} {} is not the expected JSON: {e}",
            parts.method,
            parts.uri.path()
        ))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShutdownRequest {
    #[serde(default = "yes")]
    stop_instances: bool,
}

fn yes() -> bool {
    true
}

async fn route<S: DeployStore>(
    daemon: &Arc<Daemon<S>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["api", "v1", "health"], &Method::GET) => Ok(json(
            200,
            &serde_json::json!({"cluster": daemon.cluster, "pid": daemon.info.pid}),
        )),
        (["api", "v1", "status"], &Method::GET) => {
            let window = number(&req, "window", 10)?;
            if !(1..=super::RETENTION.as_secs() as i64).contains(&window) {
                return Err(ApiError::invalid(format!(
                    "?window={window}: give 1 to {} seconds",
                    super::RETENTION.as_secs()
                )));
            }
            Ok(json(
                200,
                &daemon.status(Duration::from_secs(window as u64)).await,
            ))
        }
        (["metrics"], &Method::GET)
        | (["api", "v1", "services"], &Method::GET)
        | (["api", "v1", "services", _], &Method::GET) => {
            let res = slipway_router::admin_respond(daemon.local.router(), req).await;
            Ok(res.map(|b| b.boxed_unsync()))
        }
        (["api", "v1", "services", ..], _) => Err(ApiError::new(
            405,
            "method_not_allowed",
            "traffic of a cluster moves through deploys: use slipway deploy or slipway rollback",
        )),
        (["api", "v1", "deploys"], &Method::POST) => {
            authorized(daemon, &req)?;
            let body: DeployRequest = read_json(req).await?;
            Ok(json(202, &daemon.start_deploy(body).await?))
        }
        (["api", "v1", "rollback"], &Method::POST) => {
            authorized(daemon, &req)?;
            let body: RollbackRequest = read_json(req).await?;
            Ok(json(202, &daemon.rollback(body).await?))
        }
        (["api", "v1", "deploys", id, "abort"], &Method::POST) => {
            authorized(daemon, &req)?;
            let id = deploy_id(id)?;
            let body: AbortRequest = read_json(req).await?;
            daemon.abort(id, &body.reason)?;
            Ok(json(202, &serde_json::json!({"deploy": id})))
        }
        (["api", "v1", "deploys", id, "events"], &Method::GET) => {
            let id = deploy_id(id)?;
            let after = number(&req, "after", 0)?;
            let rx = daemon.follow(id, after).await?;
            let lines = futures_util::stream::unfold(rx, |mut rx| async move {
                let record = rx.recv().await?;
                let mut line = serde_json::to_vec(&record).unwrap_or_default();
                line.push(b'\n');
                Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), rx))
            });
            let mut res = Response::new(StreamBody::new(lines.boxed()).boxed_unsync());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            Ok(res)
        }
        (["api", "v1", "shutdown"], &Method::POST) => {
            authorized(daemon, &req)?;
            let body: ShutdownRequest = read_json(req).await?;
            daemon.request_shutdown(body.stop_instances);
            Ok(json(202, &serde_json::json!({"stopping": true})))
        }
        _ => Err(ApiError::new(
            404,
            "not_found",
            format!("no endpoint {method} {path}"),
        )),
    }
}

fn deploy_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid(format!("`{text}` is not a deploy number")))
}
