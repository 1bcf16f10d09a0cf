//! The data path: one client request, a version drawn by weight, the
//! request forwarded to one of its upstreams, the response streamed back,
//! and the outcome counted when the response has ended.

use std::convert::Infallible;
use std::error::Error as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Scheme, Uri};
use http::{Request, Response, StatusCode, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::service::Service;
use crate::stats::Outcome;
use crate::table::VersionState;

/// A request in flight to a version: counted as such until dropped, and
/// recorded with its outcome when dropped.
struct InFlight {
    version: Arc<VersionState>,
    start: Instant,
    outcome: Outcome,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let end = self.version.stats.clock().now();
        let latency = end.saturating_duration_since(self.start);
        self.version.stats.record(end, latency, self.outcome);
        self.version.end();
    }
}

/// The body sent to the client: the upstream's, streamed, or a short one
/// the router wrote itself. Holds the request's [`InFlight`] until the body
/// has ended (or the client has gone), so that latency covers the whole
/// response and draining waits for it.
pub(crate) struct ProxyBody {
    inner: Inner,
    in_flight: Option<InFlight>,
}

enum Inner {
    Upstream(Incoming),
    Full(Option<Bytes>),
}

impl ProxyBody {
    fn full(text: &'static str) -> Self {
        ProxyBody {
            inner: Inner::Full(Some(Bytes::from_static(text.as_bytes()))),
            in_flight: None,
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        match &mut this.inner {
            Inner::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Inner::Upstream(body) => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    Poll::Ready(None) => this.in_flight = None,
                    Poll::Ready(Some(Err(_))) => {
                        // The upstream broke off mid-response.
                        if let Some(f) = this.in_flight.as_mut() {
                            f.outcome.error = true;
                        }
                        this.in_flight = None;
                    }
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => this.in_flight = None,
                    _ => {}
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(data) => data.is_none(),
            Inner::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Upstream(body) => body.size_hint(),
        }
    }
}

fn answer(
    status: StatusCode,
    text: &'static str,
    in_flight: Option<InFlight>,
) -> Response<ProxyBody> {
    let mut body = ProxyBody::full(text);
    body.in_flight = in_flight;
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Serves one client request.
pub(crate) async fn handle(
    service: Arc<Service>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    // Draw a version and count the request in flight to it, then check the
    // table is still the one drawn from: a writer that swapped tables and
    // then saw no request in flight to a version it took traffic from can
    // trust that none is about to start.
    let (version, upstream) = loop {
        let table = service.table.load();
        let Some(route) = table.pick() else {
            service.unrouted.fetch_add(1, Ordering::Relaxed);
            return Ok(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "no version of this service takes traffic\n",
                None,
            ));
        };
        route.version.begin();
        if std::ptr::eq(&**service.table.load(), &**table) {
            break (route.version.clone(), route.upstream().clone());
        }
        route.version.end();
    };
    let mut in_flight = InFlight {
        start: version.stats.clock().now(),
        version,
        outcome: Outcome {
            status: 0,
            error: false,
        },
    };

    let upstream_req = match upstream_request(req, upstream, peer) {
        Ok(r) => r,
        Err(()) => {
            in_flight.outcome.status = 400;
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                "bad request target\n",
                Some(in_flight),
            ));
        }
    };

    let sent = tokio::time::timeout(
        service.response_timeout,
        service.client.request(upstream_req),
    );
    match sent.await {
        Ok(Ok(res)) => {
            let (mut parts, body) = res.into_parts();
            in_flight.outcome.status = parts.status.as_u16();
            remove_hop_by_hop(&mut parts.headers);
            let body = ProxyBody {
                inner: Inner::Upstream(body),
                in_flight: Some(in_flight),
            };
            Ok(Response::from_parts(parts, body))
        }
        Ok(Err(err)) => {
            let timed_out = is_timeout(&err);
            in_flight.outcome.error = true;
            Ok(if timed_out {
                in_flight.outcome.status = 504;
                answer(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the upstream did not accept the connection in time\n",
                    Some(in_flight),
                )
            } else {
                in_flight.outcome.status = 502;
                answer(
                    StatusCode::BAD_GATEWAY,
                    "the upstream could not be reached or broke the connection\n",
                    Some(in_flight),
                )
            })
        }
        Err(_) => {
            in_flight.outcome.error = true;
            in_flight.outcome.status = 504;
            Ok(answer(
                StatusCode::GATEWAY_TIMEOUT,
                "the upstream did not answer in time\n",
                Some(in_flight),
            ))
        }
    }
}

fn is_timeout(err: &hyper_util::client::legacy::Error) -> bool {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// The client's request, addressed to `upstream` over HTTP/1.1: the path
/// and query kept, the client's `Host` kept (or taken from an HTTP/2
/// `:authority`), hop-by-hop headers dropped, the client's address added to
/// `X-Forwarded-For`.
fn upstream_request(
    req: Request<Incoming>,
    upstream: http::uri::Authority,
    peer: SocketAddr,
) -> Result<Request<Incoming>, ()> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    if !parts.headers.contains_key(header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            let host = HeaderValue::from_str(authority.as_str()).map_err(|_| ())?;
            parts.headers.insert(header::HOST, host);
        }
    }
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(Scheme::HTTP);
    uri.authority = Some(upstream);
    uri.path_and_query = Some(path);
    parts.uri = Uri::from_parts(uri).map_err(|_| ())?;
    parts.version = Version::HTTP_11;
    remove_hop_by_hop(&mut parts.headers);
    append_forwarded_for(&mut parts.headers, peer);
    Ok(Request::from_parts(parts, body))
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Drops the headers that describe one connection rather than the message
/// (RFC 9110, 7.6.1), including those the `Connection` header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(header::CONNECTION);
    }
    for name in [
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ] {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(before) if !before.is_empty() => format!("{before}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(&X_FORWARDED_FOR, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_and_the_rest_stay() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        remove_hop_by_hop(&mut h);
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type"]);
    }

    #[test]
    fn forwarded_for_is_appended() {
        let peer: SocketAddr = "10.0.0.7:5555".parse().unwrap();
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, peer);
        assert_eq!(h["x-forwarded-for"], "10.0.0.7");
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        append_forwarded_for(&mut h, peer);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.7");
    }
}
