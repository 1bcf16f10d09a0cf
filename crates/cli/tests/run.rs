//! `slipway run` on fixture repositories: GitHub's job and step semantics
//! with real processes.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{git, job, repo, run_json as run, Slipway};

#[test]
fn outputs_env_files_and_path_flow_between_steps_and_jobs() {
    let dir = repo(
        r#"name: flow
on: push
env:
  GREETING: hello
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      tag: ${{ steps.tag.outputs.tag }}
      notes: ${{ steps.tag.outputs.notes }}
    steps:
      - id: tag
        run: |
          echo "tag=v1-${GITHUB_SHA:0:7}" >> "$GITHUB_OUTPUT"
          {
            echo "notes<<EOF"
            echo "line one"
            echo "line two"
            echo "EOF"
          } >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=set by step one" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/bin" && printf '#!/bin/sh\necho tool ran\n' > "$RUNNER_TEMP/bin/mytool" && chmod +x "$RUNNER_TEMP/bin/mytool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
      - name: Later step sees env and path
        env:
          STEP_ONLY: ${{ env.GREETING }} world
        run: |
          test "$FROM_ENV_FILE" = "set by step one"
          test "$STEP_ONLY" = "hello world"
          test "$CI" = true && test "$GITHUB_ACTIONS" = true && test -n "$GITHUB_WORKSPACE"
          test "$(mytool)" = "tool ran"
          test "${{ steps.tag.outcome }}" = success
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "Deployed ${{ vars.TARGET }}" >> "$GITHUB_STEP_SUMMARY"
          test "${{ needs.build.outputs.tag }}" = "v1-$(echo $GITHUB_SHA | cut -c1-7)"
          test "${{ needs.build.result }}" = success
          printf '%s' "${{ needs.build.outputs.notes }}" | grep -c line | grep -qx 2
"#,
    );
    let r = run(dir.path(), &["--var", "TARGET=staging-eu"]);
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.logs);
    assert_eq!(r.summary["conclusion"], "success");
    let build = job(&r.summary, "build");
    assert_eq!(build["outputs"]["notes"], "line one\nline two");
    assert!(build["outputs"]["tag"].as_str().unwrap().starts_with("v1-"));
    assert_eq!(job(&r.summary, "use")["conclusion"], "success");
    // The step summary is kept with the run and shown by `slipway show`.
    let show = Slipway::new()
        .args(["show", "1", "-C"])
        .args([dir.path()])
        .run();
    assert!(
        show.stdout.contains("Deployed staging-eu"),
        "{}",
        show.stdout
    );
}

#[test]
fn failures_continue_on_error_and_status_functions() {
    let dir = repo(
        r#"on: push
jobs:
  steps:
    runs-on: ubuntu-latest
    steps:
      - id: allowed
        continue-on-error: true
        run: exit 3
      - id: after-allowed
        run: echo still running
      - id: fails
        run: |
          false | true
          echo "pipefail makes this line unreachable" && false
      - id: skipped
        run: echo never
      - id: on-failure
        if: failure()
        run: echo cleaning up
      - id: always
        if: always()
        run: echo always
  dependent:
    needs: steps
    runs-on: ubuntu-latest
    steps:
      - run: echo should be skipped
  reporter:
    needs: steps
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.steps.result }}" = failure
  on-failure:
    needs: dependent
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: echo an ancestor failed
"#,
    );
    let r = run(dir.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.logs);
    assert_eq!(r.summary["conclusion"], "failure");
    let steps = job(&r.summary, "steps")["steps"]
        .as_array()
        .unwrap()
        .clone();
    let by_id = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap().clone();
    assert_eq!(
        (
            by_id("allowed")["outcome"].as_str(),
            by_id("allowed")["conclusion"].as_str()
        ),
        (Some("failure"), Some("success"))
    );
    assert_eq!(by_id("after-allowed")["conclusion"], "success");
    assert_eq!(by_id("fails")["conclusion"], "failure");
    assert_eq!(by_id("skipped")["conclusion"], "skipped");
    assert_eq!(by_id("on-failure")["conclusion"], "success");
    assert_eq!(by_id("always")["conclusion"], "success");
    assert_eq!(job(&r.summary, "dependent")["conclusion"], "skipped");
    assert_eq!(job(&r.summary, "reporter")["conclusion"], "success");
    assert_eq!(job(&r.summary, "on-failure")["conclusion"], "success");
    assert!(
        r.logs.contains("Process completed with exit code 3."),
        "{}",
        r.logs
    );
}

