//! Actions that run a tool the machine must already have.

use std::path::PathBuf;
use std::process::Command;

use super::{BuiltinInput, BuiltinResult};

/// The first `name` on the step's PATH.
pub(super) fn find(input: &BuiltinInput, name: &str) -> Option<PathBuf> {
    input
        .path_var()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

pub(super) fn pnpm(input: &BuiltinInput) -> BuiltinResult {
    match find(input, "pnpm") {
        Some(p) => BuiltinResult::ok().say(format!("using pnpm at {}", p.display())),
        None => BuiltinResult::fail(
            "pnpm is not installed on this machine and cannot be downloaded here; install it, or use npm scripts (`npm ci`, `npm run ...`)",
        ),
    }
}

pub(super) fn golangci_lint(input: &BuiltinInput) -> BuiltinResult {
    let Some(binary) = find(input, "golangci-lint") else {
        return BuiltinResult::fail(
            "golangci-lint is not installed on this machine and cannot be downloaded here; install it, or run `gofmt -l .` and `go vet ./...` in a `run:` step",
        );
    };
    let dir = input
        .workspace
        .join(input.input("working-directory").unwrap_or("."));
    let mut cmd = Command::new(&binary);
    cmd.arg("run")
        .current_dir(&dir)
        .env_clear()
        .envs(input.env.iter().map(|(k, v)| (k, v)));
    if let Some(args) = input.input("args") {
        cmd.args(args.split_whitespace());
    }
    match cmd.output() {
        Ok(out) => {
            let mut result = if out.status.success() {
                BuiltinResult::ok()
            } else {
                BuiltinResult::fail("golangci-lint found problems")
            };
            for line in String::from_utf8_lossy(&out.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&out.stderr).lines())
            {
                result = result.say(line.to_string());
            }
            result
        }
        Err(e) => BuiltinResult::fail(format!("cannot run {}: {e}", binary.display())),
    }
}
