//! `slipway run`: execute workflows on this machine.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_engine::{builtins, RunSpec, RunSummary};
use slipway_model::{exit, Conclusion, LogLevel, RunEvent};
use slipway_workflow::plan::plan_workflow;
use slipway_workflow::Workflow;
use tokio_util::sync::CancellationToken;

use crate::event_args::{parse_key_value, EventArgs};
use crate::output::{print_json, Format};
use crate::{workflows, Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files [default: every workflow the event triggers]
    workflows: Vec<PathBuf>,
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    event: EventArgs,
    /// Run only these jobs and what they need (repeatable)
    #[arg(long = "job", value_name = "ID")]
    jobs: Vec<String>,
    /// Job instances running at once [default: number of CPUs]
    #[arg(long = "jobs", value_name = "N")]
    parallel: Option<usize>,
    /// Override a workflow-level `env` variable (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    env: Vec<(String, String)>,
    /// Secrets as KEY=VALUE lines (besides .slipway/secrets.env and SLIPWAY_SECRET_<NAME>)
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// `vars` context values (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    vars: Vec<(String, String)>,
    /// Run in the working tree as it is, instead of a fresh checkout of the commit
    #[arg(long)]
    in_place: bool,
    /// With --job: run only those jobs; the jobs they need are not run and
    /// count as succeeded, with no outputs
    #[arg(long, requires = "jobs")]
    skip_needs: bool,
    /// At an approval gate, stop (exit 3) instead of waiting; `slipway
    /// resume RUN` goes on once approved
    #[arg(long)]
    no_wait: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// What a run was asked to do, kept with the run so `slipway resume` can
/// start it again as it was: the workflow's text, the event (its commit
/// fixed) and the options.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub dir: PathBuf,
    pub workflow_file: String,
    pub workflow_text: String,
    pub event: EventArgs,
    pub jobs: Vec<String>,
    pub skip_needs: bool,
    pub parallel: usize,
    pub env: Vec<(String, String)>,
    pub vars: Vec<(String, String)>,
    pub secret_file: Option<PathBuf>,
    pub in_place: bool,
}

/// How this process runs it: options that are not part of the run.
pub struct Session {
    pub format: Format,
    pub no_wait: bool,
    /// A run started before (`slipway resume`), and its jobs already done.
    pub resume: Option<(u64, Vec<slipway_engine::PriorJob>)>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = workflows::load(&args.dir, &args.workflows)?;
    if loaded.error_count() > 0 {
        eprint!("{}", loaded.render(&loaded.diagnostics));
        eprintln!("error: the workflow files have errors; nothing was run");
        return Err(Exit(exit::INVALID).into());
    }
    let mut notes = Vec::new();
    let event = args.event.build(&args.dir, &mut notes)?;
    for note in &notes {
        eprintln!("note: {note}");
    }
    // Which workflows this event starts (all named ones when --job is given).
    let chosen: Vec<&Workflow> = loaded
        .workflows
        .iter()
        .filter(|wf| {
            let plan = plan_workflow(wf, &event);
            if !plan.triggered {
                eprintln!("{}: not triggered: {}", wf.file, plan.reason);
            }
            plan.triggered
        })
        .collect();
    if chosen.is_empty() {
        eprintln!("nothing to run");
        return Ok(());
    }
    check_actions(&chosen, &args.jobs, args.skip_needs, &loaded)?;
    let secrets = load_secrets(&args.dir, args.secret_file.as_deref())?;
    let parallel = args.parallel.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = args.dir.canonicalize().unwrap_or_else(|_| args.dir.clone());
    let mut fixed = args.event.clone();
    fixed.sha = Some(event.sha.clone());
    let session = Session {
        format: args.format,
        no_wait: args.no_wait,
        resume: None,
    };
    let mut worst = Conclusion::Success;
    for wf in chosen {
        if !args.jobs.is_empty() && !args.jobs.iter().any(|j| wf.job(j).is_some()) {
            continue;
        }
        let request = Request {
            dir: dir.clone(),
            workflow_file: wf.file.clone(),
            workflow_text: loaded
                .sources
                .iter()
                .find(|s| s.path == wf.file)
                .map(|s| s.text.clone())
                .unwrap_or_default(),
            event: fixed.clone(),
            jobs: args.jobs.clone(),
            skip_needs: args.skip_needs,
            parallel,
            env: args.env.clone(),
            vars: args.vars.clone(),
            secret_file: args
                .secret_file
                .as_ref()
                .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone())),
            in_place: args.in_place,
        };
        let summary = runtime.block_on(run_workflow(wf, &event, &request, &secrets, &session))?;
        worst = worse(worst, summary.conclusion);
        print_summary(wf, &summary, session.format)?;
    }
    exit_for(worst)
}

