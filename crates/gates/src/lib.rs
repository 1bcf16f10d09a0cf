//! Quality gates: coverage and test reports read as their tools wrote
//! them, totals computed to the digit those tools print, thresholds,
//! comparisons with a base, and the text people read.
//!
//! Nothing here starts a process or opens a database: the repository is
//! seen through [`paths::SourceTree`], the history through
//! [`history::CoverageStore`], and reports through [`input::Input`].

pub mod compare;
pub mod config;
pub mod coverage;
pub mod detect;
pub mod error;
pub mod history;
pub mod input;
pub mod junit;
pub mod paths;
pub mod percent;
pub mod render;
pub mod threshold;
pub mod unified_diff;
pub mod view;
mod xml;

pub use coverage::read::{parse_coverage, parse_coverage_with, ParsedCoverage};
pub use coverage::{CoverageReport, Detail, Format};
pub use error::{ErrorKind, ReadError};
pub use input::{BytesInput, FileInput, Input};
pub use junit::{read_junit, TestReport};
