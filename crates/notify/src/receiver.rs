//! A real HTTP receiver on loopback that stands in for Slack in tests: it
//! records every request it is sent, exactly, and answers from a script
//! (`429` with `Retry-After`, `500`, …), then `200 ok` once the script is
//! used up (or the fallback answer given). Plain `std::net`, one
//! connection at a time, `Connection: close` on every answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One answer of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status with a text body.
    Status(u16, String),
    /// `429 Too Many Requests` with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// Close the connection without answering.
    Hang,
}

impl Answer {
    pub fn ok() -> Answer {
        Answer::Status(200, "ok".into())
    }
}

/// A request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    script: Vec<Answer>,
    fallback: Answer,
    received: Vec<Received>,
}

pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Answers `script` in order, then `200 ok`.
    pub fn start(script: Vec<Answer>) -> Receiver {
        Receiver::start_with(script, Answer::ok())
    }

    /// Answers `script` in order, then `fallback` for ever.
    pub fn start_with(script: Vec<Answer>, fallback: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new((
            Mutex::new(State {
                script: script.into_iter().rev().collect(),
                fallback,
                received: Vec::new(),
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &shared);
                    }
                }
            })
        };
        Receiver {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.0.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests have arrived or `timeout` passes, and
    /// returns those that did.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let (lock, cvar) = &*self.shared;
        let guard = lock.lock().unwrap();
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |s| s.received.len() < n)
            .unwrap();
        guard.received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &(Mutex<State>, Condvar)) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (lock, cvar) = shared;
    let answer = {
        let mut state = lock.lock().unwrap();
        state.received.push(Received {
            at: Instant::now(),
            method,
            path,
            headers,
            body,
        });
        let answer = state.script.pop().unwrap_or_else(|| state.fallback.clone());
        cvar.notify_all();
        answer
    };
    let mut stream = stream;
    let response = match answer {
        Answer::Status(status, text) => format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            reason(status),
            text.len()
        ),
        Answer::RetryAfter(seconds) => format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: {seconds}\r\ncontent-type: text/plain\r\ncontent-length: 12\r\nconnection: close\r\n\r\nrate_limited"
        ),
        Answer::Hang => {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
