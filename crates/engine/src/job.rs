//! One job instance: its contexts and environment, its steps in order with
//! GitHub's status rules, its outputs. Reports to the dispatcher when done.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway_exec::{run_step, ExitReason, FileCommands, LogEvent, LogSink, Masker, StepCommand};
use slipway_expr::{MapContexts, StatusFunction, Value};
use slipway_model::{Conclusion, JobKey, LogLevel, RunEvent};
use slipway_workflow::workflow::{BoolOr, Env, Job, NumberOr, Step, Text, Workflow};
use slipway_workflow::Event;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::builtins::{self, BuiltinInput};
use crate::condition;
use crate::dispatcher::pairs_value;
use crate::gates::{self, Passage};
use crate::job_dirs::JobDirs;
use crate::spec::RunSpec;
use crate::summary::{to_map, StepSummary};

/// GitHub's default job timeout.
const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(360 * 60);

/// What every job of a run shares.
pub(crate) struct Shared {
    workflow: Workflow,
    pub(crate) event: Event,
    workspace: PathBuf,
    run_dir: PathBuf,
    host_path: String,
    env_overrides: Vec<(String, String)>,
    secrets: Value,
    vars: Value,
    pub(crate) masker: Masker,
    gate: Option<crate::concurrency::Gate>,
    pub(crate) approvals: Option<crate::approval::Approvals>,
    pub(crate) environments: Vec<crate::approval::Environment>,
    pub(crate) teams: Vec<(String, Vec<String>)>,
    pub(crate) approval_timeout: Duration,
    slipway: Option<PathBuf>,
    repository: PathBuf,
    events: mpsc::UnboundedSender<RunEvent>,
    event_path: PathBuf,
    run_id: u64,
    job_dirs: JobDirs,
}

impl Shared {
    pub(crate) fn new(spec: &RunSpec, events: mpsc::UnboundedSender<RunEvent>) -> Shared {
        let masker = Masker::new();
        for (_, value) in &spec.secrets {
            masker.add(value);
        }
        let event_path = spec.run_dir.join("event.json");
        let _ = std::fs::create_dir_all(&spec.run_dir);
        let _ = std::fs::write(
            &event_path,
            serde_json::to_vec_pretty(&spec.event.payload).unwrap_or_default(),
        );
        let mut secrets = spec.secrets.clone();
        if !secrets.iter().any(|(k, _)| k == "GITHUB_TOKEN") {
            secrets.push(("GITHUB_TOKEN".into(), String::new()));
        }
        Shared {
            workflow: spec.workflow.clone(),
            event: spec.event.clone(),
            workspace: spec.workspace.clone(),
            run_dir: spec.run_dir.clone(),
            host_path: spec.host_path.clone(),
            env_overrides: spec.env_overrides.clone(),
            secrets: pairs_value(&secrets),
            vars: pairs_value(&spec.vars),
            masker,
            gate: spec.gate.clone(),
            approvals: spec.approvals.clone(),
            environments: spec.environments.clone(),
            teams: spec.teams.clone(),
            approval_timeout: spec.approval_timeout,
            slipway: spec.slipway.clone(),
            repository: spec.repository.clone(),
            events,
            event_path,
            run_id: spec.run_id,
            job_dirs: JobDirs::new(&spec.run_dir),
        }
    }

    pub(crate) fn log(
        &self,
        job: &JobKey,
        step: Option<usize>,
        level: LogLevel,
        line: impl AsRef<str>,
    ) {
        let _ = self.events.send(RunEvent::Log {
            job: job.clone(),
            step,
            line: self.masker.mask(line.as_ref()),
            level,
        });
    }
}

pub(crate) struct JobRun {
    pub job_index: usize,
    pub key: JobKey,
    pub matrix: Option<Value>,
    pub strategy_index: usize,
    pub strategy_total: usize,
    pub needs: Value,
    /// Cancels this instance (fail-fast of its matrix, or the whole run).
    pub cancel: CancellationToken,
}

pub(crate) struct InstanceResult {
    pub job_index: usize,
    pub key: JobKey,
    pub conclusion: Conclusion,
    pub outputs: Vec<(String, String)>,
    pub steps: Vec<StepSummary>,
    pub seconds: f64,
}

impl InstanceResult {
    pub(crate) fn unstarted(key: JobKey, conclusion: Conclusion) -> InstanceResult {
        InstanceResult {
            job_index: 0,
            key,
            conclusion,
            outputs: Vec::new(),
            steps: Vec::new(),
            seconds: 0.0,
        }
    }
}

/// A job that ends before its steps: cancelled while it waited, or left
/// waiting for approval.
fn ended(
    shared: &Shared,
    run: JobRun,
    temp: PathBuf,
    started: Instant,
    conclusion: Conclusion,
) -> InstanceResult {
    shared.job_dirs.give_back(temp);
    let seconds = started.elapsed().as_secs_f64();
    let _ = shared.events.send(RunEvent::JobFinished {
        job: run.key.clone(),
        conclusion,
        seconds,
        outputs: Vec::new(),
    });
    InstanceResult {
        job_index: run.job_index,
        key: run.key,
        conclusion,
        outputs: Vec::new(),
        steps: Vec::new(),
        seconds,
    }
}

