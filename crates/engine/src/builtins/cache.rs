//! `actions/cache`, `actions/cache/restore` and `actions/cache/save`: a
//! cache on disk shared by the runs of one repository, under
//! `<repo>/.slipway/cache/`. One folder per key (`sha256(key)`), holding
//! `meta.json` and the files: `files/` relative to the workspace, `abs/`
//! mirroring absolute paths outside it. Entries are never overwritten.
//!
//! `actions/cache` restores when its step runs and saves when the job ends
//! successfully, as GitHub's post step does: the step records the request
//! under `<run_dir>/cache-saves/`, and the engine calls [`save_pending`].

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use slipway_model::LogLevel;

use super::artifact::{copy_file, copy_tree, flag, home, sha256_hex};
use super::glob;
use super::{BuiltinInput, BuiltinResult};

fn cache_dir(run_dir: &Path) -> PathBuf {
    // run_dir is <repo>/.slipway/runs/<id>.
    run_dir
        .parent()
        .and_then(Path::parent)
        .map(|state| state.join("cache"))
        .unwrap_or_else(|| run_dir.join("cache"))
}

fn entry_dir(cache: &Path, key: &str) -> PathBuf {
    cache.join(sha256_hex(key.as_bytes()))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Entry {
    dir: PathBuf,
    key: String,
    created: u64,
}

fn read_entry(dir: &Path) -> Option<Entry> {
    let text = std::fs::read_to_string(dir.join("meta.json")).ok()?;
    let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Entry {
        dir: dir.to_path_buf(),
        key: meta["key"].as_str()?.to_string(),
        created: meta["created"].as_u64().unwrap_or(0),
    })
}

