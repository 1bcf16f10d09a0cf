//! `slipway approve`, `slipway reject`, `slipway resume`, and the
//! approval gates `runs --waiting` and `show` print.

use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};
use slipway_model::Conclusion;
use slipway_store::approvals::GateRow;
use slipway_store::SqliteStore;

use crate::cmd::history::{get, open, runtime};
use crate::history::{alive, now_ms};
use crate::output::{print_json, Format};
use crate::UsageError;

#[derive(clap::Args)]
pub struct DecideArgs {
    /// The run id (from `slipway runs --waiting`)
    run: i64,
    /// The job waiting, when the run waits on several
    #[arg(long, value_name = "ID")]
    job: Option<String>,
    /// Who decides (must be one of the gate's approvers)
    #[arg(long = "as", value_name = "USER")]
    user: String,
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
pub struct ResumeArgs {
    /// The run id (from `slipway runs`): one left waiting, or interrupted
    run: i64,
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// At an approval gate, stop again (exit 3) instead of waiting
    #[arg(long)]
    no_wait: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn approve(args: DecideArgs) -> anyhow::Result<()> {
    decide(args, true)
}

pub fn reject(args: DecideArgs) -> anyhow::Result<()> {
    decide(args, false)
}

fn refuse(message: String) -> anyhow::Error {
    UsageError(message).into()
}

fn decide(args: DecideArgs, approve: bool) -> anyhow::Result<()> {
    let verb = if approve { "approve" } else { "reject" };
    let (gate, decisions) = runtime()?.block_on(async {
        let store = open(&args.dir).await?;
        let run = get(&store, args.run).await?;
        let waiting: Vec<GateRow> = store
            .run_gates(run.id)
            .await?
            .into_iter()
            .filter(|g| g.state == "waiting")
            .filter(|g| args.job.as_ref().is_none_or(|j| *j == g.job_id))
            .collect();
        if !matches!(run.status.as_str(), "waiting" | "running") || waiting.is_empty() {
            let what = match &args.job {
                Some(job) => format!("run {} is not waiting for approval of job `{job}`", run.id),
                None => format!("run {} is not waiting for approval", run.id),
            };
            return Err(refuse(format!(
                "{what} (it is {}); `slipway runs --waiting` lists what is",
                run.status
            )));
        }
        if waiting.len() > 1 {
            let jobs: Vec<&str> = waiting.iter().map(|g| g.job_id.as_str()).collect();
            return Err(refuse(format!(
                "run {} waits on several jobs ({}); say which with --job",
                run.id,
                jobs.join(", ")
            )));
        }
        let gate = waiting.into_iter().next().expect("one gate");
        if !gate.approvers.contains(&args.user) {
            return Err(refuse(format!(
                "{} may not {verb} {}: the approvers are {}",
                args.user,
                gate.title,
                gate.approvers.join(", ")
            )));
        }
        if gate.excluded.as_deref() == Some(args.user.as_str()) {
            let rule = if gate.environment.is_some() {
                format!(
                    "environment `{}` does not allow self-review",
                    gate.environment.as_deref().unwrap_or("")
                )
            } else {
                "the step excludes the workflow's initiator".to_string()
            };
            return Err(refuse(format!(
                "{} started this run, and {rule}; another approver must {verb} it",
                args.user
            )));
        }
        let earlier = store.approvals(gate.id).await?;
        if let Some(d) = earlier.iter().find(|d| d.user == args.user) {
            let did = if d.decision == "approve" {
                "approved"
            } else {
                "rejected"
            };
            return Err(refuse(format!(
                "{} has already {did} {} of run {}; each approver counts once",
                args.user, gate.title, run.id
            )));
        }
        let recorded = store
            .decide(
                gate.id,
                &args.user,
                approve,
                args.comment.as_deref(),
                now_ms(),
            )
            .await?;
        if !recorded {
            return Err(refuse(format!(
                "{} of run {} was decided meanwhile; nothing recorded",
                gate.title, run.id
            )));
        }
        let gate = store.gate(gate.id).await?.unwrap_or(gate);
        let decisions = store.approvals(gate.id).await?;
        anyhow::Ok((gate, decisions))
    })?;
    let approvals = decisions.iter().filter(|d| d.decision == "approve").count();
    match args.format {
        Format::Json => print_json(&json!({
            "run_id": gate.run_id,
            "job": gate.job_id,
            "gate": gate.gate,
            "decision": verb,
            "by": args.user,
            "approvals": approvals,
            "required": gate.required,
            "state": gate.state,
        })),
        Format::Text => {
            let what = if approve { "approved" } else { "rejected" };
            let then = match gate.state.as_str() {
                "approved" => "the job goes on".to_string(),
                "rejected" => "the job fails".to_string(),
                _ => format!("{} more needed", gate.required - approvals as i64),
            };
            println!(
                "run {}, {}: {what} by {} ({approvals} of {} approvals); {then}",
                gate.run_id, gate.title, args.user, gate.required
            );
            Ok(())
        }
    }
}

/// Gates of a run with their decisions, for `show --format json`.
pub async fn gates_json(store: &SqliteStore, run_id: i64) -> anyhow::Result<Json> {
    let mut out = Vec::new();
    for g in store.run_gates(run_id).await? {
        let decisions: Vec<Json> = store
            .approvals(g.id)
            .await?
            .into_iter()
            .map(|d| json!({"user": d.user, "decision": d.decision, "comment": d.comment, "at": d.at}))
            .collect();
        out.push(gate_json(&g, decisions));
    }
    Ok(Json::Array(out))
}

fn gate_json(g: &GateRow, decisions: Vec<Json>) -> Json {
    json!({
        "run_id": g.run_id, "job": g.job_id, "job_name": g.job_name, "gate": g.gate,
        "title": g.title, "environment": g.environment, "url": g.url,
        "approvers": g.approvers, "required": g.required, "excluded": g.excluded,
        "state": g.state, "created_at": g.created_at, "deadline": g.deadline,
        "decisions": decisions,
    })
}

/// `show`'s approvals section.
pub fn print_gates(gates: &Json) {
    let gates = gates.as_array().map(Vec::as_slice).unwrap_or(&[]);
    if gates.is_empty() {
        return;
    }
    println!("\napprovals:");
    for g in gates {
        println!(
            "  {} ({}, {}): {}, {} required",
            g["title"].as_str().unwrap_or(""),
            g["job"].as_str().unwrap_or(""),
            g["gate"].as_str().unwrap_or(""),
            g["state"].as_str().unwrap_or(""),
            g["required"]
        );
        for d in g["decisions"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let comment = d["comment"]
                .as_str()
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            println!(
                "    {} by {} at {}{comment}",
                if d["decision"] == "approve" {
                    "approved"
                } else {
                    "rejected"
                },
                d["user"].as_str().unwrap_or(""),
                time(d["at"].as_i64().unwrap_or(0))
            );
        }
    }
}

/// UTC `YYYY-MM-DD HH:MM:SS` from milliseconds since the epoch.
fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `runs --waiting`.
pub fn list_waiting(dir: &Path, format: Format) -> anyhow::Result<()> {
    let gates = runtime()?.block_on(async {
        let store = open(dir).await?;
        let mut out = Vec::new();
        for g in store.waiting_gates().await? {
            let run = get(&store, g.run_id).await?;
            if !matches!(run.status.as_str(), "waiting" | "running") {
                continue;
            }
            let approved: Vec<String> = store
                .approvals(g.id)
                .await?
                .into_iter()
                .filter(|d| d.decision == "approve")
                .map(|d| d.user)
                .collect();
            out.push((g, approved));
        }
        anyhow::Ok(out)
    })?;
    match format {
        Format::Json => {
            let list: Vec<Json> = gates
                .iter()
                .map(|(g, approved)| {
                    let mut v = gate_json(g, Vec::new());
                    v["approved_by"] = json!(approved);
                    v.as_object_mut().map(|o| o.remove("decisions"));
                    v
                })
                .collect();
            print_json(&json!({ "waiting": list }))
        }
        Format::Text => {
            if gates.is_empty() {
                println!("no run is waiting for approval");
                return Ok(());
            }
            println!(
                "{:>4}  {:<20} {:<28} {:<10} {:<24} since",
                "run", "job", "waiting for", "approvals", "approved by"
            );
            for (g, approved) in &gates {
                println!(
                    "{:>4}  {:<20} {:<28} {:<10} {:<24} {}",
                    g.run_id,
                    g.job_id,
                    g.title,
                    format!("{} of {}", approved.len(), g.required),
                    if approved.is_empty() {
                        "-".to_string()
                    } else {
                        approved.join(", ")
                    },
                    time(g.created_at)
                );
            }
            Ok(())
        }
    }
}

/// `slipway resume RUN`: start a run again where it stopped. Jobs it
/// finished keep their results (and outputs); the rest run, a job left at
/// a gate from its first step, its gate's approvals kept.
pub fn resume(args: ResumeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (request, prior) = runtime.block_on(async {
        let store = open(&args.dir).await?;
        let run = get(&store, args.run).await?;
        if run.pid != i64::from(std::process::id()) && alive(run.pid) {
            return Err(refuse(format!(
                "run {} is still going in process {}; it needs no resuming",
                run.id, run.pid
            )));
        }
        if !matches!(run.status.as_str(), "waiting" | "interrupted") {
            return Err(refuse(format!(
                "run {} ended ({}); only a run left waiting or interrupted can be resumed",
                run.id, run.status
            )));
        }
        let Some(request) = store.run_request(run.id).await? else {
            return Err(refuse(format!(
                "run {} was recorded without what resuming needs (an older slipway ran it)",
                run.id
            )));
        };
        let request: crate::cmd::run::Request = serde_json::from_str(&request)
            .map_err(|e| refuse(format!("run {}: its request cannot be read: {e}", run.id)))?;
        // A run that stopped at a gate left its summary, steps included;
        // one whose process died has its job rows only.
        let recorded: Option<slipway_engine::RunSummary> = serde_json::from_str(&run.summary).ok();
        let prior = prior_jobs(&store, run.id, recorded.as_ref()).await?;
        anyhow::Ok((request, prior))
    })?;
    let source = slipway_workflow::SourceFile::new(
        request.workflow_file.clone(),
        request.workflow_text.clone(),
    );
    let Some(wf) = slipway_workflow::read_workflow(&source).workflow else {
        return Err(refuse(format!(
            "run {}: its workflow ({}) no longer reads",
            args.run, request.workflow_file
        )));
    };
    let mut notes = Vec::new();
    let event = request.event.build(&request.dir, &mut notes)?;
    for note in &notes {
        eprintln!("note: {note}");
    }
    let secrets = crate::cmd::run::load_secrets(&request.dir, request.secret_file.as_deref())?;
    if !prior.is_empty() {
        let done: Vec<String> = prior
            .iter()
            .map(|p| format!("{} ({})", p.id, p.conclusion.as_str()))
            .collect();
        eprintln!(
            "resuming run {}; done before: {}",
            args.run,
            done.join(", ")
        );
    }
    let session = crate::cmd::run::Session {
        format: args.format,
        no_wait: args.no_wait,
        resume: Some((args.run as u64, prior)),
    };
    let summary = runtime.block_on(crate::cmd::run::run_workflow(
        &wf, &event, &request, &secrets, &session,
    ))?;
    crate::cmd::run::print_summary(&wf, &summary, args.format)?;
    crate::cmd::run::exit_for(summary.conclusion)
}

/// Jobs whose every instance ended, with their merged outputs.
async fn prior_jobs(
    store: &SqliteStore,
    run_id: i64,
    recorded: Option<&slipway_engine::RunSummary>,
) -> anyhow::Result<Vec<slipway_engine::PriorJob>> {
    let rows = store.run_jobs(run_id).await?;
    let mut ids: Vec<&str> = Vec::new();
    for r in &rows {
        if !ids.contains(&r.id.as_str()) {
            ids.push(&r.id);
        }
    }
    let mut prior = Vec::new();
    for id in ids {
        let instances: Vec<_> = rows.iter().filter(|r| r.id == id).collect();
        let ended = |c: &str| matches!(c, "success" | "failure" | "cancelled" | "skipped");
        if !instances.iter().all(|r| ended(&r.conclusion)) {
            continue;
        }
        let has = |c: &str| instances.iter().any(|r| r.conclusion == c);
        let conclusion = if has("failure") {
            Conclusion::Failure
        } else if has("cancelled") {
            Conclusion::Cancelled
        } else if instances.iter().all(|r| r.conclusion == "skipped") {
            Conclusion::Skipped
        } else {
            Conclusion::Success
        };
        let mut outputs: Vec<(String, String)> = Vec::new();
        let mut summaries = Vec::new();
        for r in &instances {
            let map: serde_json::Map<String, Json> =
                serde_json::from_str(&r.outputs).unwrap_or_default();
            for (k, v) in &map {
                let v = v.as_str().unwrap_or_default().to_string();
                match outputs.iter_mut().find(|(ok, _)| ok == k) {
                    Some(slot) => slot.1 = v,
                    None => outputs.push((k.clone(), v)),
                }
            }
            let c: Conclusion =
                serde_json::from_value(json!(r.conclusion)).unwrap_or(Conclusion::Success);
            let same = |j: &&slipway_engine::JobSummary| j.id == r.id && j.name == r.name;
            if let Some(j) = recorded.and_then(|s| s.jobs.iter().find(same)) {
                summaries.push(j.clone());
                continue;
            }
            summaries.push(slipway_engine::JobSummary {
                id: r.id.clone(),
                name: r.name.clone(),
                matrix: r
                    .matrix
                    .as_deref()
                    .and_then(|m| serde_json::from_str(m).ok()),
                conclusion: c,
                outputs: map,
                seconds: r.seconds,
                steps: Vec::new(),
            });
        }
        prior.push(slipway_engine::PriorJob {
            id: id.to_string(),
            conclusion,
            outputs,
            summaries,
        });
    }
    Ok(prior)
}
