//! `slipway image build` against the machine's Docker Engine: `FROM
//! scratch` images holding a small static program (nothing can be pulled),
//! .dockerignore, multi-stage targets, build arguments, the layer cache,
//! a failing instruction and bad input.

mod image_support;
mod support;

use image_support::{context, static_binary, unique_repo, ImageCleanup};
use support::Slipway;

fn build(ctx: &std::path::Path, args: &[&str]) -> support::Run {
    Slipway::new()
        .args(["image", "build"])
        .arg_path(ctx)
        .args(args)
        .run()
}

trait ArgPath {
    fn arg_path(self, p: &std::path::Path) -> Self;
}

impl ArgPath for Slipway {
    fn arg_path(self, p: &std::path::Path) -> Self {
        self.args([p])
    }
}

/// A context with the test program as `hello` and these files.
fn program_context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = context(files);
    std::fs::copy(static_binary(), dir.path().join("hello")).unwrap();
    dir
}

fn json(out: &support::Run) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr))
}

fn docker_inspect(reference: &str) -> Option<serde_json::Value> {
    let out = std::process::Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone())
}

/// Image ids, container ids and durations change from run to run.
fn redact(text: &str, repo: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words = Vec::new();
        for w in line.split(' ') {
            let hexlen = w
                .trim_start_matches("sha256:")
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .count();
            let bare = w.trim_start_matches("sha256:");
            if hexlen >= 12 && hexlen == bare.len() {
                words.push(
                    if w.starts_with("sha256:") {
                        "sha256:[ID]"
                    } else {
                        "[ID]"
                    }
                    .to_string(),
                );
            } else {
                words.push(w.to_string());
            }
        }
        let mut l = words.join(" ").replace(repo, "[REPO]");
        if let Some(at) = l.find(") in ") {
            if l.ends_with(" s") {
                l = format!("{}) in [SECONDS] s", &l[..at]);
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn builds_with_dockerignore_labels_and_args_then_reuses_the_cache() {
    let repo = unique_repo("cache");
    let _clean = ImageCleanup(vec![repo.clone()]);
    // Content no earlier run had, so that the engine's cache from other
    // runs cannot answer for it.
    let kept = format!("kept by {repo}\n");
    let ctx = program_context(&[
        (
            "Dockerfile",
            "FROM scratch\nARG GREETING=none\nCOPY hello /hello\nCOPY data/ /data/\nLABEL greeting=$GREETING\nENTRYPOINT [\"/hello\"]\n",
        ),
        (".dockerignore", "data/*.tmp\n*.log\n"),
        ("data/keep.txt", &kept),
        ("data/skip.tmp", "left out\n"),
        ("build.log", "left out\n"),
    ]);
    let c = ctx.path();
    let first = build(
        c,
        &[
            "--repo",
            &repo,
            "--tag",
            "v1",
            "--build-arg",
            "GREETING=hi",
            "--label",
            "team=pos",
            "--format",
            "json",
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let j = json(&first);
    // The classic builder adds `--label`s as a last LABEL step.
    assert_eq!(j["steps"], 7);
    // Dockerfile, .dockerignore, hello, data/keep.txt.
    assert_eq!(j["context"]["files"], 4);
    assert_eq!(j["tags"][0]["reference"], format!("{repo}:v1"));
    assert_eq!(j["tags"][0]["digest"], serde_json::Value::Null);
    let id = j["image_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let inspect = docker_inspect(&format!("{repo}:v1")).expect("the image exists");
    assert_eq!(inspect["Id"], id);
    assert_eq!(inspect["Config"]["Labels"]["greeting"], "hi");
    assert_eq!(inspect["Config"]["Labels"]["team"], "pos");
    // Progress went to stderr as the engine reported it.
    assert!(
        first.stderr.contains("Step 3/7 : COPY hello /hello"),
        "{}",
        first.stderr
    );

    // The ignored files never reached the image.
    let listing = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "--entrypoint",
            "/hello",
            &format!("{repo}:v1"),
            "x",
        ])
        .output()
        .unwrap();
    assert!(listing.status.success());

    // Unchanged context: every step after FROM comes from the cache and
    // the image is the same one.
    let second = build(
        c,
        &[
            "--repo",
            &repo,
            "--tag",
            "v2",
            "--build-arg",
            "GREETING=hi",
            "--label",
            "team=pos",
            "--format",
            "json",
        ],
    );
    let j2 = json(&second);
    assert_eq!(j2["cached_steps"], 6, "{}", second.stderr);
    assert_eq!(j2["image_id"], id);
    assert!(second.stderr.contains("Using cache"));

    // Touching an ignored file changes nothing either.
    std::fs::write(c.join("data/skip.tmp"), "changed\n").unwrap();
    let third = build(
        c,
        &[
            "--repo",
            &repo,
            "--tag",
            "v3",
            "--build-arg",
            "GREETING=hi",
            "--label",
            "team=pos",
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&third)["cached_steps"], 6);

    // A changed file is rebuilt from its step on.
    std::fs::write(c.join("data/keep.txt"), format!("changed {kept}")).unwrap();
    let fourth = build(
        c,
        &[
            "--repo",
            &repo,
            "--tag",
            "v4",
            "--build-arg",
            "GREETING=hi",
            "--label",
            "team=pos",
            "--format",
            "json",
        ],
    );
    let j4 = json(&fourth);
    // ARG and the first COPY.
    assert_eq!(j4["cached_steps"], 2, "{}", fourth.stderr);
    assert_ne!(j4["image_id"], id);
}

#[test]
fn the_text_result() {
    let repo = unique_repo("text");
    let _clean = ImageCleanup(vec![repo.clone()]);
    let ctx = program_context(&[(
        "Dockerfile",
        "FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n",
    )]);
    let out = build(
        ctx.path(),
        &[
            "--repo",
            &repo,
            "--tag",
            "v1",
            "--tag",
            "latest-ish",
            "-q",
            "--no-cache",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("build_text", redact(&out.stdout, &repo));
}

#[test]
fn multi_stage_targets() {
    let repo = unique_repo("stages");
    let _clean = ImageCleanup(vec![repo.clone()]);
    let ctx = program_context(&[(
        "Dockerfile",
        "FROM scratch AS tools\nCOPY hello /tools/hello\n\nFROM scratch AS app\nCOPY --from=tools /tools/hello /app\nENTRYPOINT [\"/app\"]\n",
    )]);
    let out = build(
        ctx.path(),
        &[
            "--repo", &repo, "--tag", "tools", "--target", "tools", "--format", "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json(&out)["steps"], 2);
    let out = build(
        ctx.path(),
        &["--repo", &repo, "--tag", "app", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = std::process::Command::new("docker")
        .args(["run", "--rm", &format!("{repo}:app")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("hello from [/app]"));

    let out = build(
        ctx.path(),
        &["--repo", &repo, "--tag", "x", "--target", "tset"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--target `tset`:") && out.stderr.contains("(stages: tools, app)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failing_instruction_is_shown_with_its_output() {
    let repo = unique_repo("fails");
    let _clean = ImageCleanup(vec![repo.clone()]);
    let ctx = program_context(&[(
        "Dockerfile",
        "FROM scratch\nCOPY hello /hello\n# the next step fails\nRUN [\"/hello\", \"fail\"]\nENTRYPOINT [\"/hello\"]\n",
    )]);
    let out = build(ctx.path(), &["--repo", &repo, "--tag", "v1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let error = &out.stderr[out.stderr.find("error: ").expect("an error line")..];
    let shown = error.replace(&ctx.path().display().to_string(), "[CONTEXT]");
    insta::assert_snapshot!("build_failed_step", shown);
    // Nothing was tagged.
    assert!(docker_inspect(&format!("{repo}:v1")).is_none());

    let out = build(
        ctx.path(),
        &["--repo", &repo, "--tag", "v1", "--format", "json"],
    );
    let j = json(&out);
    assert_eq!(j["error"]["kind"], "build");
    assert!(j["error"]["message"]
        .as_str()
        .unwrap()
        .contains("returned a non-zero code: 3"));
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let ctx = program_context(&[
        ("Dockerfile", "FROM scratch\nFORM x\n"),
        ("other.Dockerfile", "FROM scratch\n"),
    ]);
    let c = ctx.path();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "/nonexistent/ctx".into(),
                "--repo".into(),
                "a".into(),
                "--tag".into(),
                "v".into(),
            ],
            "context `/nonexistent/ctx` does not exist",
        ),
        (
            vec![
                c.join("hello").display().to_string(),
                "--repo".into(),
                "a".into(),
                "--tag".into(),
                "v".into(),
            ],
            "is not a folder",
        ),
        (
            vec![
                c.display().to_string(),
                "--repo".into(),
                "a".into(),
                "--tag".into(),
                "v".into(),
                "-f".into(),
                "nope.Dockerfile".into(),
            ],
            "-f nope.Dockerfile: no such file",
        ),
        (
            vec![
                c.display().to_string(),
                "--repo".into(),
                "a".into(),
                "--tag".into(),
                "v".into(),
            ],
            "Dockerfile:2: unknown instruction: FORM",
        ),
        (
            vec![
                c.display().to_string(),
                "--repo".into(),
                "Bad_Repo".into(),
                "--tag".into(),
                "v".into(),
            ],
            "--repo `Bad_Repo`",
        ),
        (
            vec![
                c.display().to_string(),
                "--repo".into(),
                "a".into(),
                "--tag=-v".into(),
            ],
            "--tag `-v`",
        ),
        (
            vec![
                c.display().to_string(),
                "--repo".into(),
                "a".into(),
                "--tag".into(),
                "v".into(),
                "--build-arg".into(),
                "=x".into(),
            ],
            "--build-arg `=x`",
        ),
    ];
    for (args, says) in cases {
        let out = Slipway::new().args(["image", "build"]).args(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    let empty = context(&[("a", "a")]);
    let out = build(empty.path(), &["--repo", "a", "--tag", "v"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no Dockerfile in"), "{}", out.stderr);
}

#[test]
fn a_base_image_that_is_not_here_fails_with_a_hint() {
    let ctx = context(&[("Dockerfile", "FROM slipway-test/no-such-base:1\nRUN true\n")]);
    let out = build(ctx.path(), &["--repo", "a", "--tag", "v"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the build failed at step 1/2"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: the base image `slipway-test/no-such-base:1` is not on this machine"),
        "{}",
        out.stderr
    );
}
