//! `slipway plan`: for an event, which workflows start, and for each job
//! whether it runs, is skipped, or depends on what only the run will know.
//!
//! The plan assumes the happy path: a job that runs succeeds. Conditions
//! that read results or outputs of other jobs, or ask `failure()`, are
//! `conditional`, with what they depend on.

use serde::Serialize;
use serde_json::Value as Json;
use slipway_expr::{Contexts, Lookup, Partial, StatusFunction, Value};

use crate::data;
use crate::event::Event;
use crate::graph;
use crate::matrix::{self, Combination, Dimension, Matrix};
use crate::workflow::{ConditionForm, Data, Job, Workflow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Run,
    Skip,
    Conditional,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Run => "run",
            Decision::Skip => "skip",
            Decision::Conditional => "conditional",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobPlan {
    pub id: String,
    pub name: String,
    pub needs: Vec<String>,
    /// The matrix combination of this instance, when the job has a matrix.
    pub matrix: Option<Json>,
    pub decision: Decision,
    pub reason: String,
    /// 0 for jobs that need nothing; each job comes after what it needs.
    pub stage: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// What slipway reads but cannot honour here (containers, services).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowPlan {
    pub file: String,
    pub name: String,
    pub triggered: bool,
    pub reason: String,
    pub jobs: Vec<JobPlan>,
}

/// What evaluation sees while planning.
struct PlanContexts<'a> {
    github: Value,
    inputs: Value,
    matrix: Option<&'a Value>,
    /// Whether the job has needs; their results and outputs are unknown.
    has_needs: bool,
    success: Lookup<bool>,
    failure: Lookup<bool>,
}

impl Contexts for PlanContexts<'_> {
    fn context(&self, name: &str) -> Lookup<Value> {
        match name {
            "github" => Lookup::Known(self.github.clone()),
            "inputs" => Lookup::Known(self.inputs.clone()),
            "vars" => Lookup::Known(Value::Object(Default::default())),
            "matrix" => match self.matrix {
                Some(m) => Lookup::Known(m.clone()),
                None => Lookup::Missing,
            },
            "strategy" => Lookup::Unknown,
            "needs" if self.has_needs => Lookup::Unknown,
            "needs" => Lookup::Known(Value::Object(Default::default())),
            _ => Lookup::Unknown,
        }
    }

    fn status(&self, f: StatusFunction) -> Lookup<bool> {
        match f {
            StatusFunction::Success => self.success.clone(),
            StatusFunction::Failure => self.failure.clone(),
            StatusFunction::Always => Lookup::Known(true),
            StatusFunction::Cancelled => Lookup::Unknown,
        }
    }
}

/// Plan one workflow for one event.
pub fn plan_workflow(wf: &Workflow, event: &Event) -> WorkflowPlan {
    let decision = wf.on.decide(event);
    let mut plan = WorkflowPlan {
        file: wf.file.clone(),
        name: wf.display_name(),
        triggered: decision.triggered,
        reason: decision.reason,
        jobs: Vec::new(),
    };
    if !plan.triggered {
        return plan;
    }
    let stages = graph::stages(wf);
    let inputs = Value::from_json(
        &event.inputs_context(
            wf.on
                .get(&event.name)
                .map(|t| t.inputs.as_slice())
                .unwrap_or(&[]),
        ),
    );
    // One decision per job; matrix instances share it.
    let mut decisions: Vec<(Decision, String)> =
        vec![(Decision::Run, String::new()); wf.jobs.len()];
    for index in graph::topological_order(wf) {
        let job = &wf.jobs[index];
        let github = Value::from_json(&event.github_context(Some(&job.id.value)));
        let (decision, reason) = decide_job(wf, job, &decisions, github.clone(), inputs.clone());
        decisions[index] = (decision, reason.clone());
        let needs: Vec<String> = job
            .needs
            .iter()
            .map(|&n| wf.jobs[n].id.value.clone())
            .collect();
        let mut notes = Vec::new();
        if job.container.is_some() {
            notes.push(
                "`container` is read but not supported yet: steps run on the host".to_string(),
            );
        }
        if job.services.is_some() {
            notes.push("`services` are read but not started yet".to_string());
        }
        if job.uses.is_some() {
            notes.push("reusable workflow calls are read but not run yet".to_string());
        }
        let ctx = PlanContexts {
            github: github.clone(),
            inputs: inputs.clone(),
            matrix: None,
            has_needs: !job.needs.is_empty(),
            success: Lookup::Known(true),
            failure: Lookup::Known(false),
        };
        let environment =
            job.environment
                .as_ref()
                .map(|e| match e.name.template.eval_partial(&ctx) {
                    Ok(Partial::Known(v)) => v.to_display_string(),
                    _ => e.name.raw.clone(),
                });
        let base = JobPlan {
            id: job.id.value.clone(),
            name: job.display_name(),
            needs,
            matrix: None,
            decision,
            reason,
            stage: stages[index],
            environment,
            notes,
        };
        match expand_matrix(job, &ctx) {
            MatrixPlan::None => {
                let mut p = base;
                p.name = job_name(job, &ctx, None);
                plan.jobs.push(p);
            }
            MatrixPlan::Combinations(combos) => {
                for combo in combos {
                    let value = Value::Object(combo.clone());
                    let mut p = base.clone();
                    p.name = job_name(job, &ctx, Some(&combo));
                    p.matrix = Some(value.to_json());
                    plan.jobs.push(p);
                }
            }
            MatrixPlan::Unknown(reason) => {
                let mut p = base;
                p.notes.push(reason);
                plan.jobs.push(p);
            }
        }
    }
    plan
}

