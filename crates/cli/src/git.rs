//! What slipway asks of git: refs, commits, changed files, the remote.
//! Everything goes through the `git` command, run in the repository folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use slipway_workflow::event::CommitInfo;

pub struct Git {
    dir: PathBuf,
}

/// What `Git::facts` finds; None where git has no answer.
pub struct Facts {
    pub is_repository: bool,
    /// `refs/heads/<branch>` of HEAD, or None when detached.
    pub current_ref: Option<String>,
    /// `owner/name` from the `origin` remote.
    pub remote_full_name: Option<String>,
    pub user_name: Option<String>,
    pub default_branch: Option<String>,
}

/// What `Git::commit` finds.
pub struct Commit {
    pub info: CommitInfo,
    pub first_parent: Option<String>,
    pub files: Vec<String>,
}

fn finish(child: Option<Child>) -> Option<String> {
    let out = child?.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

impl Git {
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
        }
    }

    /// Stdout of a git command that succeeded, trimmed; None otherwise.
    fn output(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// Start a git command; `finish` collects it. Used to ask several
    /// things at once: each git start costs a few milliseconds, more than
    /// slipway spends scheduling a whole job.
    fn start(&self, args: &[&str]) -> Option<Child> {
        Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()
    }

    /// The facts every event needs, from three git commands run together.
    pub fn facts(&self) -> Facts {
        let head = self.start(&["rev-parse", "--git-dir", "--symbolic-full-name", "HEAD"]);
        let config = self.start(&[
            "config",
            "-z",
            "--get-regexp",
            r"^(user\.name|remote\.origin\.url)$",
        ]);
        let default_branch =
            self.start(&["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"]);

        let (is_repository, current_ref) = match finish(head) {
            Some(out) => (
                true,
                out.lines()
                    .nth(1)
                    .filter(|r| r.starts_with("refs/"))
                    .map(str::to_string),
            ),
            // On an unborn branch rev-parse does not know `HEAD`: ask apart.
            None => (self.is_repository(), self.current_ref()),
        };
        let (mut user_name, mut origin_url) = (None, None);
        for entry in finish(config).unwrap_or_default().split('\0') {
            match entry.split_once('\n') {
                // The last value wins, as with `git config user.name`.
                Some(("user.name", v)) if !v.is_empty() => user_name = Some(v.to_string()),
                // The first, as with `git remote get-url` (which also applies
                // `insteadOf` rewrites; they rarely change owner/name).
                Some(("remote.origin.url", v)) if origin_url.is_none() => {
                    origin_url = Some(v.to_string())
                }
                _ => {}
            }
        }
        Facts {
            is_repository,
            current_ref,
            remote_full_name: origin_url.as_deref().and_then(full_name_from_url),
            user_name,
            default_branch: finish(default_branch)
                .map(|s| s.trim_start_matches("origin/").to_string()),
        }
    }

    /// A commit with its first parent and the files it changed against it
    /// (all files for a root commit), in one `git log`.
    pub fn commit(&self, rev: &str) -> Option<Commit> {
        let out = self.output(&[
            "log",
            "-n",
            "1",
            "--format=%H%x1f%P%x1f%aI%x1f%an%x1f%ae%x1f%B%x1e",
            "--name-only",
            "--no-renames",
            "--relative",
            "--root",
            "--diff-merges=first-parent",
            &format!("{rev}^{{commit}}"),
            "--",
        ])?;
        let (record, files) = out.split_once('\x1e')?;
        let mut f = record.splitn(6, '\x1f');
        let sha = f.next()?.to_string();
        let first_parent = f.next()?.split(' ').next().filter(|p| !p.is_empty());
        let first_parent = first_parent.map(str::to_string);
        let info = CommitInfo {
            sha,
            timestamp: f.next()?.to_string(),
            author_name: f.next()?.to_string(),
            author_email: f.next()?.to_string(),
            message: f.next()?.trim_end().to_string(),
        };
        let files = files
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        Some(Commit {
            info,
            first_parent,
            files,
        })
    }

    pub fn is_repository(&self) -> bool {
        self.output(&["rev-parse", "--git-dir"]).is_some()
    }

    /// `refs/heads/<branch>` of HEAD, or None when detached.
    pub fn current_ref(&self) -> Option<String> {
        self.output(&["symbolic-ref", "-q", "HEAD"])
    }

    /// The commit a ref or sha names.
    pub fn resolve(&self, rev: &str) -> Option<String> {
        self.output(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")])
    }

    pub fn ref_exists(&self, full_ref: &str) -> bool {
        self.output(&["show-ref", "--verify", "-q", full_ref])
            .is_some()
    }

    /// Files changed between two commits, relative to the folder.
    /// `three_dots` compares from their merge base, as pull requests do.
    pub fn changed_files(&self, base: &str, head: &str, three_dots: bool) -> Option<Vec<String>> {
        let range = if three_dots {
            format!("{base}...{head}")
        } else {
            format!("{base}..{head}")
        };
        let out = self.output(&["diff", "--name-only", "--relative", "--no-renames", &range])?;
        Some(
            out.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// Files a single commit touched (for a push with no `before`).
    pub fn commit_files(&self, sha: &str) -> Option<Vec<String>> {
        let out = self.output(&[
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "--relative",
            "-r",
            "--root",
            sha,
        ])?;
        Some(
            out.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// Up to 20 commits in `range` (or the one commit), oldest first.
    pub fn commits(&self, range: &str) -> Vec<CommitInfo> {
        let Some(out) = self.output(&[
            "log",
            "-n",
            "20",
            "--reverse",
            "--format=%H%x1f%aI%x1f%an%x1f%ae%x1f%B%x1e",
            range,
        ]) else {
            return Vec::new();
        };
        out.split('\x1e')
            .filter_map(|record| {
                let mut f = record.trim_start_matches('\n').splitn(5, '\x1f');
                Some(CommitInfo {
                    sha: f.next()?.to_string(),
                    timestamp: f.next()?.to_string(),
                    author_name: f.next()?.to_string(),
                    author_email: f.next()?.to_string(),
                    message: f.next()?.trim_end().to_string(),
                })
            })
            .filter(|c| !c.sha.is_empty())
            .collect()
    }

    /// `owner/name` from the `origin` remote, when there is one.
    pub fn remote_full_name(&self) -> Option<String> {
        let url = self.output(&["remote", "get-url", "origin"])?;
        full_name_from_url(&url)
    }
}

/// `git@github.com:o/r.git`, `https://github.com/o/r(.git)` -> `o/r`.
pub fn full_name_from_url(url: &str) -> Option<String> {
    let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
    let path = match trimmed.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?.1,
        None => trimmed.rsplit_once(':').map(|(_, p)| p).unwrap_or(trimmed),
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() >= 2 {
        Some(format!(
            "{}/{}",
            parts[parts.len() - 2],
            parts[parts.len() - 1]
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::full_name_from_url;

    #[test]
    fn remote_urls() {
        assert_eq!(
            full_name_from_url("git@github.com:mpac/smartpos.git").as_deref(),
            Some("mpac/smartpos")
        );
        assert_eq!(
            full_name_from_url("https://github.com/mpac/smartpos").as_deref(),
            Some("mpac/smartpos")
        );
        assert_eq!(
            full_name_from_url("/srv/git/smartpos.git"),
            Some("git/smartpos".into())
        );
        assert_eq!(full_name_from_url("smartpos"), None);
    }
}
