//! Recording runs as they happen: the run's row in the state database, its
//! summary kept current as jobs end, and its logs appended line by line to
//! files under `.slipway/runs/<id>/logs/`, so a crash loses nothing printed.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Writes each log line to its step's file as it arrives.
pub struct Recorder {
    logs: PathBuf,
    files: HashMap<String, File>,
    dirs: std::collections::HashSet<PathBuf>,
}

impl Recorder {
    pub fn new(run_dir: &Path) -> Recorder {
        Recorder {
            logs: run_dir.join("logs"),
            files: HashMap::new(),
            dirs: Default::default(),
        }
    }

    /// One file per job (`logs/<job>.log`), each line led by its step's
    /// number (1-based; 0 for the job's own lines) and a tab, which
    /// `slipway logs` filters on and strips. A file per step would cost a
    /// new file per step, more than a short step takes.
    fn write(&mut self, job: &JobKey, step: Option<usize>, line: &str) {
        let key = job.label();
        if !self.files.contains_key(&key) {
            if self.dirs.insert(self.logs.clone()) {
                let _ = std::fs::create_dir_all(&self.logs);
            }
            let path = self.logs.join(format!("{}.log", job.file_name()));
            match File::options().create(true).append(true).open(path) {
                Ok(f) => {
                    self.files.insert(key.clone(), f);
                }
                Err(_) => return,
            }
        }
        if let Some(f) = self.files.get_mut(&key) {
            let number = step.map(|s| s + 1).unwrap_or(0);
            let _ = writeln!(f, "{number}\t{line}");
        }
    }

    /// Write the event's line to its step's log file.
    pub fn record(&mut self, event: &RunEvent, line: Option<&str>) {
        let Some(line) = line else { return };
        match event {
            RunEvent::Log { job, step, .. } => self.write(job, *step, line),
            RunEvent::StepStarted { job, step, .. } | RunEvent::StepFinished { job, step, .. } => {
                self.write(job, Some(*step), line)
            }
            RunEvent::JobStarted { job } | RunEvent::JobFinished { job, .. } => {
                self.write(job, None, line)
            }
            RunEvent::RunFinished { .. } => {}
        }
    }
}