/// The state a job's steps build up.
struct JobState {
    ctx: MapContexts,
    /// GITHUB_ENV additions, in order.
    env_added: Vec<(String, String)>,
    /// GITHUB_PATH additions, newest first.
    path_added: Vec<String>,
    steps_value: Vec<(String, Value)>,
    failed: bool,
    temp: PathBuf,
    /// Where steps' environment files go (a subfolder per local action).
    files_dir: PathBuf,
    /// Inside a local action: the outer step whose log the steps write to.
    nested_in: Option<usize>,
    depth: usize,
    /// A manual-approval step left the job waiting (`--no-wait`).
    parked: bool,
    /// GitHub's default variables for this job, computed once.
    defaults: std::sync::Arc<Vec<(String, String)>>,
}

pub(crate) async fn run_instance(shared: std::sync::Arc<Shared>, run: JobRun) -> InstanceResult {
    let started = Instant::now();
    let job: &Job = &shared.workflow.jobs[run.job_index];
    let _ = shared.events.send(RunEvent::JobStarted {
        job: run.key.clone(),
    });
    let temp = shared.job_dirs.take();

    let mut ctx = MapContexts::default().with_workspace(shared.workspace.clone());
    ctx.insert(
        "github",
        Value::from_json(&shared.event.github_context(Some(&job.id.value))),
    );
    ctx.insert(
        "inputs",
        Value::from_json(
            &shared.event.inputs_context(
                shared
                    .workflow
                    .on
                    .get(&shared.event.name)
                    .map(|t| t.inputs.as_slice())
                    .unwrap_or(&[]),
            ),
        ),
    );
    ctx.insert("vars", shared.vars.clone());
    ctx.insert("secrets", shared.secrets.clone());
    ctx.insert("needs", run.needs.clone());
    ctx.insert(
        "matrix",
        run.matrix.clone().unwrap_or(Value::Object(Vec::new())),
    );
    ctx.insert(
        "strategy",
        Value::Object(vec![
            ("fail-fast".into(), Value::Bool(true)),
            ("job-index".into(), Value::Number(run.strategy_index as f64)),
            ("job-total".into(), Value::Number(run.strategy_total as f64)),
            (
                "max-parallel".into(),
                Value::Number(run.strategy_total as f64),
            ),
        ]),
    );
    ctx.insert(
        "runner",
        Value::Object(vec![
            ("os".into(), Value::String("Linux".into())),
            ("arch".into(), Value::String("X64".into())),
            ("name".into(), Value::String("slipway".into())),
            ("environment".into(), Value::String("self-hosted".into())),
            (
                "temp".into(),
                Value::String(temp.join("tmp").display().to_string()),
            ),
            (
                "tool_cache".into(),
                Value::String(temp.join("tool_cache").display().to_string()),
            ),
        ]),
    );

    // Workflow env (with --env overrides), then job env on top.
    let mut env: Vec<(String, String)> = Vec::new();
    let mut failed_setup: Option<String> = None;
    match eval_env(&shared.workflow.env, &ctx) {
        Ok(e) => env = e,
        Err(e) => failed_setup = Some(format!("workflow `env`: {e}")),
    }
    for (k, v) in &shared.env_overrides {
        set(&mut env, k, v);
    }
    ctx.insert("env", pairs_value(&env));
    match eval_env(&job.env, &ctx) {
        Ok(job_env) => {
            for (k, v) in job_env {
                set(&mut env, &k, &v);
            }
        }
        Err(e) => failed_setup = Some(format!("job `env`: {e}")),
    }
    ctx.insert("env", pairs_value(&env));
    ctx.insert(
        "job",
        Value::Object(vec![("status".into(), Value::String("success".into()))]),
    );
    ctx.insert("steps", Value::Object(Vec::new()));

    let mut state = JobState {
        ctx,
        env_added: Vec::new(),
        path_added: Vec::new(),
        steps_value: Vec::new(),
        failed: false,
        files_dir: temp.clone(),
        temp,
        nested_in: None,
        depth: 0,
        parked: false,
        defaults: std::sync::Arc::new(Vec::new()),
    };
    state.defaults = std::sync::Arc::new(default_env(&shared, job, &state.temp));
    let mut steps: Vec<StepSummary> = Vec::new();

    // The job's own timeout cancels its steps; the run's cancel does too.
    let job_cancel = run.cancel.child_token();
    let timeout = minutes(job.timeout_minutes.as_ref(), &state.ctx).unwrap_or(DEFAULT_JOB_TIMEOUT);
    let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = {
        let job_cancel = job_cancel.clone();
        let timed_out = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            job_cancel.cancel();
        })
    };

    // A protected environment: its branches, approvals and wait timer. A
    // job its environment holds back never starts: no step runs, not even
    // `always()` ones, as on GitHub.
    if let (None, Some(environment)) = (&failed_setup, &job.environment) {
        let passage =
            gates::environment(&shared, &run.key, environment, &mut state.ctx, &job_cancel).await;
        let conclusion = match passage {
            Passage::Open => None,
            Passage::Closed(why) => {
                shared.log(&run.key, None, LogLevel::Error, format!("error: {why}"));
                Some(Conclusion::Failure)
            }
            Passage::Parked => Some(Conclusion::Waiting),
            Passage::Cancelled if timed_out.load(std::sync::atomic::Ordering::SeqCst) => {
                shared.log(
                    &run.key,
                    None,
                    LogLevel::Error,
                    format!(
                        "the job exceeded its timeout of {} minutes waiting for its environment",
                        timeout.as_secs_f64() / 60.0
                    ),
                );
                Some(Conclusion::Failure)
            }
            Passage::Cancelled => Some(Conclusion::Cancelled),
        };
        if let Some(conclusion) = conclusion {
            timer.abort();
            return ended(&shared, run, state.temp, started, conclusion);
        }
    }

    // A job-level concurrency group: wait for it, or give way.
    let mut slot = None;
    if let (Some(concurrency), Some(gate)) = (&job.concurrency, &shared.gate) {
        match concurrency.group.template.eval(&state.ctx) {
            Ok(group) => {
                let group = group.to_display_string();
                let cancel_in_progress =
                    bool_or(concurrency.cancel_in_progress.as_ref(), &state.ctx);
                shared.log(
                    &run.key,
                    None,
                    LogLevel::Notice,
                    format!("concurrency group `{group}`"),
                );
                slot = gate
                    .0
                    .acquire(&group, cancel_in_progress, job_cancel.clone())
                    .await;
                if slot.is_none() {
                    shared.log(
                        &run.key,
                        None,
                        LogLevel::Warning,
                        format!("cancelled: a newer run or job took concurrency group `{group}`"),
                    );
                    timer.abort();
                    return ended(&shared, run, state.temp, started, Conclusion::Cancelled);
                }
            }
            Err(e) => failed_setup = Some(format!("`concurrency.group`: {}", e.message)),
        }
    }
    if let Some(message) = failed_setup {
        shared.log(&run.key, None, LogLevel::Error, format!("error: {message}"));
        state.failed = true;
    }
    for step in &job.steps {
        let summary = run_one_step(&shared, &run, job, step, &mut state, &job_cancel, &env).await;
        steps.push(summary);
        if state.parked {
            break;
        }
    }
    timer.abort();
    if let (Some(slot), Some(gate)) = (slot, &shared.gate) {
        gate.0.release(slot).await;
    }

    let cancelled =
        job_cancel.is_cancelled() && !timed_out.load(std::sync::atomic::Ordering::SeqCst);
    if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
        shared.log(
            &run.key,
            None,
            LogLevel::Error,
            format!(
                "the job exceeded its timeout of {} minutes",
                timeout.as_secs_f64() / 60.0
            ),
        );
        state.failed = true;
    }
    // What `actions/cache` steps asked to save, as GitHub's post step does:
    // only when the job succeeded.
    if !state.failed && !cancelled {
        for (level, line) in builtins::save_pending(&shared.run_dir, &state.temp) {
            shared.log(&run.key, None, level, line);
        }
    }
    let mut conclusion = if state.parked && !state.failed && !cancelled {
        Conclusion::Waiting
    } else if state.failed {
        Conclusion::Failure
    } else if cancelled {
        Conclusion::Cancelled
    } else {
        Conclusion::Success
    };
    if conclusion == Conclusion::Failure && bool_or(job.continue_on_error.as_ref(), &state.ctx) {
        shared.log(
            &run.key,
            None,
            LogLevel::Warning,
            "the job failed, but `continue-on-error` lets the run go on",
        );
        conclusion = Conclusion::Success;
    }

    // Outputs, evaluated once every step is done.
    let mut outputs = Vec::new();
    for (name, text) in &job.outputs {
        match text.template.eval(&state.ctx) {
            Ok(v) => outputs.push((name.value.clone(), v.to_display_string())),
            Err(e) => shared.log(
                &run.key,
                None,
                LogLevel::Warning,
                format!("output `{}` fails to evaluate: {}", name.value, e.message),
            ),
        }
    }
    shared.job_dirs.give_back(state.temp);
    let seconds = started.elapsed().as_secs_f64();
    let _ = shared.events.send(RunEvent::JobFinished {
        job: run.key.clone(),
        conclusion,
        seconds,
        outputs: outputs.clone(),
    });
    InstanceResult {
        job_index: run.job_index,
        key: run.key,
        conclusion,
        outputs,
        steps,
        seconds,
    }
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    match env.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value.to_string(),
        None => env.push((key.to_string(), value.to_string())),
    }
}

