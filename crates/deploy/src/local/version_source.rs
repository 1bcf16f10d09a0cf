//! What makes a version startable. A process version from `checkout`
//! names a commit: it is checked out once into a git worktree under the
//! cluster's state folder and each service's `build` runs in it once. A
//! docker version is a tag of the service's image: it must be in the
//! engine, pulled from its registry if need be.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use slipway_image::{Docker, DockerError};
use tokio::process::Command;

use super::error::FleetError;
use super::layout::Layout;
use super::process::describe_exit;
use crate::config::ServiceConfig;

/// Lines of a failed build's output an error shows.
const TAIL_LINES: usize = 20;

/// The commit a version names: a `{branch}-{sha7}-{timestamp}` tag's sha,
/// or any git revision.
pub(crate) async fn resolve_commit(
    root: &Path,
    service: &str,
    version: &str,
) -> Result<String, FleetError> {
    let not_found = |looked_for: String| {
        FleetError::VersionNotFound {
        service: service.to_string(),
        version: version.to_string(),
        looked_for,
        hint: "name a commit of this repository (a sha, a tag, a branch) or an image tag of the form {branch}-{sha7}-{timestamp} whose sha is here (git fetch it first if it was made elsewhere)".into(),
    }
    };
    if version.is_empty() || version.starts_with('-') {
        return Err(not_found(format!("`{version}` is not a git revision")));
    }
    let mut tried = Vec::new();
    if let Some(sha) = sha_of_tag(version) {
        if let Some(commit) = rev_parse(root, service, version, sha).await? {
            return Ok(commit);
        }
        tried.push(format!("commit {sha} (from the tag)"));
    }
    if let Some(commit) = rev_parse(root, service, version, version).await? {
        return Ok(commit);
    }
    tried.push(format!("revision `{version}`"));
    Err(not_found(format!(
        "no {} in {}",
        tried.join(" nor "),
        root.display()
    )))
}

/// The sha of a `{branch}-{sha7}-{timestamp}` tag: its second-to-last
/// `-` part, when that is 7 or more hex digits.
fn sha_of_tag(version: &str) -> Option<&str> {
    let parts: Vec<&str> = version.split('-').collect();
    let sha = *parts.get(parts.len().checked_sub(2)?)?;
    (parts.len() >= 3
        && (7..=40).contains(&sha.len())
        && sha.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(sha)
}

/// `Ok(None)`: git says there is no such commit.
async fn rev_parse(
    root: &Path,
    service: &str,
    version: &str,
    revision: &str,
) -> Result<Option<String>, FleetError> {
    let spec = format!("{revision}^{{commit}}");
    let out = git(
        root,
        &["rev-parse", "--verify", "--quiet", &spec],
        service,
        version,
    )
    .await?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )),
        // --quiet: exit 1 and nothing said means "no such revision".
        Some(1) if out.stderr.is_empty() => Ok(None),
        _ => Err(git_failed(
            root,
            &["rev-parse", "--verify", &spec],
            &out,
            service,
            version,
        )),
    }
}

/// The version's worktree, made on first use. A marker written after
/// `git worktree add` succeeded tells a complete checkout from one a
/// killed daemon left half made.
pub(crate) async fn checkout(
    root: &Path,
    layout: &Layout,
    service: &str,
    version: &str,
    commit: &str,
) -> Result<PathBuf, FleetError> {
    let dir = layout.checkout(version);
    let done = layout.checkout_done(version);
    if done.is_file() {
        let out = git(&dir, &["rev-parse", "HEAD"], service, version).await?;
        let head = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && head == commit {
            return Ok(dir);
        }
        if out.status.success() {
            return Err(FleetError::Git {
                service: service.into(),
                version: version.into(),
                command: "rev-parse HEAD".into(),
                dir: dir.clone(),
                message: format!(
                    "the version's checkout holds commit {head}, but `{version}` now names {commit}: a version must keep naming one commit (deploy a sha or a tag), or remove the old checkout with `git worktree remove --force {}` once none of its instances run",
                    dir.display()
                ),
            });
        }
    }
    // Half made, or its marker lost: start again.
    let _ = std::fs::remove_file(&done);
    if dir.exists() {
        let d = dir.display().to_string();
        let _ = git(
            root,
            &["worktree", "remove", "--force", &d],
            service,
            version,
        )
        .await;
        std::fs::remove_dir_all(&dir)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .map_err(FleetError::io(&dir))?;
    }
    let parent = layout.versions();
    std::fs::create_dir_all(&parent).map_err(FleetError::io(&parent))?;
    let prune = ["worktree", "prune"];
    let _ = git(root, &prune, service, version).await;
    let d = dir.display().to_string();
    let add = ["worktree", "add", "--detach", &d, commit];
    let out = git(root, &add, service, version).await?;
    if !out.status.success() {
        return Err(git_failed(root, &add, &out, service, version));
    }
    std::fs::write(&done, format!("{commit}\n")).map_err(FleetError::io(&done))?;
    Ok(dir)
}

