//! slipway's router against nginx, side by side in one run, under the same
//! `wrk` load, in front of the same backend.
//!
//! - backend: a trivial HTTP/1.1 server (hyper, this binary run again as a
//!   child process) on two ports, answering `ok` to everything;
//! - nginx (Debian's): `upstream` with the two ports at weights 95 and 5,
//!   `keepalive 64`, `worker_processes 2`;
//! - slipway: the router (`slipway_router::Standalone`, this binary run
//!   again as a child process) with versions `blue` (95) and `green` (5) on
//!   the same two ports, a runtime of 2 threads;
//! - direct: wrk against the backend's first port, the floor.
//!
//! Two passes, each alternating the three targets round by round so that
//! load from elsewhere falls on all of them:
//!
//! - moderate load: `wrk -t1 -c16` with a 2 ms pause between a response
//!   and a connection's next request (about 7,000 requests/s offered, well
//!   below what any target can serve): p99 and the p99 added over direct;
//! - throughput: `wrk -t1 -c32` without pauses, as fast as each target
//!   answers: requests/s.
//!
//! Run: `cargo bench -p slipway-router --bench proxy` (5 rounds of 10 s a
//! target and pass; `-- --quick`: 1 round of 3 s). Needs `nginx` and `wrk`
//! (`scripts/install/router.sh`).

use std::convert::Infallible;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "SLIPWAY_ROUTER_BENCH_ROLE";

fn main() -> ExitCode {
    match std::env::var(ROLE).as_deref() {
        Ok("backend") => backend(),
        Ok("router") => router(),
        _ => bench(),
    }
}

// ---------------------------------------------------------------- roles

/// The backend: `ok` on every port given, HTTP/1.1 keep-alive.
fn backend() -> ExitCode {
    let ports: Vec<u16> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        for port in ports {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap_or_else(|e| panic!("backend cannot listen on port {port}: {e}"));
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(|_req| async {
                            Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(
                                bytes::Bytes::from_static(b"ok\n"),
                            )))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        }
        wait_for_term().await;
    });
    ExitCode::SUCCESS
}

/// The router, from the TOML file given.
fn router() -> ExitCode {
    let path = std::env::args().nth(1).expect("router config path");
    let config = slipway_router::StandaloneConfig::load(Path::new(&path)).unwrap();
    // The router serves requests on its own worker threads; this runtime
    // only runs the admin server.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let running = slipway_router::Standalone::start(&config).await.unwrap();
        wait_for_term().await;
        running.stop().await;
    });
    ExitCode::SUCCESS
}

async fn wait_for_term() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

// ---------------------------------------------------------------- bench

struct Settings {
    rounds: usize,
    seconds: u64,
}

/// A child process stopped with SIGTERM (and waited for) when dropped.
struct Running {
    name: &'static str,
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(what: &str, port: u16, child: &mut Child) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on port {port}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on port {port} after 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

/// wrk prints this line from the script's `done`.
const WRK_SCRIPT: &str = r#"
local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "0")
if pause > 0 then
  function delay() return pause end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

