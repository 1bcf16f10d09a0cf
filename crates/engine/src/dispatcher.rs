//! The dispatcher: the one owner of a run's state. It decides which jobs
//! run, expands matrices once what they need is known, starts instances up
//! to the parallel limit, and records what each reports back.

use std::collections::VecDeque;
use std::time::Instant;

use slipway_expr::{MapContexts, StatusFunction, Value};
use slipway_model::{Conclusion, JobKey, RunEvent};
use slipway_workflow::matrix::{self, Combination, Dimension, Matrix};
use slipway_workflow::workflow::{BoolOr, Data, Job, NumberOr};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::condition;
use crate::job::{self, InstanceResult, JobRun};
use crate::spec::RunSpec;
use crate::summary::{to_map, JobSummary, RunSummary};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Started,
    Done,
}

struct JobState {
    state: State,
    conclusion: Conclusion,
    /// This job and all its ancestors succeeded (for `success()`).
    clean: bool,
    /// This job or an ancestor failed (for `failure()`).
    tainted: bool,
    outputs: Vec<(String, String)>,
    /// Instances not yet finished.
    open: usize,
    /// Cancels the job's instances when one fails and fail-fast is on.
    fail_fast: Option<CancellationToken>,
    max_parallel: usize,
    running: usize,
    results: Vec<InstanceResult>,
    /// A job done before this process (`RunSpec::prior`), as recorded.
    prior: Vec<JobSummary>,
}

struct Instance {
    job: usize,
    key: JobKey,
    matrix: Option<Value>,
    index: usize,
    total: usize,
}

