//! Well-known actions, implemented natively (there is no network to fetch
//! them). One registry: later features add their actions here.

mod artifact;
mod aws;
mod cache;
mod checkout;
mod codecov;
mod deploy;
mod ecr;
mod glob;
mod setup;
mod slack;
mod tools;

use std::path::PathBuf;

use slipway_model::LogLevel;
use slipway_workflow::workflow::ActionRef;

pub use cache::save_pending;

/// What a built-in gets: its evaluated `with:` inputs and the step's world.
pub struct BuiltinInput {
    pub with: Vec<(String, String)>,
    pub workspace: PathBuf,
    /// RUNNER_TEMP of the job.
    pub temp: PathBuf,
    /// The run's own folder, for what is kept with the run.
    pub run_dir: PathBuf,
    /// The step's environment, PATH included.
    pub env: Vec<(String, String)>,
    pub sha: String,
    /// The branch the run is for (a pull request's head branch).
    pub branch: String,
    /// `owner/name`.
    pub repository: String,
    /// The slipway binary, for built-ins that use its commands.
    pub slipway: Option<PathBuf>,
}

impl BuiltinInput {
    pub fn input(&self, name: &str) -> Option<&str> {
        self.with
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn path_var(&self) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

#[derive(Debug, Default)]
pub struct BuiltinResult {
    pub ok: bool,
    /// Markdown for the job summary, as `$GITHUB_STEP_SUMMARY` holds it.
    pub summary: String,
    pub outputs: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    /// Directories to put first on PATH for the following steps.
    pub path: Vec<String>,
    pub lines: Vec<(LogLevel, String)>,
}

impl BuiltinResult {
    pub fn ok() -> Self {
        BuiltinResult {
            ok: true,
            ..Default::default()
        }
    }

    pub fn fail(message: impl Into<String>) -> Self {
        BuiltinResult {
            ok: false,
            lines: vec![(LogLevel::Error, message.into())],
            ..Default::default()
        }
    }

    pub fn say(mut self, line: impl Into<String>) -> Self {
        self.lines.push((LogLevel::Output, line.into()));
        self
    }
}

type Handler = fn(&BuiltinInput) -> BuiltinResult;

/// owner/repo (lowercase) -> handler; owner/repo/path for an action in a
/// folder of its repository (`actions/cache/restore`), else owner/repo.
const REGISTRY: &[(&str, Handler)] = &[
    ("actions/checkout", checkout::run),
    ("actions/setup-python", setup::python),
    ("actions/setup-go", setup::go),
    ("actions/setup-node", setup::node),
    ("pnpm/action-setup", tools::pnpm),
    ("golangci/golangci-lint-action", tools::golangci_lint),
    ("codecov/codecov-action", codecov::run),
    ("actions/upload-artifact", artifact::upload),
    ("actions/download-artifact", artifact::download),
    ("actions/cache", cache::run),
    ("actions/cache/restore", cache::restore),
    ("actions/cache/save", cache::save),
    (slack::SLUG, slack::run_latest),
    (
        "aws-actions/configure-aws-credentials",
        aws::configure_credentials,
    ),
    ("aws-actions/amazon-ecr-login", ecr::login),
];

fn handler(action: &ActionRef) -> Option<Handler> {
    let slug = action.slug()?;
    let find = |slug: &str| REGISTRY.iter().find(|(s, _)| *s == slug).map(|(_, h)| *h);
    if let ActionRef::Repository {
        path: Some(path), ..
    } = action
    {
        let path = path.trim_matches('/').to_lowercase();
        if let Some(h) = find(&format!("{slug}/{path}")) {
            return Some(h);
        }
    }
    find(&slug)
}

/// Actions that run as a slipway command, streamed like a `run` step:
/// the step's script made from its inputs (or why it cannot be made).
pub fn command_script(
    action: &ActionRef,
    with: &[(String, String)],
    slipway: Option<&std::path::Path>,
) -> Option<Result<String, String>> {
    (action.slug().as_deref() == Some(deploy::SLUG)).then(|| deploy::script(with, slipway))
}

/// `trstringer/manual-approval` waits on an approval gate, so the job
/// runs it (see `gates.rs`), not this registry of plain functions.
pub fn is_manual_approval(action: &ActionRef) -> bool {
    action.slug().as_deref() == Some("trstringer/manual-approval")
}

/// Why an action cannot run here, or None when it can.
pub fn unsupported(action: &ActionRef) -> Option<String> {
    match action {
        ActionRef::Repository { .. } if is_manual_approval(action) => None,
        ActionRef::Repository { .. } if action.slug().as_deref() == Some(deploy::SLUG) => None,
        ActionRef::Repository { owner, repo, git_ref, .. } if handler(action).is_none() => Some(format!(
            "`{owner}/{repo}@{git_ref}` is not built into slipway and cannot be fetched here; vendor it into the repository (e.g. `.github/actions/{repo}/action.yml`) and use it as `uses: ./.github/actions/{repo}`"
        )),
        ActionRef::Repository { .. } => None,
        // Local actions are read when their step runs (see `job.rs`).
        ActionRef::Local(_) => None,
        ActionRef::Docker(image) => Some(format!("docker actions (`uses: docker://{image}`) are not run yet")),
    }
}

pub fn run(action: &ActionRef, input: &BuiltinInput) -> BuiltinResult {
    // The one built-in whose behaviour depends on the major version.
    if action.slug().as_deref() == Some(slack::SLUG) {
        return slack::run(action.version().unwrap_or(""), input);
    }
    match handler(action) {
        Some(h) => h(input),
        None => BuiltinResult::fail(unsupported(action).unwrap_or_default()),
    }
}
