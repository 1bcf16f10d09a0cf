//! What evaluation can see: the `Contexts` port, and `MapContexts`, a
//! plain implementation for tests and `slipway eval`.

use crate::compare::eq_ignore_case;
use crate::hash_files::WorkspaceHasher;
use crate::value::Value;

/// The answer to "what is this context (or status function)?".
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<T = Value> {
    /// Known now.
    Known(T),
    /// Exists, but its value is only known at run time (`needs` while
    /// planning, `failure()` before the jobs before it ran). Plain
    /// evaluation fails on it; partial evaluation carries it through.
    Unknown,
    /// Not available here: evaluates as null (`false` for a status
    /// function).
    Missing,
}

/// The job status functions, which only the caller can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFunction {
    Success,
    Failure,
    Always,
    Cancelled,
}

impl StatusFunction {
    /// As written in an expression: `success`, `failure`, `always`,
    /// `cancelled`.
    pub fn name(self) -> &'static str {
        match self {
            StatusFunction::Success => "success",
            StatusFunction::Failure => "failure",
            StatusFunction::Always => "always",
            StatusFunction::Cancelled => "cancelled",
        }
    }
}

/// What an expression can read while it is evaluated. Implemented by the
/// callers (the workflow planner, the engine, the CLI); each evaluation asks
/// for every context it references once, before it starts.
pub trait Contexts {
    /// A named context (`github`, `env`, `matrix`, `needs`, `steps`,
    /// `inputs`, `vars`, `secrets`, `job`, `jobs`, `runner`, `strategy`),
    /// by its lowercase name.
    fn context(&self, name: &str) -> Lookup<Value>;

    /// `success()`, `failure()`, `always()`, `cancelled()`.
    fn status(&self, f: StatusFunction) -> Lookup<bool>;

    /// `hashFiles(patterns...)`: the hex SHA-256 of the matching files, or
    /// why it cannot be computed. Plug in a [`WorkspaceHasher`] where a
    /// workspace exists; by default the function is not available.
    fn hash_files(&self, patterns: &[String]) -> Result<String, String> {
        let _ = patterns;
        Err("hashFiles is not available here".to_string())
    }
}

/// The result of partial evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Partial {
    Known(Value),
    /// The value depends on what is only known at run time: context paths
    /// (`needs.build.outputs.tag`) and status calls (`failure()`), in the
    /// order met, without repeats.
    Unknown {
        depends_on: Vec<String>,
    },
}

/// Contexts from a map of name -> value, with fixed status answers:
/// `success()` and `always()` true, `failure()` and `cancelled()` false
/// unless set otherwise. Names are matched ignoring case; a context that
/// is not in the map is null. `hashFiles` works once a workspace is set.
#[derive(Debug, Clone)]
pub struct MapContexts {
    contexts: Vec<(String, Value)>,
    success: bool,
    failure: bool,
    cancelled: bool,
    hasher: Option<WorkspaceHasher>,
}

impl Default for MapContexts {
    fn default() -> Self {
        MapContexts {
            contexts: Vec::new(),
            success: true,
            failure: false,
            cancelled: false,
            hasher: None,
        }
    }
}

impl MapContexts {
    pub fn new() -> Self {
        Self::default()
    }

    /// From a JSON object whose keys are context names
    /// (`{"github": {...}, "env": {...}}`); null gives no contexts.
    pub fn from_json(json: &serde_json::Value) -> Result<Self, String> {
        let mut ctx = MapContexts::default();
        match json {
            serde_json::Value::Null => {}
            serde_json::Value::Object(map) => {
                for (name, value) in map {
                    ctx.insert(name, Value::from_json(value));
                }
            }
            other => {
                return Err(format!(
                    "contexts must be a JSON object of context name -> value, not {}",
                    json_kind(other)
                ))
            }
        }
        Ok(ctx)
    }

    /// Sets a context, replacing one of the same name (ignoring case).
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        match self
            .contexts
            .iter_mut()
            .find(|(n, _)| eq_ignore_case(n, &name))
        {
            Some(slot) => slot.1 = value,
            None => self.contexts.push((name, value)),
        }
    }

    pub fn with(mut self, name: impl Into<String>, value: Value) -> Self {
        self.insert(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.contexts
            .iter()
            .find(|(n, _)| eq_ignore_case(n, name))
            .map(|(_, v)| v)
    }

    /// The answer of a status function; `always()` stays true.
    pub fn set_status(&mut self, f: StatusFunction, value: bool) {
        match f {
            StatusFunction::Success => self.success = value,
            StatusFunction::Failure => self.failure = value,
            StatusFunction::Cancelled => self.cancelled = value,
            StatusFunction::Always => {}
        }
    }

    /// `hashFiles` hashes files under `root`.
    pub fn with_workspace(mut self, root: impl Into<std::path::PathBuf>) -> Self {
        self.hasher = Some(WorkspaceHasher::new(root));
        self
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Contexts for MapContexts {
    fn context(&self, name: &str) -> Lookup<Value> {
        match self.get(name) {
            Some(v) => Lookup::Known(v.clone()),
            None => Lookup::Missing,
        }
    }

    fn status(&self, f: StatusFunction) -> Lookup<bool> {
        Lookup::Known(match f {
            StatusFunction::Success => self.success,
            StatusFunction::Failure => self.failure,
            StatusFunction::Always => true,
            StatusFunction::Cancelled => self.cancelled,
        })
    }

    fn hash_files(&self, patterns: &[String]) -> Result<String, String> {
        match &self.hasher {
            Some(h) => h.hash(patterns),
            None => Err("hashFiles is not available here: no workspace".to_string()),
        }
    }
}