#[test]
fn timeouts_fail_the_step_and_the_job() {
    let dir = repo(
        r#"on: push
jobs:
  slow-step:
    runs-on: ubuntu-latest
    steps:
      - timeout-minutes: 0.02
        run: sleep 30
  slow-job:
    runs-on: ubuntu-latest
    timeout-minutes: 0.02
    steps:
      - run: sleep 30
      - if: always()
        run: echo cleanup after timeout
"#,
    );
    let r = run(dir.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.logs);
    assert_eq!(job(&r.summary, "slow-step")["conclusion"], "failure");
    let slow_job = job(&r.summary, "slow-job");
    assert_eq!(slow_job["conclusion"], "failure");
    assert_eq!(slow_job["steps"][1]["conclusion"], "success");
    assert!(r.logs.contains("exceeded its timeout"), "{}", r.logs);
}

#[test]
fn secrets_are_masked_everywhere() {
    let dir = repo(
        r#"on: push
jobs:
  leak:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "token is ${{ secrets.API_TOKEN }}"
          echo "from env: $TOKEN"
          echo "::add-mask::runtime-value-42"
          echo "later: runtime-value-42"
        env:
          TOKEN: ${{ secrets.API_TOKEN }}
"#,
    );
    let secret_file = dir.path().join("secrets.txt");
    std::fs::write(&secret_file, "API_TOKEN=s3cr3t-value\n").unwrap();
    let r = run(
        dir.path(),
        &["--secret-file", secret_file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.logs);
    assert!(!r.logs.contains("s3cr3t-value"), "{}", r.logs);
    assert!(!r.logs.contains("runtime-value-42"), "{}", r.logs);
    assert!(r.logs.contains("token is ***"), "{}", r.logs);
    assert!(r.logs.contains("later: ***"), "{}", r.logs);
}

#[test]
fn a_readable_secrets_file_is_refused() {
    let dir = repo("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n");
    std::fs::create_dir_all(dir.path().join(".slipway")).unwrap();
    let file = dir.path().join(".slipway/secrets.env");
    std::fs::write(&file, "A=b\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Slipway::new().args(["run", "-C"]).args([dir.path()]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
}

#[test]
fn matrix_fail_fast_and_job_selection() {
    let dir = repo(
        r#"on: push
jobs:
  unrelated:
    runs-on: x
    steps: [{run: exit 1}]
  matrix:
    strategy:
      max-parallel: 1
      matrix:
        n: [1, 2, 3]
    runs-on: x
    steps:
      - run: test ${{ matrix.n }} != 1
  lenient:
    strategy:
      fail-fast: false
      matrix:
        n: [1, 2]
    runs-on: x
    steps:
      - run: test ${{ matrix.n }} != 1
"#,
    );
    let r = run(
        dir.path(),
        &["--job", "matrix", "--job", "lenient", "--jobs", "1"],
    );
    assert_eq!(r.code, 1, "{}", r.logs);
    let jobs = r.summary["jobs"].as_array().unwrap();
    assert!(
        jobs.iter().all(|j| j["id"] != "unrelated"),
        "--job runs only what was asked"
    );
    let matrix: Vec<(&str, &str)> = jobs
        .iter()
        .filter(|j| j["id"] == "matrix")
        .map(|j| {
            (
                j["name"].as_str().unwrap(),
                j["conclusion"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        matrix,
        vec![
            ("matrix (1)", "failure"),
            ("matrix (2)", "cancelled"),
            ("matrix (3)", "cancelled")
        ]
    );
    let lenient: Vec<&str> = jobs
        .iter()
        .filter(|j| j["id"] == "lenient")
        .map(|j| j["conclusion"].as_str().unwrap())
        .collect();
    assert_eq!(lenient, vec!["failure", "success"]);
}

#[test]
fn runs_in_a_fresh_checkout_unless_in_place() {
    let dir = repo("on: push\njobs:\n  look:\n    runs-on: x\n    steps:\n      - run: test ! -e uncommitted.txt\n");
    std::fs::write(dir.path().join("uncommitted.txt"), "local edit").unwrap();
    let out = Slipway::new().args(["run", "-C"]).args([dir.path()]).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The checkout is gone afterwards, and the user's tree untouched.
    let out = Command::new("git")
        .current_dir(dir.path())
        .args(["worktree", "list"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(dir.path().join("uncommitted.txt").exists());
    let out = Slipway::new()
        .args(["run", "--in-place", "-C"])
        .args([dir.path()])
        .run();
    assert_eq!(
        out.code, 1,
        "in place, the uncommitted file is there: {}",
        out.stdout
    );
}

#[test]
fn unknown_actions_stop_the_run_before_it_starts() {
    let dir = repo("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: touch started\n  b:\n    runs-on: x\n    steps:\n      - uses: someone/something@v2\n");
    let out = Slipway::new()
        .args(["run", "--in-place", "-C"])
        .args([dir.path()])
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`someone/something@v2` is not built into slipway"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ci.yml:10:15"), "{}", out.stderr);
    assert!(!dir.path().join("started").exists());
}

#[test]
fn ctrl_c_cancels_and_always_steps_still_run() {
    let dir = repo(
        r#"on: push
jobs:
  long:
    runs-on: x
    steps:
      - run: echo started; sleep 30
      - if: always()
        run: echo "cleanup ran"
      - run: echo "not after cancel"
"#,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", "--in-place", "-C"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first step is running, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let log = dir.path().join(".slipway/runs/1/logs/run.log");
    let started = || {
        std::fs::read_to_string(&log)
            .map(|text| text.contains("started"))
            .unwrap_or(false)
    };
    while !started() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe_kill(child.id());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("cleanup ran"), "{stdout}");
    assert!(!stdout.contains("not after cancel"), "{stdout}");
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

#[test]
fn history_records_runs_and_a_killed_run_is_interrupted() {
    let dir = repo(
        r#"name: history
on: push
jobs:
  first:
    runs-on: x
    steps:
      - run: echo hello from first
  second:
    needs: first
    runs-on: x
    steps:
      - run: echo second started; sleep 29.123
"#,
    );
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", "--in-place", "-C"])
        .arg(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let logs = Slipway::new().args(["logs", "1", "-C"]).args([d]).run();
        if logs.stdout.contains("second started") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got to its second job: {}{}",
            logs.stdout,
            logs.stderr
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // While it runs, it is `running`; killed outright, it is `interrupted`.
    let runs = Slipway::new()
        .args(["runs", "--format", "json", "-C"])
        .args([d])
        .run();
    let runs: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(runs["runs"][0]["status"], "running");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = Command::new("pkill").args(["-f", "sleep 29.123"]).status();

    let runs = Slipway::new()
        .args(["runs", "--format", "json", "-C"])
        .args([d])
        .run();
    let runs: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(runs["runs"][0]["id"], 1);
    assert_eq!(runs["runs"][0]["status"], "interrupted");
    assert_eq!(runs["runs"][0]["event"], "push");
    let show = Slipway::new()
        .args(["show", "1", "--format", "json", "-C"])
        .args([d])
        .run();
    let show: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(show["conclusion"], "interrupted");
    assert_eq!(job(&show, "first")["conclusion"], "success");
    assert_eq!(job(&show, "second")["conclusion"], "interrupted");
    let logs = Slipway::new()
        .args(["logs", "1", "--job", "first", "-C"])
        .args([d])
        .run();
    assert!(logs.stdout.contains("hello from first"), "{}", logs.stdout);
    assert!(!logs.stdout.contains("second started"), "{}", logs.stdout);
    let step = Slipway::new()
        .args(["logs", "1", "--job", "second", "--step", "1", "-C"])
        .args([d])
        .run();
    assert!(step.stdout.contains("second started"), "{}", step.stdout);
    assert!(
        !step.stdout.contains("started: second"),
        "job lines are not step 1's: {}",
        step.stdout
    );
    let none = Slipway::new()
        .args(["logs", "1", "--job", "second", "--step", "7", "-C"])
        .args([d])
        .run();
    assert_eq!(none.code, 2, "{}", none.stdout);

    // A finished run: `show` has the summary `run --format json` printed.
    std::fs::write(d.join(".github/workflows/ci.yml"), "on: push\njobs:\n  quick:\n    runs-on: x\n    steps: [{id: s, run: echo \"v=1\" >> $GITHUB_OUTPUT}]\n").unwrap();
    let finished = run(d, &["--in-place"]);
    assert_eq!(finished.code, 0, "{}", finished.logs);
    let show = Slipway::new()
        .args(["show", "2", "--format", "json", "-C"])
        .args([d])
        .run();
    let show: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(show, finished.summary);
    assert_eq!(show["jobs"][0]["steps"][0]["outputs"]["v"], "1");
}

fn marker_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn start_run(dir: &Path, marker: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", "--in-place", "--env"])
        .arg(format!("MARKER={}", marker.display()))
        .arg("-C")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(path: &Path, line: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !marker_lines(path).iter().any(|l| l == line) {
        assert!(
            std::time::Instant::now() < deadline,
            "never saw `{line}` in {:?}",
            marker_lines(path)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_newer_run_cancels_the_one_in_progress_in_its_group() {
    let dir = repo(
        r#"on: push
concurrency:
  group: deploy-${{ github.ref }}
  cancel-in-progress: true
jobs:
  deploy:
    runs-on: x
    steps:
      - run: |
          echo "$GITHUB_RUN_ID start" >> "$MARKER"
          sleep ${{ github.run_id == '1' && 20 || 1 }}
          echo "$GITHUB_RUN_ID end" >> "$MARKER"
"#,
    );
    let marker = dir.path().join("marker");
    let mut first = start_run(dir.path(), &marker);
    wait_for(&marker, "1 start");
    let mut second = start_run(dir.path(), &marker);
    assert_eq!(second.wait().unwrap().code(), Some(0));
    assert_eq!(first.wait().unwrap().code(), Some(130));
    assert_eq!(marker_lines(&marker), vec!["1 start", "2 start", "2 end"]);
}

#[test]
fn without_cancel_in_progress_runs_in_a_group_take_turns() {
    let dir = repo(
        r#"on: push
concurrency: one-at-a-time
jobs:
  deploy:
    runs-on: x
    steps:
      - run: |
          echo "$GITHUB_RUN_ID start" >> "$MARKER"
          sleep 1
          echo "$GITHUB_RUN_ID end" >> "$MARKER"
"#,
    );
    let marker = dir.path().join("marker");
    let mut first = start_run(dir.path(), &marker);
    wait_for(&marker, "1 start");
    let mut second = start_run(dir.path(), &marker);
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(second.wait().unwrap().code(), Some(0));
    assert_eq!(
        marker_lines(&marker),
        vec!["1 start", "1 end", "2 start", "2 end"]
    );
}

#[test]
fn a_job_level_group_serialises_matrix_instances() {
    let dir = repo(
        r#"on: push
jobs:
  deploy:
    strategy:
      matrix:
        n: [a, b]
    concurrency: shared-target
    runs-on: x
    steps:
      - run: |
          echo "${{ matrix.n }} start" >> "$MARKER"
          sleep 0.5
          echo "${{ matrix.n }} end" >> "$MARKER"
"#,
    );
    let marker = dir.path().join("marker");
    let r = run(
        dir.path(),
        &[
            "--in-place",
            "--jobs",
            "2",
            "--env",
            &format!("MARKER={}", marker.display()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.logs);
    let lines = marker_lines(&marker);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].ends_with("start") && lines[1].ends_with("end") && lines[0][..1] == lines[1][..1],
        "{lines:?}"
    );
}

#[test]
fn local_composite_and_node_actions_run() {
    let dir = repo(
        r#"on: push
jobs:
  use:
    runs-on: x
    steps:
      - id: greet
        uses: ./.github/actions/greet
        with:
          who: world
      - run: |
          test "${{ steps.greet.outputs.message }}" = "hello, world!"
          test "$GREETED" = yes
      - id: node
        uses: ./.github/actions/count
        with:
          text: a b c
      - run: test "${{ steps.node.outputs.words }}" = 3
      - id: missing
        continue-on-error: true
        uses: ./.github/actions/greet
"#,
    );
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github/actions/greet")).unwrap();
    std::fs::write(
        d.join(".github/actions/greet/action.yml"),
        r#"name: greet
inputs:
  who:
    required: true
  punctuation:
    default: "!"
outputs:
  message:
    value: ${{ steps.say.outputs.message }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      run: |
        echo "message=hello, ${{ inputs.who }}${{ inputs.punctuation }}" >> "$GITHUB_OUTPUT"
        test -f "$GITHUB_ACTION_PATH/action.yml"
    - shell: bash
      run: echo "GREETED=yes" >> "$GITHUB_ENV"
"#,
    )
    .unwrap();
    std::fs::create_dir_all(d.join(".github/actions/count")).unwrap();
    std::fs::write(
        d.join(".github/actions/count/action.yml"),
        "name: count\ninputs:\n  text: {}\nruns:\n  using: node20\n  main: index.js\n",
    )
    .unwrap();
    std::fs::write(
        d.join(".github/actions/count/index.js"),
        "const fs = require('fs');\nconst n = process.env.INPUT_TEXT.split(' ').length;\nfs.appendFileSync(process.env.GITHUB_OUTPUT, `words=${n}\\n`);\n",
    )
    .unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "actions"]);
    let r = run(d, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.logs);
    let steps = job(&r.summary, "use")["steps"].as_array().unwrap().clone();
    assert_eq!(steps[0]["outputs"]["message"], "hello, world!");
    assert_eq!(steps[2]["outputs"]["words"], "3");
    assert_eq!(steps[4]["outcome"], "failure");
    assert!(
        r.logs
            .contains("input `who` is required by ./.github/actions/greet"),
        "{}",
        r.logs
    );
}

#[test]
fn the_codecov_step_records_gates_and_summarises_coverage() {
    let workflow = r#"on: push
jobs:
  test:
    runs-on: x
    steps:
      - uses: codecov/codecov-action@v3
        with:
          files: ./coverage/lcov.info
          flags: web
"#;
    let dir = repo(workflow);
    let d = dir.path();
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(d.join("src/a.js"), "one\ntwo\nthree\nfour\n").unwrap();
    std::fs::create_dir_all(d.join("coverage")).unwrap();
    std::fs::write(
        d.join("coverage/lcov.info"),
        "TN:\nSF:src/a.js\nDA:1,1\nDA:2,1\nDA:3,0\nDA:4,0\nend_of_record\n",
    )
    .unwrap();
    std::fs::write(d.join("slipway.toml"), "[coverage]\nfail-under = 80\n").unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "report"]);
    let r = run(d, &[]);
    assert_eq!(r.code, 1, "50% is below 80%: {}", r.logs);
    assert!(
        r.logs.contains("coverage of `web` is below 80%"),
        "{}",
        r.logs
    );

    std::fs::write(
        d.join("slipway.toml"),
        "[coverage]\n[coverage.flags.web]\nfail-under = 40\n",
    )
    .unwrap();
    git(d, &["commit", "-qam", "lower the bar"]);
    let r = run(d, &[]);
    assert_eq!(r.code, 0, "{}", r.logs);
    let trend = Slipway::new()
        .args([
            "coverage", "trend", "--flag", "web", "--format", "json", "-C",
        ])
        .args([d])
        .run();
    let trend: Value = serde_json::from_str(&trend.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", trend.stdout, trend.stderr));
    let points = trend["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "both runs recorded: {trend}");
    assert_eq!(points[1]["percent"], 50.0);
    let show = Slipway::new().args(["show", "2", "-C"]).args([d]).run();
    assert!(
        show.stdout.contains("50.00%"),
        "the markdown summary is kept: {}",
        show.stdout
    );
}