fn eval_env(env: &Env, ctx: &MapContexts) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, v) in env {
        let value = v
            .template
            .eval(ctx)
            .map_err(|e| format!("`{}`: {}", k.value, e.message))?;
        out.push((k.value.clone(), value.to_display_string()));
    }
    Ok(out)
}

fn eval_text(text: Option<&Text>, ctx: &MapContexts) -> Result<Option<String>, String> {
    match text {
        Some(t) => t
            .template
            .eval(ctx)
            .map(|v| Some(v.to_display_string()))
            .map_err(|e| e.message),
        None => Ok(None),
    }
}

/// `timeout-minutes` as a duration; None when absent, or an expression
/// that fails or does not give a positive number.
fn minutes(value: Option<&NumberOr>, ctx: &MapContexts) -> Option<Duration> {
    match value? {
        // The reader accepts only finite numbers of zero or more.
        NumberOr::Number(m) => Some(Duration::from_secs_f64(m * 60.0)),
        NumberOr::Expr(t) => {
            let m = t.template.eval(ctx).ok()?.to_number();
            (m.is_finite() && m > 0.0).then(|| Duration::from_secs_f64(m * 60.0))
        }
    }
}

fn bool_or(value: Option<&BoolOr>, ctx: &MapContexts) -> bool {
    match value {
        Some(BoolOr::Bool(b)) => *b,
        Some(BoolOr::Expr(t)) => t.template.eval(ctx).map(|v| v.is_truthy()).unwrap_or(false),
        None => false,
    }
}

