//! For the deploy tests: a git repository whose commits are versions of a
//! small Python service (`fixtures/deploy/server.py`, behaving as each
//! commit's `behaviour.json` says), and a load generator that records what
//! every request got and from which version.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::{manifest_dir, Run, Slipway};

/// Deploy tests put real load on two cores: one at a time, so that the
/// timings they check are the deploy's and not the neighbours'.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub struct Repo {
    pub dir: tempfile::TempDir,
    /// The service's public port (the router's listener).
    pub port: u16,
}

pub const GOOD: &str = r#"{"fail_every": 0, "delay_ms": 0, "health": 200}"#;

impl Repo {
    /// A repository with service `api` (process runtime, checked out per
    /// version) in cluster `prod`; `deploy` is the body of
    /// `[clusters.prod.deploy]`.
    pub fn new(deploy: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(root.join("service")).unwrap();
        std::fs::copy(
            manifest_dir().join("tests/fixtures/deploy/server.py"),
            root.join("service/server.py"),
        )
        .unwrap();
        std::fs::write(root.join(".gitignore"), ".slipway/\n").unwrap();
        std::fs::write(
            root.join("slipway.toml"),
            format!(
                r#"[services.api]
path = "service"
port = {port}
health = "/health"
command = "exec python3 server.py"

[clusters.prod]
target = "local"

[clusters.prod.deploy]
{deploy}
"#
            ),
        )
        .unwrap();
        Repo { dir, port }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Commits a version behaving as `behaviour` says; its name in the
    /// spec's tag scheme.
    pub fn version(&self, behaviour: &str) -> String {
        let root = self.root();
        std::fs::write(root.join("service/behaviour.json"), behaviour).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", behaviour]);
        let sha = git(root, &["rev-parse", "HEAD"]);
        format!("main-{}-20260101000000", &sha[..7])
    }

    pub fn slipway<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Slipway::new().dir(self.root()).args(args).run()
    }

    /// `slipway deploy STRATEGY --image-tag V --cluster prod` plus `extra`.
    pub fn deploy(&self, strategy: &str, version: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "deploy",
            strategy,
            "--image-tag",
            version,
            "--cluster",
            "prod",
        ];
        args.extend_from_slice(extra);
        self.slipway(args)
    }

    /// The same in the background.
    pub fn deploy_spawn(
        &self,
        strategy: &str,
        version: &str,
        extra: &[&str],
    ) -> std::process::Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
        cmd.current_dir(self.root())
            .args([
                "deploy",
                strategy,
                "--image-tag",
                version,
                "--cluster",
                "prod",
            ])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    }

    pub fn status(&self) -> serde_json::Value {
        let run = self.slipway(["deploy", "status", "--cluster", "prod", "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }

    pub fn daemon_info(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.root().join(".slipway/clusters/prod/daemon.json"))
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Pids of a version's instances, from the status.
    pub fn pids(&self, version: &str) -> Vec<i64> {
        let status = self.status();
        status["services"][0]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["version"] == version)
            .flat_map(|v| v["instances"].as_array().cloned().unwrap_or_default())
            .filter_map(|i| i["pid"].as_i64())
            .collect()
    }

    pub fn weights(&self) -> Vec<(String, u64)> {
        let status = self.status();
        status["services"][0]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap().to_string(),
                    v["weight"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        // The daemon and every instance go with the test.
        let _ = Slipway::new()
            .dir(self.root())
            .args(["cluster", "down", "--cluster", "prod"])
            .run();
    }
}

pub fn alive(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
}

/// What one request got.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    /// 2xx from a version.
    Ok(String),
    /// A failure the version was told to give.
    Injected(String),
    /// Any other status (the router's own 502/503/504 have no version).
    Status(u16, Option<String>),
    /// No answer at all.
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub sent: Instant,
    pub done: Instant,
    pub got: Got,
}

impl Sample {
    pub fn version(&self) -> Option<&str> {
        match &self.got {
            Got::Ok(v) | Got::Injected(v) => Some(v),
            Got::Status(_, v) => v.as_deref(),
            Got::Error(_) => None,
        }
    }
}

/// Steady load: `workers` keep-alive connections, each sending a request
/// every `pause` after the last answer.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, workers: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let workers = (0..workers)
            .map(|_| {
                let (stop, samples) = (stop.clone(), samples.clone());
                std::thread::spawn(move || worker(addr, pause, &stop, &samples))
            })
            .collect();
        Load {
            stop,
            samples,
            workers,
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            let _ = w.join();
        }
        let samples = self.samples.lock().unwrap().clone();
        samples
    }
}

fn worker(addr: SocketAddr, pause: Duration, stop: &AtomicBool, samples: &Mutex<Vec<Sample>>) {
    let mut conn: Option<BufReader<TcpStream>> = None;
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let got = match request(&mut conn, addr) {
            Ok(got) => got,
            Err(e) => {
                conn = None;
                Got::Error(e)
            }
        };
        let failed = matches!(got, Got::Error(_));
        samples.lock().unwrap().push(Sample {
            sent,
            done: Instant::now(),
            got,
        });
        // A refused connection (the router down) is retried soon, not in
        // a tight loop.
        std::thread::sleep(if failed {
            Duration::from_millis(20)
        } else {
            pause
        });
    }
}

fn request(conn: &mut Option<BufReader<TcpStream>>, addr: SocketAddr) -> Result<Got, String> {
    if conn.is_none() {
        let s =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s.set_nodelay(true).ok();
        *conn = Some(BufReader::new(s));
    }
    let reader = conn.as_mut().expect("connected");
    reader
        .get_mut()
        .write_all(b"GET /work HTTP/1.1\r\nHost: test\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut status_line = String::new();
    if reader
        .read_line(&mut status_line)
        .map_err(|e| e.to_string())?
        == 0
    {
        return Err("connection closed".into());
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let (mut length, mut version, mut injected, mut close) = (0usize, None, false, false);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "x-version" => version = Some(value.to_string()),
            "x-injected" => injected = true,
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    if close {
        *conn = None;
    }
    Ok(match (status, version) {
        (200..=299, Some(v)) => Got::Ok(v),
        (_, Some(v)) if injected => Got::Injected(v),
        (code, v) => Got::Status(code, v),
    })
}

/// Path of the deploy fixtures.
pub fn fixtures() -> PathBuf {
    manifest_dir().join("tests/fixtures/deploy")
}
