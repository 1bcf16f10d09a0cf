//! Workflow files as GitHub Actions reads them: YAML with positions, a
//! checked `Workflow`, triggers with GitHub's filter semantics, the
//! `github` context, plans and lint warnings.

pub mod action;
mod availability;
pub mod cron;
pub mod data;
pub mod diagnostic;
pub mod event;
pub mod filter_pattern;
pub mod graph;
mod known_actions;
pub mod lint;
pub mod matrix;
pub mod plan;
pub mod read;
pub mod source;
pub mod triggers;
pub mod workflow;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use event::Event;
pub use read::{read_workflow, ReadOutcome};
pub use source::SourceFile;
pub use workflow::Workflow;