pub fn print_summary(wf: &Workflow, summary: &RunSummary, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(summary)?,
        Format::Text => print!("{}", render_summary(wf, summary)),
    }
    Ok(())
}

/// The conclusion of several workflows' runs: cancelled over failed over
/// waiting over success.
pub fn worse(a: Conclusion, b: Conclusion) -> Conclusion {
    use Conclusion::*;
    match (a, b) {
        (_, Cancelled) | (Cancelled, _) => Cancelled,
        (_, Failure) | (Failure, _) => Failure,
        (_, Waiting) | (Waiting, _) => Waiting,
        _ => Success,
    }
}

pub fn exit_for(c: Conclusion) -> anyhow::Result<()> {
    match c {
        Conclusion::Failure => Err(Exit(exit::FAILED).into()),
        Conclusion::Cancelled => Err(Exit(exit::CANCELLED).into()),
        Conclusion::Waiting => Err(Exit(exit::WAITING).into()),
        _ => Ok(()),
    }
}

/// Actions slipway cannot run, found before anything starts.
fn check_actions(
    chosen: &[&Workflow],
    only: &[String],
    skip_needs: bool,
    loaded: &workflows::Loaded,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for wf in chosen {
        for job in &wf.jobs {
            let runs = only.is_empty()
                || if skip_needs {
                    only.contains(&job.id.value)
                } else {
                    needed_by(wf, only, &job.id.value)
                };
            if !runs {
                continue;
            }
            for step in &job.steps {
                let Some(uses) = &step.uses else { continue };
                if let Some(why) = builtins::unsupported(&uses.value) {
                    problems.push(slipway_workflow::Diagnostic::error(
                        "unsupported-action",
                        &wf.file,
                        uses.span,
                        why,
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    eprint!("{}", loaded.render(&problems));
    eprintln!(
        "error: {} step(s) use actions slipway cannot run; nothing was run",
        problems.len()
    );
    Err(Exit(exit::INVALID).into())
}

/// Whether `id` is one of `only` or something they need.
fn needed_by(wf: &Workflow, only: &[String], id: &str) -> bool {
    let mut stack: Vec<usize> = only
        .iter()
        .filter_map(|o| wf.jobs.iter().position(|j| &j.id.value == o))
        .collect();
    let mut seen = vec![false; wf.jobs.len()];
    while let Some(i) = stack.pop() {
        if seen[i] {
            continue;
        }
        seen[i] = true;
        if wf.jobs[i].id.value == id {
            return true;
        }
        stack.extend(wf.jobs[i].needs.iter().copied());
    }
    false
}

/// KEY=VALUE lines of a secrets file under `.slipway/`, refused when
/// group or others can read it.
pub fn read_private_env_file(file: &Path) -> anyhow::Result<Vec<(String, String)>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(UsageError(format!(
            "refusing to read {}: group or others can read it (mode {:o}); run `chmod 600 {}`",
            file.display(),
            mode & 0o777,
            file.display()
        ))
        .into());
    }
    read_secret_file(file)
}

/// Secrets from `.slipway/secrets.env` (refused when others can read it),
/// `SLIPWAY_SECRET_<NAME>` variables and `--secret-file`, later ones winning.
pub fn load_secrets(
    dir: &Path,
    secret_file: Option<&Path>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut add = |k: String, v: String| match secrets.iter_mut().find(|(ok, _)| *ok == k) {
        Some(slot) => slot.1 = v,
        None => secrets.push((k, v)),
    };
    let default = dir.join(".slipway/secrets.env");
    if default.exists() {
        for (k, v) in read_private_env_file(&default)? {
            add(k, v);
        }
    }
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("SLIPWAY_SECRET_") {
            add(name.to_string(), v);
        }
    }
    if let Some(file) = secret_file {
        for (k, v) in read_secret_file(file)? {
            add(k, v);
        }
    }
    Ok(secrets)
}

fn read_secret_file(file: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    slipway_exec::parse_env_file(&text)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())).into())
}