fn wrk(wrk: &Path, script: &Path, url: &str, connections: u32, pause_ms: u32, seconds: u64) -> Run {
    let out = Command::new(wrk)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .env("BENCH_PAUSE_MS", pause_ms.to_string())
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("BENCH "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result line:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in `{line}`"))
    };
    Run {
        rps: field("requests") / (field("duration_us") / 1e6),
        p50_us: field("p50_us"),
        p99_us: field("p99_us"),
        errors: field("errors") as u64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn nginx_config(dir: &Path, port: u16, blue: u16, green: u16) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 2;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream backend {{
    server 127.0.0.1:{blue} weight=95;
    server 127.0.0.1:{green} weight=5;
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"#
    )
}

fn router_config(port: u16, admin: u16, blue: u16, green: u16) -> String {
    format!(
        r#"admin = "127.0.0.1:{admin}"

[[service]]
name = "bench"
listen = "127.0.0.1:{port}"

[[service.version]]
name = "blue"
weight = 95
upstreams = ["127.0.0.1:{blue}"]

[[service.version]]
name = "green"
weight = 5
upstreams = ["127.0.0.1:{green}"]
"#
    )
}

fn bench() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let settings = if quick {
        Settings {
            rounds: 1,
            seconds: 3,
        }
    } else {
        Settings {
            rounds: 5,
            seconds: 10,
        }
    };
    let (Some(nginx), Some(wrk_bin)) = (find("nginx", &["/usr/sbin", "/sbin"]), find("wrk", &[]))
    else {
        eprintln!(
            "error: the router benchmark needs nginx and wrk: run scripts/install/router.sh (as root)"
        );
        return ExitCode::from(2);
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bench.lua");
    std::fs::write(&script, WRK_SCRIPT).unwrap();
    let me = std::env::current_exe().unwrap();
    let load_before = load_average();

    let (blue, green) = (free_port(), free_port());
    let mut backend = Command::new(&me)
        .env(ROLE, "backend")
        .args([blue.to_string(), green.to_string()])
        .spawn()
        .unwrap();
    wait_for_port("the backend", blue, &mut backend);
    wait_for_port("the backend", green, &mut backend);
    let _backend = Running {
        name: "the backend",
        child: backend,
    };

    let nginx_port = free_port();
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let conf = nginx_dir.join("nginx.conf");
    std::fs::write(&conf, nginx_config(&nginx_dir, nginx_port, blue, green)).unwrap();
    let mut nginx_child = Command::new(&nginx)
        .arg("-p")
        .arg(&nginx_dir)
        .arg("-c")
        .arg(&conf)
        .args(["-e", "stderr"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port("nginx", nginx_port, &mut nginx_child);
    let _nginx = Running {
        name: "nginx",
        child: nginx_child,
    };

    let (router_port, admin_port) = (free_port(), free_port());
    let router_toml = dir.path().join("router.toml");
    std::fs::write(
        &router_toml,
        router_config(router_port, admin_port, blue, green),
    )
    .unwrap();
    let mut router_child = Command::new(&me)
        .env(ROLE, "router")
        .arg(&router_toml)
        .spawn()
        .unwrap();
    wait_for_port("the router", router_port, &mut router_child);
    let _router = Running {
        name: "the router",
        child: router_child,
    };

    let nginx_version = Command::new(&nginx)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default();
    let targets: [(&str, String); 3] = [
        ("direct", format!("http://127.0.0.1:{blue}/")),
        ("nginx", format!("http://127.0.0.1:{nginx_port}/")),
        ("slipway", format!("http://127.0.0.1:{router_port}/")),
    ];
    println!(
        "router bench: {} round(s) of {} s per target and pass; {nginx_version}; load average before: {load_before}",
        settings.rounds, settings.seconds
    );

    // Warm up: connections, pools, caches.
    for (_, url) in &targets {
        wrk(&wrk_bin, &script, url, 32, 0, 1);
    }

    let passes: [(&str, u32, u32); 2] = [
        ("moderate (-c16, 2 ms pause)", 16, 2),
        ("throughput (-c32)", 32, 0),
    ];
    let mut results: Vec<Vec<Vec<Run>>> = vec![vec![Vec::new(); targets.len()]; passes.len()];
    for round in 0..settings.rounds {
        for (p, (_, connections, pause)) in passes.iter().enumerate() {
            // Rotate the order each round.
            for i in 0..targets.len() {
                let t = (i + round) % targets.len();
                let run = wrk(
                    &wrk_bin,
                    &script,
                    &targets[t].1,
                    *connections,
                    *pause,
                    settings.seconds,
                );
                results[p][t].push(run);
            }
        }
        print!(".");
        let _ = std::io::stdout().flush();
    }
    println!();
    let load_after = load_average();

    // slipway's own view of the split, from its admin API.
    let stats = admin_get(admin_port, "/api/v1/services/bench?window=60");

    for (p, (name, _, _)) in passes.iter().enumerate() {
        println!("\n{name}: medians of {} round(s)", settings.rounds);
        println!(
            "{:<8} {:>12} {:>10} {:>10} {:>12} {:>7}",
            "target", "requests/s", "p50 ms", "p99 ms", "added p99", "errors"
        );
        let direct_p99 = median(results[p][0].iter().map(|r| r.p99_us).collect());
        for (t, (target, _)) in targets.iter().enumerate() {
            let runs = &results[p][t];
            let rps = median(runs.iter().map(|r| r.rps).collect());
            let p50 = median(runs.iter().map(|r| r.p50_us).collect()) / 1000.0;
            let p99 = median(runs.iter().map(|r| r.p99_us).collect());
            let errors: u64 = runs.iter().map(|r| r.errors).sum();
            let added = if t == 0 {
                "-".to_string()
            } else {
                format!("{:+.3} ms", (p99 - direct_p99) / 1000.0)
            };
            println!(
                "{target:<8} {rps:>12.0} {p50:>10.3} {:>10.3} {added:>12} {errors:>7}",
                p99 / 1000.0
            );
        }
        let rps = |t: usize| median(results[p][t].iter().map(|r| r.rps).collect());
        let p99 = |t: usize| median(results[p][t].iter().map(|r| r.p99_us).collect());
        println!(
            "slipway / nginx: {:.2}x the requests/s; added p99 slipway {:+.3} ms, nginx {:+.3} ms",
            rps(2) / rps(1),
            (p99(2) - direct_p99) / 1000.0,
            (p99(1) - direct_p99) / 1000.0
        );
        if p == 0 {
            let added = (p99(2) - direct_p99) / 1000.0;
            println!(
                "target < 1 ms added p99 at moderate load: {}",
                if added < 1.0 { "met" } else { "NOT met" }
            );
        } else {
            println!(
                "target at least nginx's requests/s: {}",
                if rps(2) >= rps(1) { "met" } else { "NOT met" }
            );
        }
    }
    println!("\nslipway's split over the last 60 s: {}", split(&stats));
    println!("load average after: {load_after}");
    ExitCode::SUCCESS
}

/// A GET to the router's admin server (plain HTTP/1.0 over a socket).
fn admin_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

fn split(stats: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(stats) else {
        return format!("unreadable admin answer: {stats}");
    };
    let versions = v["versions"].as_array().cloned().unwrap_or_default();
    let total: f64 = versions
        .iter()
        .filter_map(|v| v["window"]["requests"].as_f64())
        .sum();
    versions
        .iter()
        .map(|v| {
            let n = v["window"]["requests"].as_f64().unwrap_or(0.0);
            format!(
                "{} {:.1}% ({} requests, {} errors)",
                v["name"].as_str().unwrap_or("?"),
                if total > 0.0 { n * 100.0 / total } else { 0.0 },
                n,
                v["window"]["errors"]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
