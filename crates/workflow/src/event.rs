//! The event a run is for, and the `github` context built from it.
//!
//! Events are plain data: the CLI reads the repository (git) and flags to
//! build one; nothing here touches a process or a disk.

use serde_json::{json, Map, Value};

/// A commit as the push payload describes it.
#[derive(Debug, Clone, Default)]
pub struct CommitInfo {
    pub sha: String,
    pub message: String,
    pub timestamp: String,
    pub author_name: String,
    pub author_email: String,
}

/// Where the repository lives, for `github.repository` and the payloads.
#[derive(Debug, Clone)]
pub struct RepoInfo {
    /// `owner/name`.
    pub full_name: String,
    pub default_branch: String,
    pub workspace: String,
    pub server_url: String,
}

impl RepoInfo {
    pub fn owner(&self) -> &str {
        self.full_name.split('/').next().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.full_name.split('/').nth(1).unwrap_or(&self.full_name)
    }

    fn payload(&self) -> Value {
        json!({
            "name": self.name(),
            "full_name": self.full_name,
            "owner": { "login": self.owner(), "name": self.owner() },
            "default_branch": self.default_branch,
            "html_url": format!("{}/{}", self.server_url, self.full_name),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    /// `push`, `pull_request`, `workflow_dispatch`, ...
    pub name: String,
    /// The activity type (`opened`, `synchronize`, ...), for events that have one.
    pub action: Option<String>,
    /// `github.ref`: `refs/heads/main`, `refs/tags/v1`, `refs/pull/1/merge`.
    pub git_ref: String,
    pub sha: String,
    /// Pull requests: the target branch and the source branch.
    pub base_ref: Option<String>,
    pub head_ref: Option<String>,
    /// Files changed by the push (before..after) or pull request
    /// (merge base...head); None when not known.
    pub changed_files: Option<Vec<String>>,
    /// workflow_dispatch inputs, as given.
    pub inputs: Vec<(String, String)>,
    /// `github.event`: the webhook payload.
    pub payload: Value,
    pub actor: String,
    pub repo: RepoInfo,
    pub run_id: u64,
    pub run_number: u64,
}

/// What the CLI knows when it builds a push payload.
pub struct PushPayload<'a> {
    pub git_ref: &'a str,
    pub before: &'a str,
    pub after: &'a str,
    pub commits: &'a [CommitInfo],
    pub repo: &'a RepoInfo,
    pub actor: &'a str,
}

impl PushPayload<'_> {
    /// Shaped like GitHub's `push` webhook payload.
    pub fn build(&self) -> Value {
        let commit = |c: &CommitInfo| {
            json!({
                "id": c.sha,
                "tree_id": "",
                "message": c.message,
                "timestamp": c.timestamp,
                "author": { "name": c.author_name, "email": c.author_email },
                "committer": { "name": c.author_name, "email": c.author_email },
                "distinct": true,
            })
        };
        let commits: Vec<Value> = self.commits.iter().map(commit).collect();
        let head = self.commits.last().map(commit).unwrap_or(Value::Null);
        json!({
            "ref": self.git_ref,
            "before": self.before,
            "after": self.after,
            "created": self.before.chars().all(|c| c == '0'),
            "deleted": false,
            "forced": false,
            "base_ref": Value::Null,
            "compare": format!("{}/{}/compare/{}...{}", self.repo.server_url, self.repo.full_name, short(self.before), short(self.after)),
            "commits": commits,
            "head_commit": head,
            "repository": self.repo.payload(),
            "pusher": { "name": self.actor },
            "sender": { "login": self.actor },
        })
    }
}

/// What the CLI knows when it builds a pull_request payload.
pub struct PullRequestPayload<'a> {
    pub action: &'a str,
    pub number: u64,
    pub title: &'a str,
    pub head_ref: &'a str,
    pub head_sha: &'a str,
    pub base_ref: &'a str,
    pub base_sha: &'a str,
    pub repo: &'a RepoInfo,
    pub actor: &'a str,
}

impl PullRequestPayload<'_> {
    /// Shaped like GitHub's `pull_request` webhook payload.
    pub fn build(&self) -> Value {
        let side = |r: &str, sha: &str| {
            json!({
                "ref": r,
                "sha": sha,
                "label": format!("{}:{r}", self.repo.owner()),
                "repo": self.repo.payload(),
            })
        };
        json!({
            "action": self.action,
            "number": self.number,
            "pull_request": {
                "number": self.number,
                "title": self.title,
                "body": "",
                "state": "open",
                "draft": false,
                "merged": false,
                "user": { "login": self.actor },
                "head": side(self.head_ref, self.head_sha),
                "base": side(self.base_ref, self.base_sha),
            },
            "repository": self.repo.payload(),
            "sender": { "login": self.actor },
        })
    }
}