enum MatrixPlan {
    None,
    Combinations(Vec<Combination>),
    /// Known only at run time, or invalid: why.
    Unknown(String),
}

fn expand_matrix(job: &Job, ctx: &dyn Contexts) -> MatrixPlan {
    let Some(matrix) = job.strategy.as_ref().and_then(|s| s.matrix.as_ref()) else {
        return MatrixPlan::None;
    };
    let unknown = |depends_on: Vec<String>| {
        MatrixPlan::Unknown(format!(
            "the matrix depends on {} and is expanded at run time",
            depends_on.join(", ")
        ))
    };
    let (dimensions, include, exclude) = match matrix {
        Matrix::Expr(text) => match text.template.eval_partial(ctx) {
            Ok(Partial::Known(v)) => match split_matrix_value(&v) {
                Ok(parts) => parts,
                Err(e) => return MatrixPlan::Unknown(e),
            },
            Ok(Partial::Unknown { depends_on }) => return unknown(depends_on),
            Err(e) => {
                return MatrixPlan::Unknown(format!("the matrix expression fails: {}", e.message))
            }
        },
        Matrix::Map {
            dimensions,
            include,
            exclude,
            ..
        } => {
            let mut dims = Vec::new();
            for (name, dim) in dimensions {
                let value = match dim {
                    Dimension::Values(values) => {
                        data::eval_partial(&Data::Seq(values.clone()), ctx)
                    }
                    Dimension::Expr(text) => text.template.eval_partial(ctx),
                };
                match value {
                    Ok(Partial::Known(Value::Array(values))) => {
                        dims.push((name.value.clone(), values))
                    }
                    Ok(Partial::Known(other)) => {
                        return MatrixPlan::Unknown(format!(
                            "matrix dimension `{}` is {}, not a list",
                            name.value,
                            other.kind()
                        ))
                    }
                    Ok(Partial::Unknown { depends_on }) => return unknown(depends_on),
                    Err(e) => {
                        return MatrixPlan::Unknown(format!(
                            "matrix dimension `{}` fails: {}",
                            name.value, e.message
                        ))
                    }
                }
            }
            let mut lists = [Vec::new(), Vec::new()];
            for (slot, data) in lists.iter_mut().zip([include, exclude]) {
                if let Some(data) = data {
                    match data::eval_partial(&data.value, ctx) {
                        Ok(Partial::Known(v)) => match combinations(&v) {
                            Ok(c) => *slot = c,
                            Err(e) => return MatrixPlan::Unknown(e),
                        },
                        Ok(Partial::Unknown { depends_on }) => return unknown(depends_on),
                        Err(e) => {
                            return MatrixPlan::Unknown(format!("the matrix fails: {}", e.message))
                        }
                    }
                }
            }
            let [include, exclude] = lists;
            (dims, include, exclude)
        }
    };
    match matrix::expand(&dimensions, &include, &exclude) {
        Ok(combos) => MatrixPlan::Combinations(combos),
        Err(e) => MatrixPlan::Unknown(e.to_string()),
    }
}

type MatrixParts = (
    Vec<(String, Vec<Value>)>,
    Vec<Combination>,
    Vec<Combination>,
);

/// A matrix given as one value (from `fromJSON`): dimensions, include, exclude.
fn split_matrix_value(v: &Value) -> Result<MatrixParts, String> {
    let Value::Object(entries) = v else {
        return Err(format!(
            "the matrix expression gives {}, not an object",
            v.kind()
        ));
    };
    let mut dims = Vec::new();
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for (k, v) in entries {
        match k.as_str() {
            "include" => include = combinations(v)?,
            "exclude" => exclude = combinations(v)?,
            _ => match v {
                Value::Array(items) => dims.push((k.clone(), items.clone())),
                other => {
                    return Err(format!(
                        "matrix dimension `{k}` is {}, not a list",
                        other.kind()
                    ))
                }
            },
        }
    }
    Ok((dims, include, exclude))
}

fn combinations(v: &Value) -> Result<Vec<Combination>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "matrix include/exclude is {}, not a list",
            v.kind()
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(entries) => Ok(entries.clone()),
            other => Err(format!(
                "a matrix include/exclude entry is {}, not an object",
                other.kind()
            )),
        })
        .collect()
}

