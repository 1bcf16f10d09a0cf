//! `slipway image tag`: the spec's `{branch}-{short-sha}-{timestamp}` and
//! `{branch}-latest`, valid for any branch name.

mod support;

use support::{git, Slipway};

const SHA: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

fn tag(args: &[&str]) -> support::Run {
    Slipway::new().args(["image", "tag"]).args(args).run()
}

#[test]
fn the_specs_tag_and_the_branch_latest() {
    let base = ["--sha", SHA, "--time", "2026-01-28T10:30:45Z"];
    let out = tag(&[&["--branch", "main"][..], &base].concat());
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "main-a1b2c3d-20260128103045\n")
    );
    let out = tag(&[&["--branch", "main", "--latest"][..], &base].concat());
    assert_eq!((out.code, out.stdout.as_str()), (0, "main-latest\n"));

    let out = tag(&[
        &["--branch", "refs/heads/feature/pay-2", "--format", "json"][..],
        &base,
    ]
    .concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "tag": "feature-pay-2-a1b2c3d-20260128103045",
            "latest": "feature-pay-2-latest",
            "branch": "feature/pay-2",
            "branch_part": "feature-pay-2",
            "truncated": false,
            "sha": SHA,
            "short_sha": "a1b2c3d",
            "timestamp": "20260128103045",
            "time": "2026-01-28T10:30:45Z"
        })
    );
}

#[test]
fn time_forms_and_offsets_are_utc() {
    for time in ["2026-01-28T19:30:45+09:00", "20260128103045", "@1769596245"] {
        let out = tag(&["--branch", "develop", "--sha", SHA, "--time", time]);
        assert_eq!(out.stdout, "develop-a1b2c3d-20260128103045\n", "{time}");
    }
}

#[test]
fn long_and_odd_branch_names_make_valid_tags() {
    let cases = [
        ("feature/ÜNÏ code@2x:y", "feature--N--code-2x-y"),
        ("--.leading", "leading"),
        ("release/v1.2_rc", "release-v1.2_rc"),
    ];
    for (branch, part) in cases {
        let flag = format!("--branch={branch}");
        let out = tag(&[&flag, "--sha", SHA, "--time", "@0"]);
        assert_eq!(
            out.stdout,
            format!("{part}-a1b2c3d-19700101000000\n"),
            "{branch}"
        );
    }
    let long = format!("feature/{}", "very-long-name-".repeat(20));
    let out = tag(&[
        "--branch", &long, "--sha", SHA, "--time", "@0", "--format", "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let t = json["tag"].as_str().unwrap();
    assert_eq!(t.len(), 128);
    assert!(t.starts_with("feature-very-long-name-"), "{t}");
    assert!(t.ends_with("-a1b2c3d-19700101000000"), "{t}");
    assert_eq!(json["truncated"], true);
    assert_eq!(json["latest"].as_str().unwrap().len(), 128);
}

#[test]
fn bad_input_names_the_flag_and_exits_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["--branch", "//", "--sha", SHA], "--branch `//`"),
        (&["--branch", "main", "--sha", "xyz"], "--sha `xyz`"),
        (
            &["--branch", "main", "--sha", SHA, "--time", "noon"],
            "--time `noon`",
        ),
        (
            &[
                "--branch",
                "main",
                "--sha",
                SHA,
                "--time",
                "2026-02-30T00:00:00Z",
            ],
            "--time",
        ),
    ];
    for (args, says) in cases {
        let out = tag(args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn defaults_come_from_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a"), "a").unwrap();
    git(d, &["init", "-q"]);
    git(d, &["checkout", "-q", "-b", "feature/from-git"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    let sha = String::from_utf8(
        std::process::Command::new("git")
            .current_dir(d)
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let out = Slipway::new()
        .args(["image", "tag", "--time", "@0", "-C"])
        .args([d])
        .run();
    assert_eq!(
        out.stdout,
        format!("feature-from-git-{}-19700101000000\n", &sha[..7])
    );

    // Detached HEAD: no branch to read, so --branch is asked for.
    git(d, &["checkout", "-q", "--detach"]);
    let out = Slipway::new().args(["image", "tag", "-C"]).args([d]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--branch is needed"), "{}", out.stderr);
}