impl Event {
    /// A push of `git_ref` with fixed, made-up values, for tests,
    /// benchmarks and fuzzing that need an event but no repository.
    pub fn sample_push(git_ref: &str, changed_files: &[&str]) -> Event {
        Event {
            name: "push".into(),
            action: None,
            git_ref: git_ref.into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            base_ref: None,
            head_ref: None,
            changed_files: Some(changed_files.iter().map(|f| f.to_string()).collect()),
            inputs: Vec::new(),
            payload: json!({ "ref": git_ref }),
            actor: "sample".into(),
            repo: RepoInfo {
                full_name: "sample/repository".into(),
                default_branch: "main".into(),
                workspace: "/workspace".into(),
                server_url: "https://github.com".into(),
            },
            run_id: 1,
            run_number: 1,
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

impl Event {
    /// `github.ref_name`: the short ref name as GitHub shows it.
    pub fn ref_name(&self) -> &str {
        let r = &self.git_ref;
        r.strip_prefix("refs/heads/")
            .or_else(|| r.strip_prefix("refs/tags/"))
            .or_else(|| r.strip_prefix("refs/pull/"))
            .unwrap_or(r)
    }

    pub fn ref_type(&self) -> &'static str {
        if self.git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        }
    }

    /// The `github` context; `job` is set when evaluating inside a job.
    pub fn github_context(&self, job: Option<&str>) -> Value {
        let is_pr = matches!(self.name.as_str(), "pull_request" | "pull_request_target");
        let mut ctx = Map::new();
        let mut put = |k: &str, v: Value| {
            ctx.insert(k.to_string(), v);
        };
        put("event_name", json!(self.name));
        put("event", self.payload.clone());
        put("ref", json!(self.git_ref));
        put("ref_name", json!(self.ref_name()));
        put("ref_type", json!(self.ref_type()));
        put("ref_protected", json!(false));
        put("sha", json!(self.sha));
        put(
            "base_ref",
            json!(if is_pr {
                self.base_ref.clone().unwrap_or_default()
            } else {
                String::new()
            }),
        );
        put(
            "head_ref",
            json!(if is_pr {
                self.head_ref.clone().unwrap_or_default()
            } else {
                String::new()
            }),
        );
        put("repository", json!(self.repo.full_name));
        put("repository_owner", json!(self.repo.owner()));
        put(
            "repositoryUrl",
            json!(format!(
                "{}/{}.git",
                self.repo.server_url, self.repo.full_name
            )),
        );
        put("actor", json!(self.actor));
        put("triggering_actor", json!(self.actor));
        put("workspace", json!(self.repo.workspace));
        put("run_id", json!(self.run_id.to_string()));
        put("run_number", json!(self.run_number.to_string()));
        put("run_attempt", json!("1"));
        put("server_url", json!(self.repo.server_url));
        put("api_url", json!(format!("{}/api/v3", self.repo.server_url)));
        put(
            "graphql_url",
            json!(format!("{}/api/graphql", self.repo.server_url)),
        );
        put("workflow", json!(""));
        put("action", json!(""));
        put("token", json!(""));
        put("job", json!(job.unwrap_or("")));
        put("retention_days", json!("90"));
        put("secret_source", json!("None"));
        Value::Object(ctx)
    }

    /// The `inputs` context: given inputs, then defaults for the rest.
    pub fn inputs_context(&self, declared: &[crate::triggers::DispatchInput]) -> Value {
        use crate::triggers::InputType;
        let mut map = Map::new();
        for input in declared {
            let given = self.inputs.iter().find(|(k, _)| k == &input.name.value);
            let value = match given {
                Some((_, v)) => match input.kind {
                    InputType::Boolean => json!(v == "true"),
                    InputType::Number => v.parse::<f64>().map(|n| json!(n)).unwrap_or(json!(v)),
                    _ => json!(v),
                },
                None => match &input.default {
                    Some(d) => crate::data::to_json_literal(d),
                    None => match input.kind {
                        InputType::Boolean => json!(false),
                        _ => json!(""),
                    },
                },
            };
            map.insert(input.name.value.clone(), value);
        }
        // Inputs given but not declared are still visible, as strings.
        for (k, v) in &self.inputs {
            map.entry(k.clone()).or_insert_with(|| json!(v));
        }
        Value::Object(map)
    }
}
