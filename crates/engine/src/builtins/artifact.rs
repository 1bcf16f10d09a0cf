//! `actions/upload-artifact` and `actions/download-artifact` (v4): there is
//! no artifact service, so artifacts are kept with the run, one folder per
//! name under `<run_dir>/artifacts/`, and downloads copy from there.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use slipway_model::LogLevel;

use super::glob::{self, Pattern};
use super::{BuiltinInput, BuiltinResult};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(super) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub(super) fn flag(input: &BuiltinInput, name: &str, default: bool) -> bool {
    match input.input(name) {
        Some(v) => v.trim().eq_ignore_ascii_case("true"),
        None => default,
    }
}

pub(super) fn home(input: &BuiltinInput) -> PathBuf {
    input
        .env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v))
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// A path input: `~` is the home folder, relative paths the workspace's.
pub(super) fn resolve(input: &BuiltinInput, path: &str) -> PathBuf {
    let path = path.trim();
    if path == "~" {
        return home(input);
    }
    if let Some(rest) = path.strip_prefix("~/") {
        return home(input).join(rest);
    }
    glob::normalize(&input.workspace.join(path))
}

pub(super) fn patterns(input: &BuiltinInput, text: &str) -> Vec<Pattern> {
    let home = home(input);
    text.lines()
        .filter_map(|l| Pattern::parse(l, &input.workspace, &home))
        .collect()
}

/// The repository's `.slipway` folder, never walked into.
pub(super) fn state_dir(input: &BuiltinInput) -> Vec<PathBuf> {
    input
        .run_dir
        .parent()
        .and_then(Path::parent)
        .map(|p| vec![p.to_path_buf()])
        .unwrap_or_default()
}

/// Every file under `dir`, relative to it, sorted.
pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let path = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Copies `from` onto `to`, making folders as needed.
pub(super) fn copy_file(from: &Path, to: &Path) -> std::io::Result<u64> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // Replace rather than write through a link left in the way.
    if std::fs::symlink_metadata(to).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(to)?;
    }
    std::fs::copy(from, to)
}

/// Copies the tree `from` onto `to`; returns files and bytes copied.
pub(super) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    for rel in files_under(from) {
        let src = from.join(&rel);
        let dst = to.join(&rel);
        let meta = std::fs::symlink_metadata(&src)?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&src)?;
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if std::fs::symlink_metadata(&dst).is_ok() {
                std::fs::remove_file(&dst)?;
            }
            std::os::unix::fs::symlink(target, &dst)?;
        } else {
            bytes += copy_file(&src, &dst)?;
        }
        files += 1;
    }
    Ok((files, bytes))
}

/// sha256 of `path<TAB>sha256<LF>` lines, sorted by path: the same files
/// give the same digest.
pub(super) fn digest_of(dir: &Path) -> std::io::Result<String> {
    let mut listing = String::new();
    for rel in files_under(dir) {
        let sum = sha256_file(&dir.join(&rel))?;
        listing.push_str(&format!("{}\t{sum}\n", rel.display()));
    }
    Ok(sha256_hex(listing.as_bytes()))
}

/// `file://` URL of a path, bytes outside the safe set percent-encoded.
pub(super) fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

fn artifacts_dir(input: &BuiltinInput) -> PathBuf {
    input.run_dir.join("artifacts")
}

/// GitHub refuses these in artifact names.
fn check_name(name: &str) -> Result<(), String> {
    const BAD: &[char] = &['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];
    if name.trim().is_empty() || name == "." || name == ".." {
        return Err(format!("the artifact name `{name}` is not valid"));
    }
    if let Some(c) = name.chars().find(|c| BAD.contains(c)) {
        return Err(format!(
            "the artifact name `{name}` contains `{}`, which artifact names cannot contain (\" : < > | * ? \\ / and line breaks)",
            c.escape_default()
        ));
    }
    Ok(())
}

/// A number no other artifact of the run has: the first free file under
/// `<run_dir>/artifact-ids/`, taken atomically (jobs run in parallel).
fn next_id(input: &BuiltinInput, name: &str) -> std::io::Result<u64> {
    let dir = input.run_dir.join("artifact-ids");
    std::fs::create_dir_all(&dir)?;
    let mut id = 1;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(id.to_string()))
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(name.as_bytes())?;
                return Ok(id);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => id += 1,
            Err(e) => return Err(e),
        }
    }
}

