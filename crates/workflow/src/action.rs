//! `action.yml` of a local action (`uses: ./path`): its inputs, outputs
//! and how it runs (composite steps, or a Node script).

use crate::availability as at;
use crate::diagnostic::Diagnostic;
use crate::read::Reader;
use crate::source::{SourceFile, Spanned};
use crate::workflow::{Step, Text};
use crate::yaml;

#[derive(Debug, Clone)]
pub struct ActionInput {
    pub name: String,
    pub required: bool,
    pub default: Option<Text>,
}

#[derive(Debug, Clone)]
pub enum ActionRuns {
    Composite(Vec<Step>),
    /// `using: node20` (or 12, 16, 24): a script run with the machine's node.
    Node {
        main: String,
        pre: Option<String>,
        post: Option<String>,
    },
    /// `using: docker` and anything else slipway does not run yet.
    Unsupported(String),
}

#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    pub inputs: Vec<ActionInput>,
    pub outputs: Vec<(Spanned<String>, Option<Text>)>,
    pub runs: ActionRuns,
}

/// Read and check an action manifest; every problem comes back at once.
pub fn read_action(source: &SourceFile) -> Result<Action, Vec<Diagnostic>> {
    let mut r = Reader {
        src: source,
        diags: Vec::new(),
    };
    let root = match yaml::parse(&source.text) {
        Ok((root, problems)) => {
            for p in problems {
                r.diags.push(Diagnostic::error(
                    "duplicate-key",
                    &source.path,
                    p.span,
                    p.message,
                ));
            }
            root
        }
        Err(e) => {
            return Err(vec![Diagnostic::error(
                "yaml-syntax",
                &source.path,
                e.span,
                format!("invalid YAML: {}", e.message),
            )]);
        }
    };
    let mut action = Action {
        name: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        runs: ActionRuns::Unsupported("the action has no `runs`".into()),
    };
    let keys = [
        "name",
        "author",
        "description",
        "inputs",
        "outputs",
        "runs",
        "branding",
    ];
    for (key, value, _) in r.entries(&root, "action", &keys) {
        match key {
            "name" => action.name = r.scalar(value, "name").unwrap_or_default(),
            "inputs" => {
                for (name, config, _) in r.entries(value, "inputs", &[]) {
                    let mut input = ActionInput {
                        name: name.to_string(),
                        required: false,
                        default: None,
                    };
                    if !config.is_null() {
                        for (k, v, _) in r.entries(
                            config,
                            &format!("inputs.{name}"),
                            &["description", "required", "default", "deprecationMessage"],
                        ) {
                            match k {
                                "required" => {
                                    input.required =
                                        v.as_bool().unwrap_or(v.as_scalar() == Some("true"))
                                }
                                "default" => input.default = r.text(v, "default", at::STEP_KEY),
                                _ => {}
                            }
                        }
                    }
                    action.inputs.push(input);
                }
            }
            "outputs" => {
                for (name, config, span) in r.entries(value, "outputs", &[]) {
                    let mut out = None;
                    if !config.is_null() {
                        for (k, v, _) in r.entries(
                            config,
                            &format!("outputs.{name}"),
                            &["description", "value"],
                        ) {
                            if k == "value" {
                                out = r.text(v, "value", at::STEP_KEY);
                            }
                        }
                    }
                    action
                        .outputs
                        .push((Spanned::new(name.to_string(), span), out));
                }
            }
            "runs" => {
                let using = value
                    .get("using")
                    .and_then(|u| u.as_scalar())
                    .unwrap_or("")
                    .to_string();
                action.runs = if using == "composite" {
                    let mut steps = Vec::new();
                    for (k, v, _) in r.entries(value, "runs", &["using", "steps"]) {
                        if k == "steps" {
                            steps = r.steps(v);
                        }
                    }
                    for step in &steps {
                        if step.run.is_some() && step.shell.is_none() {
                            r.error(
                                "missing-key",
                                step.span,
                                "a `run` step of a composite action needs `shell` (as on GitHub)",
                            );
                        }
                    }
                    ActionRuns::Composite(steps)
                } else if using.starts_with("node") {
                    let get =
                        |k: &str| value.get(k).and_then(|v| v.as_scalar()).map(str::to_string);
                    match get("main") {
                        Some(main) => ActionRuns::Node {
                            main,
                            pre: get("pre"),
                            post: get("post"),
                        },
                        None => ActionRuns::Unsupported(format!("`using: {using}` needs `main`")),
                    }
                } else {
                    ActionRuns::Unsupported(format!("`using: {using}` actions are not run yet"))
                };
            }
            _ => {}
        }
    }
    if r.diags.iter().any(|d| d.is_error()) {
        return Err(r.diags);
    }
    Ok(action)
}
