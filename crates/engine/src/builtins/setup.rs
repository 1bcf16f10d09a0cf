//! `actions/setup-python`, `-go`, `-node`: nothing can be downloaded, so
//! find a toolchain on the machine that satisfies the version asked for and
//! put it first on PATH; fail naming what was found otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tools::find;
use super::{BuiltinInput, BuiltinResult};

/// `3.11` matches 3.11.x, `3` any 3.x, `3.11.7` exactly; `x` and `*`
/// parts match anything; a leading `v`, `^` or `~` is ignored, `>=` compares.
pub(crate) fn satisfies(spec: &str, version: &str) -> bool {
    let spec = spec.trim();
    let parts = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    if let Some(min) = spec.strip_prefix(">=") {
        return parts(version) >= parts(min.trim());
    }
    let spec = spec.trim_start_matches(['v', '^', '~', '=']);
    let have: Vec<&str> = version.split('.').collect();
    spec.split('.')
        .enumerate()
        .all(|(i, want)| matches!(want, "x" | "X" | "*") || have.get(i).is_some_and(|h| h == &want))
}

/// The version a binary reports (`Python 3.11.7`, `go version go1.23.5 ...`, `v20.1.0`).
fn version_of(binary: &Path, arg: &str) -> Option<String> {
    let out = Command::new(binary).arg(arg).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.split(|c: char| c.is_whitespace())
        .map(|w| w.trim_start_matches("go").trim_start_matches('v'))
        .find(|w| {
            w.split('.').count() >= 2
                && w.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// A folder in RUNNER_TEMP with links named `names` to `binary`, so that
/// steps calling `python` get the chosen `python3.11`.
fn shim(
    input: &BuiltinInput,
    tool: &str,
    binary: &Path,
    names: &[&str],
) -> std::io::Result<PathBuf> {
    let dir = input.temp.join(format!("setup-{tool}")).join("bin");
    std::fs::create_dir_all(&dir)?;
    for name in names {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(binary, &link)?;
    }
    Ok(dir)
}

fn setup(
    input: &BuiltinInput,
    tool: &str,
    spec_input: &str,
    candidates: &[String],
    version_arg: &str,
    names: &[&str],
) -> BuiltinResult {
    let spec = match input.input(spec_input) {
        Some(s) => s.to_string(),
        None => match input.input(&format!("{spec_input}-file")) {
            Some(file) => match std::fs::read_to_string(input.workspace.join(file)) {
                Ok(text) => text.lines().next().unwrap_or("").trim().to_string(),
                Err(e) => return BuiltinResult::fail(format!("cannot read {file}: {e}")),
            },
            None => String::new(),
        },
    };
    let mut found = Vec::new();
    for candidate in candidates {
        let path = if candidate.contains('/') {
            Some(PathBuf::from(candidate)).filter(|p| p.is_file())
        } else {
            find(input, candidate)
        };
        let Some(binary) = path else { continue };
        let Some(version) = version_of(&binary, version_arg) else {
            continue;
        };
        if spec.is_empty() || satisfies(&spec, &version) {
            let binary = std::fs::canonicalize(&binary).unwrap_or(binary);
            let dir = match shim(input, tool, &binary, names) {
                Ok(d) => d,
                Err(e) => return BuiltinResult::fail(format!("cannot prepare {tool}: {e}")),
            };
            let mut result =
                BuiltinResult::ok().say(format!("using {tool} {version} at {}", binary.display()));
            result.path.push(dir.display().to_string());
            // The toolchain's own folder (gofmt beside go, pip beside python)
            // only when PATH lacks it: putting /usr/bin first would shadow
            // what the machine put before it.
            if let Some(bin_dir) = binary.parent() {
                let dir = bin_dir.display().to_string();
                if !input.path_var().split(':').any(|p| p == dir) {
                    result.path.push(dir);
                }
            }
            result.outputs.push((format!("{tool}-version"), version));
            result
                .outputs
                .push((format!("{tool}-path"), binary.display().to_string()));
            return result;
        }
        let entry = format!("{} {version}", binary.display());
        if !found.contains(&entry) {
            found.push(entry);
        }
    }
    let seen = if found.is_empty() {
        format!("no {tool} at all")
    } else {
        found.join(", ")
    };
    BuiltinResult::fail(format!(
        "no {tool} on this machine satisfies `{spec}` (found: {seen}); install one, or change `{spec_input}`"
    ))
}

pub(super) fn python(input: &BuiltinInput) -> BuiltinResult {
    let spec = input.input("python-version").unwrap_or("");
    let mut candidates: Vec<String> = Vec::new();
    let minor: Vec<&str> = spec.split('.').take(2).collect();
    if minor.len() == 2 {
        candidates.push(format!("python{}.{}", minor[0], minor[1]));
    }
    candidates.extend(["python3".to_string(), "python".to_string()]);
    setup(
        input,
        "python",
        "python-version",
        &candidates,
        "--version",
        &["python", "python3"],
    )
}

pub(super) fn go(input: &BuiltinInput) -> BuiltinResult {
    let mut candidates = vec!["go".to_string()];
    // Debian installs each Go under /usr/lib/go-1.NN.
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        let mut dirs: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("go-"))
            })
            .map(|p| p.join("bin/go").display().to_string())
            .collect();
        dirs.sort();
        dirs.reverse();
        candidates.extend(dirs);
    }
    setup(input, "go", "go-version", &candidates, "version", &["go"])
}

pub(super) fn node(input: &BuiltinInput) -> BuiltinResult {
    setup(
        input,
        "node",
        "node-version",
        &["node".to_string(), "nodejs".to_string()],
        "--version",
        &["node"],
    )
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn version_specs() {
        assert!(satisfies("3.11", "3.11.7"));
        assert!(!satisfies("3.12", "3.11.7"));
        assert!(satisfies("3.x", "3.11.7"));
        assert!(satisfies("20", "20.20.2"));
        assert!(satisfies("v20", "20.20.2"));
        assert!(!satisfies("1.24", "1.23.5"));
        assert!(satisfies(">=1.22", "1.23.5"));
        assert!(satisfies("1.23.5", "1.23.5"));
        assert!(!satisfies("1.2", "1.23.5"));
    }
}