/// The variables every step sees (GitHub's defaults).
fn default_env(shared: &Shared, job: &Job, temp: &Path) -> Vec<(String, String)> {
    let e = &shared.event;
    let github = e.github_context(Some(&job.id.value));
    let s = |k: &str| {
        github
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    vec![
        ("CI".into(), "true".into()),
        ("HOME".into(), home),
        ("GITHUB_ACTIONS".into(), "true".into()),
        (
            "GITHUB_WORKSPACE".into(),
            shared.workspace.display().to_string(),
        ),
        ("GITHUB_EVENT_NAME".into(), e.name.clone()),
        (
            "GITHUB_EVENT_PATH".into(),
            shared.event_path.display().to_string(),
        ),
        ("GITHUB_SHA".into(), e.sha.clone()),
        ("GITHUB_REF".into(), e.git_ref.clone()),
        ("GITHUB_REF_NAME".into(), e.ref_name().to_string()),
        ("GITHUB_REF_TYPE".into(), e.ref_type().to_string()),
        ("GITHUB_REF_PROTECTED".into(), "false".into()),
        ("GITHUB_HEAD_REF".into(), s("head_ref")),
        ("GITHUB_BASE_REF".into(), s("base_ref")),
        ("GITHUB_REPOSITORY".into(), e.repo.full_name.clone()),
        ("GITHUB_REPOSITORY_OWNER".into(), e.repo.owner().to_string()),
        ("GITHUB_ACTOR".into(), e.actor.clone()),
        ("GITHUB_TRIGGERING_ACTOR".into(), e.actor.clone()),
        ("GITHUB_RUN_ID".into(), shared.run_id.to_string()),
        ("GITHUB_RUN_NUMBER".into(), shared.run_id.to_string()),
        ("GITHUB_RUN_ATTEMPT".into(), "1".into()),
        ("GITHUB_JOB".into(), job.id.value.clone()),
        ("GITHUB_WORKFLOW".into(), shared.workflow.display_name()),
        (
            "GITHUB_WORKFLOW_REF".into(),
            format!(
                "{}/{}@{}",
                e.repo.full_name, shared.workflow.file, e.git_ref
            ),
        ),
        ("GITHUB_SERVER_URL".into(), e.repo.server_url.clone()),
        ("GITHUB_API_URL".into(), s("api_url")),
        ("GITHUB_GRAPHQL_URL".into(), s("graphql_url")),
        (
            "SLIPWAY_REPOSITORY".into(),
            shared.repository.display().to_string(),
        ),
        ("RUNNER_OS".into(), "Linux".into()),
        ("RUNNER_ARCH".into(), "X64".into()),
        ("RUNNER_NAME".into(), "slipway".into()),
        ("RUNNER_ENVIRONMENT".into(), "self-hosted".into()),
        ("RUNNER_TEMP".into(), temp.join("tmp").display().to_string()),
        (
            "RUNNER_TOOL_CACHE".into(),
            temp.join("tool_cache").display().to_string(),
        ),
    ]
}

struct Sink<'a> {
    shared: &'a Shared,
    job: &'a JobKey,
    step: usize,
}