/// Run a workflow to its end (or cancellation) and return the summary.
/// Events stream to `events` as they happen.
pub async fn run(
    spec: RunSpec,
    events: mpsc::UnboundedSender<RunEvent>,
    cancel: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let wf = &spec.workflow;
    // The CLI checked --job names before starting; nothing selected runs nothing.
    let selected = spec.selected().unwrap_or_default();
    let mut jobs: Vec<JobState> = wf
        .jobs
        .iter()
        .enumerate()
        .map(|(i, _)| JobState {
            state: if selected.contains(&i) {
                State::Waiting
            } else {
                State::Done
            },
            conclusion: Conclusion::Skipped,
            clean: false,
            tainted: false,
            outputs: Vec::new(),
            open: 0,
            fail_fast: None,
            max_parallel: usize::MAX,
            running: 0,
            results: Vec::new(),
            prior: Vec::new(),
        })
        .collect();
    let order = slipway_workflow::graph::topological_order(wf);
    // Jobs done before (a resumed run) or left out (`--skip-needs`) count
    // as they ended; needs are done before their dependents, in this order.
    for &i in &order {
        if let Some(prior) = spec.prior.iter().find(|p| p.id == wf.jobs[i].id.value) {
            let state = &mut jobs[i];
            state.state = State::Done;
            state.conclusion = prior.conclusion;
            state.outputs = prior.outputs.clone();
            state.prior = prior.summaries.clone();
            mark_lineage(wf, &mut jobs, i);
        }
    }
    // Set when a job is parked at an approval gate and the run is not to
    // wait for it: nothing new starts, and the run ends `waiting`.
    let mut parked = false;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<InstanceResult>();
    let mut queue: VecDeque<Instance> = VecDeque::new();
    let mut running = 0usize;
    let parallel = spec.parallel.max(1);
    let shared = std::sync::Arc::new(job::Shared::new(&spec, events.clone()));

    loop {
        // Decide every waiting job whose needs are all done.
        for &i in &order {
            if parked
                || jobs[i].state != State::Waiting
                || !wf.jobs[i]
                    .needs
                    .iter()
                    .all(|&n| jobs[n].state == State::Done)
            {
                continue;
            }
            let job = &wf.jobs[i];
            let ctx = job_contexts(&spec, &jobs, job, cancel.is_cancelled());
            let success = ancestors_succeeded(wf, &jobs, i);
            let runs = condition::holds(
                job.condition.as_ref(),
                &ctx,
                success && !cancel.is_cancelled(),
            );
            let key = JobKey {
                id: job.id.value.clone(),
                name: job.display_name(),
                matrix: None,
            };
            match runs {
                Ok(true) => {}
                Ok(false) => {
                    let conclusion = if cancel.is_cancelled() {
                        Conclusion::Cancelled
                    } else {
                        Conclusion::Skipped
                    };
                    finish_unstarted(&mut jobs[i], &key, conclusion, &events);
                    mark_lineage(wf, &mut jobs, i);
                    continue;
                }
                Err(message) => {
                    let _ = events.send(RunEvent::Log {
                        job: key.clone(),
                        step: None,
                        line: format!("error: the job's `if:` failed to evaluate: {message}"),
                        level: slipway_model::LogLevel::Error,
                    });
                    finish_unstarted(&mut jobs[i], &key, Conclusion::Failure, &events);
                    mark_lineage(wf, &mut jobs, i);
                    continue;
                }
            }
            match expand(job, &ctx) {
                Ok(combos) => {
                    let total = combos.len();
                    jobs[i].state = State::Started;
                    jobs[i].open = total;
                    let fail_fast = match job.strategy.as_ref().and_then(|s| s.fail_fast.as_ref()) {
                        Some(BoolOr::Bool(b)) => *b,
                        Some(BoolOr::Expr(t)) => {
                            t.template.eval(&ctx).map(|v| v.is_truthy()).unwrap_or(true)
                        }
                        None => true,
                    };
                    if fail_fast && total > 1 {
                        jobs[i].fail_fast = Some(cancel.child_token());
                    }
                    jobs[i].max_parallel =
                        match job.strategy.as_ref().and_then(|s| s.max_parallel.as_ref()) {
                            Some(NumberOr::Number(n)) if *n >= 1.0 => *n as usize,
                            Some(NumberOr::Expr(t)) => t
                                .template
                                .eval(&ctx)
                                .map(|v| v.to_number())
                                .ok()
                                .filter(|n| *n >= 1.0)
                                .map(|n| n as usize)
                                .unwrap_or(usize::MAX),
                            _ => usize::MAX,
                        };
                    for (index, combo) in combos.into_iter().enumerate() {
                        let (name, matrix) = match combo {
                            Some(c) => (instance_name(job, &ctx, &c), Some(Value::Object(c))),
                            None => (job.display_name(), None),
                        };
                        queue.push_back(Instance {
                            job: i,
                            key: JobKey {
                                id: job.id.value.clone(),
                                name,
                                matrix: matrix.as_ref().map(|m| m.to_json().to_string()),
                            },
                            matrix,
                            index,
                            total,
                        });
                    }
                }
                Err(message) => {
                    let _ = events.send(RunEvent::Log {
                        job: key.clone(),
                        step: None,
                        line: format!("error: {message}"),
                        level: slipway_model::LogLevel::Error,
                    });
                    finish_unstarted(&mut jobs[i], &key, Conclusion::Failure, &events);
                    mark_lineage(wf, &mut jobs, i);
                }
            }
        }

        // Start instances while there is room.
        let mut waiting = VecDeque::new();
        while let Some(instance) = queue.pop_front() {
            if parked {
                waiting.push_back(instance);
                continue;
            }
            let state = &mut jobs[instance.job];
            let fail_fast_hit = state.fail_fast.as_ref().is_some_and(|t| t.is_cancelled());
            if fail_fast_hit || cancel.is_cancelled() {
                // Never started: cancelled by fail-fast or by the user.
                let _ = events.send(RunEvent::JobFinished {
                    job: instance.key.clone(),
                    conclusion: Conclusion::Cancelled,
                    seconds: 0.0,
                    outputs: Vec::new(),
                });
                state.results.push(InstanceResult::unstarted(
                    instance.key,
                    Conclusion::Cancelled,
                ));
                state.open -= 1;
                continue;
            }
            if running >= parallel || state.running >= state.max_parallel {
                waiting.push_back(instance);
                continue;
            }
            running += 1;
            state.running += 1;
            let token = state
                .fail_fast
                .clone()
                .unwrap_or_else(|| cancel.child_token());
            let run = JobRun {
                job_index: instance.job,
                key: instance.key,
                matrix: instance.matrix,
                strategy_index: instance.index,
                strategy_total: instance.total,
                needs: needs_value(wf, &jobs, &wf.jobs[instance.job]),
                cancel: token,
            };
            let shared = shared.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                let result = job::run_instance(shared, run).await;
                let _ = done.send(result);
            });
        }
        queue = waiting;

        // Close jobs whose instances are all done.
        for i in 0..jobs.len() {
            if jobs[i].state == State::Started && jobs[i].open == 0 {
                close_job(&mut jobs[i]);
                mark_lineage(wf, &mut jobs, i);
            }
        }
        if running == 0 && parked {
            break;
        }
        if running == 0 && queue.is_empty() {
            if jobs.iter().all(|j| j.state == State::Done) {
                break;
            }
            // Jobs left waiting can only be waiting on each other: decide them next round.
            if !jobs.iter().any(|j| j.state == State::Waiting) {
                break;
            }
            continue;
        }
        // Wait for an instance to finish, or for cancellation.
        tokio::select! {
            Some(result) = done_rx.recv() => {
                running -= 1;
                let state = &mut jobs[result.job_index];
                state.running -= 1;
                state.open -= 1;
                if result.conclusion == Conclusion::Failure {
                    if let Some(token) = &state.fail_fast {
                        token.cancel();
                    }
                }
                if result.conclusion == Conclusion::Waiting {
                    parked = true;
                }
                state.results.push(result);
            }
            _ = cancel.cancelled(), if !cancel.is_cancelled() => {}
        }
    }

    let mut summaries = Vec::new();
    for &i in &order {
        let state = &jobs[i];
        if !selected.contains(&i) {
            continue;
        }
        if spec.prior.iter().any(|p| p.id == wf.jobs[i].id.value) {
            // Recorded by the process that ran it; nothing for a job left out.
            summaries.extend(state.prior.iter().cloned());
            continue;
        }
        // Jobs a parked run did not get to are still to run.
        let unfinished = parked && state.state != State::Done;
        if state.results.is_empty() {
            summaries.push(JobSummary {
                id: wf.jobs[i].id.value.clone(),
                name: wf.jobs[i].display_name(),
                matrix: None,
                conclusion: if unfinished {
                    Conclusion::Waiting
                } else {
                    state.conclusion
                },
                outputs: Default::default(),
                seconds: 0.0,
                steps: Vec::new(),
            });
        }
        for r in &state.results {
            summaries.push(JobSummary {
                id: r.key.id.clone(),
                name: r.key.name.clone(),
                matrix: r
                    .key
                    .matrix
                    .as_ref()
                    .and_then(|m| serde_json::from_str(m).ok()),
                conclusion: r.conclusion,
                outputs: to_map(&r.outputs),
                seconds: r.seconds,
                steps: r.steps.clone(),
            });
        }
    }
    let conclusion = if cancel.is_cancelled() {
        Conclusion::Cancelled
    } else if parked {
        Conclusion::Waiting
    } else if summaries
        .iter()
        .any(|j| j.conclusion == Conclusion::Failure)
    {
        Conclusion::Failure
    } else if summaries
        .iter()
        .any(|j| j.conclusion == Conclusion::Cancelled)
    {
        Conclusion::Cancelled
    } else {
        Conclusion::Success
    };
    let seconds = started.elapsed().as_secs_f64();
    let _ = events.send(RunEvent::RunFinished {
        conclusion,
        seconds,
    });
    RunSummary {
        run_id: spec.run_id,
        conclusion,
        jobs: summaries,
    }
}

