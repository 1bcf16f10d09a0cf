//! `slipway run` with the artifact and cache actions, implemented natively:
//! artifacts kept with the run, the cache shared by the runs of a repository.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{job, repo, Ran};

/// Replaces the workflow of `dir` (runs are in place: no commit needed).
fn rewrite(dir: &Path, workflow: &str) {
    std::fs::write(dir.join(".github/workflows/ci.yml"), workflow).unwrap();
}

fn run(dir: &Path) -> Ran {
    support::run_json(dir, &["--in-place"])
}

fn step<'a>(s: &'a Value, job_id: &str, step_id: &str) -> &'a Value {
    job(s, job_id)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["id"] == step_id)
        .unwrap_or_else(|| panic!("no step {step_id} in {s}"))
}

/// The run's folder: `.slipway/runs/<id>`.
fn run_dir(dir: &Path, r: &Ran) -> PathBuf {
    dir.join(".slipway/runs")
        .join(r.summary["run_id"].as_u64().unwrap().to_string())
}

/// Entries of the repository's cache, by key.
fn cache_keys(dir: &Path) -> Vec<String> {
    let mut keys: Vec<String> = std::fs::read_dir(dir.join(".slipway/cache"))
        .map(|list| {
            list.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path().join("meta.json")).ok())
                .map(|t| {
                    serde_json::from_str::<Value>(&t).unwrap()["key"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

#[test]
fn upload_then_download_in_a_dependent_job() {
    let dir = repo(
        r#"on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          mkdir -p out/bin out/lib/deep out/.cache reports/a reports/b
          echo one > out/bin/tool
          printf 'two\nlines\n' > out/lib/deep/lib.so
          echo scratch > out/lib/scratch.tmp
          echo secret > out/.env
          echo hidden > out/.cache/x
          echo x > reports/a/x.txt
          echo y > reports/b/y.txt
      - id: dist
        uses: actions/upload-artifact@v4
        with:
          name: dist
          path: |
            out/**
            !out/**/*.tmp
          retention-days: 1
      - id: reports
        uses: actions/upload-artifact@v4
        with:
          name: reports
          path: |
            reports/a/x.txt
            reports/b/
      - id: one
        uses: actions/upload-artifact@v4
        with:
          path: reports/a/x.txt
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - id: dl
        uses: actions/download-artifact@v4
        with:
          name: dist
          path: got
      - run: |
          cmp got/bin/tool out/bin/tool
          cmp got/lib/deep/lib.so out/lib/deep/lib.so
          test ! -e got/lib/scratch.tmp
          test ! -e got/.env
          test ! -e got/.cache
          test "${{ steps.dl.outputs.download-path }}" = "$GITHUB_WORKSPACE/got"
      - uses: actions/download-artifact@v4
        with:
          path: all
      - run: |
          test -f all/dist/bin/tool
          cmp all/reports/a/x.txt reports/a/x.txt
          cmp all/reports/b/y.txt reports/b/y.txt
          cmp all/artifact/x.txt reports/a/x.txt
      - uses: actions/download-artifact@v4
        with:
          pattern: "*s*"
          merge-multiple: true
          path: merged
      - run: |
          test -f merged/bin/tool && test -f merged/a/x.txt
          test ! -e merged/x.txt
"#,
    );
    let r = run(dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.logs);

    let dist = &step(&r.summary, "build", "dist")["outputs"];
    let reports = &step(&r.summary, "build", "reports")["outputs"];
    let one = &step(&r.summary, "build", "one")["outputs"];
    let ids: Vec<&str> = [dist, reports, one]
        .iter()
        .map(|o| o["artifact-id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| id.parse::<u64>().is_ok()), "{ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    let kept = run_dir(dir.path(), &r).join("artifacts/dist");
    assert_eq!(
        dist["artifact-url"].as_str().unwrap(),
        format!("file://{}", kept.canonicalize().unwrap().display())
    );
    let digest = dist["artifact-digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(kept.join("bin/tool").is_file());
    assert!(kept.join("lib/deep/lib.so").is_file());
    assert!(r.logs.contains("uploaded 2 files"), "{}", r.logs);

    // The same files give the same digest, in another run.
    let again = run(dir.path());
    assert_eq!(again.code, 0, "{}", again.logs);
    assert_eq!(
        step(&again.summary, "build", "dist")["outputs"]["artifact-digest"],
        digest
    );
}

#[test]
fn missing_files_and_missing_artifacts_fail_clearly() {
    let dir = repo(
        r#"on: push
jobs:
  nothing:
    runs-on: ubuntu-latest
    steps:
      - id: warn
        uses: actions/upload-artifact@v4
        with:
          name: none-warn
          path: does/not/exist
      - id: ignore
        uses: actions/upload-artifact@v4
        with:
          name: none-ignore
          path: does/not/exist
          if-no-files-found: ignore
      - id: error
        continue-on-error: true
        uses: actions/upload-artifact@v4
        with:
          name: none-error
          path: |
            does/not/exist
            nor/*.this
          if-no-files-found: error
      - run: |
          test "${{ steps.warn.outcome }}" = success
          test -z "${{ steps.warn.outputs.artifact-id }}"
          test "${{ steps.ignore.outcome }}" = success
          test "${{ steps.error.outcome }}" = failure
      - run: echo a > a.txt
      - uses: actions/upload-artifact@v4
        with:
          name: alpha
          path: a.txt
      - uses: actions/upload-artifact@v4
        with:
          name: beta
          path: a.txt
  fetch:
    needs: nothing
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: gamma
      - run: echo never
"#,
    );
    let r = run(dir.path());
    assert_ne!(r.code, 0);
    assert_eq!(
        job(&r.summary, "nothing")["conclusion"],
        "success",
        "{}",
        r.logs
    );
    assert_eq!(job(&r.summary, "fetch")["conclusion"], "failure");
    assert!(
        r.logs
            .contains("no files were found with the provided path: does/not/exist, nor/*.this"),
        "{}",
        r.logs
    );
    assert!(r.logs.contains("`gamma`"), "{}", r.logs);
    assert!(r.logs.contains("`alpha`, `beta`"), "{}", r.logs);
    assert!(!r.logs.contains("never\n"), "{}", r.logs);
    assert!(!run_dir(dir.path(), &r).join("artifacts/none-warn").exists());
}

#[test]
fn the_same_name_twice_needs_overwrite() {
    let dir = repo(
        r#"on: push
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p v && echo first > v/f.txt
      - uses: actions/upload-artifact@v4
        with:
          name: out
          path: v
      - run: echo second > v/f.txt && echo dot > v/.dotfile
      - id: again
        continue-on-error: true
        uses: actions/upload-artifact@v4
        with:
          name: out
          path: v
      - id: replace
        uses: actions/upload-artifact@v4
        with:
          name: out
          path: v
          overwrite: true
          include-hidden-files: true
      - run: |
          test "${{ steps.again.outcome }}" = failure
          test "${{ steps.replace.outcome }}" = success
  down:
    needs: up
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: out
          path: d
      - run: |
          test "$(cat d/f.txt)" = second
          test "$(cat d/.dotfile)" = dot
"#,
    );
    let r = run(dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.logs);
    assert!(
        r.logs
            .contains("an artifact named `out` was already uploaded in this run"),
        "{}",
        r.logs
    );
}

const CACHE: &str = r#"on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: c
        uses: actions/cache@v4
        with:
          path: |
            deps
            OUTSIDE
          key: deps-v1
      - run: |
          if [ "${{ steps.c.outputs.cache-hit }}" != true ]; then
            mkdir -p deps/nested OUTSIDE
            echo built > deps/nested/a.txt
            echo outside > OUTSIDE/o.txt
          fi
          test "$(cat deps/nested/a.txt)" = built
          test "$(cat OUTSIDE/o.txt)" = outside
          FAIL_HERE
"#;

#[test]
fn cache_saves_at_the_end_of_a_successful_job_and_hits_in_the_next_run() {
    let outside = tempfile::tempdir().unwrap();
    let outside_dir = outside.path().join("store");
    let dir = repo("on: push\njobs: {}\n");
    let d = dir.path();
    let workflow = |fail: &str| {
        CACHE
            .replace("OUTSIDE", &outside_dir.display().to_string())
            .replace("FAIL_HERE", fail)
    };

    // A failing job saves nothing.
    rewrite(d, &workflow("exit 1"));
    let r = run(d);
    assert_ne!(r.code, 0);
    assert_eq!(
        step(&r.summary, "build", "c")["outputs"]["cache-hit"],
        "false"
    );
    assert!(cache_keys(d).is_empty(), "{}", r.logs);

    // A miss, then saved when the job ends.
    std::fs::remove_dir_all(d.join("deps")).unwrap();
    std::fs::remove_dir_all(&outside_dir).unwrap();
    rewrite(d, &workflow("true"));
    let r = run(d);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert_eq!(
        step(&r.summary, "build", "c")["outputs"]["cache-hit"],
        "false"
    );
    assert!(
        r.logs.contains("cache saved with key `deps-v1`: 2 files"),
        "{}",
        r.logs
    );
    assert_eq!(cache_keys(d), ["deps-v1"]);

    // The next run restores both, the workspace's and the absolute path.
    std::fs::remove_dir_all(d.join("deps")).unwrap();
    std::fs::remove_dir_all(&outside_dir).unwrap();
    let r = run(d);
    assert_eq!(r.code, 0, "{}", r.logs);
    let out = &step(&r.summary, "build", "c")["outputs"];
    assert_eq!(out["cache-hit"], "true");
    assert_eq!(out["cache-matched-key"], "deps-v1");
    assert!(r.logs.contains("will not be saved again"), "{}", r.logs);
    assert_eq!(
        std::fs::read_to_string(d.join("deps/nested/a.txt")).unwrap(),
        "built\n"
    );
}

#[test]
fn restore_keys_pick_the_newest_and_lookup_only_and_fail_on_miss() {
    let dir = repo(
        r#"on: push
jobs:
  seed:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p deps && echo older > deps/v.txt
      - uses: actions/cache/save@v4
        with:
          path: deps
          key: deps-b
      - run: sleep 0.05 && echo newer > deps/v.txt
      - uses: actions/cache/save@v4
        with:
          path: deps
          key: deps-a
      - uses: actions/cache/save@v4
        with:
          path: deps
          key: deps-a
"#,
    );
    let d = dir.path();
    let r = run(d);
    assert_eq!(r.code, 0, "{}", r.logs);
    assert_eq!(cache_keys(d), ["deps-a", "deps-b"]);
    assert!(
        r.logs.contains("cache `deps-a` already exists"),
        "{}",
        r.logs
    );

    std::fs::remove_dir_all(d.join("deps")).unwrap();
    rewrite(
        d,
        r#"on: push
jobs:
  use:
    runs-on: ubuntu-latest
    steps:
      - id: lookup
        uses: actions/cache@v4
        with:
          path: deps
          key: deps-b
          lookup-only: true
      - run: test ! -e deps
      - id: prefix
        uses: actions/cache/restore@v4
        with:
          path: deps
          key: deps-c
          restore-keys: |
            nothing-
            deps-
      - run: test "$(cat deps/v.txt)" = newer
      - id: miss
        continue-on-error: true
        uses: actions/cache@v4
        with:
          path: deps
          key: absent
          fail-on-cache-miss: true
      - run: test "${{ steps.miss.outcome }}" = failure
"#,
    );
    let r = run(d);
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.logs);
    let lookup = &step(&r.summary, "use", "lookup")["outputs"];
    assert_eq!(lookup["cache-hit"], "true");
    assert_eq!(lookup["cache-matched-key"], "deps-b");
    let prefix = &step(&r.summary, "use", "prefix")["outputs"];
    assert_eq!(prefix["cache-hit"], "false");
    assert_eq!(prefix["cache-matched-key"], "deps-a");
    assert_eq!(prefix["cache-primary-key"], "deps-c");
    assert!(r.logs.contains("fail-on-cache-miss"), "{}", r.logs);
    // The restore action never saves; the failed step's job still succeeded
    // (continue-on-error), but its key was never asked to be saved.
    assert_eq!(cache_keys(d), ["deps-a", "deps-b"]);
}
