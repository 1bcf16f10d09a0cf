//! The event flags `plan` (and later `run`) take, turned into an `Event`
//! from the repository and an optional webhook payload.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use slipway_workflow::event::{Event, PullRequestPayload, PushPayload, RepoInfo};

use crate::git::Git;
use crate::UsageError;

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

#[derive(clap::Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EventArgs {
    /// The event: push, pull_request, workflow_dispatch, schedule, ...
    #[arg(long, default_value = "push", value_name = "NAME")]
    pub event: String,
    /// The ref: refs/heads/BRANCH, refs/tags/TAG, or a branch name
    /// [default: the current branch]
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// The commit [default: the ref's commit]
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Pull requests: the branch the pull request targets
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The activity type (pull_request: opened, synchronize, ...)
    #[arg(long, value_name = "TYPE")]
    pub action: Option<String>,
    /// A GitHub webhook payload, used as `github.event` as it is
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
    /// Who triggered the event (`github.actor`) [default: git's user.name]
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// workflow_dispatch inputs (repeatable)
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub inputs: Vec<(String, String)>,
}

pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn full_ref(git: &Git, r: &str) -> String {
    if r.starts_with("refs/") {
        return r.to_string();
    }
    let tag = format!("refs/tags/{r}");
    if !git.ref_exists(&format!("refs/heads/{r}")) && git.ref_exists(&tag) {
        return tag;
    }
    format!("refs/heads/{r}")
}