fn finish_unstarted(
    state: &mut JobState,
    key: &JobKey,
    conclusion: Conclusion,
    events: &mpsc::UnboundedSender<RunEvent>,
) {
    state.state = State::Done;
    state.conclusion = conclusion;
    let _ = events.send(RunEvent::JobFinished {
        job: key.clone(),
        conclusion,
        seconds: 0.0,
        outputs: Vec::new(),
    });
}

/// A job's result from its instances: failure if any failed, else
/// cancelled if any was, else success (skipped when none ran).
fn close_job(state: &mut JobState) {
    let results = &state.results;
    state.conclusion = if results.iter().any(|r| r.conclusion == Conclusion::Failure) {
        Conclusion::Failure
    } else if results.iter().any(|r| r.conclusion == Conclusion::Waiting) {
        Conclusion::Waiting
    } else if results
        .iter()
        .any(|r| r.conclusion == Conclusion::Cancelled)
    {
        Conclusion::Cancelled
    } else if results.iter().all(|r| r.conclusion == Conclusion::Skipped) {
        Conclusion::Skipped
    } else {
        Conclusion::Success
    };
    // Matrix outputs merge; a later instance's value wins, as on GitHub.
    let mut outputs: Vec<(String, String)> = Vec::new();
    for r in results {
        for (k, v) in &r.outputs {
            match outputs.iter_mut().find(|(ok, _)| ok == k) {
                Some(slot) => slot.1 = v.clone(),
                None => outputs.push((k.clone(), v.clone())),
            }
        }
    }
    state.outputs = outputs;
    state.state = State::Done;
}