impl LogSink for Sink<'_> {
    fn event(&mut self, event: LogEvent) {
        let (level, line) = match event {
            LogEvent::Line { text, .. } => (LogLevel::Output, text),
            LogEvent::GroupStart(title) => (LogLevel::Group, title),
            LogEvent::GroupEnd => return,
            LogEvent::Annotation(a) => {
                let level = match a.level {
                    slipway_exec::AnnotationLevel::Error => LogLevel::Error,
                    slipway_exec::AnnotationLevel::Warning => LogLevel::Warning,
                    slipway_exec::AnnotationLevel::Notice => LogLevel::Notice,
                    slipway_exec::AnnotationLevel::Debug => return,
                };
                let place = match (&a.file, a.line) {
                    (Some(f), Some(l)) => format!("{f}:{l}: "),
                    (Some(f), None) => format!("{f}: "),
                    _ => String::new(),
                };
                (level, format!("{place}{}", a.message))
            }
            LogEvent::Warning(w) => (LogLevel::Warning, w),
        };
        self.shared.log(self.job, Some(self.step), level, line);
    }
}

async fn run_one_step(
    shared: &Shared,
    run: &JobRun,
    job: &Job,
    step: &Step,
    state: &mut JobState,
    job_cancel: &CancellationToken,
    job_env: &[(String, String)],
) -> StepSummary {
    let started = Instant::now();
    let name = step
        .name
        .as_ref()
        .and_then(|t| {
            t.template
                .eval(&state.ctx)
                .ok()
                .map(|v| v.to_display_string())
        })
        .unwrap_or_else(|| step.display_name());
    let at = state.nested_in.unwrap_or(step.index);
    let cancelled = job_cancel.is_cancelled();
    state
        .ctx
        .set_status(StatusFunction::Success, !state.failed && !cancelled);
    state.ctx.set_status(StatusFunction::Failure, state.failed);
    state.ctx.set_status(StatusFunction::Cancelled, cancelled);
    let status = if cancelled {
        "cancelled"
    } else if state.failed {
        "failure"
    } else {
        "success"
    };
    state.ctx.insert(
        "job",
        Value::Object(vec![("status".into(), Value::String(status.into()))]),
    );

    // env: workflow + job (+ GITHUB_ENV) + step, visible to the step's own expressions.
    let mut env: Vec<(String, String)> = job_env.to_vec();
    for (k, v) in &state.env_added {
        set(&mut env, k, v);
    }
    state.ctx.insert("env", pairs_value(&env));
    let skip = |outcome: Conclusion| StepSummary {
        id: step.id.as_ref().map(|i| i.value.clone()),
        name: name.clone(),
        outcome,
        conclusion: outcome,
        outputs: Default::default(),
        seconds: 0.0,
    };
    match condition::holds(
        step.condition.as_ref(),
        &state.ctx,
        !state.failed && !cancelled,
    ) {
        Ok(true) => {}
        Ok(false) => {
            record_step(state, step, Conclusion::Skipped, Conclusion::Skipped, &[]);
            return skip(Conclusion::Skipped);
        }
        Err(message) => {
            shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                format!("error: the step's `if:` failed to evaluate: {message}"),
            );
            state.failed = true;
            record_step(state, step, Conclusion::Failure, Conclusion::Failure, &[]);
            return skip(Conclusion::Failure);
        }
    }
    if state.nested_in.is_some() {
        shared.log(&run.key, Some(at), LogLevel::Group, &name);
    } else {
        let _ = shared.events.send(RunEvent::StepStarted {
            job: run.key.clone(),
            step: at,
            name: name.clone(),
        });
    }
    match eval_env(&step.env, &state.ctx) {
        Ok(step_env) => {
            for (k, v) in step_env {
                set(&mut env, &k, &v);
            }
        }
        Err(e) => {
            return fail_step(
                shared,
                run,
                step,
                state,
                &name,
                started,
                format!("error: step `env`: {e}"),
            );
        }
    }
    state.ctx.insert("env", pairs_value(&env));

    let mut full_env = (*state.defaults).clone();
    for (k, v) in &env {
        set(&mut full_env, k, v);
    }
    let mut path = state.path_added.clone();
    path.push(shared.host_path.clone());
    set(&mut full_env, "PATH", &path.join(":"));

    let timeout = minutes(step.timeout_minutes.as_ref(), &state.ctx);
    let working_directory = match eval_text(
        step.working_directory
            .as_ref()
            .or(job.defaults.working_directory.as_ref())
            .or(shared.workflow.defaults.working_directory.as_ref()),
        &state.ctx,
    ) {
        Ok(Some(dir)) => shared.workspace.join(dir),
        Ok(None) => shared.workspace.clone(),
        Err(e) => {
            return fail_step(
                shared,
                run,
                step,
                state,
                &name,
                started,
                format!("error: `working-directory`: {e}"),
            );
        }
    };

    // A `run` script, or the script of an action that runs as a slipway
    // command (`slipway/deploy`): both run, and stream, alike.
    let script = match (&step.run, &step.uses) {
        (Some(script), _) => match script.template.eval(&state.ctx) {
            Ok(v) => Some(v.to_display_string()),
            Err(e) => {
                return fail_step(
                    shared,
                    run,
                    step,
                    state,
                    &name,
                    started,
                    format!("error: the script's expression failed: {}", e.message),
                );
            }
        },
        (None, Some(uses)) => {
            let made = eval_with(step, &state.ctx).and_then(|with| {
                builtins::command_script(&uses.value, &with, shared.slipway.as_deref()).transpose()
            });
            match made {
                Ok(script) => script,
                Err(e) => return fail_step(shared, run, step, state, &name, started, e),
            }
        }
        (None, None) => None,
    };
    let (ok, outputs) = if let Some(script) = script {
        let shell = eval_text(
            step.shell
                .as_ref()
                .or(job.defaults.shell.as_ref())
                .or(shared.workflow.defaults.shell.as_ref()),
            &state.ctx,
        )
        .ok()
        .flatten();
        // One set of environment files per job, emptied before each step:
        // creating five new files a step costs more than short steps do.
        let files = FileCommands::in_dir(&state.files_dir, 0);
        let command = StepCommand {
            script,
            shell,
            working_directory,
            env: full_env,
            timeout,
            temp_dir: state.temp.clone(),
        };
        let mut sink = Sink {
            shared,
            job: &run.key,
            step: at,
        };
        // A step that starts after cancellation (it asked for `always()` or
        // `cancelled()`) runs to its end: cancelling it again would defeat
        // its purpose. Its own `timeout-minutes` still bounds it.
        let token = if cancelled {
            CancellationToken::new()
        } else {
            job_cancel.clone()
        };
        let outcome = run_step(command, &files, &shared.masker, &mut sink, token).await;
        keep_summary(shared, &run.key, &outcome.summary);
        for (k, v) in &outcome.env {
            set(&mut state.env_added, k, v);
        }
        for p in &outcome.path {
            state.path_added.insert(0, p.clone());
        }
        match &outcome.reason {
            ExitReason::Exited(0) => {}
            ExitReason::Exited(code) => shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                format!("Process completed with exit code {code}."),
            ),
            ExitReason::Signaled(sig) => shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                format!("Process was killed by signal {sig}."),
            ),
            ExitReason::TimedOut => shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                "The step exceeded its timeout.",
            ),
            ExitReason::Cancelled => shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                "The step was cancelled.",
            ),
            ExitReason::FailedToStart(why) => shared.log(
                &run.key,
                Some(at),
                LogLevel::Error,
                format!("The step could not start: {why}"),
            ),
        }
        if matches!(outcome.reason, ExitReason::Cancelled) {
            return finish_step(
                shared,
                run,
                step,
                state,
                &name,
                Conclusion::Cancelled,
                outcome.outputs,
                started,
            );
        }
        (outcome.success(), outcome.outputs)
    } else if let Some(uses) = &step.uses {
        let with = match eval_with(step, &state.ctx) {
            Ok(with) => with,
            Err(e) => return fail_step(shared, run, step, state, &name, started, e),
        };
        if let slipway_workflow::workflow::ActionRef::Local(path) = &uses.value {
            let (ok, outputs) = Box::pin(run_local_action(
                shared, run, job, state, job_cancel, &env, path, &with, full_env, at,
            ))
            .await;
            return finish_step(
                shared,
                run,
                step,
                state,
                &name,
                if ok {
                    Conclusion::Success
                } else {
                    Conclusion::Failure
                },
                outputs,
                started,
            );
        }
        if builtins::is_manual_approval(&uses.value) {
            let timeout = minutes(step.timeout_minutes.as_ref(), &state.ctx);
            let (passage, lines) =
                gates::manual_approval(shared, &run.key, at, &with, timeout, job_cancel).await;
            for (level, line) in lines {
                shared.log(&run.key, Some(at), level, line);
            }
            let outcome = match passage {
                Passage::Open => Conclusion::Success,
                Passage::Closed(why) => {
                    shared.log(&run.key, Some(at), LogLevel::Error, format!("error: {why}"));
                    Conclusion::Failure
                }
                Passage::Cancelled => Conclusion::Cancelled,
                Passage::Parked => {
                    state.parked = true;
                    Conclusion::Waiting
                }
            };
            return finish_step(
                shared,
                run,
                step,
                state,
                &name,
                outcome,
                Vec::new(),
                started,
            );
        }
        let input = BuiltinInput {
            with,
            workspace: shared.workspace.clone(),
            temp: state.temp.join("tmp"),
            run_dir: shared.run_dir.clone(),
            env: full_env,
            sha: shared.event.sha.clone(),
            branch: shared
                .event
                .head_ref
                .clone()
                .unwrap_or_else(|| shared.event.ref_name().to_string()),
            repository: shared.event.repo.full_name.clone(),
            slipway: shared.slipway.clone(),
        };
        let result = builtins::run(&uses.value, &input);
        keep_summary(shared, &run.key, &result.summary);
        for (level, line) in &result.lines {
            shared.log(&run.key, Some(at), *level, line);
        }
        for (k, v) in &result.env {
            set(&mut state.env_added, k, v);
        }
        for p in &result.path {
            state.path_added.insert(0, p.clone());
        }
        (result.ok, result.outputs)
    } else {
        (false, Vec::new())
    };
    let outcome = if ok {
        Conclusion::Success
    } else {
        Conclusion::Failure
    };
    finish_step(shared, run, step, state, &name, outcome, outputs, started)
}

