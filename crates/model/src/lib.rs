//! Plain types shared by every slipway crate. Nothing here touches a process,
//! a socket or a disk.

pub mod deploy;

use serde::{Deserialize, Serialize};

/// How a job or step ended, as GitHub reports it in `needs.<id>.result`
/// and `steps.<id>.conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
    /// Parked at an approval gate when the run stopped (`--no-wait`, or
    /// its process ended); `slipway resume` goes on from there.
    Waiting,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
            Conclusion::Cancelled => "cancelled",
            Conclusion::Skipped => "skipped",
            Conclusion::Waiting => "waiting",
        }
    }
}

/// Exit codes, one place for the whole binary (see DESIGN.md).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const INVALID: i32 = 2;
    pub const WAITING: i32 = 3;
    pub const CANCELLED: i32 = 130;
}

/// Which job instance an event is about: the job id, and for matrix jobs
/// the combination, as GitHub names instances (`test (linux, 1)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct JobKey {
    pub id: String,
    /// The job's display name, matrix values included.
    pub name: String,
    /// The matrix combination as JSON text, when the job has one.
    pub matrix: Option<String>,
}

impl JobKey {
    /// The label with anything but ASCII letters, digits and `-` made
    /// `_`: the name of the job's folders and files under a run.
    pub fn file_name(&self) -> String {
        self.label()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// `id` or `id (values)`, for log prefixes.
    pub fn label(&self) -> String {
        match &self.matrix {
            Some(_) => match self.name.rfind(" (") {
                Some(at) => format!("{}{}", self.id, &self.name[at..]),
                None => self.id.clone(),
            },
            None => self.id.clone(),
        }
    }
}

/// What happens during a run, as plain data for every consumer: the
/// terminal reporter, the store, the web stream, the notifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    JobStarted {
        job: JobKey,
    },
    StepStarted {
        job: JobKey,
        step: usize,
        name: String,
    },
    /// One line a step printed (already masked), or a note from slipway.
    Log {
        job: JobKey,
        step: Option<usize>,
        line: String,
        level: LogLevel,
    },
    StepFinished {
        job: JobKey,
        step: usize,
        outcome: Conclusion,
        conclusion: Conclusion,
        seconds: f64,
    },
    JobFinished {
        job: JobKey,
        conclusion: Conclusion,
        seconds: f64,
        /// The job's outputs, recorded so a resumed run can give them to
        /// the jobs that need it.
        outputs: Vec<(String, String)>,
    },
    RunFinished {
        conclusion: Conclusion,
        seconds: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Output,
    Group,
    Notice,
    Warning,
    Error,
}