/// Every need succeeded, and so did all of theirs.
fn ancestors_succeeded(wf: &slipway_workflow::Workflow, jobs: &[JobState], i: usize) -> bool {
    wf.jobs[i].needs.iter().all(|&n| jobs[n].clean)
}

fn any_ancestor_failed(wf: &slipway_workflow::Workflow, jobs: &[JobState], i: usize) -> bool {
    wf.jobs[i].needs.iter().any(|&n| jobs[n].tainted)
}

/// Record `clean` and `tainted` once a job is done, from its needs' (which
/// are done before it), so status checks never walk the whole graph.
fn mark_lineage(wf: &slipway_workflow::Workflow, jobs: &mut [JobState], i: usize) {
    let clean = jobs[i].conclusion == Conclusion::Success && ancestors_succeeded(wf, jobs, i);
    let tainted = jobs[i].conclusion == Conclusion::Failure || any_ancestor_failed(wf, jobs, i);
    jobs[i].clean = clean;
    jobs[i].tainted = tainted;
}

/// `needs` as the expression context sees it: id -> {result, outputs}.
fn needs_value(wf: &slipway_workflow::Workflow, jobs: &[JobState], job: &Job) -> Value {
    Value::Object(
        job.needs
            .iter()
            .map(|&n| {
                let outputs = Value::Object(
                    jobs[n]
                        .outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                );
                (
                    wf.jobs[n].id.value.clone(),
                    Value::Object(vec![
                        (
                            "result".into(),
                            Value::String(jobs[n].conclusion.as_str().into()),
                        ),
                        ("outputs".into(), outputs),
                    ]),
                )
            })
            .collect(),
    )
}

/// Contexts for a job's `if:`, `strategy` and name.
fn job_contexts(spec: &RunSpec, jobs: &[JobState], job: &Job, cancelled: bool) -> MapContexts {
    let wf = &spec.workflow;
    let index = wf
        .jobs
        .iter()
        .position(|j| j.id.value == job.id.value)
        .unwrap_or(0);
    let mut ctx = MapContexts::default();
    ctx.insert(
        "github",
        Value::from_json(&spec.event.github_context(Some(&job.id.value))),
    );
    ctx.insert(
        "inputs",
        Value::from_json(
            &spec.event.inputs_context(
                wf.on
                    .get(&spec.event.name)
                    .map(|t| t.inputs.as_slice())
                    .unwrap_or(&[]),
            ),
        ),
    );
    ctx.insert("vars", pairs_value(&spec.vars));
    ctx.insert("needs", needs_value(wf, jobs, job));
    ctx.set_status(
        StatusFunction::Success,
        ancestors_succeeded(wf, jobs, index) && !cancelled,
    );
    ctx.set_status(
        StatusFunction::Failure,
        any_ancestor_failed(wf, jobs, index),
    );
    ctx.set_status(StatusFunction::Cancelled, cancelled);
    ctx
}

