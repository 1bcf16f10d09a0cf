//! What slipway asks of git: refs, commits, changed files, the remote.
//! Everything goes through the `git` command, run in the repository folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_workflow::event::CommitInfo;

pub struct Git {
    dir: PathBuf,
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

    pub fn first_parent(&self, sha: &str) -> Option<String> {
        self.resolve(&format!("{sha}^"))
    }

    /// `owner/name` from the `origin` remote, when there is one.
    pub fn remote_full_name(&self) -> Option<String> {
        let url = self.output(&["remote", "get-url", "origin"])?;
        full_name_from_url(&url)
    }

    pub fn user_name(&self) -> Option<String> {
        self.output(&["config", "user.name"])
            .filter(|s| !s.is_empty())
    }

    pub fn default_branch(&self) -> Option<String> {
        self.output(&["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"])
            .map(|s| s.trim_start_matches("origin/").to_string())
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