pub(super) fn upload(input: &BuiltinInput) -> BuiltinResult {
    let name = input.input("name").unwrap_or("artifact").trim().to_string();
    if let Err(e) = check_name(&name) {
        return BuiltinResult::fail(e);
    }
    let Some(path_text) = input.input("path") else {
        return BuiltinResult::fail("input required and not supplied: `path`");
    };
    let if_none = input
        .input("if-no-files-found")
        .unwrap_or("warn")
        .trim()
        .to_lowercase();
    if !matches!(if_none.as_str(), "warn" | "error" | "ignore") {
        return BuiltinResult::fail(format!(
            "`if-no-files-found` is `{if_none}`; use `warn`, `error` or `ignore`"
        ));
    }
    let overwrite = flag(input, "overwrite", false);
    let include_hidden = flag(input, "include-hidden-files", false);

    let pats = patterns(input, path_text);
    let found = glob::find(&pats, include_hidden, &state_dir(input));
    if found.files.is_empty() {
        let lines: Vec<&str> = path_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let message = format!(
            "no files were found with the provided path: {}. No artifacts will be uploaded.",
            lines.join(", ")
        );
        return match if_none.as_str() {
            "error" => BuiltinResult::fail(message),
            "warn" => {
                let mut r = BuiltinResult::ok();
                r.lines.push((LogLevel::Warning, message));
                r
            }
            _ => BuiltinResult::ok().say(message),
        };
    }
    let root = glob::upload_root(&found);

    let dest = artifacts_dir(input).join(&name);
    if dest.exists() && !overwrite {
        return BuiltinResult::fail(conflict(&name));
    }
    let id = match next_id(input, &name) {
        Ok(id) => id,
        Err(e) => return BuiltinResult::fail(format!("cannot keep the artifact: {e}")),
    };
    // Staged, then moved into place: a download never sees half of it, and
    // of two jobs uploading one name at once, one gets the conflict.
    let staging = input.run_dir.join("artifact-staging").join(id.to_string());
    let mut bytes = 0u64;
    for file in &found.files {
        let rel = file.strip_prefix(&root).unwrap_or(file);
        match copy_file(file, &staging.join(rel)) {
            Ok(n) => bytes += n,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return BuiltinResult::fail(format!("cannot read {}: {e}", file.display()));
            }
        }
    }
    let digest = match digest_of(&staging) {
        Ok(d) => d,
        Err(e) => return BuiltinResult::fail(format!("cannot read the artifact back: {e}")),
    };
    let mut result = BuiltinResult::ok();
    if let Err(e) = std::fs::create_dir_all(artifacts_dir(input)) {
        return BuiltinResult::fail(format!("cannot keep the artifact: {e}"));
    }
    if overwrite && dest.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dest) {
            return BuiltinResult::fail(format!("cannot replace artifact `{name}`: {e}"));
        }
        result = result.say(format!("artifact `{name}` replaced (overwrite: true)"));
    }
    if std::fs::rename(&staging, &dest).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        return BuiltinResult::fail(conflict(&name));
    }
    let _ = std::fs::write(
        input.run_dir.join("artifact-ids").join(id.to_string()),
        &name,
    );
    let count = found.files.len();
    result = result.say(format!(
        "uploaded {count} file{} ({bytes} bytes) from {} as artifact `{name}` (id {id})",
        if count == 1 { "" } else { "s" },
        root.display()
    ));
    result = result.say(format!("kept at {}", dest.display()));
    if input.input("retention-days").is_some() {
        result = result.say("`retention-days` has no effect here: artifacts stay with the run");
    }
    result.outputs = vec![
        ("artifact-id".into(), id.to_string()),
        ("artifact-url".into(), file_url(&dest)),
        ("artifact-digest".into(), digest),
    ];
    result
}

fn conflict(name: &str) -> String {
    format!(
        "an artifact named `{name}` was already uploaded in this run; set `overwrite: true` to replace it, or choose another `name`"
    )
}

fn existing(input: &BuiltinInput) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(artifacts_dir(input))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(super) fn download(input: &BuiltinInput) -> BuiltinResult {
    let target = match input.input("path") {
        Some(p) => resolve(input, p),
        None => input.workspace.clone(),
    };
    let merge = flag(input, "merge-multiple", false);
    let available = existing(input);
    let mut result = BuiltinResult::ok();
    for unsupported in ["run-id", "artifact-ids"] {
        if input.input(unsupported).is_some() {
            result.lines.push((
                LogLevel::Warning,
                format!("`{unsupported}` is not honoured here: only this run's artifacts can be downloaded"),
            ));
        }
    }

    // (artifact, folder it goes to)
    let mut chosen: Vec<(String, PathBuf)> = Vec::new();
    if let Some(name) = input.input("name").map(str::trim) {
        if input.input("pattern").is_some() {
            result.lines.push((
                LogLevel::Warning,
                "both `name` and `pattern` are set; `name` is used".into(),
            ));
        }
        if !available.iter().any(|a| a == name) {
            let have = if available.is_empty() {
                "no artifacts have been uploaded in this run".to_string()
            } else {
                format!(
                    "artifacts of this run: {}",
                    available
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return BuiltinResult::fail(format!(
                "artifact not found for name: `{name}` ({have}); a job downloading an artifact must `needs:` the job uploading it"
            ));
        }
        chosen.push((name.to_string(), target.clone()));
    } else {
        let pattern = input.input("pattern").map(str::trim);
        for a in &available {
            if pattern.is_none_or(|p| glob::segment_matches(p, a)) {
                let dir = if merge {
                    target.clone()
                } else {
                    target.join(a)
                };
                chosen.push((a.clone(), dir));
            }
        }
        if chosen.is_empty() {
            result = result.say(match pattern {
                Some(p) => format!("no artifacts match `{p}`"),
                None => "no artifacts have been uploaded in this run".into(),
            });
        }
    }

    for (name, dir) in &chosen {
        match copy_tree(&artifacts_dir(input).join(name), dir) {
            Ok((files, bytes)) => {
                result = result.say(format!(
                    "downloaded artifact `{name}`: {files} file{} ({bytes} bytes) to {}",
                    if files == 1 { "" } else { "s" },
                    dir.display()
                ))
            }
            Err(e) => return BuiltinResult::fail(format!("cannot download `{name}`: {e}")),
        }
    }
    if chosen.len() > 1 || input.input("name").is_none() {
        result = result.say(format!("{} artifact(s) downloaded", chosen.len()));
    }
    result
        .outputs
        .push(("download-path".into(), target.display().to_string()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert!(check_name("dist-linux").is_ok());
        assert!(check_name("a/b").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name("what?").is_err());
        assert_eq!(
            file_url(Path::new("/r/.slipway/runs/1/artifacts/my dist")),
            "file:///r/.slipway/runs/1/artifacts/my%20dist"
        );
    }
}