/// A fresh checkout of the commit under `.slipway/runs/<id>/checkout`,
/// removed when the run ends; or the working tree with `--in-place`.
struct Workspace {
    path: PathBuf,
    worktree: Option<(PathBuf, PathBuf)>,
}

impl Workspace {
    fn prepare(dir: &Path, run_dir: &Path, sha: &str, in_place: bool) -> anyhow::Result<Workspace> {
        let dir = dir.canonicalize()?;
        if in_place {
            return Ok(Workspace {
                path: dir,
                worktree: None,
            });
        }
        let git = |args: &[&str]| Command::new("git").arg("-C").arg(&dir).args(args).output();
        let prefix = git(&["rev-parse", "--show-prefix"])
            .ok()
            .filter(|o| o.status.success());
        if prefix.is_none() || sha.chars().all(|c| c == '0') {
            return Ok(Workspace {
                path: dir,
                worktree: None,
            });
        }
        let prefix = String::from_utf8_lossy(&prefix.map(|o| o.stdout).unwrap_or_default())
            .trim()
            .to_string();
        let checkout = run_dir.join("checkout");
        if checkout.exists() {
            // Left by a process of this run that died (`slipway resume`).
            let _ = git(&[
                "worktree",
                "remove",
                "--force",
                &checkout.display().to_string(),
            ]);
            let _ = std::fs::remove_dir_all(&checkout);
            let _ = git(&["worktree", "prune"]);
        }
        let out = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&checkout)
            .arg(sha)
            .output()?;
        if !out.status.success() {
            return Err(UsageError(format!(
                "cannot check out {sha} for the run: {}; use --in-place to run in the working tree",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .into());
        }
        Ok(Workspace {
            path: checkout.join(prefix),
            worktree: Some((dir, checkout)),
        })
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if let Some((dir, checkout)) = &self.worktree {
            let _ = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["worktree", "remove", "--force"])
                .arg(checkout)
                .output();
        }
    }
}

