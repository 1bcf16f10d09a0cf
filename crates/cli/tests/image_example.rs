//! The end-to-end check on the example repository: a push to
//! `develop` runs `build-and-push` (and the test jobs it needs), whose
//! spec-written `docker build`/`docker push` steps build the four
//! services' multi-stage images on locally built base images and push them
//! to the local registry under the spec's `{branch}-{short-sha}-{timestamp}`
//! tag; skopeo then finds every tag.
//!
//! The same run goes on to the deploy issue's workflow path: `deploy-staging`
//! deploys the three back-end images with `slipway/deploy@v1` (rolling) to
//! the local staging cluster, whose smoke-test step curls them; then the
//! production cluster takes two versions blue-green as the workflow's
//! production step would, containers and all.
//!
//! The example is copied (as it is in the working tree) into a repository
//! of its own, with a registry on a port of its own, so the test neither
//! needs port 5000 nor touches the example's `.slipway/`.

mod image_support;
mod support;

use std::path::Path;
use std::process::Command;

use image_support::{free_port, skopeo_inspect, ImageCleanup};
use support::{example_repo, git, job, run_json};

const IMAGES: [&str; 4] = [
    "mpac-svc-portal",
    "mpac-svc-smarttab",
    "mpac-pgw",
    "mpac-frontend",
];

/// The example's files (committed or not, minus what git ignores) in a
/// new repository.
fn copy_example(to: &Path) {
    let from = example_repo();
    let out = Command::new("git")
        .current_dir(&from)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            ".",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    for rel in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = std::str::from_utf8(rel).unwrap();
        let src = from.join(rel);
        if !src.exists() {
            continue; // deleted in the working tree
        }
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap();
    }
    git(to, &["init", "-q"]);
    git(to, &["checkout", "-q", "-b", "develop"]);
    git(to, &["add", "-A"]);
    git(to, &["commit", "-qm", "the example"]);
}

