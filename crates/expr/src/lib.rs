//! GitHub Actions' `${{ }}` expression language: lexer, parser and
//! evaluator, conformant with GitHub's own test data (see `GRAMMAR.md` for
//! the grammar, the coercion rules and the limits).
//!
//! ```
//! use slipway_expr::{parse, MapContexts, Value};
//!
//! let ctx = MapContexts::new().with("github", Value::from_json(&serde_json::json!({"ref": "refs/heads/main"})));
//! let expr = parse("startsWith(github.ref, 'refs/heads/')").unwrap();
//! assert_eq!(expr.eval(&ctx).unwrap(), Value::Bool(true));
//! ```
//!
//! Callers describe what an expression can see by implementing
//! [`Contexts`]; [`Expr::eval_partial`] evaluates with some of it only known
//! at run time, for planning. Strings with embedded expressions go through
//! [`parse_template`].

mod ast;
mod compare;
mod contexts;
mod data;
mod error;
mod eval;
mod format;
mod functions;
mod hash_files;
mod json;
mod lexer;
mod number;
mod parser;
mod template;
mod value;

pub use ast::{Expr, Reference};
pub use contexts::{Contexts, Lookup, MapContexts, Partial, StatusFunction};
pub use data::MAX_MEMORY_BYTES;
pub use error::{Error, ErrorKind};
pub use hash_files::WorkspaceHasher;
pub use lexer::MAX_EXPRESSION_LENGTH;
pub use number::format_number;
pub use parser::{parse, parse_with_contexts, MAX_DEPTH};
pub use template::{parse_template, Segment, Template};
pub use value::Value;
