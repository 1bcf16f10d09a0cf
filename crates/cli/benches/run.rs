//! `slipway run` overhead, measured side by side in one run:
//! 1. a generated workflow of 24 jobs in 3 levels, two trivial steps each,
//!    run with `--jobs 2`, against a plain bash script running the same
//!    step commands with the same shell flags, two jobs at a time;
//! 2. slipway's peak memory during that run (VmHWM, sampled);
//! 3. scheduling overhead per job on a generated 1,000-job DAG whose steps
//!    are all skipped (no process is started), against an empty workflow.
//!
//! Run: `cargo bench -p slipway-cli --bench run` (`-- --quick` for fewer rounds).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SLIPWAY: &str = env!("CARGO_BIN_EXE_slipway");

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@b",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

fn repo(workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    std::fs::write(dir.path().join(".github/workflows/bench.yml"), workflow).unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".slipway/\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "bench"]);
    dir
}

const STEPS: [&str; 2] = [
    "echo step one of $GITHUB_JOB",
    "test -n \"$CI\" && echo step two",
];

fn levels_workflow() -> String {
    let mut s = String::from("on: push\njobs:\n");
    for level in 0..3 {
        for j in 0..8 {
            s.push_str(&format!("  l{level}-{j}:\n    runs-on: x\n"));
            if level > 0 {
                s.push_str(&format!("    needs: [l{}-{j}]\n", level - 1));
            }
            s.push_str("    steps:\n");
            for step in STEPS {
                s.push_str(&format!("      - run: '{}'\n", step.replace('\'', "''")));
            }
        }
    }
    s
}

/// The same commands, the same shell template, two jobs at a time.
fn bash_script() -> String {
    let mut s = String::from(
        "#!/bin/bash\nset -e\nstep() { bash --noprofile --norc -eo pipefail -c \"$1\"; }\n",
    );
    for level in 0..3 {
        for pair in 0..4 {
            for j in [pair * 2, pair * 2 + 1] {
                s.push_str(&format!("( export GITHUB_JOB=l{level}-{j} CI=true; "));
                for step in STEPS {
                    s.push_str(&format!("step '{}'; ", step.replace('\'', "'\\''")));
                }
                s.push_str(") > /dev/null &\n");
            }
            s.push_str("wait\n");
        }
    }
    s
}

/// Wall time of a command, and its peak resident memory in KiB.
fn timed(mut cmd: Command) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{cmd:?} failed");
            return (start.elapsed(), peak);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds = if std::env::args().any(|a| a == "--quick") {
        3
    } else {
        9
    };

    let levels = repo(&levels_workflow());
    let script = levels.path().join("same-steps.sh");
    std::fs::write(&script, bash_script()).unwrap();
    // Alternate the three so that load from elsewhere hits them alike.
    let (mut checkout, mut in_place, mut bash) = (Vec::new(), Vec::new(), Vec::new());
    let mut peak = 0;
    for _ in 0..rounds {
        let mut cmd = Command::new(SLIPWAY);
        cmd.args(["run", "--jobs", "2", "-C"]).arg(levels.path());
        let (t, kb) = timed(cmd);
        checkout.push(t);
        peak = peak.max(kb);
        let mut cmd = Command::new(SLIPWAY);
        cmd.args(["run", "--jobs", "2", "--in-place", "-C"])
            .arg(levels.path());
        in_place.push(timed(cmd).0);
        let mut cmd = Command::new("bash");
        cmd.arg(&script);
        bash.push(timed(cmd).0);
    }
    let (checkout, in_place, bash) = (median(checkout), median(in_place), median(bash));
    println!(
        "{:<58} {:>10} | {:<22} {:>10} | ratio",
        "measure (median)", "slipway", "baseline", "time"
    );
    let ratio = |t: Duration| t.as_secs_f64() / bash.as_secs_f64();
    println!(
        "{:<58} {:>10} | {:<22} {:>10} | x{:.2}  target <= 1.5x: {}",
        "24 jobs, 3 levels, 2 steps, --jobs 2, --in-place",
        format!("{in_place:.0?}"),
        "same steps in bash",
        format!("{bash:.0?}"),
        ratio(in_place),
        if ratio(in_place) <= 1.5 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "{:<58} {:>10} | {:<22} {:>10} | x{:.2}  (adds a fresh git worktree of the commit)",
        "same, default: in a fresh checkout",
        format!("{checkout:.0?}"),
        "same steps in bash",
        format!("{bash:.0?}"),
        ratio(checkout),
    );
    println!(
        "{:<58} {:>10} | target < 30 MiB: {}",
        "slipway peak memory (VmHWM)",
        format!("{:.1} MiB", peak as f64 / 1024.0),
        if peak < 30 * 1024 { "met" } else { "MISSED" }
    );

    // 1,000 jobs, each needing one or two earlier ones, every step skipped.
    let mut s = String::from("on: push\njobs:\n");
    for i in 0..1000 {
        s.push_str(&format!("  j{i}:\n    runs-on: x\n"));
        if i > 0 {
            s.push_str(&format!("    needs: [j{}, j{}]\n", i - 1, i / 2));
        }
        s.push_str("    steps:\n      - if: false\n        run: echo never\n");
    }
    let big = repo(&s);
    let tiny = repo("on: push\njobs:\n  j0:\n    runs-on: x\n    steps:\n      - if: false\n        run: echo never\n");
    let mut per_job = Vec::new();
    for _ in 0..rounds.min(5) {
        let mut cmd = Command::new(SLIPWAY);
        cmd.args(["run", "--in-place", "-C"]).arg(big.path());
        let (t_big, _) = timed(cmd);
        let mut cmd = Command::new(SLIPWAY);
        cmd.args(["run", "--in-place", "-C"]).arg(tiny.path());
        let (t_tiny, _) = timed(cmd);
        per_job.push(t_big.saturating_sub(t_tiny) / 999);
    }
    let per_job = median(per_job);
    println!(
        "{:<58} {:>10} | target < 1 ms: {}",
        "1,000-job DAG: scheduling overhead per job (vs 1 job)",
        format!("{per_job:.0?}"),
        if per_job < Duration::from_millis(1) {
            "met"
        } else {
            "MISSED"
        }
    );
}
