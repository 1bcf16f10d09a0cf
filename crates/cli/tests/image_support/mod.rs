//! What the image and registry tests share: free loopback ports, a local
//! registry that stops when the test ends, skopeo as the independent
//! client, and clean-up of the images a test built.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Slipway;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `slipway registry up` in a folder of its own on a port of its own;
/// `slipway registry down` when dropped.
pub struct TestRegistry {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl TestRegistry {
    pub fn start() -> TestRegistry {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let out = Slipway::new()
            .args(["registry", "up", "--port", &port.to_string(), "-C"])
            .args([dir.path()])
            .args(extra)
            .run();
        assert_eq!(out.code, 0, "registry up: {}{}", out.stdout, out.stderr);
        TestRegistry { dir, port }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = Slipway::new()
            .args(["registry", "down", "--port", &self.port.to_string(), "-C"])
            .args([self.dir.path()])
            .run();
    }
}

/// `skopeo inspect` of `docker://REF` over plain HTTP: the manifest digest
/// and the image's config as skopeo reads them. Err with skopeo's message.
pub fn skopeo_inspect(reference: &str, creds: Option<&str>) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    let out = cmd
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo runs (scripts/install/images.sh installs it)");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// The raw manifest, as skopeo fetches it.
pub fn skopeo_manifest(reference: &str, creds: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    let out = cmd.arg(format!("docker://{reference}")).output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8(out.stdout).unwrap())
}

/// A repository name no other test (or earlier run) uses.
pub fn unique_repo(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("slipway-test/{name}-{}-{nanos:x}", std::process::id())
}

/// Removes, when dropped, every local image tag that starts with one of
/// these prefixes (`repo:` or `registry/repo:`). Untagged parents stay
/// (`--no-prune`): they are layer cache that builds running at the same
/// time may be using.
pub struct ImageCleanup(pub Vec<String>);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        let out = Command::new("docker")
            .args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
            .output();
        let Ok(out) = out else { return };
        let refs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| self.0.iter().any(|p| l.starts_with(p.as_str())))
            .map(str::to_string)
            .collect();
        if !refs.is_empty() {
            let _ = Command::new("docker")
                .args(["image", "rm", "--no-prune"])
                .args(&refs)
                .output();
        }
    }
}

/// A build context with a Dockerfile and files, in a temporary folder.
pub fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// A small static program to put in `FROM scratch` images: busybox is
/// not on the machine, so the tests build a tiny Go binary once.
pub fn static_binary() -> PathBuf {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("image-tests/hello");
    if out.is_file() {
        return out;
    }
    // Other test binaries may be building it too: each in its own folder,
    // then an atomic rename.
    let src = out
        .parent()
        .unwrap()
        .join(format!("src-{}", std::process::id()));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("go.mod"), "module hello\n\ngo 1.19\n").unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Println(\"hello from\", os.Args)\n\tif len(os.Args) > 1 && os.Args[1] == \"fail\" {\n\t\tfmt.Println(\"failing on purpose\")\n\t\tos.Exit(3)\n\t}\n}\n",
    )
    .unwrap();
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("go")
        .current_dir(&src)
        .env("CGO_ENABLED", "0")
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(&tmp)
        .arg(".")
        .status()
        .expect("go runs (scripts/install/gates.sh installs it)");
    assert!(status.success(), "go build of the test program");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// The slipway binary with a layer cache of its own (so one test's pushes
/// do not make another's skip work), optional extra variables and input.
pub fn slipway(
    args: &[&str],
    cache: &Path,
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> crate::support::Run {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    cmd.args(args)
        .env("XDG_CACHE_HOME", cache)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("the slipway binary starts");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A request as the proxy saw it.
pub struct Seen {
    pub method: String,
    pub path: String,
    /// 1-based count of requests so far.
    pub n: usize,
}

/// What the proxy does with one request.
pub enum Action {
    Forward,
    /// Answer this status itself (and close the connection).
    Answer(u16),
    /// Forward, then replace a response header's value.
    Rewrite(&'static str, String),
}

/// An HTTP/1.1 proxy in front of a registry that can fail or alter
/// chosen requests: the faults a push must survive or report.
pub struct FaultyProxy {
    pub port: u16,
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultyProxy {
    pub fn start(
        upstream: u16,
        rule: impl Fn(&Seen) -> Action + Send + Sync + 'static,
    ) -> FaultyProxy {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let rule = Arc::new(rule);
        let count = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let rule = rule.clone();
                let count = count.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &*rule, &count);
                });
            }
        });
        let _ = Ordering::SeqCst;
        FaultyProxy { port, requests }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn read_head(r: &mut impl std::io::BufRead) -> std::io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Copies a body framed by Content-Length or chunked encoding.
fn copy_body(
    head: &[String],
    from: &mut impl std::io::BufRead,
    to: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use std::io::Read;
    if let Some(len) = header(head, "content-length") {
        let len: u64 = len.parse().unwrap_or(0);
        std::io::copy(&mut from.take(len), to)?;
        return Ok(());
    }
    if header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            from.read_line(&mut size_line)?;
            to.write_all(size_line.as_bytes())?;
            let size = u64::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            std::io::copy(&mut from.take(size + 2), to)?;
            if size == 0 {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn serve(
    client: std::net::TcpStream,
    upstream: u16,
    rule: &(dyn Fn(&Seen) -> Action + Send + Sync),
    count: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    use std::io::{BufReader, Write};
    let mut client_in = BufReader::new(client.try_clone()?);
    let mut client_out = client;
    let up = std::net::TcpStream::connect(("127.0.0.1", upstream))?;
    let mut up_in = BufReader::new(up.try_clone()?);
    let mut up_out = up;
    while let Some(req) = read_head(&mut client_in)? {
        let mut parts = req[0].split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let action = rule(&Seen {
            method: method.clone(),
            path,
            n,
        });
        if let Action::Answer(status) = action {
            // Drain the request body, then answer and close.
            copy_body(&req, &mut client_in, &mut std::io::sink())?;
            let body =
                "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"injected by the test\"}]}";
            write!(
                client_out,
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return Ok(());
        }
        for line in &req {
            write!(up_out, "{line}\r\n")?;
        }
        write!(up_out, "\r\n")?;
        copy_body(&req, &mut client_in, &mut up_out)?;
        up_out.flush()?;
        let Some(mut resp) = read_head(&mut up_in)? else {
            return Ok(());
        };
        if let Action::Rewrite(name, value) = &action {
            for line in resp.iter_mut().skip(1) {
                if line
                    .split_once(':')
                    .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                {
                    *line = format!("{name}: {value}");
                }
            }
        }
        for line in &resp {
            write!(client_out, "{line}\r\n")?;
        }
        write!(client_out, "\r\n")?;
        let status: u16 = resp[0]
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if method != "HEAD" && status != 204 && status != 304 {
            copy_body(&resp, &mut up_in, &mut client_out)?;
        }
        client_out.flush()?;
    }
    Ok(())
}
