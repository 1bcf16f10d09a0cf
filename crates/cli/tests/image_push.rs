//! Pushes over the distribution API to real registries (Debian's
//! docker-registry, one per test on a port of its own), checked with an
//! independent client (skopeo) and by pulling with docker: anonymous,
//! basic and token auth, retries, failures and digest checks.

mod image_support;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};

use image_support::{
    context, free_port, skopeo_inspect, skopeo_manifest, slipway, static_binary, unique_repo,
    Action, FaultyProxy, ImageCleanup, TestRegistry,
};

fn json(out: &support::Run) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr))
}

/// Builds `repo:local` (a static program and some data unique to this
/// test, so its layers are new to every registry) and returns its id.
fn local_image(repo: &str, cache: &Path) -> String {
    let nonce = format!("{repo} {:?}", std::time::SystemTime::now());
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM scratch\nCOPY hello /hello\nCOPY nonce /nonce\nENTRYPOINT [\"/hello\"]\n",
        ),
        ("nonce", &nonce),
    ]);
    std::fs::copy(static_binary(), ctx.path().join("hello")).unwrap();
    let out = slipway(
        &[
            "image",
            "build",
            ctx.path().to_str().unwrap(),
            "--repo",
            repo,
            "--tag",
            "local",
            "-q",
            "--format",
            "json",
        ],
        cache,
        &[],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    json(&out)["image_id"].as_str().unwrap().to_string()
}