pub async fn run_workflow(
    wf: &Workflow,
    event: &slipway_workflow::Event,
    request: &Request,
    secrets: &[(String, String)],
    session: &Session,
) -> anyhow::Result<RunSummary> {
    let dir = &request.dir;
    let settings = crate::approvals::Settings::load(dir)?;
    let state = dir.join(".slipway");
    let runs = state.join("runs");
    std::fs::create_dir_all(&runs)?;
    let store = slipway_store::SqliteStore::open(&crate::history::state_db(dir)).await?;
    let (run_id, mut prior) = match &session.resume {
        Some((run_id, prior)) => {
            store
                .set_run_status(*run_id as i64, "running", std::process::id())
                .await?;
            (*run_id as i64, prior.clone())
        }
        None => {
            let run_id = store
                .start_run(&slipway_store::runs::NewRun {
                    repository: &event.repo.full_name,
                    workflow_file: &wf.file,
                    workflow_name: &wf.display_name(),
                    event: &event.name,
                    git_ref: &event.git_ref,
                    sha: &event.sha,
                    pid: std::process::id(),
                    started_at: crate::history::now_ms(),
                })
                .await?;
            store
                .set_run_request(run_id, &serde_json::to_string(request)?)
                .await?;
            // A folder left by a database that was since deleted is stale.
            let _ = std::fs::remove_dir_all(runs.join(run_id.to_string()));
            (run_id, Vec::new())
        }
    };
    if request.skip_needs {
        prior.extend(skipped_needs(wf, &request.jobs));
    }
    let run_dir = runs.join(run_id.to_string());
    std::fs::create_dir_all(&run_dir)?;
    let run_dir = run_dir.canonicalize()?;
    let run_id = run_id as u64;
    let gate = std::sync::Arc::new(crate::concurrency::StoreGate::new(
        store.clone(),
        run_id as i64,
    ));
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ncancelling: stopping running steps; `always()` and `cancelled()` steps still run");
                cancel.cancel();
            }
        });
    }
    // A workflow-level group: wait for it (or give way) before anything starts.
    let mut slot = None;
    if let Some(concurrency) = &wf.concurrency {
        let mut ctx = slipway_expr::MapContexts::default();
        ctx.insert(
            "github",
            slipway_expr::Value::from_json(&event.github_context(None)),
        );
        ctx.insert(
            "inputs",
            slipway_expr::Value::from_json(
                &event.inputs_context(
                    wf.on
                        .get(&event.name)
                        .map(|t| t.inputs.as_slice())
                        .unwrap_or(&[]),
                ),
            ),
        );
        ctx.insert(
            "vars",
            slipway_expr::Value::Object(
                request
                    .vars
                    .iter()
                    .map(|(k, v)| (k.clone(), slipway_expr::Value::String(v.clone())))
                    .collect(),
            ),
        );
        let group = concurrency
            .group
            .template
            .eval(&ctx)
            .map_err(|e| UsageError(format!("{}: `concurrency.group`: {}", wf.file, e.message)))?
            .to_display_string();
        let cancel_in_progress = match &concurrency.cancel_in_progress {
            Some(slipway_workflow::workflow::BoolOr::Bool(b)) => *b,
            Some(slipway_workflow::workflow::BoolOr::Expr(t)) => t
                .template
                .eval(&ctx)
                .map(|v| v.is_truthy())
                .unwrap_or(false),
            None => false,
        };
        eprintln!(
            "concurrency group `{group}`{}",
            if cancel_in_progress {
                " (cancels the run in progress)"
            } else {
                ""
            }
        );
        slot = slipway_engine::concurrency::ConcurrencyGate::acquire(
            gate.as_ref(),
            &group,
            cancel_in_progress,
            cancel.clone(),
        )
        .await;
        if slot.is_none() {
            eprintln!("cancelled: a newer run took concurrency group `{group}`");
            let summary = RunSummary {
                run_id,
                conclusion: Conclusion::Cancelled,
                jobs: Vec::new(),
            };
            store
                .finish_run(
                    run_id as i64,
                    "cancelled",
                    crate::history::now_ms(),
                    &serde_json::to_string(&summary)?,
                )
                .await?;
            return Ok(summary);
        }
    }
    let workspace = Workspace::prepare(dir, &run_dir, &event.sha, request.in_place)?;
    let mut event = event.clone();
    event.repo.workspace = workspace.path.display().to_string();
    event.run_id = run_id;
    event.run_number = run_id;
    let spec = RunSpec {
        run_id,
        workflow: wf.clone(),
        event,
        jobs: request.jobs.clone(),
        parallel: request.parallel,
        env_overrides: request.env.clone(),
        secrets: secrets.to_vec(),
        vars: request.vars.clone(),
        workspace: workspace.path.clone(),
        repository: dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        run_dir: run_dir.clone(),
        host_path: host_path(&run_dir),
        gate: Some(slipway_engine::concurrency::Gate(gate.clone())),
        slipway: std::env::current_exe().ok(),
        approvals: Some(slipway_engine::approval::Approvals(std::sync::Arc::new(
            crate::approvals::StoreApprovals::new(store.clone(), run_id as i64, !session.no_wait),
        ))),
        environments: settings.environments,
        teams: settings.teams,
        approval_timeout: settings.timeout,
        prior,
    };
    if let Err(e) = spec.selected() {
        return Err(UsageError(e).into());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let json = session.format == Format::Json;
    // On a terminal, a live view; elsewhere, line-prefixed logs.
    let live = !json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let recorder_store = store.clone();
    let recorder_dir = run_dir.clone();
    let reporter = tokio::spawn(async move {
        let mut names: HashMap<(String, usize), String> = HashMap::new();
        let mut recorder = crate::history::Recorder::new(&recorder_dir);
        let mut view = crate::live::LiveView::new();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            let event = tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
                // Redraw the elapsed times on a terminal.
                _ = tick.tick(), if live => {
                    print!("{}", view.frame(&[], std::time::Instant::now()));
                    let _ = std::io::stdout().flush();
                    continue;
                }
            };
            let line = report_line(&event, &mut names);
            recorder.record(&event, line.as_deref());
            // Jobs are recorded as they start and end, one small row each, so
            // a run whose process dies still shows what it did.
            let id = run_id as i64;
            let _ = match &event {
                RunEvent::JobStarted { job } => {
                    recorder_store
                        .job_started(id, &job.label(), &job.id, &job.name, job.matrix.as_deref())
                        .await
                }
                RunEvent::JobFinished {
                    job,
                    conclusion,
                    seconds,
                    outputs,
                } => {
                    let outputs: serde_json::Map<String, serde_json::Value> = outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    recorder_store
                        .job_finished(
                            id,
                            &job.label(),
                            &job.id,
                            &job.name,
                            job.matrix.as_deref(),
                            conclusion.as_str(),
                            *seconds,
                            &serde_json::Value::Object(outputs).to_string(),
                        )
                        .await
                }
                _ => Ok(()),
            };
            if live {
                let above = view.event(&event, std::time::Instant::now());
                print!("{}", view.frame(&above, std::time::Instant::now()));
                let _ = std::io::stdout().flush();
            } else if let Some(line) = line {
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
            }
        }
        if live {
            print!("{}", view.frame(&[], std::time::Instant::now()));
        }
    });
    let summary = slipway_engine::run(spec, tx, cancel).await;
    let _ = reporter.await;
    store
        .finish_run(
            run_id as i64,
            summary.conclusion.as_str(),
            crate::history::now_ms(),
            &serde_json::to_string(&summary)?,
        )
        .await?;
    if let Some(slot) = slot {
        slipway_engine::concurrency::ConcurrencyGate::release(gate.as_ref(), slot).await;
    }
    drop(workspace);
    Ok(summary)
}

