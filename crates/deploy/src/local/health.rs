//! One health check: `GET <path>` over a fresh connection, the status line
//! read, nothing else. A tiny HTTP/1.1 client, because a check needs no
//! more and the answer must read well in an error message. The daemon's
//! smoke checks use it too.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one check may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Answered 2xx or 3xx.
    pub healthy: bool,
    /// `GET /health answered 503`, `connection refused`, ...
    pub answer: String,
}

pub async fn check(addr: SocketAddr, path: &str, timeout: Duration) -> Check {
    match tokio::time::timeout(timeout, status(addr, path)).await {
        Ok(Ok(code)) => Check {
            healthy: (200..400).contains(&code),
            answer: format!("GET {path} answered {code}"),
        },
        Ok(Err(answer)) => Check {
            healthy: false,
            answer,
        },
        Err(_) => Check {
            healthy: false,
            answer: format!("GET {path} had no answer within {} ms", timeout.as_millis()),
        },
    }
}

async fn status(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => format!("cannot connect: {e}"),
    })?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: slipway-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("GET {path}: sending failed: {e}"))?;
    // The status line is in the first bytes; the rest is not read.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("GET {path}: reading the answer failed: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    if head.is_empty() {
        return Err(format!(
            "GET {path}: the connection closed without an answer"
        ));
    }
    parse_status(&head).ok_or_else(|| {
        let line = String::from_utf8_lossy(&head);
        let line = line.lines().next().unwrap_or_default();
        format!(
            "GET {path} answered something that is not HTTP: {:?}",
            line.chars().take(60).collect::<String>()
        )
    })
}

/// `HTTP/1.1 503 Service Unavailable` -> 503.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    (code.len() == 3).then_some(())?;
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn reads_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 503\r\n"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
    }

    async fn answering(reply: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn tells_healthy_from_not() {
        let ok = answering("HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n").await;
        assert_eq!(
            check(ok, "/health", TIMEOUT).await,
            Check {
                healthy: true,
                answer: "GET /health answered 302".into()
            }
        );
        let bad = answering("HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert_eq!(
            check(bad, "/health", TIMEOUT).await.answer,
            "GET /health answered 503"
        );
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        assert_eq!(
            check(closed, "/health", TIMEOUT).await.answer,
            "connection refused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let (_s, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await
        });
        let c = check(addr, "/health", Duration::from_millis(100)).await;
        assert_eq!(c.answer, "GET /health had no answer within 100 ms");
    }
}
