//! The local registry: Debian's `docker-registry` (distribution 2.8) on a
//! loopback address, with a configuration slipway writes under
//! `.slipway/registry/` and its blobs on the filesystem there.
//!
//! Lifecycle: `up` writes `config.yml`, starts the registry in a session of
//! its own (it outlives the command), records its pid in `registry.pid` and
//! waits until `/v2/` answers; `down` sends SIGTERM, then SIGKILL after ten
//! seconds; `status` reads the pid file and asks `/v2/`. The data stays
//! across restarts.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The registry program (Debian's docker-registry package).
pub const PROGRAM: &str = "docker-registry";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{0}")]
    Usage(String),
    #[error("`{PROGRAM}` is not installed: run scripts/install/images.sh (apt-get install docker-registry)")]
    NotInstalled,
    #[error("{addr} is in use by something that is not a registry; choose another with --port or [registry] address")]
    PortTaken { addr: SocketAddr },
    #[error("the registry exited while starting (exit {code}); its log, {log}:\n{tail}")]
    Exited {
        code: String,
        log: String,
        tail: String,
    },
    #[error(
        "the registry did not answer on http://{addr}/v2/ within {seconds} s; its log is {log}"
    )]
    NoAnswer {
        addr: SocketAddr,
        seconds: u64,
        log: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl LocalError {
    pub fn is_usage(&self) -> bool {
        matches!(self, LocalError::Usage(_))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `127.0.0.1:5000`, `localhost:5000`, `[::1]:5000`: the local registry
/// only ever listens on loopback.
pub fn parse_loopback(address: &str) -> Result<SocketAddr, String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("`{address}`: expected host:port, e.g. 127.0.0.1:5000"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{address}`: `{port}` is not a port number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host == "localhost" {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse()
            .map_err(|_| format!("`{address}`: `{host}` is not an IP address"))?
    };
    if !ip.is_loopback() {
        return Err(format!(
            "`{address}`: the local registry listens on loopback only (127.0.0.1, ::1)"
        ));
    }
    Ok(SocketAddr::new(ip, port))
}

/// Where a local registry lives and how it is set up.
#[derive(Debug, Clone)]
pub struct LocalRegistry {
    /// `.slipway/registry` of the repository.
    pub dir: PathBuf,
    pub addr: SocketAddr,
    /// Blob storage; default `<dir>/data`.
    pub storage: PathBuf,
    /// Basic auth with the users of this htpasswd file (bcrypt entries).
    pub htpasswd: Option<PathBuf>,
}

/// What `up` records in `.slipway/registry/registry.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Started {
    pub pid: u32,
    pub address: SocketAddr,
    pub storage: PathBuf,
    pub htpasswd: Option<PathBuf>,
}

/// What `status` (and `up`) find.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub running: bool,
    /// host:port
    pub address: String,
    pub url: String,
    /// The registry process started from this folder, if it runs.
    pub pid: Option<u32>,
    /// False when a registry answers on the address but was not started
    /// from this folder.
    pub managed: bool,
    pub config: String,
    pub storage: String,
    /// `none`, `htpasswd` (this folder's registry, with an htpasswd file),
    /// or `required` (another registry that asks for credentials).
    pub auth: &'static str,
    /// From `/v2/_catalog` when it answers without credentials.
    pub repositories: Option<Vec<String>>,
    pub log: String,
}

impl LocalRegistry {
    pub fn new(slipway_dir: &Path, addr: SocketAddr) -> LocalRegistry {
        let dir = slipway_dir.join("registry");
        LocalRegistry {
            storage: dir.join("data"),
            dir,
            addr,
            htpasswd: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.yml")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("registry.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("registry.log")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The registry's configuration (distribution 2.8's YAML).
    pub fn config_yaml(&self) -> String {
        let mut y = String::new();
        y.push_str("# Written by `slipway registry up`; rewritten on every start.\n");
        y.push_str("version: 0.1\n");
        y.push_str("log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\n");
        y.push_str("storage:\n");
        y.push_str(&format!(
            "  filesystem:\n    rootdirectory: {}\n",
            yaml_string(&self.storage.display().to_string())
        ));
        y.push_str("  delete:\n    enabled: true\n");
        y.push_str(
            "  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 168h\n      interval: 24h\n      dryrun: false\n",
        );
        y.push_str(&format!(
            "http:\n  addr: {}\n  secret: {}\n  headers:\n    X-Content-Type-Options: [nosniff]\n",
            yaml_string(&self.addr.to_string()),
            yaml_string(&random_hex(16)),
        ));
        if let Some(h) = &self.htpasswd {
            y.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: slipway-registry\n    path: {}\n",
                yaml_string(&h.display().to_string())
            ));
        }
        y.push_str(
            "health:\n  storagedriver:\n    enabled: true\n    interval: 10s\n    threshold: 3\n",
        );
        y
    }

    /// The registry started from this `.slipway` folder, if it still
    /// runs: its pid and how it was set up.
    pub fn running(slipway_dir: &Path) -> Option<Started> {
        let path = slipway_dir.join("registry").join("registry.json");
        let started: Started = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        is_registry_process(started.pid).then_some(started)
    }

    /// The registry as it was started from here, when one runs.
    pub fn as_started(slipway_dir: &Path) -> Option<LocalRegistry> {
        let s = Self::running(slipway_dir)?;
        let mut r = LocalRegistry::new(slipway_dir, s.address);
        r.storage = s.storage;
        r.htpasswd = s.htpasswd;
        Some(r)
    }

    fn running_pid(&self) -> Option<u32> {
        let slipway_dir = self.dir.parent()?;
        Self::running(slipway_dir)
            .filter(|s| s.address == self.addr)
            .map(|s| s.pid)
    }

    pub fn status(&self) -> Status {
        let pid = self.running_pid();
        let probe = probe(self.addr);
        let running = matches!(probe, Probe::Registry { .. });
        let auth = match probe {
            _ if self.htpasswd.is_some() => "htpasswd",
            Probe::Registry { status: 401 } => "required",
            _ => "none",
        };
        let repositories = if running { catalog(self.addr) } else { None };
        Status {
            running,
            address: self.addr.to_string(),
            url: self.url(),
            pid: pid.filter(|_| running),
            managed: running && pid.is_some(),
            config: self.config_path().display().to_string(),
            storage: self.storage.display().to_string(),
            auth,
            repositories,
            log: self.log_path().display().to_string(),
        }
    }

    /// Starts the registry unless one already answers on the address.
    /// Returns the status and whether this call started it.
    pub fn up(&self, wait: Duration) -> Result<(Status, bool), LocalError> {
        match probe(self.addr) {
            Probe::Registry { .. } => return Ok((self.status(), false)),
            Probe::Other => return Err(LocalError::PortTaken { addr: self.addr }),
            Probe::Closed => {}
        }
        let program = which(PROGRAM).ok_or(LocalError::NotInstalled)?;
        if let Some(h) = &self.htpasswd {
            if !h.is_file() {
                return Err(LocalError::Usage(format!(
                    "htpasswd file {} does not exist (create it with `htpasswd -Bbc FILE USER PASSWORD`)",
                    h.display()
                )));
            }
        }
        std::fs::create_dir_all(&self.storage).map_err(io(&self.storage))?;
        let config = self.config_path();
        std::fs::write(&config, self.config_yaml()).map_err(io(&config))?;
        let log_path = self.log_path();
        let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
        let log2 = log.try_clone().map_err(io(&log_path))?;
        let mut cmd = Command::new(program);
        cmd.arg("serve")
            .arg(&config)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // A session of its own: the registry outlives this command and
        // the terminal it ran in.
        // SAFETY: setsid is async-signal-safe and touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(io(Path::new(PROGRAM)))?;
        let pid_path = self.state_path();
        let started = Started {
            pid: child.id(),
            address: self.addr,
            storage: self.storage.clone(),
            htpasswd: self.htpasswd.clone(),
        };
        let state = serde_json::to_vec_pretty(&started).expect("state serializes");
        std::fs::write(&pid_path, state).map_err(io(&pid_path))?;
        let since = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let _ = std::fs::remove_file(&pid_path);
                return Err(LocalError::Exited {
                    code: status
                        .code()
                        .map_or_else(|| "by a signal".into(), |c| c.to_string()),
                    log: log_path.display().to_string(),
                    tail: why_it_stopped(&log_path),
                });
            }
            if let Probe::Registry { .. } = probe(self.addr) {
                break;
            }
            if since.elapsed() > wait {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&pid_path);
                return Err(LocalError::NoAnswer {
                    addr: self.addr,
                    seconds: wait.as_secs(),
                    log: log_path.display().to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok((self.status(), true))
    }

    /// Stops the registry started from here. Returns the pid stopped, or
    /// None when none ran.
    pub fn down(&self) -> Result<Option<u32>, LocalError> {
        let Some(pid) = self.running_pid() else {
            return Ok(None);
        };
        signal(pid, libc::SIGTERM);
        let started = Instant::now();
        while is_registry_process(pid) {
            if started.elapsed() > Duration::from_secs(10) {
                signal(pid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(self.state_path());
        Ok(Some(pid))
    }
}

/// The registry signs upload state with `http.secret`; without one it
/// makes one up and warns.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        buf = format!("{nanos}{}", std::process::id()).into_bytes();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: plain syscall on a pid we started.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Alive, not a zombie, and running the registry program (the pid may
/// have been reused since the pid file was written).
fn is_registry_process(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // pid (comm) state ...: a zombie has exited already.
    if let Some(after) = stat.rsplit_once(") ") {
        if after.1.starts_with('Z') {
            return false;
        }
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let first = c.split(|b| *b == 0).next().unwrap_or(&[]);
            String::from_utf8_lossy(first).ends_with(PROGRAM)
        })
        .unwrap_or(false)
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The lines of the log that say why the registry stopped: from the first
/// panic or fatal message (a few lines of it), else the last ten lines.
fn why_it_stopped(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    match all
        .iter()
        .position(|l| l.starts_with("panic:") || l.contains("level=fatal"))
    {
        Some(at) => all[at..(at + 3).min(all.len())].join("\n"),
        None => all[all.len().saturating_sub(10)..].join("\n"),
    }
}

#[derive(Debug)]
enum Probe {
    Closed,
    /// Something answers, but not as a registry.
    Other,
    Registry {
        status: u16,
    },
}

/// Whether a registry answers `GET /v2/` on `addr`: any status with
/// distribution's `Docker-Distribution-Api-Version` header (401 when it
/// wants credentials).
fn probe(addr: SocketAddr) -> Probe {
    match get(addr, "/v2/") {
        None => Probe::Closed,
        Some((status, headers, _)) => {
            if headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("docker-distribution-api-version")
                    && v.starts_with("registry/2")
            }) {
                Probe::Registry { status }
            } else {
                Probe::Other
            }
        }
    }
}

fn catalog(addr: SocketAddr) -> Option<Vec<String>> {
    let (status, _, body) = get(addr, "/v2/_catalog?n=1000")?;
    if status != 200 {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Catalog {
        repositories: Vec<String>,
    }
    serde_json::from_slice::<Catalog>(&body)
        .ok()
        .map(|c| c.repositories)
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A plain HTTP/1.1 GET on loopback, for probing without a runtime.
fn get(addr: SocketAddr, path: &str) -> Option<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // One write: a server that answers after its first read must see the
    // whole request.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: slipway\r\n\r\n"
    );
    s.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    // A reset after the answer still leaves the answer to read.
    if s.read_to_end(&mut raw).is_err() && raw.is_empty() {
        return None;
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    }) {
        body = dechunk(&body);
    }
    Some((status, headers, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_only() {
        assert_eq!(
            parse_loopback("127.0.0.1:5000").unwrap(),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert_eq!(
            parse_loopback("localhost:5001").unwrap(),
            "127.0.0.1:5001".parse().unwrap()
        );
        assert_eq!(
            parse_loopback("[::1]:5000").unwrap(),
            "[::1]:5000".parse().unwrap()
        );
        assert!(parse_loopback("0.0.0.0:5000")
            .unwrap_err()
            .contains("loopback"));
        assert!(parse_loopback("127.0.0.1").is_err());
        assert!(parse_loopback("127.0.0.1:http").is_err());
        assert!(parse_loopback("registry:5000").is_err());
    }

    #[test]
    fn config_names_storage_address_and_auth() {
        let mut r = LocalRegistry::new(
            Path::new("/repo/.slipway"),
            "127.0.0.1:5123".parse().unwrap(),
        );
        let y = r.config_yaml();
        assert!(
            y.contains("rootdirectory: \"/repo/.slipway/registry/data\""),
            "{y}"
        );
        assert!(y.contains("addr: \"127.0.0.1:5123\""), "{y}");
        assert!(!y.contains("auth:"));
        r.htpasswd = Some("/repo/users".into());
        assert!(r
            .config_yaml()
            .contains("htpasswd:\n    realm: slipway-registry\n    path: \"/repo/users\""));
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), b"abcde");
    }
}