/// Off a terminal (and for now on one too): `[job/step] line`.
fn report_line(event: &RunEvent, names: &mut HashMap<(String, usize), String>) -> Option<String> {
    match event {
        RunEvent::JobStarted { job } => Some(format!("[{}] started: {}", job.label(), job.name)),
        RunEvent::StepStarted { job, step, name } => {
            names.insert((job.label(), *step), name.clone());
            Some(format!("[{}] ▶ {name}", job.label()))
        }
        RunEvent::Log {
            job,
            step,
            line,
            level,
        } => {
            let prefix = match step.and_then(|s| names.get(&(job.label(), s))) {
                Some(name) => format!("[{}/{name}]", job.label()),
                None => format!("[{}]", job.label()),
            };
            let tag = match level {
                LogLevel::Output => "",
                LogLevel::Group => "▸ ",
                LogLevel::Notice => "notice: ",
                LogLevel::Warning => "warning: ",
                LogLevel::Error => "error: ",
            };
            Some(format!("{prefix} {tag}{line}"))
        }
        RunEvent::StepFinished {
            job,
            step,
            outcome,
            conclusion,
            seconds,
        } => {
            let name = names
                .get(&(job.label(), *step))
                .cloned()
                .unwrap_or_default();
            let result = if outcome != conclusion {
                format!(
                    "{} (outcome {}, continue-on-error)",
                    conclusion.as_str(),
                    outcome.as_str()
                )
            } else {
                conclusion.as_str().to_string()
            };
            Some(format!(
                "[{}] {} {name}: {result} in {seconds:.1}s",
                job.label(),
                mark(*conclusion)
            ))
        }
        RunEvent::JobFinished {
            job,
            conclusion,
            seconds,
            ..
        } => Some(format!(
            "[{}] {} {}{}",
            job.label(),
            mark(*conclusion),
            conclusion.as_str(),
            if *seconds > 0.0 {
                format!(" in {seconds:.1}s")
            } else {
                String::new()
            }
        )),
        RunEvent::RunFinished { .. } => None,
    }
}

