//! `slipway coverage check|report|trend`: read coverage reports as their
//! tools wrote them, gate on the total, compare with the base branch's last
//! recorded report, compute patch coverage from `git diff`, and keep the
//! history in `<repository>/.slipway/state.db`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Subcommand, ValueEnum};
use slipway_gates::compare::{compare, patch};
use slipway_gates::config::CoverageConfig;
use slipway_gates::history::{CoverageStore, ReportMeta};
use slipway_gates::paths::SourceTree;
use slipway_gates::render;
use slipway_gates::threshold::{check, Threshold};
use slipway_gates::unified_diff::changed_lines;
use slipway_gates::view::{CheckView, GateView, PatchView, ReportView, TotalView, TrendView};
use slipway_gates::{parse_coverage_with, CoverageReport, Detail, FileInput, Input};
use slipway_model::exit;
use slipway_store::SqliteStore;

use crate::git::Git;
use crate::output::print_json;
use crate::{Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CoverageCommand,
}

#[derive(Subcommand)]
enum CoverageCommand {
    /// Exit 1 when the total is below a threshold
    Check(CheckArgs),
    /// Totals, files by missed lines, the change against a base branch and patch coverage
    Report(ReportArgs),
    /// The recorded totals of a flag, with a sparkline
    Trend(TrendArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
enum OutputFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

/// Where and under which name a report is recorded.
#[derive(clap::Args)]
struct Target {
    /// The flag (a service or test suite) the report is recorded and compared under
    #[arg(long, value_name = "NAME")]
    flag: Option<String>,
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The branch the report is recorded under [default: the current branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// The commit the report is recorded under [default: HEAD]
    #[arg(long, value_name = "SHA")]
    sha: Option<String>,
    /// The repository name in the history [default: owner/name of the origin remote, else the folder name]
    #[arg(long, value_name = "NAME")]
    repository: Option<String>,
    /// Do not record the report in the history
    #[arg(long)]
    no_record: bool,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Coverage reports: Cobertura XML, Go coverprofile, lcov, Istanbul JSON (merged when several)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The minimum total, in percent; compared after rounding the total to as many decimals as the threshold has [default: fail-under in slipway.toml's [coverage]]
    #[arg(long, value_name = "PERCENT")]
    fail_under: Option<String>,
    #[command(flatten)]
    target: Target,
    #[arg(long, value_enum, default_value_t)]
    format: crate::output::Format,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Coverage reports: Cobertura XML, Go coverprofile, lcov, Istanbul JSON (merged when several)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compare with the last report recorded for the same flag on this branch, and compute patch coverage of the lines changed since it
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    /// Also gate: exit 1 when the total is below this
    #[arg(long, value_name = "PERCENT")]
    fail_under: Option<String>,
    #[command(flatten)]
    target: Target,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(clap::Args)]
struct TrendArgs {
    /// The flag whose history to show
    #[arg(long, value_name = "NAME")]
    flag: Option<String>,
    /// Only reports of this branch [default: every branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// How many of the latest reports
    #[arg(long, value_name = "N", default_value_t = 30)]
    limit: usize,
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The repository name in the history [default: owner/name of the origin remote, else the folder name]
    #[arg(long, value_name = "NAME")]
    repository: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        CoverageCommand::Check(a) => run_check(a),
        CoverageCommand::Report(a) => run_report(a),
        CoverageCommand::Trend(a) => run_trend(a),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The repository a command works in.
struct Repo {
    /// The git top level: report paths resolve against it.
    root: PathBuf,
    /// The folder given with -C: the state database, `slipway.toml` and the
    /// repository's name come from it, as for `slipway run`.
    home: PathBuf,
    git: Option<Git>,
}

impl Repo {
    fn open(dir: &Path) -> anyhow::Result<Repo> {
        if !dir.is_dir() {
            return Err(UsageError(format!("{}: no such folder", dir.display())).into());
        }
        let top = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim_end()));
        match top {
            Some(root) => Ok(Repo {
                git: Some(Git::new(&root)),
                root: canonical(&root),
                home: canonical(dir),
            }),
            None => Ok(Repo {
                root: canonical(dir),
                home: canonical(dir),
                git: None,
            }),
        }
    }

    fn git_output(&self, args: &[&str]) -> Option<String> {
        self.git.as_ref()?;
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn repository_name(&self, given: Option<&str>) -> String {
        if let Some(name) = given {
            return name.to_string();
        }
        self.git
            .as_ref()
            .and_then(Git::remote_full_name)
            .unwrap_or_else(|| {
                // As `github.repository` reads without a remote (see
                // event_args.rs), so runs and this command agree.
                let name = self
                    .home
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("local/{name}")
            })
    }

    /// The branch: given, else the checked-out branch, else what a GitHub
    /// Actions run says (a pull request's checkout is detached).
    fn branch(&self, given: Option<&str>) -> Option<String> {
        if let Some(b) = given {
            return Some(branch_name(b));
        }
        if let Some(r) = self.git.as_ref().and_then(Git::current_ref) {
            return Some(branch_name(&r));
        }
        ["GITHUB_HEAD_REF", "GITHUB_REF_NAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }

    fn commit(&self, given: Option<&str>) -> Option<String> {
        if let Some(s) = given {
            return Some(
                self.git
                    .as_ref()
                    .and_then(|g| g.resolve(s))
                    .unwrap_or_else(|| s.to_string()),
            );
        }
        self.git
            .as_ref()
            .and_then(|g| g.resolve("HEAD"))
            .or_else(|| std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty()))
    }

    fn state_db(&self) -> PathBuf {
        // Inside `slipway run` the workspace is a checkout; the history
        // belongs to the repository the run was started in.
        match std::env::var_os("SLIPWAY_STATE_DB") {
            Some(path) => PathBuf::from(path),
            None => slipway_store::default_path(&self.home),
        }
    }

    fn config(&self) -> anyhow::Result<CoverageConfig> {
        let path = self.home.join("slipway.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                CoverageConfig::from_toml(&text).map_err(|e| UsageError(e.to_string()).into())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CoverageConfig::default()),
            Err(e) => Err(UsageError(format!("cannot read {}: {e}", path.display())).into()),
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `refs/heads/main`, `origin/main`, `refs/remotes/origin/main` -> `main`.
fn branch_name(r: &str) -> String {
    let r = r.strip_prefix("refs/heads/").unwrap_or(r);
    let r = r.strip_prefix("refs/remotes/").unwrap_or(r);
    r.strip_prefix("origin/").unwrap_or(r).to_string()
}

/// The repository as path resolution sees it: the files on disk, and for
/// matching paths from another machine, git's file list (or a walk).
struct RepoTree<'a> {
    repo: &'a Repo,
}

impl SourceTree for RepoTree<'_> {
    fn is_file(&self, path: &str) -> bool {
        !path.starts_with("../") && self.repo.root.join(path).is_file()
    }

    fn go_module(&self, dir: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.repo.root.join(dir).join("go.mod")).ok()?;
        text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("module ")
                .map(|m| m.trim().trim_matches('"').to_string())
        })
    }

    fn read_file(&self, path: &str) -> Option<String> {
        if path.starts_with("../") {
            return None;
        }
        std::fs::read_to_string(self.repo.root.join(path)).ok()
    }

    fn list_files(&self) -> Vec<String> {
        if let Some(out) = self.repo.git_output(&[
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ]) {
            return out
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        let mut files = Vec::new();
        walk(&self.repo.root, "", &mut files);
        files
    }
}

fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            ".git" | "node_modules" | "target" | ".venv" | "venv" | "__pycache__" | ".slipway"
        ) || out.len() > 200_000
        {
            continue;
        }
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Read the reports, with paths of the repository, keeping `detail`.
fn read_reports(files: &[PathBuf], repo: &Repo, detail: Detail) -> anyhow::Result<CoverageReport> {
    let inputs: Vec<FileInput> = files.iter().map(FileInput::new).collect();
    let refs: Vec<&dyn Input> = inputs.iter().map(|i| i as &dyn Input).collect();
    let parsed = parse_coverage_with(&refs, detail).map_err(|e| UsageError(e.to_string()))?;
    let dirs: Vec<Option<String>> = files
        .iter()
        .map(|f| {
            let dir = canonical(&std::path::absolute(f).unwrap_or_else(|_| f.clone()))
                .parent()
                .map(Path::to_path_buf)?;
            let rel = dir.strip_prefix(&repo.root).ok()?;
            Some(rel.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    let root = repo.root.to_string_lossy().replace('\\', "/");
    let tree = RepoTree { repo };
    Ok(parsed
        .resolve(&refs, &dirs, &tree, &root)
        .map_err(|e| UsageError(e.to_string()))?)
}

fn threshold(given: Option<&str>) -> anyhow::Result<Option<Threshold>> {
    given
        .map(|t| Threshold::parse(t).map_err(|e| UsageError(format!("--fail-under: {e}")).into()))
        .transpose()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Who the report is recorded as; None when there is no commit or branch
/// to record it under.
fn meta(repo: &Repo, target: &Target) -> (ReportMeta, bool) {
    let branch = repo.branch(target.branch.as_deref());
    let commit = repo.commit(target.sha.as_deref());
    let known = branch.is_some() && commit.is_some();
    let meta = ReportMeta {
        repository: repo.repository_name(target.repository.as_deref()),
        flag: target.flag.clone().unwrap_or_default(),
        branch: branch.unwrap_or_default(),
        commit: commit.unwrap_or_default(),
        recorded_at: now(),
    };
    (meta, known)
}

/// Keep the report in the history. A history that cannot be written is a
/// warning: the gate's verdict stands on its own.
async fn record(
    store: Option<&SqliteStore>,
    meta: &ReportMeta,
    known: bool,
    report: &CoverageReport,
    target: &Target,
) {
    if target.no_record {
        return;
    }
    if !known {
        eprintln!("note: not recorded in the history: no git commit or branch here (pass --sha and --branch)");
        return;
    }
    if let Some(store) = store {
        if let Err(e) = store.record(meta, report).await {
            eprintln!("warning: not recorded in the history: {e}");
        }
    }
}

async fn open_store(repo: &Repo, needed: bool) -> Option<SqliteStore> {
    if !needed {
        return None;
    }
    match SqliteStore::open(&repo.state_db()).await {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("warning: {e}");
            None
        }
    }
}

fn run_check(args: CheckArgs) -> anyhow::Result<()> {
    let repo = Repo::open(&args.target.dir)?;
    let (meta, known) = meta(&repo, &args.target);
    // Line data is for the history only: without recording, the totals.
    let detail = if !args.target.no_record && known {
        Detail::Lines
    } else {
        Detail::Totals
    };
    let report = read_reports(&args.files, &repo, detail)?;
    let flag = args.target.flag.as_deref();
    let threshold = match threshold(args.fail_under.as_deref())? {
        Some(t) => t,
        None => repo.config()?.fail_under(flag).cloned().ok_or_else(|| {
            UsageError("no threshold: pass --fail-under PERCENT or set fail-under in the [coverage] section of slipway.toml".into())
        })?,
    };
    let total = report.percent();
    let verdict = check(&total, &threshold, flag);
    runtime()?.block_on(async {
        let store = open_store(&repo, !args.target.no_record && known).await;
        record(store.as_ref(), &meta, known, &report, &args.target).await;
        if let Some(s) = store {
            s.close().await;
        }
    });
    match args.format {
        crate::output::Format::Json => print_json(&CheckView {
            flag: flag.map(str::to_string),
            percent: total.two_decimals(),
            threshold: threshold.value,
            passed: verdict.passed,
            message: verdict.message.clone(),
            total: TotalView::new(&report.total, report.format),
            format: report.format,
        })?,
        crate::output::Format::Text => println!("{}", verdict.message),
    }
    if !verdict.passed {
        return Err(Exit(exit::FAILED).into());
    }
    Ok(())
}

/// The commit changed lines are counted from: where the head branched off
/// the base (as a pull request counts), else the base report's commit.
fn diff_base(repo: &Repo, base: &str, base_report_commit: Option<&str>) -> Option<String> {
    let git = repo.git.as_ref()?;
    let candidates = [
        base.to_string(),
        format!("origin/{}", branch_name(base)),
        branch_name(base),
    ];
    let base_commit = candidates
        .iter()
        .find_map(|c| git.resolve(c))
        .or_else(|| base_report_commit.and_then(|c| git.resolve(c)))?;
    let merge_base = repo
        .git_output(&["merge-base", &base_commit, "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Some(merge_base.unwrap_or(base_commit))
}

/// Lines changed from `base` to the working tree (committed or not), as
/// `git diff -U0` reports them.
fn git_changed_lines(repo: &Repo, base: &str) -> Option<slipway_gates::unified_diff::ChangedLines> {
    let diff = repo.git_output(&[
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--find-renames",
        base,
        "--",
    ])?;
    Some(changed_lines(&diff))
}

fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    let repo = Repo::open(&args.target.dir)?;
    let report = read_reports(&args.files, &repo, Detail::Lines)?;
    let threshold = threshold(args.fail_under.as_deref())?;
    let (meta, known) = meta(&repo, &args.target);
    let mut view = ReportView::new(&report, &meta);

    runtime()?.block_on(async {
        let store = open_store(
            &repo,
            args.base.is_some() || (!args.target.no_record && known),
        )
        .await;
        if let Some(base) = &args.base {
            let base_branch = branch_name(base);
            let base_report = match &store {
                Some(s) => match s.latest(&meta.repository, &meta.flag, &base_branch).await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("warning: cannot read the base report: {e}");
                        None
                    }
                },
                None => None,
            };
            if let Some(b) = &base_report {
                view.with_base(&b.meta, &compare(&b.report, &report));
            }
            match diff_base(
                &repo,
                base,
                base_report.as_ref().map(|b| b.meta.commit.as_str()),
            ) {
                Some(commit) => match git_changed_lines(&repo, &commit) {
                    Some(changed) => {
                        view.patch = Some(PatchView::new(&patch(&report, &changed), &commit))
                    }
                    None => eprintln!("note: no patch coverage: `git diff {commit}` failed"),
                },
                None => eprintln!(
                    "note: no patch coverage: `{base}` is not a commit of this repository"
                ),
            }
        }
        record(store.as_ref(), &meta, known, &report, &args.target).await;
        if let Some(s) = store {
            s.close().await;
        }
    });

    let mut failed = false;
    if let Some(t) = &threshold {
        let verdict = check(&report.percent(), t, args.target.flag.as_deref());
        failed = !verdict.passed;
        view.gate = Some(GateView::new(t, &verdict));
    }
    match args.format {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text => print!("{}", render::report_text(&view)),
        OutputFormat::Markdown => print!("{}", render::report_markdown(&view)),
    }
    if failed {
        return Err(Exit(exit::FAILED).into());
    }
    Ok(())
}

fn run_trend(args: TrendArgs) -> anyhow::Result<()> {
    let repo = Repo::open(&args.dir)?;
    let repository = repo.repository_name(args.repository.as_deref());
    let flag = args.flag.clone().unwrap_or_default();
    let branch = args.branch.as_deref().map(branch_name);
    // Showing a history does not create one.
    let points = if !repo.state_db().exists() {
        Vec::new()
    } else {
        runtime()?.block_on(async {
            let store = SqliteStore::open(&repo.state_db()).await?;
            let points = store
                .trend(&repository, &flag, branch.as_deref(), args.limit)
                .await;
            store.close().await;
            anyhow::Ok(points?)
        })?
    };
    let view = TrendView::new(&flag, branch.as_deref(), &points);
    match args.format {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text => print!("{}", render::trend_text(&view)),
        OutputFormat::Markdown => print!("{}", render::trend_markdown(&view)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::branch_name;

    #[test]
    fn branch_names() {
        assert_eq!(branch_name("refs/heads/main"), "main");
        assert_eq!(branch_name("origin/develop"), "develop");
        assert_eq!(branch_name("refs/remotes/origin/feature/x"), "feature/x");
        assert_eq!(branch_name("main"), "main");
    }
}
