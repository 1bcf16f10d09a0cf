//! The data path: one client request, a version drawn by weight, the
//! request forwarded to one of its upstreams, the response streamed back,
//! and the outcome counted when the response has ended.

use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Request, Response, StatusCode, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::pool::{Lease, UpstreamError, UpstreamPool};
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
    /// The upstream connection, given back to its pool when the body has
    /// been read to its end (and closed with the body otherwise).
    lease: Option<Returning>,
}

struct Returning {
    pool: Arc<UpstreamPool>,
    worker: usize,
    lease: Lease,
}

impl Returning {
    fn put_back(self) {
        self.pool.put_back(self.worker, self.lease);
    }
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
            lease: None,
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
                let ended = match &polled {
                    Poll::Ready(None) => true,
                    Poll::Ready(Some(Ok(_))) => body.is_end_stream(),
                    Poll::Ready(Some(Err(_))) => {
                        // The upstream broke off mid-response.
                        if let Some(f) = this.in_flight.as_mut() {
                            f.outcome.error = true;
                        }
                        this.lease = None;
                        this.in_flight = None;
                        false
                    }
                    Poll::Pending => false,
                };
                if ended {
                    if let Some(r) = this.lease.take() {
                        r.put_back();
                    }
                    this.in_flight = None;
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

/// The client's address as an `X-Forwarded-For` value, made once per
/// connection.
pub(crate) fn forwarded_for(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Serves one client request on worker thread `worker`.
pub(crate) async fn handle(
    service: Arc<Service>,
    worker: usize,
    peer: HeaderValue,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    // Draw a version and count the request in flight to it, then check the
    // table is still the one drawn from: a writer that swapped tables and
    // then saw no request in flight to a version it took traffic from can
    // trust that none is about to start.
    let (version, pool) = loop {
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

    let Some(upstream_req) = upstream_request(req, &pool, &peer) else {
        in_flight.outcome.status = 400;
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            "bad request target\n",
            Some(in_flight),
        ));
    };

    let sent = tokio::time::timeout(service.response_timeout, pool.send(worker, upstream_req));
    let failure = match sent.await {
        Ok(Ok((res, lease))) => {
            let (mut parts, body) = res.into_parts();
            in_flight.outcome.status = parts.status.as_u16();
            remove_hop_by_hop(&mut parts.headers);
            let mut lease = Some(Returning {
                pool,
                worker,
                lease,
            });
            if body.is_end_stream() {
                // No body to read (HEAD, 204, 304): the connection is free.
                if let Some(r) = lease.take() {
                    r.put_back();
                }
            }
            let body = ProxyBody {
                inner: Inner::Upstream(body),
                in_flight: Some(in_flight),
                lease,
            };
            return Ok(Response::from_parts(parts, body));
        }
        Ok(Err(e)) => e,
        Err(_) => {
            in_flight.outcome.error = true;
            in_flight.outcome.status = 504;
            return Ok(answer(
                StatusCode::GATEWAY_TIMEOUT,
                "the upstream did not answer in time\n",
                Some(in_flight),
            ));
        }
    };
    in_flight.outcome.error = true;
    let (status, text) = match failure {
        UpstreamError::ConnectTimeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "the upstream did not accept the connection in time\n",
        ),
        UpstreamError::Connect => (
            StatusCode::BAD_GATEWAY,
            "the upstream could not be reached\n",
        ),
        UpstreamError::Exchange => (
            StatusCode::BAD_GATEWAY,
            "the upstream broke the connection\n",
        ),
    };
    in_flight.outcome.status = status.as_u16();
    Ok(answer(status, text, Some(in_flight)))
}

/// The client's request, for `upstream` over HTTP/1.1: in origin form
/// (path and query), the client's `Host` kept (or taken from an HTTP/2
/// `:authority`, or the upstream's address without either), hop-by-hop
/// headers dropped, the client's address added to `X-Forwarded-For`.
fn upstream_request(
    req: Request<Incoming>,
    upstream: &UpstreamPool,
    peer: &HeaderValue,
) -> Option<Request<Incoming>> {
    let (mut parts, body) = req.into_parts();
    if !parts.headers.contains_key(header::HOST) {
        let host = match parts.uri.authority() {
            Some(a) => HeaderValue::from_str(a.as_str()).ok()?,
            None => HeaderValue::from_str(upstream.authority.as_str()).ok()?,
        };
        parts.headers.insert(header::HOST, host);
    }
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::from(path);
    } else if parts.uri.path_and_query().is_none() {
        // `*` (OPTIONS) or an authority alone: nothing to forward.
        return None;
    }
    parts.version = Version::HTTP_11;
    remove_hop_by_hop(&mut parts.headers);
    append_forwarded_for(&mut parts.headers, peer);
    Some(Request::from_parts(parts, body))
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == KEEP_ALIVE
        || name == PROXY_CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
}

/// Drops the headers that describe one connection rather than the message
/// (RFC 9110, 7.6.1), including those the `Connection` header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages have none: one pass over a few names, no hashing.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
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

fn append_forwarded_for(headers: &mut HeaderMap, peer: &HeaderValue) {
    let value = match headers.get(&X_FORWARDED_FOR).map(|v| v.as_bytes()) {
        Some(before) if !before.is_empty() => {
            let mut joined = Vec::with_capacity(before.len() + 2 + peer.len());
            joined.extend_from_slice(before);
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(peer.as_bytes());
            match HeaderValue::from_bytes(&joined) {
                Ok(v) => v,
                Err(_) => return,
            }
        }
        _ => peer.clone(),
    };
    headers.insert(&X_FORWARDED_FOR, value);
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
        let peer = forwarded_for("10.0.0.7".parse().unwrap());
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, &peer);
        assert_eq!(h["x-forwarded-for"], "10.0.0.7");
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        append_forwarded_for(&mut h, &peer);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.7");
    }
}