/// A step's `with:` inputs, evaluated.
fn eval_with(step: &Step, ctx: &MapContexts) -> Result<Vec<(String, String)>, String> {
    step.with
        .iter()
        .map(|(k, v)| {
            v.template
                .eval(ctx)
                .map(|value| (k.value.clone(), value.to_display_string()))
                .map_err(|e| format!("error: input `{}`: {}", k.value, e.message))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn finish_step(
    shared: &Shared,
    run: &JobRun,
    step: &Step,
    state: &mut JobState,
    name: &str,
    outcome: Conclusion,
    outputs: Vec<(String, String)>,
    started: Instant,
) -> StepSummary {
    let mut conclusion = outcome;
    if outcome == Conclusion::Failure && bool_or(step.continue_on_error.as_ref(), &state.ctx) {
        conclusion = Conclusion::Success;
    }
    if conclusion == Conclusion::Failure {
        state.failed = true;
    }
    record_step(state, step, outcome, conclusion, &outputs);
    let seconds = started.elapsed().as_secs_f64();
    if state.nested_in.is_some() {
        return StepSummary {
            id: step.id.as_ref().map(|i| i.value.clone()),
            name: name.to_string(),
            outcome,
            conclusion,
            outputs: to_map(&outputs),
            seconds,
        };
    }
    let _ = shared.events.send(RunEvent::StepFinished {
        job: run.key.clone(),
        step: step.index,
        outcome,
        conclusion,
        seconds,
    });
    StepSummary {
        id: step.id.as_ref().map(|i| i.value.clone()),
        name: name.to_string(),
        outcome,
        conclusion,
        outputs: to_map(&outputs),
        seconds,
    }
}

/// `steps.<id>` for the steps that follow.
fn record_step(
    state: &mut JobState,
    step: &Step,
    outcome: Conclusion,
    conclusion: Conclusion,
    outputs: &[(String, String)],
) {
    let Some(id) = &step.id else { return };
    state.steps_value.push((
        id.value.clone(),
        Value::Object(vec![
            ("outputs".into(), pairs_value(outputs)),
            ("outcome".into(), Value::String(outcome.as_str().into())),
            (
                "conclusion".into(),
                Value::String(conclusion.as_str().into()),
            ),
        ]),
    ));
    state
        .ctx
        .insert("steps", Value::Object(state.steps_value.clone()));
}

/// GitHub's `INPUT_<NAME>` variable for an action input.
fn input_var(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// `uses: ./path`: the action's `action.yml`, its inputs with defaults,
/// then its composite steps (in their own `inputs` and `steps` scope, their
/// GITHUB_ENV and GITHUB_PATH changes kept for the job) or its Node script.
#[allow(clippy::too_many_arguments)]
async fn run_local_action(
    shared: &Shared,
    run: &JobRun,
    job: &Job,
    state: &mut JobState,
    job_cancel: &CancellationToken,
    step_env: &[(String, String)],
    path: &str,
    with: &[(String, String)],
    full_env: Vec<(String, String)>,
    at: usize,
) -> (bool, Vec<(String, String)>) {
    use slipway_workflow::action::{read_action, ActionRuns};
    let fail = |line: String| {
        shared.log(&run.key, Some(at), LogLevel::Error, line);
        (false, Vec::new())
    };
    if state.depth >= 8 {
        return fail(format!("local actions nest more than 8 deep at `{path}`"));
    }
    let dir = shared.workspace.join(path.trim_start_matches("./"));
    let Some(file) = ["action.yml", "action.yaml"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return fail(format!(
            "`uses: {path}`: no action.yml or action.yaml in {}",
            dir.display()
        ));
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
    };
    let shown = format!(
        "{}/{}",
        path.trim_end_matches('/'),
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let source = slipway_workflow::SourceFile::new(shown, text);
    let action = match read_action(&source) {
        Ok(a) => a,
        Err(diags) => {
            for d in diags {
                for line in d.render(Some(&source)).lines() {
                    shared.log(&run.key, Some(at), LogLevel::Error, line);
                }
            }
            return (false, Vec::new());
        }
    };
    let mut inputs: Vec<(String, String)> = Vec::new();
    for input in &action.inputs {
        let given = with
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&input.name));
        let value = match (given, &input.default) {
            (Some((_, v)), _) => v.clone(),
            (None, Some(default)) => match default.template.eval(&state.ctx) {
                Ok(v) => v.to_display_string(),
                Err(e) => return fail(format!("default of input `{}`: {}", input.name, e.message)),
            },
            (None, None) if input.required => {
                return fail(format!(
                    "input `{}` is required by {path} and was not given",
                    input.name
                ))
            }
            (None, None) => String::new(),
        };
        inputs.push((input.name.clone(), value));
    }
    for (k, _) in with {
        if !action.inputs.iter().any(|i| i.name.eq_ignore_ascii_case(k)) {
            shared.log(
                &run.key,
                Some(at),
                LogLevel::Warning,
                format!("{path} has no input `{k}`; it is ignored"),
            );
        }
    }
    let action_path = dir.display().to_string();
    match &action.runs {
        ActionRuns::Composite(steps) => {
            let mut env = step_env.to_vec();
            set(&mut env, "GITHUB_ACTION_PATH", &action_path);
            let files_dir = state
                .files_dir
                .join(format!("action-{at}-{}", state.depth + 1));
            let _ = std::fs::create_dir_all(&files_dir);
            let mut sub = JobState {
                ctx: state.ctx.clone(),
                env_added: state.env_added.clone(),
                path_added: state.path_added.clone(),
                steps_value: Vec::new(),
                failed: false,
                temp: state.temp.clone(),
                files_dir,
                nested_in: Some(at),
                depth: state.depth + 1,
                parked: false,
                defaults: state.defaults.clone(),
            };
            sub.ctx.insert("inputs", pairs_value(&inputs));
            sub.ctx.insert("steps", Value::Object(Vec::new()));
            for inner in steps {
                Box::pin(run_one_step(
                    shared, run, job, inner, &mut sub, job_cancel, &env,
                ))
                .await;
            }
            let mut outputs = Vec::new();
            for (name, value) in &action.outputs {
                let Some(value) = value else { continue };
                match value.template.eval(&sub.ctx) {
                    Ok(v) => outputs.push((name.value.clone(), v.to_display_string())),
                    Err(e) => shared.log(
                        &run.key,
                        Some(at),
                        LogLevel::Warning,
                        format!("output `{}`: {}", name.value, e.message),
                    ),
                }
            }
            state.env_added = sub.env_added;
            state.path_added = sub.path_added;
            (!sub.failed, outputs)
        }
        ActionRuns::Node { main, .. } => {
            let mut env = full_env;
            set(&mut env, "GITHUB_ACTION_PATH", &action_path);
            for (k, v) in &inputs {
                set(&mut env, &input_var(k), v);
            }
            let files = FileCommands::in_dir(&state.files_dir, 0);
            let command = StepCommand {
                script: format!("exec node \"{}\"", dir.join(main).display()),
                shell: Some("bash".into()),
                working_directory: shared.workspace.clone(),
                env,
                timeout: None,
                temp_dir: state.temp.clone(),
            };
            let mut sink = Sink {
                shared,
                job: &run.key,
                step: at,
            };
            let outcome = run_step(
                command,
                &files,
                &shared.masker,
                &mut sink,
                job_cancel.clone(),
            )
            .await;
            for (k, v) in &outcome.env {
                set(&mut state.env_added, k, v);
            }
            for p in &outcome.path {
                state.path_added.insert(0, p.clone());
            }
            (outcome.success(), outcome.outputs)
        }
        ActionRuns::Unsupported(why) => fail(format!("{path}: {why}")),
    }
}

/// A step's `GITHUB_STEP_SUMMARY` (already masked), appended to its job's
/// summary kept with the run: `.slipway/runs/<id>/summaries/<job>.md`.
fn keep_summary(shared: &Shared, job: &JobKey, summary: &str) {
    if summary.trim().is_empty() {
        return;
    }
    use std::io::Write;
    let dir = shared.run_dir.join("summaries");
    let name = job.file_name();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{name}.md")))
        })
        .and_then(|mut f| writeln!(f, "{}", summary.trim_end()));
    if let Err(e) = written {
        shared.log(
            job,
            None,
            LogLevel::Warning,
            format!("cannot keep the step summary: {e}"),
        );
    }
}

/// Log why a step failed before it could run, and finish it as failed.
fn fail_step(
    shared: &Shared,
    run: &JobRun,
    step: &Step,
    state: &mut JobState,
    name: &str,
    started: Instant,
    message: String,
) -> StepSummary {
    let at = state.nested_in.unwrap_or(step.index);
    shared.log(&run.key, Some(at), LogLevel::Error, message);
    finish_step(
        shared,
        run,
        step,
        state,
        name,
        Conclusion::Failure,
        Vec::new(),
        started,
    )
}
