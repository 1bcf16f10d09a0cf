//! The end-to-end check on the example repository: a push to
//! `develop` runs `build-and-push` (and the test jobs it needs), whose
//! spec-written `docker build`/`docker push` steps build the four
//! services' multi-stage images on locally built base images and push them
//! to the local registry under the spec's `{branch}-{short-sha}-{timestamp}`
//! tag; skopeo then finds every tag.
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
            "build-and-push",
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
