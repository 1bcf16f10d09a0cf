//! `slipway plan`: the example's four scenarios, triggers with real git
//! diffs, and the `github` context.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{example_repo, git, redact_shas, Slipway};

fn plan_json(dir: &Path, args: &[&str]) -> Value {
    let run = Slipway::new()
        .args(["plan", "--format", "json", "-C"])
        .args([dir])
        .args(args)
        .run();
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap()
}

fn plan_text(dir: &Path, args: &[&str]) -> String {
    let run = Slipway::new()
        .args(["plan", "-C"])
        .args([dir])
        .args(args)
        .run();
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    redact_shas(&run.stdout)
}

/// job id -> decision, for the one workflow.
fn decisions(plan: &Value) -> Vec<(String, String)> {
    plan["workflows"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap().to_string(),
                j["decision"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const TESTS: [&str; 4] = [
    "test-svc-portal",
    "test-svc-smarttab",
    "test-mpac-pgw",
    "test-frontend",
];

fn expect(plan: &Value, expected: &[(&str, &str)]) {
    let got = decisions(plan);
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn push_to_develop_deploys_to_staging_only() {
    let plan = plan_json(
        &example_repo(),
        &["--event", "push", "--ref", "refs/heads/develop"],
    );
    assert_eq!(plan["workflows"][0]["triggered"], true);
    let mut want: Vec<(&str, &str)> = TESTS.iter().map(|t| (*t, "run")).collect();
    want.extend([
        ("build-and-push", "run"),
        ("deploy-staging", "run"),
        ("deploy-production", "skip"),
    ]);
    expect(&plan, &want);
    let prod = &plan["workflows"][0]["jobs"][6];
    assert_eq!(
        prod["reason"],
        "`if: github.ref == 'refs/heads/main'` is false (github.ref is 'refs/heads/develop')"
    );
    assert_eq!(prod["needs"], serde_json::json!(["build-and-push"]));
    assert_eq!(prod["environment"], "production");
    insta::assert_snapshot!(
        "push_develop",
        plan_text(
            &example_repo(),
            &["--event", "push", "--ref", "refs/heads/develop"]
        )
    );
}

#[test]
fn push_to_main_deploys_to_production_only() {
    let plan = plan_json(
        &example_repo(),
        &["--event", "push", "--ref", "refs/heads/main"],
    );
    let mut want: Vec<(&str, &str)> = TESTS.iter().map(|t| (*t, "run")).collect();
    want.extend([
        ("build-and-push", "run"),
        ("deploy-staging", "skip"),
        ("deploy-production", "run"),
    ]);
    expect(&plan, &want);
    insta::assert_snapshot!(
        "push_main",
        plan_text(
            &example_repo(),
            &["--event", "push", "--ref", "refs/heads/main"]
        )
    );
}

#[test]
fn pull_request_runs_only_the_tests() {
    let args = [
        "--event",
        "pull_request",
        "--ref",
        "refs/heads/feature/x",
        "--base",
        "develop",
    ];
    let plan = plan_json(&example_repo(), &args);
    let mut want: Vec<(&str, &str)> = TESTS.iter().map(|t| (*t, "run")).collect();
    want.extend([
        ("build-and-push", "skip"),
        ("deploy-staging", "skip"),
        ("deploy-production", "skip"),
    ]);
    expect(&plan, &want);
    let jobs = plan["workflows"][0]["jobs"].as_array().unwrap();
    assert_eq!(
        jobs[4]["reason"],
        "`if: github.event_name == 'push'` is false (github.event_name is 'pull_request')"
    );
    assert_eq!(jobs[5]["reason"], "needed job `build-and-push` is skipped");
    assert_eq!(plan["event"]["ref"], "refs/pull/1/merge");
    insta::assert_snapshot!("pull_request", plan_text(&example_repo(), &args));
}

#[test]
fn push_to_a_feature_branch_triggers_nothing() {
    let plan = plan_json(
        &example_repo(),
        &["--event", "push", "--ref", "refs/heads/feature/x"],
    );
    let wf = &plan["workflows"][0];
    assert_eq!(wf["triggered"], false);
    assert_eq!(
        wf["reason"],
        "push to branch `feature/x` does not match `branches: [main, develop]`"
    );
    assert_eq!(wf["jobs"], serde_json::json!([]));
    insta::assert_snapshot!(
        "push_feature",
        plan_text(
            &example_repo(),
            &["--event", "push", "--ref", "refs/heads/feature/x"]
        )
    );
}

// ---- triggers against a real repository ----

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository with one workflow per filter kind, and a history:
/// main: workflows + README; feature: docs/guide.md; then src/app.rs.
fn filter_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    let job = "jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
    write(d, ".github/workflows/paths.yml", &format!("name: paths\non:\n  push:\n    branches: ['**']\n    paths: ['src/**', '!src/**/*.md']\n{job}"));
    write(
        d,
        ".github/workflows/ignore.yml",
        &format!("name: ignore\non:\n  push:\n    paths-ignore: ['docs/**', '*.md']\n{job}"),
    );
    write(
        d,
        ".github/workflows/tags.yml",
        &format!("name: tags\non:\n  push:\n    tags: ['v[0-9]+.*']\n{job}"),
    );
    write(d, ".github/workflows/releases.yml", &format!("name: releases\non:\n  push:\n    branches: ['releases/**', '!releases/**-alpha', 'releases/**-alpha-ok']\n{job}"));
    write(d, ".github/workflows/pr.yml", &format!("name: pr\non:\n  pull_request:\n    types: [opened, labeled]\n    branches: [main]\n    paths: ['src/**']\n{job}"));
    write(
        d,
        ".github/workflows/pr-default-types.yml",
        &format!("name: pr-default-types\non: pull_request\n{job}"),
    );
    write(d, "README.md", "hello\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    git(d, &["checkout", "-qb", "feature"]);
    write(d, "docs/guide.md", "guide\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "docs"]);
    git(d, &["tag", "docs-only"]);
    write(d, "src/app.rs", "fn main() {}\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "code"]);
    git(d, &["tag", "v1.2"]);
    dir
}

fn triggered(plan: &Value) -> Vec<(String, bool)> {
    plan["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_string(),
                w["triggered"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The plan of the workflow with this name.
fn workflow<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no workflow `{name}` in the plan"))
}

fn names(pairs: &[(String, bool)]) -> Vec<&str> {
    pairs
        .iter()
        .filter(|(_, t)| *t)
        .map(|(n, _)| n.as_str())
        .collect()
}

#[test]
fn path_filters_read_the_push_diff() {
    let repo = filter_repo();
    // The docs commit alone: only docs changed.
    let plan = plan_json(
        repo.path(),
        &["--ref", "refs/heads/feature", "--sha", "docs-only"],
    );
    assert_eq!(
        plan["event"]["changed_files"],
        serde_json::json!(["docs/guide.md"])
    );
    assert_eq!(names(&triggered(&plan)), Vec::<&str>::new());
    let ignore = workflow(&plan, "ignore");
    assert_eq!(
        ignore["reason"],
        "push to branch `feature`, but every changed file is excluded by `paths-ignore: [docs/**, *.md]`"
    );
    // The code commit: src/app.rs changed.
    let plan = plan_json(repo.path(), &["--ref", "refs/heads/feature"]);
    assert_eq!(names(&triggered(&plan)), vec!["ignore", "paths"]);
    let paths = workflow(&plan, "paths");
    assert_eq!(
        paths["reason"],
        "push to branch `feature` matches `branches: [**]`, and changed file `src/app.rs` matches `paths: [src/**, !src/**/*.md]`"
    );
}

#[test]
fn a_push_reads_its_commit_against_the_first_parent() {
    let repo = filter_repo();
    let d = repo.path();
    // The root commit: every file it adds changed.
    let root = plan_json(d, &["--ref", "refs/heads/main"]);
    let files = root["event"]["changed_files"].as_array().unwrap();
    assert!(files.contains(&"README.md".into()), "{files:?}");
    // A merge of `feature` into main: the files it brings to main, as
    // `git diff main^1 main` lists them.
    git(d, &["checkout", "-q", "main"]);
    write(d, "NOTES.txt", "notes\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "notes"]);
    git(
        d,
        &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
    );
    let merge = plan_json(d, &["--ref", "refs/heads/main"]);
    assert_eq!(
        merge["event"]["changed_files"],
        serde_json::json!(["docs/guide.md", "src/app.rs"])
    );
    assert_eq!(names(&triggered(&merge)), vec!["ignore", "paths"]);
}

#[test]
fn tag_pushes_match_tag_filters_only() {
    let repo = filter_repo();
    let plan = plan_json(repo.path(), &["--ref", "refs/tags/v1.2"]);
    // `ignore` has no ref filters, so tags run it too; path filters do not apply to tags.
    assert_eq!(names(&triggered(&plan)), vec!["ignore", "tags"]);
    let releases = workflow(&plan, "releases");
    assert_eq!(
        releases["reason"],
        "push to tag `v1.2`, but the push filter lists only branches"
    );
    let plan = plan_json(repo.path(), &["--ref", "refs/heads/main"]);
    let tags = workflow(&plan, "tags");
    assert_eq!(
        tags["reason"],
        "push to branch `main`, but the push filter lists only tags"
    );
}

#[test]
fn negated_patterns_apply_in_order() {
    let repo = filter_repo();
    let d = repo.path();
    for (branch, expected) in [
        ("releases/1.0", true),
        ("releases/1.0-alpha", false),
        ("releases/1.0-alpha-ok", true),
    ] {
        git(d, &["branch", "-f", branch, "HEAD"]);
        let plan = plan_json(d, &["--ref", &format!("refs/heads/{branch}")]);
        let releases = workflow(&plan, "releases");
        assert_eq!(
            releases["triggered"], expected,
            "{branch}: {}",
            releases["reason"]
        );
    }
}

#[test]
fn pull_requests_filter_on_base_types_and_merge_base_diff() {
    let repo = filter_repo();
    let plan = plan_json(
        repo.path(),
        &[
            "--event",
            "pull_request",
            "--ref",
            "feature",
            "--base",
            "main",
        ],
    );
    assert_eq!(
        plan["event"]["changed_files"],
        serde_json::json!(["docs/guide.md", "src/app.rs"])
    );
    assert_eq!(names(&triggered(&plan)), vec!["pr-default-types", "pr"]);
    // `synchronize` is a default type but not in `types: [opened, labeled]`.
    let plan = plan_json(
        repo.path(),
        &[
            "--event",
            "pull_request",
            "--ref",
            "feature",
            "--base",
            "main",
            "--action",
            "synchronize",
        ],
    );
    assert_eq!(names(&triggered(&plan)), vec!["pr-default-types"]);
    let pr = &workflow(&plan, "pr")["reason"];
    assert_eq!(
        pr,
        "activity `synchronize` is not among `types: [opened, labeled]`"
    );
    // `labeled` is not a default type.
    let plan = plan_json(
        repo.path(),
        &[
            "--event",
            "pull_request",
            "--ref",
            "feature",
            "--base",
            "main",
            "--action",
            "labeled",
        ],
    );
    assert_eq!(names(&triggered(&plan)), vec!["pr"]);
    // Into another base branch.
    let plan = plan_json(
        repo.path(),
        &[
            "--event",
            "pull_request",
            "--ref",
            "main",
            "--base",
            "feature",
        ],
    );
    assert_eq!(names(&triggered(&plan)), vec!["pr-default-types"]);
}

// ---- the github context and conditions ----

#[test]
fn github_context_has_what_workflows_use() {
    let repo = filter_repo();
    let d = repo.path();
    git(
        d,
        &[
            "remote",
            "add",
            "origin",
            "git@github.com:mpac/smartpos.git",
        ],
    );
    let checks = [
        ("event_name", "github.event_name == 'push'"),
        ("ref_name", "github.ref_name == 'feature'"),
        ("ref_type", "github.ref_type == 'branch'"),
        ("sha", "github.sha == github.event.after && github.event.head_commit.id == github.sha"),
        ("repository", "github.repository == 'mpac/smartpos' && github.repository_owner == 'mpac'"),
        ("actor", "github.actor != ''"),
        ("workspace", "endsWith(github.workspace, github.event.repository.name) || github.workspace != ''"),
        ("run", "github.run_id == '1' && github.run_number == 1"),
        ("job", "github.job == 'ctx'"),
        ("server", "github.server_url == 'https://github.com'"),
        ("commits", "github.event.commits[0].message == 'code' && github.event.before != github.event.after"),
        ("empty_refs", "github.base_ref == '' && github.head_ref == ''"),
    ];
    let mut wf = String::from("name: ctx\non: push\njobs:\n");
    for (id, cond) in checks {
        wf.push_str(&format!(
            "  {id}:\n    runs-on: x\n    if: {cond}\n    steps: [{{run: echo}}]\n"
        ));
    }
    wf = wf.replace("github.job == 'ctx'", "github.job == 'job'");
    write(d, ".github/workflows/ctx.yml", &wf);
    let plan = plan_json(
        d,
        &["--ref", "refs/heads/feature", ".github/workflows/ctx.yml"],
    );
    for job in plan["workflows"][0]["jobs"].as_array().unwrap() {
        assert_eq!(job["decision"], "run", "{}: {}", job["id"], job["reason"]);
    }
}

#[test]
fn conditions_known_only_at_run_time_are_conditional() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        ".github/workflows/c.yml",
        r#"name: c
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: x
    outputs:
      tag: ${{ steps.t.outputs.tag }}
    steps: [{id: t, run: echo}]
  on-failure:
    needs: build
    if: failure()
    runs-on: x
    steps: [{run: echo}]
  by-output:
    needs: build
    if: needs.build.outputs.tag != ''
    runs-on: x
    steps: [{run: echo}]
  short-circuit:
    needs: build
    if: github.event_name == 'workflow_dispatch' && needs.build.result == 'success'
    runs-on: x
    steps: [{run: echo}]
  always:
    needs: by-output
    if: always()
    runs-on: x
    steps: [{run: echo}]
  after-conditional:
    needs: by-output
    runs-on: x
    steps: [{run: echo}]
  matrix:
    strategy:
      matrix:
        os: [linux, mac]
        v: [1, 2]
        exclude: [{os: mac, v: 1}]
        include: [{os: linux, extra: yes}]
    runs-on: ${{ matrix.os }}
    steps: [{run: echo}]
  dispatch:
    if: inputs.target == 'prod'
    runs-on: x
    steps: [{run: echo}]
"#,
    );
    let plan = plan_json(d, &["--ref", "main"]);
    let jobs = plan["workflows"][0]["jobs"].as_array().unwrap();
    let find = |id: &str| {
        jobs.iter()
            .filter(|j| j["id"] == id)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(find("on-failure")[0]["decision"], "conditional");
    assert_eq!(
        find("on-failure")[0]["reason"],
        "`if: failure()` depends on failure() at run time"
    );
    assert_eq!(find("by-output")[0]["decision"], "conditional");
    assert_eq!(
        find("by-output")[0]["reason"],
        "`if: needs.build.outputs.tag != ''` depends on needs.build.outputs.tag at run time"
    );
    assert_eq!(find("short-circuit")[0]["decision"], "skip");
    assert_eq!(find("always")[0]["decision"], "run");
    assert_eq!(find("after-conditional")[0]["decision"], "conditional");
    let matrix = find("matrix");
    let combos: Vec<String> = matrix.iter().map(|j| j["matrix"].to_string()).collect();
    assert_eq!(
        combos,
        vec![
            r#"{"os":"linux","v":1,"extra":"yes"}"#,
            r#"{"os":"linux","v":2,"extra":"yes"}"#,
            r#"{"os":"mac","v":2}"#
        ]
    );
    assert_eq!(matrix[0]["name"], "matrix (linux, 1, yes)");
    assert_eq!(find("dispatch")[0]["decision"], "skip");
    let plan = plan_json(
        d,
        &[
            "--ref",
            "main",
            "--event",
            "workflow_dispatch",
            "--input",
            "target=prod",
        ],
    );
    let jobs = plan["workflows"][0]["jobs"].as_array().unwrap();
    assert_eq!(
        jobs.iter().find(|j| j["id"] == "dispatch").unwrap()["decision"],
        "run"
    );
}

#[test]
fn a_payload_file_is_used_as_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, ".github/workflows/p.yml", "on: pull_request\njobs:\n  title:\n    if: startsWith(github.event.pull_request.title, 'Fix') && github.head_ref == 'fix/1'\n    runs-on: x\n    steps: [{run: echo}]\n");
    write(
        d,
        "payload.json",
        r#"{"action": "opened", "number": 7, "pull_request": {"title": "Fix the thing", "head": {"ref": "fix/1", "sha": "abc"}, "base": {"ref": "main", "sha": "def"}}}"#,
    );
    let plan = plan_json(d, &["--event", "pull_request", "--payload", "payload.json"]);
    assert_eq!(plan["event"]["ref"], "refs/pull/7/merge");
    assert_eq!(
        plan["workflows"][0]["jobs"][0]["decision"], "run",
        "{}",
        plan["workflows"][0]["jobs"][0]["reason"]
    );
}

#[test]
fn invalid_workflows_stop_the_plan_with_exit_2() {
    let run = Slipway::new()
        .args(["plan", "tests/fixtures/errors/unknown-job.yml"])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("error[unknown-job]"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was planned"), "{}", run.stderr);
    let run = Slipway::new()
        .args([
            "plan",
            "--event",
            "pull_request",
            "tests/fixtures/warnings/mistakes.yml",
        ])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--base is required"), "{}", run.stderr);
}
