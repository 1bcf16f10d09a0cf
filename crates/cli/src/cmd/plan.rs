//! `slipway plan`: which workflows an event triggers and what each job does.

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;
use slipway_workflow::plan::{plan_workflow, Decision, WorkflowPlan};

use crate::event_args::EventArgs;
use crate::output::{print_json, Format};
use crate::workflows;
use crate::Exit;

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files [default: every file in .github/workflows]
    workflows: Vec<PathBuf>,
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    event: EventArgs,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct EventSummary<'a> {
    name: &'a str,
    #[serde(rename = "ref")]
    git_ref: &'a str,
    sha: &'a str,
    base_ref: Option<&'a str>,
    head_ref: Option<&'a str>,
    action: Option<&'a str>,
    changed_files: Option<&'a [String]>,
}

#[derive(Serialize)]
struct PlanOutput<'a> {
    event: EventSummary<'a>,
    workflows: Vec<WorkflowPlan>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = workflows::load(&args.dir, &args.workflows)?;
    if loaded.error_count() > 0 {
        eprint!("{}", loaded.render(&loaded.diagnostics));
        eprintln!(
            "error: {} in the workflow files; nothing was planned",
            plural(loaded.error_count(), "error")
        );
        return Err(Exit(slipway_model::exit::INVALID).into());
    }
    let mut notes = Vec::new();
    let event = args.event.build(&args.dir, &mut notes)?;
    for note in &notes {
        eprintln!("note: {note}");
    }
    let plans: Vec<WorkflowPlan> = loaded
        .workflows
        .iter()
        .map(|wf| {
            let mut plan = plan_workflow(wf, &event);
            // Name the actions `run` could not execute, before anything starts.
            let unrunnable = crate::cmd::lint::unrunnable_actions(wf);
            for job in &mut plan.jobs {
                let Some(j) = wf.job(&job.id) else { continue };
                for d in &unrunnable {
                    if j.steps
                        .iter()
                        .any(|s| s.uses.as_ref().is_some_and(|u| u.span == d.span))
                    {
                        job.notes.push(format!("line {}: {}", d.line, d.message));
                    }
                }
            }
            plan
        })
        .collect();
    match args.format {
        Format::Json => print_json(&PlanOutput {
            event: EventSummary {
                name: &event.name,
                git_ref: &event.git_ref,
                sha: &event.sha,
                base_ref: event.base_ref.as_deref(),
                head_ref: event.head_ref.as_deref(),
                action: event.action.as_deref(),
                changed_files: event.changed_files.as_deref(),
            },
            workflows: plans,
        }),
        Format::Text => {
            let header = format!(
                "{} on {} at {}",
                event.name,
                event.git_ref,
                &event.sha[..event.sha.len().min(7)]
            );
            print!("{}", render(&header, &plans));
            Ok(())
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The plan as people read it: per workflow, jobs grouped by stage.
pub fn render(header: &str, plans: &[WorkflowPlan]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan for {header}\n");
    for plan in plans {
        let _ = writeln!(out, "{}  ({})", plan.name, plan.file);
        if !plan.triggered {
            let _ = writeln!(out, "  not triggered: {}\n", plan.reason);
            continue;
        }
        let _ = writeln!(out, "  triggered: {}", plan.reason);
        let id_width = plan
            .jobs
            .iter()
            .map(|j| j.id.chars().count())
            .max()
            .unwrap_or(0);
        let name_width = plan
            .jobs
            .iter()
            .map(|j| j.name.chars().count())
            .max()
            .unwrap_or(0);
        let last_stage = plan.jobs.iter().map(|j| j.stage).max().unwrap_or(0);
        for stage in 0..=last_stage {
            let jobs: Vec<_> = plan.jobs.iter().filter(|j| j.stage == stage).collect();
            if jobs.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n  stage {}", stage + 1);
            for job in jobs {
                let _ = writeln!(
                    out,
                    "    {:<11} {:<id_width$}  {:<name_width$}  {}",
                    job.decision.as_str(),
                    job.id,
                    job.name,
                    job.reason,
                );
                if let Some(env) = &job.environment {
                    let _ = writeln!(out, "    {:<11} {:<id_width$}  environment: {env}", "", "");
                }
                for note in &job.notes {
                    let _ = writeln!(out, "    {:<11} {:<id_width$}  note: {note}", "", "");
                }
            }
        }
        let count = |d: Decision| plan.jobs.iter().filter(|j| j.decision == d).count();
        let _ = writeln!(
            out,
            "\n  {} run, {} skipped, {} conditional\n",
            plural(count(Decision::Run), "job"),
            count(Decision::Skip),
            count(Decision::Conditional)
        );
    }
    let triggered = plans.iter().filter(|p| p.triggered).count();
    let _ = writeln!(
        out,
        "{triggered} of {} triggered",
        plural(plans.len(), "workflow")
    );
    out
}
