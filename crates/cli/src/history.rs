//! Recording runs as they happen: the run's row in the state database, its
//! summary kept current as jobs end, and its logs appended line by line to
//! files under `.slipway/runs/<id>/logs/`, so a crash loses nothing printed.

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

/// Writes each log line to the run's log file as it arrives.
pub struct Recorder {
    path: PathBuf,
    file: Option<File>,
}

/// The run's log, `logs/run.log`: one line per line shown, led by the
/// job's file name and its step's number (1-based; 0 for the job's own
/// lines), tab-separated, which `slipway logs` filters on and strips. One
/// file for the run, not one per job or step: creating a file costs more
/// than a short job takes.
pub const RUN_LOG: &str = "run.log";

impl Recorder {
    pub fn new(run_dir: &Path) -> Recorder {
        Recorder {
            path: run_dir.join("logs").join(RUN_LOG),
            file: None,
        }
    }

    fn write(&mut self, job: &JobKey, step: Option<usize>, line: &str) {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            self.file = File::options()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        if let Some(f) = self.file.as_mut() {
            let number = step.map(|s| s + 1).unwrap_or(0);
            let _ = writeln!(f, "{}\t{number}\t{line}", job.file_name());
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
