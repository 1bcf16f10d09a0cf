//! Accepting connections: one loop per listener, each connection served as
//! HTTP/1.1 or HTTP/2 (prior knowledge, `h2c`) by what its first bytes say.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::Service as HyperService;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::RouterError;

/// How long a stopped listener lets open connections finish their requests.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(30);

pub(crate) async fn bind(what: &str, addr: SocketAddr) -> Result<TcpListener, RouterError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| RouterError::listen(what, addr, e))
}

/// A listening socket not yet tied to a runtime, for worker threads to
/// share.
pub(crate) fn bind_std(what: &str, addr: SocketAddr) -> Result<std::net::TcpListener, RouterError> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| RouterError::listen(what, addr, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| RouterError::listen(what, addr, e))?;
    Ok(listener)
}

pub(crate) fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Serves connections until `stop` is cancelled, then lets the open ones
/// finish (at most [`STOP_GRACE`]). `make` builds the service of one
/// connection from the client's address.
pub(crate) async fn serve<M, S, B>(listener: TcpListener, stop: CancellationToken, make: M)
where
    M: Fn(SocketAddr) -> S,
    S: HyperService<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = builder();
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of file descriptors and the like: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = builder
            .serve_connection(TokioIo::new(stream), make(peer))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the router's error.
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(STOP_GRACE, graceful.shutdown()).await;
}
