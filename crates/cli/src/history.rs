//! Recording runs as they happen: the run's row in the state database, its
//! summary kept current as jobs end, and its logs appended line by line to
//! files under `.slipway/runs/<id>/logs/`, so a crash loses nothing printed.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};
use slipway_model::{JobKey, RunEvent};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether `pid` is a live slipway process (not a reused pid).
pub fn alive(pid: i64) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("slipway"))
        .unwrap_or(false)
}

pub fn state_db(dir: &Path) -> PathBuf {
    slipway_store::default_path(dir)
}

/// The folder name of a job id given on the command line (`--job`), as
/// `JobKey::file_name` names a job without a matrix.
pub fn job_dir_name(id: &str) -> String {
    slipway_model::JobKey {
        id: id.to_string(),
        name: String::new(),
        matrix: None,
    }
    .file_name()
}

/// Writes each log line to its step's file as it arrives, and keeps the
/// list of finished jobs for the summary.
pub struct Recorder {
    logs: PathBuf,
    files: HashMap<(String, Option<usize>), File>,
    dirs: std::collections::HashSet<PathBuf>,
    pub finished: Vec<Json>,
    pub started: Vec<JobKey>,
}

impl Recorder {
    pub fn new(run_dir: &Path) -> Recorder {
        Recorder {
            logs: run_dir.join("logs"),
            files: HashMap::new(),
            dirs: Default::default(),
            finished: Vec::new(),
            started: Vec::new(),
        }
    }

    fn write(&mut self, job: &JobKey, step: Option<usize>, line: &str) {
        let key = (job.label(), step);
        if !self.files.contains_key(&key) {
            let dir = self.logs.join(job.file_name());
            // One folder per job: create it once, not per step file.
            if self.dirs.insert(dir.clone()) {
                let _ = std::fs::create_dir_all(&dir);
            }
            let name = match step {
                Some(i) => format!("{:03}.log", i + 1),
                None => "job.log".to_string(),
            };
            let file = File::options()
                .create(true)
                .append(true)
                .open(dir.join(name));
            match file {
                Ok(f) => {
                    self.files.insert(key.clone(), f);
                }
                Err(_) => return,
            }
        }
        if let Some(f) = self.files.get_mut(&key) {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Record one event; returns true when the summary changed (a job
    /// started or ended), so a run killed mid-job still shows that job.
    pub fn record(&mut self, event: &RunEvent, line: Option<&str>) -> bool {
        match event {
            RunEvent::JobStarted { job } => {
                self.started.push(job.clone());
                true
            }
            RunEvent::Log { job, step, .. } => {
                if let Some(line) = line {
                    self.write(job, *step, line);
                }
                false
            }
            RunEvent::StepStarted { job, step, .. } => {
                if let Some(line) = line {
                    self.write(job, Some(*step), line);
                }
                false
            }
            RunEvent::StepFinished { job, step, .. } => {
                if let Some(line) = line {
                    self.write(job, Some(*step), line);
                }
                false
            }
            RunEvent::JobFinished {
                job,
                conclusion,
                seconds,
            } => {
                self.started.retain(|k| k != job);
                self.finished.push(json!({
                    "id": job.id, "name": job.name,
                    "matrix": job.matrix.as_ref().and_then(|m| serde_json::from_str::<Json>(m).ok()),
                    "conclusion": conclusion, "seconds": seconds,
                }));
                true
            }
            _ => false,
        }
    }

    /// The summary while the run goes on: finished jobs, and the ones
    /// still running.
    pub fn partial_summary(&self, run_id: i64) -> String {
        let mut jobs = self.finished.clone();
        for job in &self.started {
            jobs.push(json!({"id": job.id, "name": job.name, "conclusion": "running"}));
        }
        json!({"run_id": run_id, "conclusion": "running", "jobs": jobs}).to_string()
    }
}
