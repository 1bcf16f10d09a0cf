pub mod coverage;
pub mod eval;
pub mod history;
pub mod lint;
pub mod notify;
pub mod plan;
pub mod run;
pub mod tests_report;
