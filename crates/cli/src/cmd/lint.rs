//! `slipway lint`: every error and warning in the workflow files.

use std::path::PathBuf;

use serde::Serialize;
use slipway_workflow::diagnostic::{self, Diagnostic};
use slipway_workflow::lint::lint;

use crate::output::{print_json, Format};
use crate::workflows;
use crate::Exit;

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files [default: every file in .github/workflows]
    files: Vec<PathBuf>,
    /// The repository folder
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Exit 1 when there are warnings (errors always exit 2)
    #[arg(long)]
    deny_warnings: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct LintOutput<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = workflows::load(&args.dir, &args.files)?;
    let mut all = loaded.diagnostics.clone();
    for wf in &loaded.workflows {
        all.extend(lint(wf));
        all.extend(unrunnable_actions(wf));
    }
    diagnostic::sort(&mut all);
    let errors = all.iter().filter(|d| d.is_error()).count();
    let warnings = all.len() - errors;
    match args.format {
        Format::Json => print_json(&LintOutput {
            files: loaded.sources.len(),
            errors,
            warnings,
            diagnostics: &all,
        })?,
        Format::Text => {
            if !all.is_empty() {
                println!("{}", loaded.render(&all));
            }
            println!(
                "{} checked: {errors} error{}, {warnings} warning{}",
                if loaded.sources.len() == 1 {
                    "1 file".to_string()
                } else {
                    format!("{} files", loaded.sources.len())
                },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" },
            );
        }
    }
    if errors > 0 {
        return Err(Exit(slipway_model::exit::INVALID).into());
    }
    if warnings > 0 && args.deny_warnings {
        return Err(Exit(slipway_model::exit::FAILED).into());
    }
    Ok(())
}

/// Steps whose action `slipway run` cannot execute here.
pub fn unrunnable_actions(wf: &slipway_workflow::Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for job in &wf.jobs {
        for step in &job.steps {
            let Some(uses) = &step.uses else { continue };
            if let Some(why) = slipway_engine::builtins::unsupported(&uses.value) {
                out.push(Diagnostic::warning(
                    "unsupported-action",
                    &wf.file,
                    uses.span,
                    why,
                ));
            }
        }
    }
    out
}