pub(crate) fn pairs_value(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Matrix combinations (None for a job without a matrix).
fn expand(job: &Job, ctx: &MapContexts) -> Result<Vec<Option<Combination>>, String> {
    let Some(matrix) = job.strategy.as_ref().and_then(|s| s.matrix.as_ref()) else {
        return Ok(vec![None]);
    };
    let eval_data = |d: &Data| -> Result<Value, String> { data_value(d, ctx) };
    let (dimensions, include, exclude) = match matrix {
        Matrix::Expr(text) => {
            let v = text
                .template
                .eval(ctx)
                .map_err(|e| format!("the matrix expression fails: {}", e.message))?;
            let Value::Object(entries) = v else {
                return Err(format!(
                    "the matrix expression gives {}, not an object",
                    v.kind()
                ));
            };
            let mut dims = Vec::new();
            let mut include = Vec::new();
            let mut exclude = Vec::new();
            for (k, v) in entries {
                match (k.as_str(), v) {
                    ("include", v) => include = combos(&v)?,
                    ("exclude", v) => exclude = combos(&v)?,
                    (_, Value::Array(items)) => dims.push((k, items)),
                    (_, other) => {
                        return Err(format!(
                            "matrix dimension `{k}` is {}, not a list",
                            other.kind()
                        ))
                    }
                }
            }
            (dims, include, exclude)
        }
        Matrix::Map {
            dimensions,
            include,
            exclude,
            ..
        } => {
            let mut dims = Vec::new();
            for (name, dim) in dimensions {
                let v = match dim {
                    Dimension::Values(values) => eval_data(&Data::Seq(values.clone()))?,
                    Dimension::Expr(text) => text.template.eval(ctx).map_err(|e| e.message)?,
                };
                match v {
                    Value::Array(items) => dims.push((name.value.clone(), items)),
                    other => {
                        return Err(format!(
                            "matrix dimension `{}` is {}, not a list",
                            name.value,
                            other.kind()
                        ))
                    }
                }
            }
            let include = match include {
                Some(d) => combos(&eval_data(&d.value)?)?,
                None => Vec::new(),
            };
            let exclude = match exclude {
                Some(d) => combos(&eval_data(&d.value)?)?,
                None => Vec::new(),
            };
            (dims, include, exclude)
        }
    };
    matrix::expand(&dimensions, &include, &exclude)
        .map(|c| c.into_iter().map(Some).collect())
        .map_err(|e| e.to_string())
}

fn combos(v: &Value) -> Result<Vec<Combination>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(e) => Ok(e.clone()),
                other => Err(format!(
                    "a matrix include/exclude entry is {}, not an object",
                    other.kind()
                )),
            })
            .collect(),
        other => Err(format!(
            "matrix include/exclude is {}, not a list",
            other.kind()
        )),
    }
}

pub(crate) fn data_value(d: &Data, ctx: &MapContexts) -> Result<Value, String> {
    Ok(match d {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => Value::Number(*n),
        Data::Str(t) => t.template.eval(ctx).map_err(|e| e.message)?,
        Data::Seq(items) => Value::Array(
            items
                .iter()
                .map(|i| data_value(i, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Data::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), data_value(v, ctx)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// `name (a, b)` unless the job's name uses the matrix itself.
fn instance_name(job: &Job, ctx: &MapContexts, combo: &Combination) -> String {
    let mut ctx = ctx.clone();
    ctx.insert("matrix", Value::Object(combo.clone()));
    match &job.name {
        Some(text) if text.raw.contains("matrix") => text
            .template
            .eval(&ctx)
            .map(|v| v.to_display_string())
            .unwrap_or_else(|_| text.raw.clone()),
        _ => {
            let values: Vec<String> = combo
                .iter()
                .map(|(_, v)| match v {
                    Value::Array(_) | Value::Object(_) => v.to_json().to_string(),
                    other => other.to_display_string(),
                })
                .collect();
            format!("{} ({})", job.display_name(), values.join(", "))
        }
    }
}
