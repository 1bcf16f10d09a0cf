//! Running a checked workflow: one dispatcher owns the run's state and
//! starts job instances; each job reports back when done. Steps run
//! through `slipway-exec`; well-known actions through `builtins`.

pub mod approval;
pub mod builtins;
pub mod concurrency;
mod condition;
mod dispatcher;
mod gates;
mod job;
mod job_dirs;
pub mod spec;
pub mod summary;

pub use dispatcher::run;
pub use spec::{PriorJob, RunSpec};
pub use summary::{JobSummary, RunSummary, StepSummary};
