//! Approval gates end to end: protected environments and
//! `trstringer/manual-approval`, decided with `slipway approve` and
//! `reject` from other processes, runs left waiting (`--no-wait`, or their
//! process killed) and resumed.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{git, Run, Slipway};

const SETTINGS: &str = r#"
[teams]
devops-team = ["alice", "bob", "carol"]

[environments.production]
approvers = ["devops-team"]
required-approvals = 2
prevent-self-review = true
branches = ["main"]
"#;

const WORKFLOW: &str = r#"name: release
on: push
jobs:
  build:
    runs-on: x
    outputs:
      tag: ${{ steps.tag.outputs.tag }}
    steps:
      - id: tag
        run: echo "tag=v1.2" >> "$GITHUB_OUTPUT"; echo built
  deploy:
    needs: build
    runs-on: x
    environment:
      name: production
      url: https://example.test/${{ needs.build.outputs.tag }}
    steps:
      - run: echo "deploying ${{ needs.build.outputs.tag }} with token ${{ secrets.PROD_TOKEN }}"
      - name: Manual approval
        uses: trstringer/manual-approval@v1
        with:
          secret: ${{ github.TOKEN }}
          approvers: devops-team
          minimum-approvals: 1
      - run: echo "after the manual approval"
      - if: always()
        run: echo "an always() step ran"
"#;

/// A repository with the workflow, the settings and a production secret.
fn repo(settings: &str) -> tempfile::TempDir {
    let dir = support::repo(WORKFLOW);
    let d = dir.path();
    std::fs::write(d.join("slipway.toml"), settings).unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "settings"]);
    let secrets = d.join(".slipway/environments");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("production.env"), "PROD_TOKEN=s3cr3t-prod\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        secrets.join("production.env"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    dir
}

fn slipway(dir: &Path, args: &[&str]) -> Run {
    Slipway::new().args(args).args(["-C"]).args([dir]).run()
}

/// `slipway run` in the background, as alice, output to a file.
fn start(dir: &Path, extra: &[&str]) -> (Child, std::path::PathBuf) {
    let log = dir.join("run-output.txt");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args([
            "run",
            "--in-place",
            "--actor",
            "alice",
            "--ref",
            "refs/heads/main",
            "-C",
        ])
        .arg(dir)
        .args(extra)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    (child, log)
}

