//! `slipway runs`, `slipway show RUN`, `slipway logs RUN`: the run history.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value as Json};
use slipway_store::runs::RunRow;
use slipway_store::SqliteStore;

use crate::history::{alive, job_dir_name, state_db};
use crate::output::{print_json, Format};
use crate::UsageError;

#[derive(clap::Args)]
pub struct RunsArgs {
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// How many runs to list, newest first
    #[arg(long, default_value_t = 20)]
    limit: i64,
    /// Only the approval gates runs wait on, with who approved so far
    #[arg(long)]
    waiting: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The run id (from `slipway runs`)
    run: i64,
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
pub struct LogsArgs {
    /// The run id (from `slipway runs`)
    run: i64,
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Only this job (for matrix jobs: every instance)
    #[arg(long, value_name = "ID")]
    job: Option<String>,
    /// Only this step (1-based, as `slipway show` numbers them)
    #[arg(long, value_name = "N")]
    step: Option<usize>,
    /// Keep printing until the run ends
    #[arg(long)]
    follow: bool,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The store, with runs whose process died marked `interrupted`.
pub(crate) async fn open(dir: &Path) -> anyhow::Result<SqliteStore> {
    let path = state_db(dir);
    if !path.exists() {
        return Err(UsageError(format!(
            "no runs recorded in {} yet; run `slipway run` first",
            dir.display()
        ))
        .into());
    }
    let store = SqliteStore::open(&path).await?;
    store.mark_interrupted(alive).await?;
    Ok(store)
}

pub(crate) async fn get(store: &SqliteStore, id: i64) -> anyhow::Result<RunRow> {
    store
        .get_run(id)
        .await?
        .ok_or_else(|| UsageError(format!("no run {id}; `slipway runs` lists them")).into())
}

fn seconds(row: &RunRow) -> Option<f64> {
    row.finished_at
        .map(|f| (f - row.started_at) as f64 / 1000.0)
}

pub fn runs(args: RunsArgs) -> anyhow::Result<()> {
    if args.waiting {
        return crate::cmd::approvals::list_waiting(&args.dir, args.format);
    }
    let rows = runtime()?.block_on(async {
        let store = open(&args.dir).await?;
        anyhow::Ok(store.list_runs(args.limit).await?)
    })?;
    match args.format {
        Format::Json => {
            let runs: Vec<Json> = rows
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or(Json::Null);
                    v["seconds"] = json!(seconds(r));
                    v
                })
                .collect();
            print_json(&json!({ "runs": runs }))
        }
        Format::Text => {
            println!(
                "{:>4}  {:<12} {:<28} {:<14} {:<24} {:<8} {:>9}",
                "id", "status", "workflow", "event", "ref", "sha", "duration"
            );
            for r in &rows {
                let duration = seconds(r)
                    .map(|s| format!("{s:.1}s"))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:>4}  {:<12} {:<28} {:<14} {:<24} {:<8} {:>9}",
                    r.id,
                    r.status,
                    truncate(&r.workflow_name, 28),
                    r.event,
                    truncate(&r.git_ref, 24),
                    &r.sha[..r.sha.len().min(7)],
                    duration
                );
            }
            Ok(())
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// The run as `show` prints it: the stored summary once it finished; while
/// it runs (or if its process died), its jobs as recorded so far, with the
/// run's status (`running`, `interrupted`) as the conclusion.
async fn summary_of(store: &SqliteStore, row: &RunRow) -> anyhow::Result<Json> {
    let mut summary = jobs_of(store, row).await?;
    // Only runs that met an approval gate have the key.
    let gates = crate::cmd::approvals::gates_json(store, row.id).await?;
    if gates.as_array().is_some_and(|g| !g.is_empty()) {
        summary["approvals"] = gates;
    }
    Ok(summary)
}

async fn jobs_of(store: &SqliteStore, row: &RunRow) -> anyhow::Result<Json> {
    let summary: Json = serde_json::from_str(&row.summary).unwrap_or_else(|_| json!({}));
    // A run that stopped at a gate (`--no-wait`) left its summary; one
    // whose process died while waiting did not.
    let live = matches!(row.status.as_str(), "running" | "interrupted")
        || (row.status == "waiting" && summary.get("jobs").is_none());
    if !live {
        let mut summary = summary;
        summary["run_id"] = json!(row.id);
        return Ok(summary);
    }
    let jobs: Vec<Json> = store
        .run_jobs(row.id)
        .await?
        .into_iter()
        .map(|j| {
            let conclusion = if j.conclusion == "running" {
                row.status.clone()
            } else {
                j.conclusion
            };
            json!({
                "id": j.id, "name": j.name,
                "matrix": j.matrix.as_deref().and_then(|m| serde_json::from_str::<Json>(m).ok()),
                "conclusion": conclusion, "seconds": j.seconds,
            })
        })
        .collect();
    Ok(json!({"run_id": row.id, "conclusion": row.status, "jobs": jobs}))
}

pub fn show(args: ShowArgs) -> anyhow::Result<()> {
    let (row, summary) = runtime()?.block_on(async {
        let store = open(&args.dir).await?;
        let row = get(&store, args.run).await?;
        let summary = summary_of(&store, &row).await?;
        anyhow::Ok((row, summary))
    })?;
    match args.format {
        Format::Json => print_json(&summary),
        Format::Text => {
            println!(
                "run {} of {} ({}): {}",
                row.id,
                row.workflow_name,
                row.workflow_file,
                summary["conclusion"].as_str().unwrap_or("")
            );
            println!(
                "{} on {} at {}\n",
                row.event,
                row.git_ref,
                &row.sha[..row.sha.len().min(7)]
            );
            for job in summary["jobs"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                println!(
                    "  {:<40} {:<12} {:>7.1}s",
                    job["name"].as_str().unwrap_or(""),
                    job["conclusion"].as_str().unwrap_or(""),
                    job["seconds"].as_f64().unwrap_or(0.0)
                );
                for (i, step) in job["steps"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    let outcome = step["outcome"].as_str().unwrap_or("");
                    let conclusion = step["conclusion"].as_str().unwrap_or("");
                    let both = if outcome != conclusion {
                        format!("{conclusion} (outcome {outcome})")
                    } else {
                        conclusion.to_string()
                    };
                    println!(
                        "    {:>2}. {:<35} {}",
                        i + 1,
                        truncate(step["name"].as_str().unwrap_or(""), 35),
                        both
                    );
                }
            }
            crate::cmd::approvals::print_gates(&summary["approvals"]);
            // What steps wrote to $GITHUB_STEP_SUMMARY, per job.
            let summaries = args
                .dir
                .join(".slipway/runs")
                .join(row.id.to_string())
                .join("summaries");
            let mut files: Vec<PathBuf> = std::fs::read_dir(&summaries)
                .map(|e| e.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            files.sort();
            for file in files {
                let job = file
                    .file_stem()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                println!("\n── summary of {job} ──");
                print!("{}", std::fs::read_to_string(&file).unwrap_or_default());
            }
            Ok(())
        }
    }
}

/// The log files of a run (one per job), in name order, for `--job` when given.
/// The run's log file; for runs recorded before it, one file per job.
fn log_files(run_dir: &Path, job: Option<&str>) -> Vec<PathBuf> {
    let run_log = run_dir.join("logs").join(crate::history::RUN_LOG);
    if run_log.exists() {
        return vec![run_log];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(run_dir.join("logs"))
        .map(|e| e.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let wanted = job.map(job_dir_name);
    files
        .into_iter()
        .filter(|f| {
            let stem = f
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match &wanted {
                Some(w) => job_matches(&stem, w),
                None => true,
            }
        })
        .collect()
}

/// A job's file name against `--job ID`'s: the job, or any of its matrix
/// instances (`test__1_`).
fn job_matches(name: &str, wanted: &str) -> bool {
    name == wanted || name.starts_with(&format!("{wanted}_"))
}

/// The lines of a log chunk for `--job` and `--step` (all when None),
/// without the fields each line starts with. `run.log` lines start with
/// the job and the step; older per-job files' with the step only.
fn log_lines(chunk: &str, per_run: bool, job: Option<&str>, step: Option<usize>) -> String {
    let wanted = job.map(job_dir_name);
    let mut out = String::new();
    for line in chunk.lines() {
        let (name, rest) = if per_run {
            line.split_once('\t').unwrap_or(("", line))
        } else {
            ("", line)
        };
        if per_run && wanted.as_deref().is_some_and(|w| !job_matches(name, w)) {
            continue;
        }
        let (number, text) = rest.split_once('\t').unwrap_or(("0", rest));
        if step.is_none_or(|s| number.parse::<usize>().ok() == Some(s)) {
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

pub fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let rt = runtime()?;
    let store = rt.block_on(open(&args.dir))?;
    let row = rt.block_on(get(&store, args.run))?;
    let run_dir = args.dir.join(".slipway/runs").join(row.id.to_string());
    let mut printed: std::collections::HashMap<PathBuf, u64> = Default::default();
    let mut any_shown = false;
    let stdout = std::io::stdout();
    loop {
        let files = log_files(&run_dir, args.job.as_deref());
        let mut shown = false;
        for file in &files {
            let done = printed.get(file).copied().unwrap_or(0);
            let Ok(bytes) = std::fs::read(file) else {
                continue;
            };
            // Only whole lines; a line being written is printed next time.
            let upto = bytes
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|p| p + 1)
                .unwrap_or(0) as u64;
            if upto > done {
                let per_run = file.ends_with(crate::history::RUN_LOG);
                let text = log_lines(
                    &String::from_utf8_lossy(&bytes[done as usize..upto as usize]),
                    per_run,
                    args.job.as_deref(),
                    args.step,
                );
                shown |= !text.is_empty();
                let mut out = stdout.lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
                printed.insert(file.clone(), upto);
            }
        }
        any_shown |= shown;
        if !args.follow {
            if !any_shown {
                return Err(UsageError(format!(
                    "run {} has no logs{}",
                    row.id,
                    if args.job.is_some() || args.step.is_some() {
                        " for that job or step"
                    } else {
                        ""
                    }
                ))
                .into());
            }
            return Ok(());
        }
        let status = rt.block_on(async {
            store.mark_interrupted(alive).await?;
            anyhow::Ok(store.get_run(row.id).await?.map(|r| r.status))
        })?;
        if status.as_deref() != Some("running") {
            // One more pass picks up the last lines, then stop.
            if printed.values().sum::<u64>()
                == files
                    .iter()
                    .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
                    .sum::<u64>()
            {
                return Ok(());
            }
            continue;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