/// Runs the service's build in `dir` unless it already succeeded for this
/// version; its output goes to the build log.
pub(crate) async fn build(
    layout: &Layout,
    service: &ServiceConfig,
    version: &str,
    command: &str,
    dir: &Path,
    env: &[(String, String)],
) -> Result<(), FleetError> {
    let marker = layout.build_marker(&service.name, version);
    if marker.is_file() {
        return Ok(());
    }
    let log_path = layout.build_log(&service.name, version);
    let log_dir = layout.log_dir(&service.name);
    std::fs::create_dir_all(&log_dir).map_err(FleetError::io(&log_dir))?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(FleetError::io(&log_path))?;
    let start = log.metadata().map_or(0, |m| m.len());
    {
        use std::io::Write;
        let _ = writeln!(
            log,
            "--- slipway: building `{command}` in {}",
            dir.display()
        );
    }
    let stdout = log.try_clone().map_err(FleetError::io(&log_path))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(log)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(FleetError::io(dir))?;
    // A prepare given up (its future dropped) takes its build down whole.
    let mut group = KillGroupOnDrop(child.id());
    let status = child.wait().await.map_err(FleetError::io(dir))?;
    group.0 = None;
    if !status.success() {
        return Err(FleetError::BuildFailed {
            service: service.name.clone(),
            version: version.into(),
            command: command.into(),
            status,
            tail: tail(&log_path, start),
            log: log_path,
        });
    }
    if let Some(parent) = marker.parent() {
        std::fs::create_dir_all(parent).map_err(FleetError::io(parent))?;
    }
    std::fs::write(&marker, "").map_err(FleetError::io(&marker))?;
    Ok(())
}

struct KillGroupOnDrop(Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self
            .0
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 1)
        {
            // SAFETY: killpg only sends a signal.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

/// The last lines written to `path` after byte `from`.
fn tail(path: &Path, from: u64) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("--- slipway: "))
        .collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// The image `<image>:<version>` is in the engine, pulled if it was not.
pub(crate) async fn ensure_image(
    docker: &Docker,
    service: &str,
    image: &str,
    version: &str,
) -> Result<(), FleetError> {
    let reference = format!("{image}:{version}");
    if !is_tag(version) {
        return Err(FleetError::VersionNotFound {
            service: service.into(),
            version: version.into(),
            looked_for: format!("`{version}` is not an image tag"),
            hint:
                "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
                    .into(),
        });
    }
    let docker_err = |action: String| {
        let service = service.to_string();
        move |source: DockerError| FleetError::Docker {
            service,
            action,
            source,
        }
    };
    let found = docker
        .inspect_image(&reference)
        .await
        .map_err(docker_err(format!("looking for image {reference}")))?;
    if found.is_some() {
        return Ok(());
    }
    let registry = registry_of(image);
    match docker.pull_image(image, version).await {
        Ok(()) => Ok(()),
        Err(DockerError::Api {
            status: 404,
            message,
        }) => Err(FleetError::VersionNotFound {
            service: service.into(),
            version: version.into(),
            looked_for: format!(
                "no image {reference} in the Docker Engine nor in registry {registry} ({message})"
            ),
            hint: "build and push that tag first, or name a tag that exists".into(),
        }),
        Err(e) => Err(docker_err(format!(
            "image {reference} is not in the Docker Engine, and pulling it from {registry} failed (is the registry up?)"
        ))(e)),
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// The registry an image name points at (Docker's rule: a first part with
/// a `.` or `:`, or `localhost`, is a host).
fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

async fn git(
    dir: &Path,
    args: &[&str],
    service: &str,
    version: &str,
) -> Result<std::process::Output, FleetError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| FleetError::Git {
            service: service.into(),
            version: version.into(),
            command: args.join(" "),
            dir: dir.to_path_buf(),
            message: format!("cannot run git: {e} (is git installed?)"),
        })
}

fn git_failed(
    dir: &Path,
    args: &[&str],
    out: &std::process::Output,
    service: &str,
    version: &str,
) -> FleetError {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    FleetError::Git {
        service: service.into(),
        version: version.into(),
        command: args.join(" "),
        dir: dir.to_path_buf(),
        message: format!(
            "{}: {}",
            describe_exit(out.status),
            if stderr.is_empty() {
                "no message"
            } else {
                &stderr
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sha_of_a_tag() {
        assert_eq!(sha_of_tag("main-abc1234-20260101000000"), Some("abc1234"));
        assert_eq!(
            sha_of_tag("feature-x-0123456789abcdef-20260101000000"),
            Some("0123456789abcdef")
        );
        assert_eq!(sha_of_tag("abc1234"), None);
        assert_eq!(sha_of_tag("main-abc12-20260101000000"), None);
        assert_eq!(sha_of_tag("v1-release-2"), None);
    }

    #[test]
    fn tags_and_registries() {
        assert!(is_tag("main-abc1234-20260101000000"));
        assert!(!is_tag("-x"));
        assert!(!is_tag("a/b"));
        assert_eq!(registry_of("127.0.0.1:5000/mpac/a"), "127.0.0.1:5000");
        assert_eq!(registry_of("library/nginx"), "docker.io");
        assert_eq!(registry_of("nginx"), "docker.io");
    }
}