fn branch_of(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

impl EventArgs {
    /// Build the event. Notes for the user (a ref that does not exist
    /// locally, say) go to `notes`.
    pub fn build(&self, dir: &Path, notes: &mut Vec<String>) -> anyhow::Result<Event> {
        let git = Git::new(dir);
        let facts = git.facts();
        let in_git = facts.is_repository;
        let payload: Option<Json> = match &self.payload {
            Some(path) => {
                // Relative to the current folder, else to the repository (-C).
                let path = if path.is_relative() && !path.exists() {
                    dir.join(path)
                } else {
                    path.clone()
                };
                let path = &path;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| UsageError(format!("--payload {}: {e}", path.display())))?;
                let json = serde_json::from_str(&text).map_err(|e| {
                    UsageError(format!(
                        "--payload {}:{}:{}: not valid JSON: {e}",
                        path.display(),
                        e.line(),
                        e.column()
                    ))
                })?;
                Some(json)
            }
            None => None,
        };
        let p = |path: &[&str]| -> Option<String> {
            let mut v = payload.as_ref()?;
            for key in path {
                v = v.get(key)?;
            }
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        };
        let is_pr = matches!(self.event.as_str(), "pull_request" | "pull_request_target");

        // The branch or tag the event is about (for pull requests: the head).
        let head_ref = self
            .git_ref
            .clone()
            .or_else(|| {
                if is_pr {
                    p(&["pull_request", "head", "ref"])
                } else {
                    p(&["ref"])
                }
            })
            .or_else(|| facts.current_ref.clone())
            .unwrap_or_else(|| "refs/heads/main".to_string());
        let head_ref = full_ref(&git, &head_ref);
        // The commit, its parent and its files in one git command.
        let (sha, commit) = match self.sha.clone().or_else(|| {
            if is_pr {
                p(&["pull_request", "head", "sha"])
            } else {
                p(&["after"])
            }
        }) {
            Some(s) => match git.commit(&s) {
                Some(c) => (c.info.sha.clone(), Some(c)),
                None => (s, None),
            },
            None => match git.commit(&head_ref) {
                Some(c) => (c.info.sha.clone(), Some(c)),
                None if in_git => {
                    let head = git.commit("HEAD");
                    let sha = head
                        .as_ref()
                        .map_or_else(|| ZERO_SHA.to_string(), |c| c.info.sha.clone());
                    notes.push(format!(
                        "`{head_ref}` does not exist in this repository; using HEAD ({}) as its commit",
                        &sha[..sha.len().min(7)]
                    ));
                    (sha, head)
                }
                None => (ZERO_SHA.to_string(), None),
            },
        };
        let full_name = facts.remote_full_name.clone().unwrap_or_else(|| {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "repository".into());
            format!("local/{name}")
        });
        let actor = self
            .actor
            .clone()
            .or_else(|| facts.user_name.clone())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "slipway".into());
        let repo = RepoInfo {
            full_name,
            default_branch: facts.default_branch.unwrap_or_else(|| "main".into()),
            workspace: dir
                .canonicalize()
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
            server_url: "https://github.com".into(),
        };
        let action = self
            .action
            .clone()
            .or_else(|| p(&["action"]))
            .or_else(|| is_pr.then(|| "opened".to_string()));

        let mut event = Event {
            name: self.event.clone(),
            action,
            git_ref: head_ref.clone(),
            sha: sha.clone(),
            base_ref: None,
            head_ref: None,
            changed_files: None,
            inputs: self.inputs.clone(),
            payload: Json::Object(Default::default()),
            actor: actor.clone(),
            repo,
            run_id: 1,
            run_number: 1,
        };

        if is_pr {
            let base = self
                .base
                .clone()
                .or_else(|| p(&["pull_request", "base", "ref"]))
                .ok_or_else(|| UsageError("--base is required for pull_request events: the branch the pull request targets".into()))?;
            let base = branch_of(&base).to_string();
            let head_branch = branch_of(&head_ref).to_string();
            let number: u64 = p(&["number"]).and_then(|n| n.parse().ok()).unwrap_or(1);
            let base_sha = git
                .resolve(&format!("refs/heads/{base}"))
                .or_else(|| git.resolve(&base));
            event.git_ref = format!("refs/pull/{number}/merge");
            event.base_ref = Some(base.clone());
            event.head_ref = Some(head_branch.clone());
            event.changed_files = base_sha
                .as_ref()
                .and_then(|b| git.changed_files(b, &sha, true));
            if base_sha.is_none() && in_git {
                notes.push(format!("base branch `{base}` does not exist in this repository; changed files are not known"));
            }
            event.payload = payload.clone().unwrap_or_else(|| {
                PullRequestPayload {
                    action: event.action.as_deref().unwrap_or("opened"),
                    number,
                    title: &format!("Merge {head_branch} into {base}"),
                    head_ref: &head_branch,
                    head_sha: &sha,
                    base_ref: &base,
                    base_sha: base_sha.as_deref().unwrap_or(ZERO_SHA),
                    repo: &event.repo,
                    actor: &actor,
                }
                .build()
            });
        } else {
            let (before, files, commits) = match (p(&["before"]), commit) {
                // No payload: the push of one commit onto its parent.
                (None, Some(c)) => (
                    c.first_parent.unwrap_or_else(|| ZERO_SHA.to_string()),
                    Some(c.files),
                    vec![c.info],
                ),
                (before, _) => {
                    let before = before.unwrap_or_else(|| ZERO_SHA.to_string());
                    let files = if before == ZERO_SHA {
                        git.commit_files(&sha)
                    } else {
                        git.changed_files(&before, &sha, false)
                    };
                    let range = if before == ZERO_SHA {
                        sha.clone()
                    } else {
                        format!("{before}..{sha}")
                    };
                    (before, files, git.commits(&range))
                }
            };
            if self.event == "push" {
                event.changed_files = files;
            }
            event.payload = payload.clone().unwrap_or_else(|| match self.event.as_str() {
                "push" => PushPayload {
                    git_ref: &head_ref,
                    before: &before,
                    after: &sha,
                    commits: &commits,
                    repo: &event.repo,
                    actor: &actor,
                }
                .build(),
                "workflow_dispatch" => serde_json::json!({
                    "ref": head_ref,
                    "inputs": self.inputs.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                    "sender": { "login": actor },
                }),
                _ => serde_json::json!({ "sender": { "login": actor } }),
            });
        }
        Ok(event)
    }
}