fn push(
    image: &str,
    registry: &str,
    cache: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> support::Run {
    let mut args = vec![
        "image",
        "push",
        image,
        "--registry",
        registry,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    slipway(&args, cache, env, stdin)
}

#[test]
fn build_and_push_every_tag_then_skopeo_and_docker_find_them() {
    let registry = TestRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("push");
    let _clean = ImageCleanup(vec![repo.clone(), format!("{}/{repo}", registry.address())]);
    let ctx = context(&[("Dockerfile", "FROM scratch AS build\nCOPY hello /hello\n\nFROM scratch\nCOPY --from=build /hello /hello\nENTRYPOINT [\"/hello\"]\n")]);
    std::fs::copy(static_binary(), ctx.path().join("hello")).unwrap();
    let out = slipway(
        &[
            "image",
            "build",
            ctx.path().to_str().unwrap(),
            "--repo",
            &repo,
            "--tag",
            "develop-a1b2c3d-20260128103045",
            "--tag",
            "develop-latest",
            "--push",
            "--registry",
            &registry.address(),
            "--format",
            "json",
        ],
        cache.path(),
        &[],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = json(&out);
    let image_id = j["image_id"].as_str().unwrap();
    let digest = j["push"]["manifest_digest"].as_str().unwrap();
    assert_eq!(j["registry"], registry.address());
    for (i, tag) in ["develop-a1b2c3d-20260128103045", "develop-latest"]
        .iter()
        .enumerate()
    {
        let reference = format!("{}/{repo}:{tag}", registry.address());
        assert_eq!(j["tags"][i]["reference"], reference);
        assert_eq!(j["tags"][i]["digest"], digest);
        let seen = skopeo_inspect(&reference, None).unwrap();
        assert_eq!(seen["Digest"], digest, "{reference}");
        let raw: serde_json::Value =
            serde_json::from_str(&skopeo_manifest(&reference, None).unwrap()).unwrap();
        assert_eq!(
            raw["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        assert_eq!(raw["config"]["digest"], image_id);
    }
    assert_eq!(j["push"]["layers"], 1);
    assert_eq!(j["push"]["uploaded_blobs"], 2);

    // Docker pulls it back as the same image and runs it.
    let reference = format!("{}/{repo}:develop-latest", registry.address());
    let rm = Command::new("docker")
        .args([
            "image",
            "rm",
            &reference,
            &format!(
                "{}/{repo}:develop-a1b2c3d-20260128103045",
                registry.address()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    let pull = Command::new("docker")
        .args(["pull", "-q", &reference])
        .output()
        .unwrap();
    assert!(
        pull.status.success(),
        "{}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let id = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", &reference])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&id.stdout).trim(), image_id);
    let run = Command::new("docker")
        .args(["run", "--rm", &reference])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("hello from"));

    // Pushed again: nothing is compressed or uploaded again.
    let again = push(
        &reference,
        &registry.address(),
        cache.path(),
        &[],
        &[],
        None,
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let a = json(&again);
    assert_eq!(
        (a["uploaded_blobs"].clone(), a["existing_blobs"].clone()),
        (0.into(), 2.into())
    );
    assert_eq!(a["manifest_digest"], digest);
    assert!(again.stderr.contains("already pushed"), "{}", again.stderr);
}

#[test]
fn the_text_result_of_a_push() {
    let registry = TestRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("text");
    let _clean = ImageCleanup(vec![repo.clone()]);
    local_image(&repo, cache.path());
    let out = slipway(
        &[
            "image",
            "push",
            &format!("{repo}:local"),
            "--registry",
            &registry.address(),
        ],
        cache.path(),
        &[],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown = out
        .stdout
        .replace(&registry.address(), "[REGISTRY]")
        .replace(&repo, "[REPO]");
    let shown: String = shown
        .split_inclusive(['\n', ' '])
        .map(|w| match w.find("sha256:") {
            Some(at) => format!(
                "{}sha256:[DIGEST]{}",
                &w[..at],
                if w.ends_with('\n') {
                    "\n"
                } else if w.ends_with(' ') {
                    " "
                } else {
                    ""
                }
            ),
            None => w.to_string(),
        })
        .collect();
    // Sizes follow the Go toolchain that built the test program.
    let shown = match (shown.find("uploaded ("), shown.find(")")) {
        (Some(a), Some(b)) if b > a => format!("{}uploaded ([SIZE]{}", &shown[..a], &shown[b..]),
        _ => shown,
    };
    insta::assert_snapshot!("push_text", shown);
}

fn htpasswd(dir: &Path, user: &str, password: &str) -> std::path::PathBuf {
    let file = dir.join("htpasswd");
    let out = Command::new("htpasswd")
        .arg("-Bbc")
        .arg(&file)
        .args([user, password])
        .output()
        .expect("htpasswd runs (scripts/install/images.sh installs apache2-utils)");
    assert!(out.status.success());
    file
}

#[test]
fn basic_auth() {
    let users = tempfile::tempdir().unwrap();
    let file = htpasswd(users.path(), "ci", "s3cret");
    let registry = TestRegistry::start_with(&["--htpasswd", file.to_str().unwrap()]);
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("basic");
    let _clean = ImageCleanup(vec![repo.clone()]);
    local_image(&repo, cache.path());
    let image = format!("{repo}:local");
    let reference = format!("{}/{repo}:local", registry.address());

    let out = push(
        &image,
        &registry.address(),
        cache.path(),
        &[],
        &[("DOCKER_CONFIG", users.path().to_str().unwrap())],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "the registry {} wants credentials (none were given",
            registry.address()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(json(&out)["error"]["kind"], "push");

    let out = push(
        &image,
        &registry.address(),
        cache.path(),
        &["--username", "ci", "--password-stdin"],
        &[],
        Some("wrong\n"),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("the credentials given were refused"),
        "{}",
        out.stderr
    );
    assert!(skopeo_inspect(&reference, Some("ci:s3cret")).is_err());

    let out = push(
        &image,
        &registry.address(),
        cache.path(),
        &["--username", "ci", "--password-stdin"],
        &[],
        Some("s3cret\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let digest = json(&out)["manifest_digest"].as_str().unwrap().to_string();
    assert_eq!(
        skopeo_inspect(&reference, Some("ci:s3cret")).unwrap()["Digest"],
        digest
    );

    // What `docker login` writes is read too (DOCKER_CONFIG).
    let login = tempfile::tempdir().unwrap();
    std::fs::write(
        login.path().join("config.json"),
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"Y2k6czNjcmV0\"}}}}}}",
            registry.address()
        ),
    )
    .unwrap();
    let again = format!("{}/{repo}:again", registry.address());
    let tag = Command::new("docker")
        .args(["tag", &image, &again])
        .output()
        .unwrap();
    assert!(tag.status.success());
    let _clean2 = ImageCleanup(vec![format!("{}/{repo}", registry.address())]);
    let out = slipway(
        &["image", "push", &again],
        cache.path(),
        &[("DOCKER_CONFIG", login.path().to_str().unwrap())],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(skopeo_inspect(&again, Some("ci:s3cret")).is_ok());
}

/// base64url without padding, for the token's parts.
fn b64url(data: &[u8]) -> String {
    b64(
        data,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        false,
    )
}

fn b64(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn openssl(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl runs (scripts/install/images.sh installs it)");
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A registry with token auth (distribution's `auth.token`) and the token
/// service it trusts: the service checks basic credentials and hands out a
/// JWT (RS256, the signing certificate in `x5c`) granting pull and push on
/// one repository.
struct TokenRegistry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token_registry(repo: &str, user: &str, password: &str) -> TokenRegistry {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=slipway-test-token",
        ],
        None,
    );
    let der = openssl(d, &["x509", "-in", "cert.pem", "-outform", "der"], None);
    let x5c = b64(
        &der,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": "slipway-test-issuer", "sub": user, "aud": "slipway-test",
        "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": format!("{now}"),
        "access": [{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = openssl(
        d,
        &["dgst", "-sha256", "-sign", "key.pem"],
        Some(signing_input.as_bytes()),
    );
    let token = format!("{signing_input}.{}", b64url(&signature));

    // The token service.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let token_port = listener.local_addr().unwrap().port();
    let expected = format!(
        "Basic {}",
        b64(
            format!("{user}:{password}").as_bytes(),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            true
        )
    );
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") && v.trim() == expected {
                        authorized = true;
                    }
                }
            }
            let (status, body) = if authorized {
                ("200 OK", format!("{{\"token\":\"{token}\",\"access_token\":\"{token}\",\"expires_in\":3600}}"))
            } else {
                (
                    "401 Unauthorized",
                    "{\"details\":\"bad credentials\"}".to_string(),
                )
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });

    let port = free_port();
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: slipway-test\n    issuer: slipway-test-issuer\n    rootcertbundle: {}\n",
        d.join("data").display(),
        d.join("cert.pem").display()
    );
    std::fs::write(d.join("config.yml"), config).unwrap();
    let log = std::fs::File::create(d.join("registry.log")).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(d.join("config.yml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry runs (scripts/install/images.sh installs it)");
    let registry = TokenRegistry {
        child,
        port,
        _dir: dir,
    };
    // Up when /v2/ answers (401: it wants a token).
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return registry;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the token-auth registry did not start");
}

#[test]
fn token_auth() {
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("token");
    let _clean = ImageCleanup(vec![repo.clone()]);
    local_image(&repo, cache.path());
    let registry = token_registry(&repo, "robot", "t0ken-pass");
    let address = format!("127.0.0.1:{}", registry.port);
    let image = format!("{repo}:local");

    let out = push(
        &image,
        &address,
        cache.path(),
        &[],
        &[("DOCKER_CONFIG", cache.path().to_str().unwrap())],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("answered 401 Unauthorized (no credentials were given)"),
        "{}",
        out.stderr
    );

    let out = push(
        &image,
        &address,
        cache.path(),
        &["--username", "robot", "--password-stdin"],
        &[],
        Some("t0ken-pass"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let digest = json(&out)["manifest_digest"].as_str().unwrap().to_string();
    let seen =
        skopeo_inspect(&format!("{address}/{repo}:local"), Some("robot:t0ken-pass")).unwrap();
    assert_eq!(seen["Digest"], digest);
}

#[test]
fn transient_failures_are_retried() {
    let registry = TestRegistry::start();
    // The first two requests get 503, and the blob upload's PATCH once.
    let proxy = FaultyProxy::start(registry.port, |seen| {
        if seen.n <= 2 || (seen.method == "PATCH" && seen.n % 2 == 0) {
            Action::Answer(503)
        } else {
            Action::Forward
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("flaky");
    let _clean = ImageCleanup(vec![repo.clone()]);
    local_image(&repo, cache.path());
    let out = push(
        &format!("{repo}:local"),
        &proxy.address(),
        cache.path(),
        &[],
        &[],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = json(&out);
    assert!(j["retries"].as_u64().unwrap() >= 2, "{j}");
    let seen = skopeo_inspect(&format!("{}/{repo}:local", registry.address()), None).unwrap();
    assert_eq!(seen["Digest"], j["manifest_digest"]);
}

#[test]
fn failed_pushes_report_nothing_as_pushed() {
    let cache = tempfile::tempdir().unwrap();
    let repo = unique_repo("failed");
    let _clean = ImageCleanup(vec![repo.clone()]);
    local_image(&repo, cache.path());
    let image = format!("{repo}:local");

    // Nothing listens there.
    let port = free_port();
    let out = push(
        &image,
        &format!("127.0.0.1:{port}"),
        cache.path(),
        &[],
        &[],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "cannot reach the registry at http://127.0.0.1:{port}"
        )),
        "{}",
        out.stderr
    );
    let j = json(&out);
    assert_eq!(j["error"]["kind"], "push");
    assert_eq!(j["error"]["pushed"], serde_json::json!([]));

    // The registry fails every manifest put: the blobs go in, the tag never does.
    let registry = TestRegistry::start();
    let proxy = FaultyProxy::start(registry.port, |seen| {
        if seen.method == "PUT" && seen.path.contains("/manifests/") {
            Action::Answer(500)
        } else {
            Action::Forward
        }
    });
    let out = push(&image, &proxy.address(), cache.path(), &[], &[], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("gave up after 5 attempts"),
        "{}",
        out.stderr
    );
    assert_eq!(json(&out)["error"]["pushed"], serde_json::json!([]));
    let err = skopeo_inspect(&format!("{}/{repo}:local", registry.address()), None).unwrap_err();
    assert!(err.contains("manifest unknown"), "{err}");

    // The registry answers a digest that is not the manifest's.
    let proxy = FaultyProxy::start(registry.port, |seen| {
        if seen.method == "PUT" && seen.path.contains("/manifests/") {
            Action::Rewrite(
                "Docker-Content-Digest",
                format!("sha256:{}", "0".repeat(64)),
            )
        } else {
            Action::Forward
        }
    });
    let out = push(&image, &proxy.address(), cache.path(), &[], &[], None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "the registry answered digest sha256:{}, expected sha256:",
            "0".repeat(64)
        )),
        "{}",
        out.stderr
    );

    // Bad input: no such local image, a reference without a tag.
    let out = push(
        "slipway-test/nothing-here:v1",
        &registry.address(),
        cache.path(),
        &[],
        &[],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no image `slipway-test/nothing-here:v1` on this Docker Engine"),
        "{}",
        out.stderr
    );
    let out = push(
        "just-a-name",
        &registry.address(),
        cache.path(),
        &[],
        &[],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("expected NAME:TAG"), "{}", out.stderr);
}
