//! `actions/checkout`: the workspace already is the commit; `path` puts a
//! second checkout of it in a subfolder. `fetch-depth` needs nothing: the
//! history is local.

use std::process::Command;

use super::{BuiltinInput, BuiltinResult};

pub(super) fn run(input: &BuiltinInput) -> BuiltinResult {
    let short = &input.sha[..input.sha.len().min(7)];
    let Some(path) = input.input("path") else {
        return BuiltinResult::ok().say(format!("the workspace already holds {short}"));
    };
    let target = input.workspace.join(path);
    if target.join(".git").exists() {
        return BuiltinResult::ok().say(format!("{path} already holds a checkout"));
    }
    let out = Command::new("git")
        .args(["clone", "--quiet", "--no-checkout"])
        .arg(&input.workspace)
        .arg(&target)
        .output()
        .and_then(|o| {
            if !o.status.success() {
                return Ok(o);
            }
            Command::new("git")
                .arg("-C")
                .arg(&target)
                .args(["checkout", "--quiet", "--detach", &input.sha])
                .output()
        });
    match out {
        Ok(o) if o.status.success() => {
            BuiltinResult::ok().say(format!("checked out {short} into {path}"))
        }
        Ok(o) => BuiltinResult::fail(format!(
            "checkout into {path} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => BuiltinResult::fail(format!("checkout into {path} failed: cannot run git: {e}")),
    }
}
