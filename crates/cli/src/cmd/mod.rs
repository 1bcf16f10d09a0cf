pub mod eval;
pub mod lint;
pub mod plan;