#[test]
fn build_and_push_on_develop_pushes_all_four_images_with_the_specs_tag() {
    // Base images first (kept once built, so usually a no-op).
    let base = Command::new("bash")
        .arg(example_repo().join("scripts/build-base-images.sh"))
        .output()
        .unwrap();
    assert!(
        base.status.success(),
        "build-base-images.sh failed:\n{}{}",
        String::from_utf8_lossy(&base.stdout),
        String::from_utf8_lossy(&base.stderr)
    );

    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    copy_example(r);
    // The repository's registry on a port of its own: the login step
    // finds it wherever it listens.
    let port = free_port();
    let up = support::Slipway::new()
        .args(["registry", "up", "--port", &port.to_string(), "-C"])
        .args([r])
        .run();
    assert_eq!(up.code, 0, "{}", up.stderr);
    let _down = Down(r.to_path_buf(), port);
    // The services' images ({registry}/...) come from this registry.
    let toml = std::fs::read_to_string(r.join("slipway.toml")).unwrap();
    std::fs::write(
        r.join("slipway.toml"),
        format!("{toml}\n[registry]\naddress = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    git(r, &["commit", "-qam", "the registry of the test"]);
    let _clusters = ClustersDown(r.to_path_buf());
    let address = format!("127.0.0.1:{port}");
    let _clean = ImageCleanup(IMAGES.iter().map(|i| format!("{address}/{i}:")).collect());

    let ran = run_json(
        r,
        &[
            "--event",
            "push",
            "--ref",
            "refs/heads/develop",
            "--job",
            "deploy-staging",
            "--env",
            &format!("ECR_REGISTRY={address}"),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.logs);
    let j = job(&ran.summary, "build-and-push");
    assert_eq!(j["conclusion"], "success");
    let tag = j["outputs"]["image-tag"].as_str().unwrap().to_string();

    // {branch}-{short-sha}-{timestamp}
    let head = String::from_utf8(
        Command::new("git")
            .current_dir(r)
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let prefix = format!("develop-{}-", &head[..7]);
    assert!(tag.starts_with(&prefix), "{tag}");
    let stamp = &tag[prefix.len()..];
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{tag}"
    );

    for image in IMAGES {
        let reference = format!("{address}/{image}:{tag}");
        let seen = skopeo_inspect(&reference, None).unwrap_or_else(|e| panic!("{reference}: {e}"));
        assert_eq!(seen["RepoTags"], serde_json::json!([tag]), "{reference}");
        assert!(seen["Layers"].as_array().is_some_and(|l| !l.is_empty()));
    }
    // deploy-staging: a rolling deploy of the three back-end images, then
    // the workflow's smoke tests against the staging cluster's ports.
    let j = job(&ran.summary, "deploy-staging");
    assert_eq!(j["conclusion"], "success", "{}", ran.logs);
    assert!(ran.logs.contains("promoted"), "{}", ran.logs);
    let staging = status(r, "mpac-staging");
    for service in ["svc-portal", "svc-smarttab", "mpac-pgw"] {
        assert_eq!(
            serving(&staging, service),
            vec![(tag.clone(), 100, 1)],
            "{staging}"
        );
    }
    assert!(get(18002, "/health").starts_with("HTTP/1.1 200"));

    // Production, blue-green: the tag as blue, the same image under a
    // second tag as green.
    let out = deploy(
        r,
        &tag,
        &["--steps", "100:1s", "--inconclusive", "continue"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let green = format!("{tag}-2");
    for image in ["mpac-svc-portal", "mpac-svc-smarttab", "mpac-pgw"] {
        let tagged = Command::new("docker")
            .args([
                "tag",
                &format!("{address}/{image}:{tag}"),
                &format!("{address}/{image}:{green}"),
            ])
            .status()
            .unwrap();
        assert!(tagged.success());
    }
    let out = deploy(
        r,
        &green,
        &[
            "--services",
            "svc-portal,svc-smarttab,mpac-pgw",
            "--steps",
            "5:2s,50:2s,100:2s",
            "--interval",
            "1s",
            "--inconclusive",
            "continue",
            "--keep-previous",
            "1s",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("step 2/3"), "{}", out.stdout);
    let answer = get(8002, "/v1/merchants/M-1001");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Blue's containers go once its second is up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let prod = status(r, "mpac-prod");
        if serving(&prod, "svc-portal") == vec![(green.clone(), 100, 1)] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{prod}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Multi-stage: the Go services ship their binary alone.
    for image in ["mpac-svc-smarttab", "mpac-pgw"] {
        let seen = skopeo_inspect(&format!("{address}/{image}:{tag}"), None).unwrap();
        assert_eq!(
            seen["Layers"].as_array().unwrap().len(),
            1,
            "{image}: {seen}"
        );
    }
}

/// `slipway cluster down` of both clusters at the end.
struct ClustersDown(std::path::PathBuf);

impl Drop for ClustersDown {
    fn drop(&mut self) {
        for cluster in ["mpac-staging", "mpac-prod"] {
            support::Slipway::new()
                .args(["cluster", "down", "--cluster", cluster, "-C"])
                .args([&self.0])
                .run();
        }
    }
}

fn status(r: &Path, cluster: &str) -> serde_json::Value {
    let out = support::Slipway::new()
        .args([
            "deploy",
            "status",
            "--format",
            "json",
            "--cluster",
            cluster,
            "-C",
        ])
        .args([r])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

fn serving(status: &serde_json::Value, service: &str) -> Vec<(String, u64, usize)> {
    status["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service)
        .unwrap()["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_string(),
                v["weight"].as_u64().unwrap(),
                v["instances"]
                    .as_array()
                    .map_or(0, |i| i.iter().filter(|i| i["state"] == "healthy").count()),
            )
        })
        .collect()
}

fn deploy(r: &Path, tag: &str, extra: &[&str]) -> support::Run {
    support::Slipway::new()
        .args([
            "deploy",
            "blue-green",
            "--cluster",
            "mpac-prod",
            "--image-tag",
            tag,
            "-C",
        ])
        .args([r])
        .args(extra)
        .run()
}

/// `slipway registry down` for the copied repository at the end.
struct Down(std::path::PathBuf, u16);

impl Drop for Down {
    fn drop(&mut self) {
        support::Slipway::new()
            .args(["registry", "down", "--port", &self.1.to_string(), "-C"])
            .args([&self.0])
            .run();
    }
}
