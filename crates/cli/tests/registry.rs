//! `slipway registry up|down|status` with Debian's docker-registry, each
//! test on a port and in a folder of its own.

mod image_support;
mod support;

use image_support::{free_port, skopeo_inspect, TestRegistry};
use support::Slipway;

fn registry(cmd: &str, dir: &std::path::Path, port: u16, extra: &[&str]) -> support::Run {
    Slipway::new()
        .args(["registry", cmd, "--port", &port.to_string(), "-C"])
        .args([dir])
        .args(extra)
        .run()
}

/// Paths, pids and ports change from run to run.
fn redact(text: &str, dir: &std::path::Path, port: u16) -> String {
    let dir = std::fs::canonicalize(dir).unwrap();
    let mut out = text
        .replace(dir.to_str().unwrap(), "[DIR]")
        .replace(&port.to_string(), "[PORT]");
    let lines: Vec<String> = out
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("pid ") {
                "  pid           [PID]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    out = lines.join("\n") + "\n";
    out
}

#[test]
fn up_status_down() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();

    let out = registry("status", d, port, &["--format", "json"]);
    assert_eq!(out.code, 0);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(s["running"], false);
    assert_eq!(s["pid"], serde_json::Value::Null);

    let _stop = StopOnDrop(d.to_path_buf(), port);
    let out = registry("up", d, port, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("registry_up_text", redact(&out.stdout, d, port));
    let config = std::fs::read_to_string(d.join(".slipway/registry/config.yml")).unwrap();
    assert!(config.contains("filesystem:"), "{config}");
    assert!(
        config.contains(&format!("addr: \"127.0.0.1:{port}\"")),
        "{config}"
    );

    // A second `up` finds it running and starts nothing.
    let out = registry("up", d, port, &["--format", "json"]);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (
            s["started"].clone(),
            s["running"].clone(),
            s["managed"].clone()
        ),
        (false.into(), true.into(), true.into())
    );
    let pid = s["pid"].as_u64().unwrap();

    // It is a registry other clients can use: skopeo copies an image in.
    let src = std::env::temp_dir().join(format!("slipway-registry-test-{}", std::process::id()));
    std::fs::create_dir_all(&src).unwrap();
    let out_copy = std::process::Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--insecure-policy"])
        .arg(format!("dir:{}", empty_image(&src).display()))
        .arg(format!("docker://127.0.0.1:{port}/tests/empty:v1"))
        .output()
        .unwrap();
    assert!(
        out_copy.status.success(),
        "{}",
        String::from_utf8_lossy(&out_copy.stderr)
    );
    assert!(skopeo_inspect(&format!("127.0.0.1:{port}/tests/empty:v1"), None).is_ok());

    let out = registry("status", d, port, &[]);
    insta::assert_snapshot!("registry_status_text", redact(&out.stdout, d, port));
    let out = registry("status", d, port, &["--format", "json"]);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(s["repositories"], serde_json::json!(["tests/empty"]));
    assert_eq!(s["pid"].as_u64(), Some(pid));

    let out = registry("down", d, port, &["--format", "json"]);
    assert_eq!(
        out.stdout.trim(),
        format!("{{\"stopped\":true,\"pid\":{pid}}}")
    );
    let out = registry("down", d, port, &[]);
    assert!(
        out.stdout.starts_with("no registry was running"),
        "{}",
        out.stdout
    );

    // The data outlives a restart.
    let out = registry("up", d, port, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(skopeo_inspect(&format!("127.0.0.1:{port}/tests/empty:v1"), None).is_ok());
    registry("down", d, port, &[]);
    let _ = std::fs::remove_dir_all(&src);
}

/// `registry down` even when the test fails half-way.
struct StopOnDrop(std::path::PathBuf, u16);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        registry("down", &self.0, self.1, &[]);
    }
}

/// A one-layer image in skopeo's `dir:` layout, written by hand.
fn empty_image(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("empty");
    std::fs::create_dir_all(&dir).unwrap();
    // An empty tar archive is two 512-byte zero blocks.
    let layer = vec![0u8; 1024];
    let layer_digest = sha256_hex(&layer);
    std::fs::write(dir.join(&layer_digest), &layer).unwrap();
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{layer_digest}\"]}}}}"
    );
    let config_digest = sha256_hex(config.as_bytes());
    std::fs::write(dir.join(&config_digest), &config).unwrap();
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{config_digest}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:{layer_digest}\",\"size\":1024}}]}}",
        config.len()
    );
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n").unwrap();
    dir
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(data))
}

#[test]
fn basic_auth_from_an_htpasswd_file() {
    let users = tempfile::tempdir().unwrap();
    let file = users.path().join("htpasswd");
    let out = std::process::Command::new("htpasswd")
        .args(["-Bbc"])
        .arg(&file)
        .args(["ci", "s3cret"])
        .output()
        .expect("htpasswd runs (scripts/install/images.sh installs apache2-utils)");
    assert!(out.status.success());
    let r = TestRegistry::start_with(&["--htpasswd", file.to_str().unwrap()]);
    let out = registry("status", r.path(), r.port, &["--format", "json"]);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(s["auth"], "htpasswd");
    assert_eq!(s["running"], true);
    // Without credentials the catalog is closed.
    assert_eq!(s["repositories"], serde_json::Value::Null);
    let err = skopeo_inspect(&format!("{}/none:v1", r.address()), None).unwrap_err();
    assert!(
        err.contains("authentication required") || err.contains("unauthorized"),
        "{err}"
    );
}

#[test]
fn bad_input_and_busy_ports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = Slipway::new()
        .args(["registry", "up", "--address", "10.1.2.3:5000", "-C"])
        .args([d])
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--address `10.1.2.3:5000`: the local registry listens on loopback only"),
        "{}",
        out.stderr
    );

    let port = free_port();
    let out = registry("up", d, port, &["--htpasswd", "/nonexistent/htpasswd"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("htpasswd file /nonexistent/htpasswd does not exist"),
        "{}",
        out.stderr
    );

    std::fs::write(d.join("slipway.toml"), "[registry]\nkind = \"s3\"\n").unwrap();
    let out = registry("status", d, port, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("slipway.toml: [registry] kind = \"s3\""),
        "{}",
        out.stderr
    );
    std::fs::remove_file(d.join("slipway.toml")).unwrap();

    // Something that is not a registry holds the port (and keeps it until
    // the end of the test).
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let held = busy.try_clone().unwrap();
    let answer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = busy.accept() {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
        }
    });
    let out = registry("up", d, port, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("is in use by something that is not a registry"),
        "{}",
        out.stderr
    );
    answer.join().unwrap();
    drop(held);
}