/// The job's name as GitHub shows it: its `name:` evaluated, and for matrix
/// instances whose name does not use the matrix, the values in brackets.
fn job_name(job: &Job, base: &PlanContexts<'_>, combo: Option<&Combination>) -> String {
    let matrix_value = combo.map(|c| Value::Object(c.clone()));
    let ctx = PlanContexts {
        github: base.github.clone(),
        inputs: base.inputs.clone(),
        matrix: matrix_value.as_ref(),
        has_needs: base.has_needs,
        success: Lookup::Known(true),
        failure: Lookup::Known(false),
    };
    let (name, uses_matrix) = match &job.name {
        Some(text) => {
            let uses_matrix = text.raw.contains("matrix");
            match text.template.eval_partial(&ctx) {
                Ok(Partial::Known(v)) => (v.to_display_string(), uses_matrix),
                _ => (text.raw.clone(), uses_matrix),
            }
        }
        None => (job.id.value.clone(), false),
    };
    match combo {
        Some(c) if !uses_matrix => {
            let values: Vec<String> = c.iter().map(|(_, v)| short_value(v)).collect();
            format!("{name} ({})", values.join(", "))
        }
        _ => name,
    }
}

fn short_value(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => v.to_json().to_string(),
        other => other.to_display_string(),
    }
}

fn decide_job(
    wf: &Workflow,
    job: &Job,
    decisions: &[(Decision, String)],
    github: Value,
    inputs: Value,
) -> (Decision, String) {
    let skipped_need = job
        .needs
        .iter()
        .find(|&&n| decisions[n].0 == Decision::Skip);
    let conditional_need = job
        .needs
        .iter()
        .find(|&&n| decisions[n].0 == Decision::Conditional);
    let success = match (skipped_need, conditional_need) {
        (Some(_), _) => Lookup::Known(false),
        (None, Some(_)) => Lookup::Unknown,
        (None, None) => Lookup::Known(true),
    };
    let failure = if job.needs.is_empty() {
        Lookup::Known(false)
    } else {
        Lookup::Unknown
    };
    let ctx = PlanContexts {
        github,
        inputs,
        matrix: None,
        has_needs: !job.needs.is_empty(),
        success: success.clone(),
        failure,
    };
    let need_name = |n: usize| wf.jobs[n].id.value.as_str();
    let implicit_success = |detail: String| -> (Decision, String) {
        match (skipped_need, conditional_need) {
            (Some(&n), _) => (
                Decision::Skip,
                format!("needed job `{}` is skipped", need_name(n)),
            ),
            (None, Some(&n)) => (
                Decision::Conditional,
                format!(
                    "{detail}; runs only if `{}` runs and succeeds",
                    need_name(n)
                ),
            ),
            (None, None) => (Decision::Run, detail),
        }
    };
    let Some(condition) = &job.condition else {
        let detail = if job.needs.is_empty() {
            "no condition".to_string()
        } else {
            "no condition; runs when every needed job succeeds".to_string()
        };
        return implicit_success(detail);
    };
    let shown = condition.display();
    let expr = match &condition.form {
        ConditionForm::Template(_) => {
            return implicit_success(format!(
                "`if: {shown}` is always true (a string with `${{{{ }}}}` inside)"
            ))
        }
        ConditionForm::Expression(expr) => expr,
    };
    let explicit_status = expr.uses_status_function();
    match expr.eval_partial(&ctx) {
        Ok(Partial::Known(v)) if v.is_truthy() => {
            let detail = format!("`if: {shown}` is true{}", values_of(expr, &ctx));
            if explicit_status {
                (Decision::Run, detail)
            } else {
                implicit_success(detail)
            }
        }
        Ok(Partial::Known(_)) => {
            if !explicit_status {
                if let Some(&n) = skipped_need {
                    return (
                        Decision::Skip,
                        format!("needed job `{}` is skipped", need_name(n)),
                    );
                }
            }
            (
                Decision::Skip,
                format!("`if: {shown}` is false{}", values_of(expr, &ctx)),
            )
        }
        Ok(Partial::Unknown { depends_on }) => {
            if !explicit_status {
                if let Some(&n) = skipped_need {
                    return (
                        Decision::Skip,
                        format!("needed job `{}` is skipped", need_name(n)),
                    );
                }
            }
            (
                Decision::Conditional,
                format!(
                    "`if: {shown}` depends on {} at run time",
                    depends_on.join(", ")
                ),
            )
        }
        Err(e) => (
            Decision::Skip,
            format!("`if: {shown}` fails to evaluate: {}", e.message),
        ),
    }
}

/// " (github.ref is 'refs/heads/develop')" for the known values an
/// expression read, so a reader sees why it came out as it did.
fn values_of(expr: &slipway_expr::Expr, ctx: &dyn Contexts) -> String {
    let mut shown: Vec<String> = Vec::new();
    for reference in expr.references() {
        if shown.len() == 3 || reference.path.contains('*') {
            continue;
        }
        let Ok(path) = slipway_expr::parse(&reference.path) else {
            continue;
        };
        if let Ok(Partial::Known(v)) = path.eval_partial(ctx) {
            let text = match &v {
                Value::String(s) => format!("'{s}'"),
                Value::Array(_) | Value::Object(_) => continue,
                other => other.to_display_string(),
            };
            let item = format!("{} is {text}", reference.path);
            if !shown.contains(&item) {
                shown.push(item);
            }
        }
    }
    if shown.is_empty() {
        String::new()
    } else {
        format!(" ({})", shown.join(", "))
    }
}
