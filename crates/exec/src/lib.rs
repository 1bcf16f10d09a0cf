//! Running one workflow step's `run:` script as a host process, with GitHub
//! Actions' semantics: shells and their templates, a process group per step
//! (so timeouts and cancellation kill everything the script started),
//! workflow commands on the output (`::add-mask::`, `::group::`,
//! `::error::`, ...), environment files (`GITHUB_OUTPUT`, `GITHUB_ENV`, ...)
//! and secret masking of every line that leaves the step.

mod command;
mod env_file;
mod mask;
mod process;
mod shell;
mod step;

pub use env_file::{parse_env_file, EnvFileError};
pub use mask::Masker;
pub use step::{
    run_step, Annotation, AnnotationLevel, ExitReason, FileCommands, LogEvent, LogSink,
    StepCommand, StepOutcome,
};