/// The gates waiting now, as `runs --waiting --format json` lists them.
fn waiting(dir: &Path) -> Vec<serde_json::Value> {
    let out = slipway(dir, &["runs", "--waiting", "--format", "json"]);
    if out.code != 0 {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["waiting"].as_array().cloned().unwrap_or_default()
}

/// Wait until a gate of this kind waits; return it.
fn until_waiting(dir: &Path, gate: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(g) = waiting(dir).into_iter().find(|g| g["gate"] == gate) {
            return g;
        }
        assert!(Instant::now() < deadline, "no `{gate}` gate waited");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `2026-11-23 12:01:02 UTC` -> `<time>`.
fn redact_times(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut line = line.to_string();
        while let Some(at) = line.find(" UTC") {
            let start = at.saturating_sub(19);
            line.replace_range(start..at + 4, "<time>");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn decide(dir: &Path, verb: &str, run: &str, user: &str) -> Run {
    slipway(dir, &[verb, run, "--as", user])
}

#[test]
fn two_distinct_approvers_release_the_environment_and_the_step_gate_waits_too() {
    let repo = repo(SETTINGS);
    let d = repo.path();
    let (mut child, log) = start(d, &[]);
    let gate = until_waiting(d, "environment");
    assert_eq!(gate["title"], "deploy to production");
    assert_eq!(gate["url"], "https://example.test/v1.2");
    assert_eq!(
        gate["approvers"],
        serde_json::json!(["alice", "bob", "carol"])
    );
    let run = gate["run_id"].to_string();

    // Not an approver; the run's own actor; then one approval is not enough.
    let out = decide(d, "approve", &run, "mallory");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "mallory may not approve deploy to production: the approvers are alice, bob, carol"
        ),
        "{}",
        out.stderr
    );
    let out = decide(d, "approve", &run, "alice");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "alice started this run, and environment `production` does not allow self-review"
        ),
        "{}",
        out.stderr
    );
    let out = decide(d, "approve", &run, "bob");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim(),
        format!(
            "run {run}, deploy to production: approved by bob (1 of 2 approvals); 1 more needed"
        )
    );
    let out = decide(d, "approve", &run, "bob");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("bob has already approved"),
        "{}",
        out.stderr
    );
    // What people read while it waits.
    let table = slipway(d, &["runs", "--waiting"]).stdout;
    insta::assert_snapshot!("runs_waiting", redact_times(&table));
    std::thread::sleep(Duration::from_millis(600));
    let still = until_waiting(d, "environment");
    assert_eq!(still["approved_by"], serde_json::json!(["bob"]));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run went on with one approval"
    );

    // A second, different approver releases it.
    let out = decide(d, "approve", &run, "carol");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("(2 of 2 approvals); the job goes on"),
        "{}",
        out.stdout
    );

    // The step gate: any one of the team, the initiator included.
    until_waiting(d, "step 2");
    let out = decide(d, "approve", &run, "alice");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let status = child.wait().unwrap();
    let output = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("approved by bob (1 of 2)"), "{output}");
    assert!(output.contains("approved by bob, carol"), "{output}");
    // The environment's secret reached the job, masked.
    assert!(output.contains("deploying v1.2 with token ***"), "{output}");
    assert!(!output.contains("s3cr3t-prod"), "{output}");
    assert!(output.contains("after the manual approval"), "{output}");
    assert!(
        output.contains("environment `production`: https://example.test/v1.2"),
        "{output}"
    );

    // `show` records who decided.
    let out = slipway(d, &["show", &run, "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let gates = shown["approvals"].as_array().unwrap();
    let users = |g: &serde_json::Value| -> Vec<String> {
        g["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["user"].as_str().unwrap().to_string())
            .collect()
    };
    let text = slipway(d, &["show", &run]).stdout;
    let approvals = &text[text.find("approvals:").expect("an approvals section")..];
    insta::assert_snapshot!("show_approvals", redact_times(approvals));
    assert_eq!(gates.len(), 2);
    assert_eq!(gates[0]["state"], "approved");
    assert_eq!(users(&gates[0]), ["bob", "carol"]);
    assert_eq!(users(&gates[1]), ["alice"]);
    // Nothing waits any more: approving now is refused.
    let out = decide(d, "approve", &run, "carol");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "run {run} is not waiting for approval (it is success)"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn no_wait_stops_with_exit_3_and_a_rejection_fails_the_job_on_resume() {
    let repo = repo(SETTINGS);
    let d = repo.path();
    let out = Slipway::new()
        .args([
            "run",
            "--in-place",
            "--no-wait",
            "--actor",
            "alice",
            "--format",
            "json",
            "-C",
        ])
        .args([d])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary["conclusion"], "waiting");
    assert!(out.stderr.contains("slipway resume"), "{}", out.stderr);
    let run = summary["run_id"].to_string();
    let gate = until_waiting(d, "environment");
    assert_eq!(gate["run_id"].to_string(), run);

    let out = slipway(
        d,
        &[
            "reject",
            &run,
            "--job",
            "deploy",
            "--as",
            "carol",
            "--comment",
            "not today",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = Slipway::new()
        .args(["resume", &run, "--format", "json", "-C"])
        .args([d])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(support::job(&summary, "build")["conclusion"], "success");
    // Its steps as the first process recorded them.
    assert_eq!(
        support::job(&summary, "build")["steps"][0]["outputs"]["tag"],
        "v1.2"
    );
    assert_eq!(support::job(&summary, "deploy")["conclusion"], "failure");
    assert!(
        out.stderr.contains("rejected by carol: not today"),
        "{}",
        out.stderr
    );
    // The build ran once, before; the resumed run did not repeat it.
    assert!(
        out.stderr.contains("done before: build (success)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("built"), "{}", out.stderr);
    // A job its environment holds back never starts, always() or not.
    assert!(
        !out.stderr.contains("an always() step ran"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_waiting_run_survives_its_process_being_killed_and_is_resumed() {
    let repo = repo(SETTINGS);
    let d = repo.path();
    let (mut child, _log) = start(d, &[]);
    let gate = until_waiting(d, "environment");
    let run = gate["run_id"].to_string();
    child.kill().unwrap();
    child.wait().unwrap();
    // Approvals still arrive while no process waits.
    assert_eq!(decide(d, "approve", &run, "bob").code, 0);
    assert_eq!(decide(d, "approve", &run, "carol").code, 0);
    // Resumed: the environment is approved already, the step gate waits.
    let out = Slipway::new()
        .args(["resume", &run, "--no-wait", "-C"])
        .args([d])
        .run();
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("deploying v1.2"), "{}", out.stdout);
    assert_eq!(decide(d, "approve", &run, "bob").code, 0);
    let out = Slipway::new().args(["resume", &run, "-C"]).args([d]).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("after the manual approval"),
        "{}",
        out.stdout
    );
    let out = slipway(d, &["resume", &run]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("only a run left waiting or interrupted can be resumed"),
        "{}",
        out.stderr
    );
}

#[test]
fn environments_hold_their_branches_and_time_out() {
    let repo = repo(&format!("{SETTINGS}timeout = \"1s\"\n"));
    let d = repo.path();
    git(d, &["checkout", "-qb", "develop"]);
    let out = Slipway::new()
        .args(["run", "--in-place", "--format", "json", "-C"])
        .args([d])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("environment `production` takes deployments from `main` only; this run is for `develop`"),
        "{}",
        out.stderr
    );
    let out = Slipway::new()
        .args([
            "run",
            "--in-place",
            "--actor",
            "alice",
            "--ref",
            "refs/heads/main",
            "-C",
        ])
        .args([d])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("no decision on deploy to production within 1s"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("an always() step ran"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_settings_name_the_key() {
    let repo = repo("[environments.production]\napprovers = [\"alice\"]\nrequired-approvals = 3\n");
    let out = Slipway::new()
        .args(["run", "--in-place", "-C"])
        .args([repo.path()])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("slipway.toml: environments.production.required-approvals: 3 approvals asked of 1 approver(s) (alice)"),
        "{}",
        out.stderr
    );
}

/// A copy of the example repository, committed on main.
fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("cp")
        .args(["-r", "--no-preserve=ownership"])
        .arg(support::example_repo().join("."))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir.path().join(".slipway"));
    std::fs::write(dir.path().join(".gitignore"), ".slipway/\nnode_modules/\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "example"]);
    dir
}

#[test]
fn the_examples_production_deploy_waits_for_two_devops_approvals_across_a_kill() {
    let repo = example_copy();
    let d = repo.path();
    let (mut child, _log) = start(d, &["--job", "deploy-production", "--skip-needs"]);
    let gate = until_waiting(d, "environment");
    assert_eq!(gate["title"], "deploy to production");
    assert_eq!(gate["url"], "https://mpac-cloud.com");
    let run = gate["run_id"].to_string();
    assert_eq!(decide(d, "approve", &run, "dave").code, 2);
    assert_eq!(decide(d, "approve", &run, "alice").code, 2, "self-review");
    assert_eq!(decide(d, "approve", &run, "bob").code, 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "one approval released it"
    );
    // The waiting process dies; the gate and bob's approval stay.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(decide(d, "approve", &run, "carol").code, 0);
    let out = slipway(d, &["resume", &run, "--no-wait"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    // The workflow's own manual-approval step: two of the team again.
    let step = until_waiting(d, "step 3");
    assert_eq!(step["required"], 2);
    assert_eq!(decide(d, "approve", &run, "carol").code, 0);
    assert_eq!(decide(d, "approve", &run, "bob").code, 0);
    let out = slipway(d, &["resume", &run]);
    // Released into the deploy step; without build-and-push (skipped
    // here) there is no image tag to deploy: the job fails there; the
    // rollback step (nothing to roll back) and the always() Slack step run.
    let output = format!("{}{}", out.stdout, out.stderr);
    assert!(
        output.contains("error: input `image-tag` is empty: give the version to deploy"),
        "{output}"
    );
    assert!(
        output.contains(
            "svc-portal: nothing to roll back: it was never deployed on cluster mpac-prod"
        ),
        "{output}"
    );
    assert!(
        output.contains("Deployment failed or errors detected. Rolling back..."),
        "{output}"
    );
    assert!(output.contains("▶ Notify Slack"), "{output}");
    assert_eq!(out.code, 1, "{output}");
}

#[test]
fn a_rejection_fails_the_examples_production_deploy() {
    let repo = example_copy();
    let d = repo.path();
    let out = Slipway::new()
        .args([
            "run",
            "--in-place",
            "--no-wait",
            "--actor",
            "alice",
            "--ref",
            "refs/heads/main",
        ])
        .args(["--job", "deploy-production", "--skip-needs", "-C"])
        .args([d])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let run = until_waiting(d, "environment")["run_id"].to_string();
    let out = slipway(d, &["reject", &run, "--as", "bob", "--comment", "freeze"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("deploy to production: rejected by bob (0 of 2 approvals); the job fails"),
        "{}",
        out.stdout
    );
    let out = slipway(d, &["resume", &run]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let output = format!("{}{}", out.stdout, out.stderr);
    assert!(output.contains("rejected by bob: freeze"), "{output}");
    assert!(!output.contains("▶ Blue-green deployment"), "{output}");
}