fn mark(c: Conclusion) -> &'static str {
    match c {
        Conclusion::Success => "✓",
        Conclusion::Failure => "✗",
        Conclusion::Cancelled => "⊘",
        Conclusion::Skipped => "-",
        Conclusion::Waiting => "⏸",
    }
}

/// `--skip-needs`: what the asked-for jobs need, not run, counted as done.
fn skipped_needs(wf: &Workflow, only: &[String]) -> Vec<slipway_engine::PriorJob> {
    wf.jobs
        .iter()
        .filter(|j| !only.contains(&j.id.value) && needed_by(wf, only, &j.id.value))
        .map(|j| slipway_engine::PriorJob {
            id: j.id.value.clone(),
            conclusion: Conclusion::Success,
            outputs: Vec::new(),
            summaries: Vec::new(),
        })
        .collect()
}

/// The closing table: each job with its conclusion and duration, and the
/// critical path (the chain of needs that took longest).
fn render_summary(wf: &Workflow, summary: &RunSummary) -> String {
    let mut out = String::new();
    let width = summary
        .jobs
        .iter()
        .map(|j| j.name.chars().count())
        .max()
        .unwrap_or(0);
    out.push_str(&format!(
        "\nrun {} of {}: {}\n\n",
        summary.run_id,
        wf.display_name(),
        summary.conclusion.as_str()
    ));
    for job in &summary.jobs {
        out.push_str(&format!(
            "  {} {:<width$}  {:<9}  {:>7.1}s\n",
            mark(job.conclusion),
            job.name,
            job.conclusion.as_str(),
            job.seconds
        ));
    }
    let path = critical_path(wf, summary);
    if path.len() > 1 {
        let total: f64 = path.iter().map(|(_, s)| s).sum();
        let names: Vec<String> = path.iter().map(|(n, s)| format!("{n} ({s:.1}s)")).collect();
        out.push_str(&format!(
            "\n  critical path ({total:.1}s): {}\n",
            names.join(" -> ")
        ));
    }
    out
}

fn critical_path(wf: &Workflow, summary: &RunSummary) -> Vec<(String, f64)> {
    // Only the jobs this run had; a matrix job counts as its slowest instance.
    let seconds = |id: &str| {
        summary
            .jobs
            .iter()
            .filter(|j| j.id == id)
            .map(|j| j.seconds)
            .reduce(f64::max)
    };
    let order = slipway_workflow::graph::topological_order(wf);
    let mut best: Vec<Option<(f64, Vec<usize>)>> = vec![None; wf.jobs.len()];
    for &i in &order {
        let Some(own) = seconds(&wf.jobs[i].id.value) else {
            continue;
        };
        let (base, mut chain) = wf.jobs[i]
            .needs
            .iter()
            .filter_map(|&n| best[n].clone())
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or((0.0, Vec::new()));
        chain.push(i);
        best[i] = Some((base + own, chain));
    }
    let Some((_, chain)) = best
        .into_iter()
        .flatten()
        .max_by(|a, b| a.0.total_cmp(&b.0))
    else {
        return Vec::new();
    };
    chain
        .into_iter()
        .map(|i| {
            (
                wf.jobs[i].id.value.clone(),
                seconds(&wf.jobs[i].id.value).unwrap_or(0.0),
            )
        })
        .collect()
}

/// The machine's PATH, after a folder of the run's that holds this
/// slipway binary: `slipway deploy`, `slipway monitor` and the other
/// commands work in steps as they do in the terminal, with the same
/// version that runs the workflow.
fn host_path(run_dir: &std::path::Path) -> String {
    let machine = std::env::var("PATH").unwrap_or_default();
    let Ok(exe) = std::env::current_exe() else {
        return machine;
    };
    let bin = run_dir.join("bin");
    let link = bin.join("slipway");
    let linked = std::fs::create_dir_all(&bin).is_ok()
        && (std::fs::read_link(&link).is_ok_and(|t| t == exe)
            || std::os::unix::fs::symlink(&exe, &link).is_ok());
    if linked {
        format!("{}:{machine}", bin.display())
    } else {
        machine
    }
}