fn entries(cache: &Path) -> Vec<Entry> {
    std::fs::read_dir(cache)
        .map(|list| {
            list.filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| read_entry(&e.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// The exact key first; then, restore key by restore key, the newest entry
/// whose key starts with it.
fn lookup(cache: &Path, key: &str, restore_keys: &[String]) -> Option<Entry> {
    if let Some(e) = read_entry(&entry_dir(cache, key)).filter(|e| e.key == key) {
        return Some(e);
    }
    let all = entries(cache);
    restore_keys.iter().find_map(|prefix| {
        all.iter()
            .filter(|e| e.key.starts_with(prefix.as_str()))
            .max_by_key(|e| (e.created, e.key.clone()))
            .map(|e| Entry {
                dir: e.dir.clone(),
                key: e.key.clone(),
                created: e.created,
            })
    })
}

fn lines(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_key(key: &str) -> Result<(), String> {
    if key.len() > 512 {
        return Err(format!(
            "key validation error: `{key}` is longer than 512 characters"
        ));
    }
    if key.contains(',') {
        return Err(format!(
            "key validation error: `{key}` cannot contain commas"
        ));
    }
    Ok(())
}

/// Key and paths, which every variant needs.
fn required(input: &BuiltinInput) -> Result<(String, String), String> {
    let Some(key) = input.input("key").map(str::trim).filter(|k| !k.is_empty()) else {
        return Err("input required and not supplied: `key`".into());
    };
    let Some(paths) = input.input("path") else {
        return Err("input required and not supplied: `path`".into());
    };
    check_key(key)?;
    Ok((key.to_string(), paths.to_string()))
}

/// `actions/cache`: restore now, save when the job succeeds unless the
/// exact key was hit.
pub(super) fn run(input: &BuiltinInput) -> BuiltinResult {
    restore_step(input, true)
}

/// `actions/cache/restore`: restore only.
pub(super) fn restore(input: &BuiltinInput) -> BuiltinResult {
    restore_step(input, false)
}

fn restore_step(input: &BuiltinInput, save_later: bool) -> BuiltinResult {
    let (key, paths) = match required(input) {
        Ok(v) => v,
        Err(message) => return BuiltinResult::fail(message),
    };
    let restore_keys = lines(input.input("restore-keys"));
    let lookup_only = flag(input, "lookup-only", false);
    let fail_on_miss = flag(input, "fail-on-cache-miss", false);
    let cache = cache_dir(&input.run_dir);
    let mut result = BuiltinResult::ok();
    result
        .outputs
        .push(("cache-primary-key".into(), key.clone()));

    let found = lookup(&cache, &key, &restore_keys);
    let exact = found.as_ref().is_some_and(|e| e.key == key);
    match &found {
        None => {
            let mut tried = vec![key.clone()];
            tried.extend(restore_keys.iter().cloned());
            let message = format!("cache not found for input keys: {}", tried.join(", "));
            if fail_on_miss {
                return BuiltinResult::fail(format!(
                    "failed to restore cache entry. Exiting as fail-on-cache-miss is set. {message}"
                ));
            }
            result = result.say(message);
            result.outputs.push(("cache-hit".into(), "false".into()));
        }
        Some(entry) if lookup_only => {
            result = result.say(format!(
                "cache found for key `{}` (lookup-only: nothing restored)",
                entry.key
            ));
            result.outputs.push(("cache-hit".into(), exact.to_string()));
            result
                .outputs
                .push(("cache-matched-key".into(), entry.key.clone()));
        }
        Some(entry) => {
            let mut files = 0;
            let mut bytes = 0;
            let targets = [
                (entry.dir.join("files"), input.workspace.clone()),
                (entry.dir.join("abs"), PathBuf::from("/")),
            ];
            for (from, to) in targets {
                if !from.is_dir() {
                    continue;
                }
                match copy_tree(&from, &to) {
                    Ok((f, b)) => {
                        files += f;
                        bytes += b;
                    }
                    Err(e) => {
                        result.lines.push((
                            LogLevel::Warning,
                            format!("failed to restore cache `{}`: {e}", entry.key),
                        ));
                    }
                }
            }
            result = result.say(format!(
                "cache restored from key `{}`: {files} file{} ({bytes} bytes)",
                entry.key,
                if files == 1 { "" } else { "s" }
            ));
            result.outputs.push(("cache-hit".into(), exact.to_string()));
            result
                .outputs
                .push(("cache-matched-key".into(), entry.key.clone()));
        }
    }

    if save_later && !exact {
        match record(input, &key, &paths) {
            Ok(()) => {
                result = result.say(format!(
                    "cache `{key}` will be saved when the job ends successfully"
                ))
            }
            Err(e) => result.lines.push((
                LogLevel::Warning,
                format!("cannot record the cache save for the end of the job: {e}"),
            )),
        }
    } else if save_later {
        result = result.say("cache hit on the primary key: it will not be saved again");
    }
    result
}

/// `<run_dir>/cache-saves/<n>.json`, taken atomically.
fn record(input: &BuiltinInput, key: &str, paths: &str) -> std::io::Result<()> {
    let dir = input.run_dir.join("cache-saves");
    std::fs::create_dir_all(&dir)?;
    let body = json!({
        "key": key,
        "paths": paths,
        "workspace": input.workspace,
        "home": home(input),
        "job_temp": input.temp,
    });
    let mut n = 1;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(format!("{n}.json")))
        {
            Ok(mut f) => {
                use std::io::Write;
                return f.write_all(serde_json::to_string_pretty(&body)?.as_bytes());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// `actions/cache/save`: save now.
pub(super) fn save(input: &BuiltinInput) -> BuiltinResult {
    let (key, paths) = match required(input) {
        Ok(v) => v,
        Err(message) => return BuiltinResult::fail(message),
    };
    let mut result = BuiltinResult::ok();
    let (level, line) = save_entry(&input.run_dir, &key, &paths, &input.workspace, &home(input));
    result.lines.push((level, line));
    result
}

/// Saves what the job's `actions/cache` steps asked for; called by the
/// engine when a job ends successfully. `job_temp` is the job's folder in
/// the run (its steps' RUNNER_TEMP is under it): other jobs' requests are
/// left for them. Returns the lines to log.
pub fn save_pending(run_dir: &Path, job_temp: &Path) -> Vec<(LogLevel, String)> {
    let dir = run_dir.join("cache-saves");
    let Ok(list) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut records: Vec<(u64, PathBuf)> = list
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".json")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    records.sort();
    let mut out = Vec::new();
    for (_, path) in records {
        let Some(meta) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let text = |k: &str| meta[k].as_str().unwrap_or("").to_string();
        if !Path::new(&text("job_temp")).starts_with(job_temp) {
            continue;
        }
        let (level, line) = save_entry(
            run_dir,
            &text("key"),
            &text("paths"),
            Path::new(&text("workspace")),
            Path::new(&text("home")),
        );
        out.push((level, format!("post cache: {line}")));
        let _ = std::fs::rename(&path, path.with_extension("json.done"));
    }
    out
}

/// Writes an entry for `key`, unless one exists. One line to log.
fn save_entry(
    run_dir: &Path,
    key: &str,
    paths: &str,
    workspace: &Path,
    home: &Path,
) -> (LogLevel, String) {
    let cache = cache_dir(run_dir);
    let dest = entry_dir(&cache, key);
    if dest.exists() {
        return (
            LogLevel::Output,
            format!("cache `{key}` already exists and is not saved again (entries never change)"),
        );
    }
    let pats: Vec<glob::Pattern> = paths
        .lines()
        .filter_map(|l| glob::Pattern::parse(l, workspace, home))
        .collect();
    let skip: Vec<PathBuf> = run_dir
        .parent()
        .and_then(Path::parent)
        .map(|p| vec![p.to_path_buf()])
        .unwrap_or_default();
    let found = glob::find(&pats, true, &skip);
    if found.files.is_empty() {
        return (
            LogLevel::Warning,
            format!(
                "path validation error: the path(s) given for cache `{key}` do not exist, hence no cache is being saved"
            ),
        );
    }
    let staging = cache.join(format!(".saving-{}-{}", std::process::id(), now_ms()));
    let mut bytes = 0u64;
    let copied = (|| -> std::io::Result<()> {
        for file in &found.files {
            let to = match file.strip_prefix(workspace) {
                Ok(rel) => staging.join("files").join(rel),
                Err(_) => staging
                    .join("abs")
                    .join(file.strip_prefix("/").unwrap_or(file)),
            };
            let meta = std::fs::symlink_metadata(file)?;
            if meta.file_type().is_symlink() {
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(std::fs::read_link(file)?, &to)?;
            } else {
                bytes += copy_file(file, &to)?;
            }
        }
        let meta = json!({"key": key, "created": now_ms(), "paths": paths});
        std::fs::write(
            staging.join("meta.json"),
            serde_json::to_string_pretty(&meta)?,
        )
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return (
            LogLevel::Warning,
            format!("failed to save cache `{key}`: {e}"),
        );
    }
    if std::fs::rename(&staging, &dest).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        return (
            LogLevel::Output,
            format!("cache `{key}` was saved by another job meanwhile; not saved again"),
        );
    }
    let count = found.files.len();
    (
        LogLevel::Output,
        format!(
            "cache saved with key `{key}`: {count} file{} ({bytes} bytes)",
            if count == 1 { "" } else { "s" }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_entry(cache: &Path, key: &str, created: u64) {
        let dir = entry_dir(cache, key);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("meta.json"),
            json!({"key": key, "created": created}).to_string(),
        )
        .unwrap();
    }

    #[test]
    fn exact_key_then_newest_prefix_match_per_restore_key() {
        let cache = std::env::temp_dir().join(format!("slipway-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        write_entry(&cache, "deps-linux-aaa", 10);
        write_entry(&cache, "deps-linux-bbb", 20);
        write_entry(&cache, "deps-mac-ccc", 30);
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let hit = |key: &str, rk: &[&str]| lookup(&cache, key, &keys(rk)).map(|e| e.key);
        assert_eq!(hit("deps-linux-aaa", &["deps-"]).unwrap(), "deps-linux-aaa");
        assert_eq!(
            hit("deps-linux-zzz", &["deps-linux-"]).unwrap(),
            "deps-linux-bbb"
        );
        assert_eq!(hit("x", &["deps-"]).unwrap(), "deps-mac-ccc");
        assert_eq!(
            hit("x", &["nope-", "deps-linux"]).unwrap(),
            "deps-linux-bbb"
        );
        assert!(hit("deps-linux", &[]).is_none());
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn keys_with_commas_are_refused() {
        assert!(check_key("a-b").is_ok());
        assert!(check_key("a,b").is_err());
        assert!(check_key(&"k".repeat(513)).is_err());
    }
}
