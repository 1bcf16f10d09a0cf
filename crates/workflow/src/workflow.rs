//! A workflow file after reading and checking: every key known, every
//! expression parsed, every `needs` resolved to a job that exists, no
//! cycles. The only way to get one is `read::read_workflow`.

use slipway_expr::{Expr, Template};

use crate::matrix::Strategy;
use crate::source::{Pos, Span, Spanned};
use crate::triggers::Triggers;

/// A string value as written, which may hold `${{ }}` expressions.
#[derive(Debug, Clone)]
pub struct Text {
    pub raw: String,
    pub span: Span,
    pub template: Template,
    /// Where the value's first character was written.
    pub first: Pos,
    /// For values of several lines: where each line starts in the source.
    pub line_starts: Vec<Pos>,
}

impl Text {
    pub fn has_expressions(&self) -> bool {
        self.template.has_expressions()
    }

    /// Where the character at `offset` (in chars) of the value was written.
    pub fn pos_of(&self, offset: usize) -> Pos {
        let mut line = 0;
        let mut column = 0;
        for c in self.raw.chars().take(offset) {
            if c == '\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
        }
        let start = if line == 0 {
            self.first
        } else {
            self.line_starts.get(line).copied().unwrap_or(self.first)
        };
        Pos {
            line: start.line,
            column: start.column + column,
        }
    }
}

/// An `if:` condition. GitHub accepts it with or without `${{ }}`.
#[derive(Debug, Clone)]
pub struct Condition {
    pub raw: String,
    pub span: Span,
    pub form: ConditionForm,
    /// Where the expression text starts.
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum ConditionForm {
    /// `if: a == b` or `if: ${{ a == b }}`: the expression, evaluated.
    Expression(Expr),
    /// `if: ${{ a }} == b`: not one expression but a string with one inside,
    /// which GitHub evaluates to a non-empty string, so always true.
    Template(Template),
}

impl Condition {
    /// The expression text as the user would read it, without `${{ }}`.
    pub fn display(&self) -> String {
        let t = self.raw.trim();
        match (
            &self.form,
            t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")),
        ) {
            (ConditionForm::Expression(_), Some(inner)) => inner.trim().to_string(),
            _ => t.to_string(),
        }
    }
}

/// A bool or an expression giving one (`continue-on-error`, `fail-fast`).
#[derive(Debug, Clone)]
pub enum BoolOr {
    Bool(bool),
    Expr(Text),
}

/// A number or an expression giving one (`timeout-minutes`, `max-parallel`).
#[derive(Debug, Clone)]
pub enum NumberOr {
    Number(f64),
    Expr(Text),
}

/// Data as written in YAML, for values that are not plain strings:
/// matrix values, dispatch input defaults, container and service settings.
#[derive(Debug, Clone)]
pub enum Data {
    Null,
    Bool(bool),
    Number(f64),
    Str(Text),
    Seq(Vec<Data>),
    Map(Vec<(String, Data)>),
}

pub type Env = Vec<(Spanned<String>, Text)>;

#[derive(Debug, Clone, Default)]
pub struct RunDefaults {
    pub shell: Option<Text>,
    pub working_directory: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct Concurrency {
    pub group: Text,
    pub cancel_in_progress: Option<BoolOr>,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub file: String,
    pub name: Option<Text>,
    pub run_name: Option<Text>,
    pub on: Triggers,
    pub env: Env,
    pub defaults: RunDefaults,
    pub concurrency: Option<Concurrency>,
    /// `read-all`, `write-all`, or scope -> level, as written.
    pub permissions: Option<Vec<(String, String)>>,
    /// In file order.
    pub jobs: Vec<Job>,
}

impl Workflow {
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id.value == id)
    }

    /// The workflow's name, or its file path as GitHub shows it.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(t) => t.raw.clone(),
            None => self.file.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: Text,
    pub url: Option<Text>,
}

#[derive(Debug, Clone)]
pub enum RunsOn {
    Labels(Vec<Text>),
    /// `runs-on: ${{ matrix.os }}` and the like.
    Expr(Text),
    Group {
        group: Option<Text>,
        labels: Vec<Text>,
    },
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: Spanned<String>,
    pub name: Option<Text>,
    /// Indices into `Workflow::jobs`, resolved and acyclic.
    pub needs: Vec<usize>,
    pub needs_names: Vec<Spanned<String>>,
    pub condition: Option<Condition>,
    pub runs_on: Option<RunsOn>,
    pub environment: Option<Environment>,
    pub outputs: Vec<(Spanned<String>, Text)>,
    pub env: Env,
    pub defaults: RunDefaults,
    pub timeout_minutes: Option<NumberOr>,
    pub continue_on_error: Option<BoolOr>,
    pub strategy: Option<Strategy>,
    pub concurrency: Option<Concurrency>,
    pub permissions: Option<Vec<(String, String)>>,
    /// Read so that they are checked, run later only where supported.
    pub container: Option<Spanned<Data>>,
    pub services: Option<Spanned<Data>>,
    /// A reusable workflow call (`jobs.<id>.uses`).
    pub uses: Option<Text>,
    pub with: Vec<(Spanned<String>, Text)>,
    pub steps: Vec<Step>,
}

impl Job {
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(t) => t.raw.clone(),
            None => self.id.value.clone(),
        }
    }
}

/// `owner/repo[/path]@ref`, `./local/path` or `docker://image`.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionRef {
    Repository {
        owner: String,
        repo: String,
        path: Option<String>,
        git_ref: String,
    },
    Local(String),
    Docker(String),
}

impl ActionRef {
    /// `owner/repo` (lowercase) for matching well-known actions.
    pub fn slug(&self) -> Option<String> {
        match self {
            ActionRef::Repository { owner, repo, .. } => {
                Some(format!("{}/{}", owner.to_lowercase(), repo.to_lowercase()))
            }
            _ => None,
        }
    }

    pub fn version(&self) -> Option<&str> {
        match self {
            ActionRef::Repository { git_ref, .. } => Some(git_ref),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    /// Position in the job, 0-based.
    pub index: usize,
    pub span: Span,
    pub id: Option<Spanned<String>>,
    pub name: Option<Text>,
    pub condition: Option<Condition>,
    pub uses: Option<Spanned<ActionRef>>,
    pub with: Vec<(Spanned<String>, Text)>,
    pub run: Option<Text>,
    pub shell: Option<Text>,
    pub working_directory: Option<Text>,
    pub env: Env,
    pub continue_on_error: Option<BoolOr>,
    pub timeout_minutes: Option<NumberOr>,
}

impl Step {
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.raw.clone();
        }
        if let Some(uses) = &self.uses {
            return match &uses.value {
                ActionRef::Repository {
                    owner,
                    repo,
                    path,
                    git_ref,
                } => match path {
                    Some(p) => format!("Run {owner}/{repo}/{p}@{git_ref}"),
                    None => format!("Run {owner}/{repo}@{git_ref}"),
                },
                ActionRef::Local(p) => format!("Run {p}"),
                ActionRef::Docker(i) => format!("Run docker://{i}"),
            };
        }
        match &self.run {
            Some(run) => format!("Run {}", run.raw.lines().next().unwrap_or("").trim()),
            None => format!("Step {}", self.index + 1),
        }
    }
}
