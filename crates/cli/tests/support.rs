//! Running the real binary on fixture folders, the way a user would.
//! Each test file uses part of this.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct Slipway {
    cmd: Command,
}

impl Default for Slipway {
    fn default() -> Slipway {
        Slipway::new()
    }
}

impl Slipway {
    pub fn new() -> Slipway {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
        cmd.current_dir(manifest_dir());
        Slipway { cmd }
    }

    pub fn args<I, S>(mut self, args: I) -> Slipway
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn dir(mut self, dir: &Path) -> Slipway {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(self, input: &str) -> Run {
        use std::io::Write;
        let mut cmd = self.cmd;
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("the slipway binary starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        finish(child.wait_with_output().unwrap())
    }

    pub fn run(mut self) -> Run {
        finish(self.cmd.output().expect("the slipway binary starts"))
    }
}

fn finish(out: std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_repo() -> PathBuf {
    manifest_dir().join("../../examples/mpac-smartpos")
}

/// Replace 40- and 7-hex-digit commit ids so snapshots do not change with
/// every commit.
pub fn redact_shas(s: &str) -> String {
    regex_lite(s)
}

fn regex_lite(s: &str) -> String {
    // A small scanner instead of a regex dependency: runs of hex digits of
    // length 7 or 40 that stand alone become <sha>.
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_hexdigit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_hexdigit() {
                j += 1;
            }
            let len = j - i;
            let standalone = j == chars.len() || !chars[j].is_ascii_alphanumeric();
            let has_digit_and_letter = chars[i..j].iter().any(|c| c.is_ascii_digit());
            if standalone && (len == 7 || len == 40) && has_digit_and_letter {
                out.push_str("<sha>");
                i = j;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// git with a fixed identity and default branch, failing the test on error.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git repository holding one workflow, committed.
pub fn repo(workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
    std::fs::write(d.join(".github/workflows/ci.yml"), workflow).unwrap();
    std::fs::write(d.join(".gitignore"), ".slipway/\n").unwrap();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    dir
}

/// `slipway run --format json` on a repository: exit code, summary, logs.
pub struct Ran {
    pub code: i32,
    pub summary: serde_json::Value,
    pub logs: String,
}

pub fn run_json(dir: &Path, extra: &[&str]) -> Ran {
    let out = Slipway::new()
        .args(["run", "--format", "json", "-C"])
        .args([dir])
        .args(extra)
        .run();
    let summary = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr));
    Ran {
        code: out.code,
        summary,
        logs: out.stderr,
    }
}

/// A job of a run summary by id.
pub fn job<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .unwrap_or_else(|| panic!("no job {id} in {s}"))
}
