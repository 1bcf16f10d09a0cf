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
/// these prefixes (`repo:` or `registry/repo:`).
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
                .args(["image", "rm", "--force"])
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
