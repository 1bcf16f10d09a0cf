//! `codecov/codecov-action`: there is no hosted service; slipway does its
//! job itself. Each report named in `files` is read by `slipway coverage
//! report` (totals as the producing tool prints them), recorded in the
//! repository's history under its flag, branch and commit, gated on
//! `slipway.toml`'s `[coverage] fail-under` (global or per flag), and its
//! markdown goes to the job summary. The files are also kept with the run.

use std::path::Path;
use std::process::Command;

use slipway_model::LogLevel;

use super::{BuiltinInput, BuiltinResult};

/// The threshold `slipway.toml` sets for `flag`, if any.
fn configured_threshold(repo_root: &Path, flag: &str) -> Result<Option<String>, String> {
    let path = repo_root.join("slipway.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let config =
        slipway_gates::config::CoverageConfig::from_toml(&text).map_err(|e| e.to_string())?;
    Ok(config.fail_under(Some(flag)).map(|t| t.to_string()))
}

pub(super) fn run(input: &BuiltinInput) -> BuiltinResult {
    let files: Vec<&str> = input
        .input("files")
        .or(input.input("file"))
        .map(|f| {
            f.split([',', '\n'])
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let flag = input
        .input("flags")
        .unwrap_or("default")
        .split(',')
        .next()
        .unwrap_or("default")
        .trim()
        .to_string();
    let fail_on_error = input.input("fail_ci_if_error") == Some("true");
    let base = input
        .workspace
        .join(input.input("directory").unwrap_or("."));
    if files.is_empty() {
        return BuiltinResult::fail("no coverage report given: set `files`");
    }
    let mut result = BuiltinResult::ok();
    let problem = |result: &mut BuiltinResult, message: String| {
        if fail_on_error {
            result.ok = false;
            result.lines.push((LogLevel::Error, message));
        } else {
            result.lines.push((
                LogLevel::Warning,
                format!("{message} (ignored: fail_ci_if_error is false)"),
            ));
        }
    };
    // Kept with the run whatever happens next.
    let keep = input
        .run_dir
        .join("coverage")
        .join(flag.replace(['/', ','], "_"));
    let mut present = Vec::new();
    for file in &files {
        let path = base.join(file);
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        match std::fs::create_dir_all(&keep).and_then(|_| std::fs::copy(&path, keep.join(&name))) {
            Ok(_) => present.push(path),
            Err(e) => problem(&mut result, format!("coverage report {file}: {e}")),
        }
    }
    if present.is_empty() {
        return result;
    }
    let Some(slipway) = &input.slipway else {
        result.lines.push((
            LogLevel::Warning,
            "reports kept with the run; not recorded (no slipway binary known here)".into(),
        ));
        return result;
    };
    // The repository the run started in: `run_dir` is `<repo>/.slipway/runs/<id>`.
    let state = input
        .run_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let repo_root = state
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| input.workspace.clone());
    let threshold = match configured_threshold(&repo_root, &flag) {
        Ok(t) => t,
        Err(e) => return BuiltinResult::fail(format!("slipway.toml: {e}")),
    };
    let mut cmd = Command::new(slipway);
    cmd.args(["coverage", "report"])
        .args(&present)
        .args([
            "--flag",
            &flag,
            "--branch",
            &input.branch,
            "--sha",
            &input.sha,
            "--repository",
            &input.repository,
            "--format",
            "markdown",
            "-C",
        ])
        .arg(&input.workspace);
    if let Some(t) = &threshold {
        cmd.args(["--fail-under", t]);
    }
    if let Some(state) = &state {
        cmd.env("SLIPWAY_STATE_DB", state.join("state.db"));
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            return BuiltinResult::fail(format!(
                "cannot run {} coverage report: {e}",
                slipway.display()
            ))
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        result.lines.push((LogLevel::Output, line.to_string()));
    }
    match out.status.code() {
        Some(0) | Some(1) => {
            result.summary = stdout;
            let total = result
                .summary
                .lines()
                .find(|l| l.contains('%'))
                .unwrap_or("")
                .trim()
                .to_string();
            result.lines.push((
                LogLevel::Output,
                format!(
                    "coverage `{flag}` recorded for {} on {}: {total}",
                    &input.sha[..input.sha.len().min(7)],
                    input.branch
                ),
            ));
            if out.status.code() == Some(1) {
                // The gate: below `fail-under`, whatever fail_ci_if_error says.
                result.ok = false;
                result.lines.push((
                    LogLevel::Error,
                    format!(
                        "coverage of `{flag}` is below {}%",
                        threshold.unwrap_or_default()
                    ),
                ));
            }
        }
        _ => problem(
            &mut result,
            format!("coverage report for `{flag}` failed: {}", stdout.trim()),
        ),
    }
    result
}
