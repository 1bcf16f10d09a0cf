//! Warnings for workflows that read fine but hold a known mistake.

use slipway_expr::{Contexts, Lookup, Partial, Segment, StatusFunction, Value};

use crate::diagnostic::{suggest, Diagnostic};
use crate::known_actions;
use crate::source::Span;
use crate::workflow::{ConditionForm, Job, Text, Workflow};

/// Event fields anyone who opens a pull request, issue or comment sets.
/// Put into a script as `${{ }}`, they become shell code.
const UNTRUSTED: &[&str] = &[
    "github.head_ref",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.review_comment.body",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.email",
    "github.event.commits.*.author.name",
    "github.event.head_commit.message",
    "github.event.head_commit.author.email",
    "github.event.head_commit.author.name",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.author.name",
];

pub fn lint(wf: &Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let file = wf.file.as_str();
    for job in &wf.jobs {
        if let Some(c) = &job.condition {
            if let ConditionForm::Template(_) = c.form {
                out.push(always_true(file, c.span));
            }
        }
        if let Some(container) = &job.container {
            out.push(Diagnostic::warning(
                "unsupported",
                file,
                container.span,
                format!("job `{}` asks for a container; slipway reads `container` but runs the steps on the host", job.id.value),
            ));
        }
        if let Some(services) = &job.services {
            out.push(Diagnostic::warning(
                "unsupported",
                file,
                services.span,
                format!("job `{}` asks for service containers; slipway reads `services` but does not start them yet", job.id.value),
            ));
        }
        for step in &job.steps {
            if let Some(c) = &step.condition {
                if let ConditionForm::Template(_) = c.form {
                    out.push(always_true(file, c.span));
                }
            }
            if let Some(run) = &step.run {
                deprecated_commands(file, run, &mut out);
                injection(file, run, "script", &mut out);
            }
            if let Some(uses) = &step.uses {
                let (Some(slug), Some(version)) = (uses.value.slug(), uses.value.version()) else {
                    continue;
                };
                if slug == "actions/github-script" {
                    if let Some((_, script)) = step.with.iter().find(|(k, _)| k.value == "script") {
                        injection(file, script, "script", &mut out);
                    }
                }
                let Some(known) = known_actions::find(&slug, version) else {
                    continue;
                };
                for (key, _) in &step.with {
                    if known.inputs.contains(&key.value.as_str()) {
                        continue;
                    }
                    let help = known
                        .hints
                        .iter()
                        .find(|(k, _)| *k == key.value)
                        .map(|(_, h)| h.to_string())
                        .or_else(|| suggest(&key.value, known.inputs.iter().copied()))
                        .unwrap_or_else(|| format!("it accepts: {}", known.inputs.join(", ")));
                    out.push(
                        Diagnostic::warning(
                            "unknown-input",
                            file,
                            key.span,
                            format!(
                                "`{slug}@{version}` has no input `{}`; it is ignored",
                                key.value
                            ),
                        )
                        .with_help(help),
                    );
                }
                for required in known.required {
                    if !step.with.iter().any(|(k, _)| k.value == *required) {
                        out.push(Diagnostic::warning(
                            "missing-input",
                            file,
                            uses.span,
                            format!("`{slug}@{version}` needs the input `{required}`"),
                        ));
                    }
                }
            }
        }
    }
    never_runs(wf, &mut out);
    crate::diagnostic::sort(&mut out);
    out
}

fn always_true(file: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        "always-true-if",
        file,
        span,
        "this `if:` is always true: `${{ }}` covers only part of it, so it is a non-empty string",
    )
    .with_help("put the whole condition inside one `${{ }}`, or leave `${{ }}` out")
}

fn deprecated_commands(file: &str, run: &Text, out: &mut Vec<Diagnostic>) {
    const COMMANDS: [(&str, &str); 4] = [
        (
            "::set-output",
            "write `name=value` to \"$GITHUB_OUTPUT\" instead",
        ),
        (
            "::save-state",
            "write `name=value` to \"$GITHUB_STATE\" instead",
        ),
        (
            "::set-env",
            "disabled by GitHub; write `NAME=value` to \"$GITHUB_ENV\" instead",
        ),
        (
            "::add-path",
            "disabled by GitHub; append the directory to \"$GITHUB_PATH\" instead",
        ),
    ];
    for (command, help) in COMMANDS {
        for (byte, _) in run.raw.match_indices(command) {
            let offset = run.raw[..byte].chars().count();
            let pos = run.pos_of(offset);
            out.push(
                Diagnostic::warning(
                    "deprecated-command",
                    file,
                    Span::on_line(pos.line, pos.column, command.len()),
                    format!(
                        "the `{}` workflow command is deprecated",
                        command.trim_start_matches(':')
                    ),
                )
                .with_help(help),
            );
        }
    }
}

fn injection(file: &str, text: &Text, what: &str, out: &mut Vec<Diagnostic>) {
    for segment in &text.template.segments {
        let Segment::Expr { expr, offset, .. } = segment else {
            continue;
        };
        for reference in expr.references() {
            let path = reference.path.to_ascii_lowercase();
            let hit = UNTRUSTED
                .iter()
                .find(|u| path == **u || (u.contains(".*.") && matches_star(u, &path)));
            let Some(hit) = hit else { continue };
            let pos = text.pos_of(offset + reference.offset);
            out.push(
                Diagnostic::warning(
                    "script-injection",
                    file,
                    Span::on_line(pos.line, pos.column, reference.path.chars().count()),
                    format!("`{}` is set by whoever triggers the event; put into a {what} with `${{{{ }}}}` it runs as code", reference.path),
                )
                .with_help(format!(
                    "pass it through an environment variable: `env: VALUE: ${{{{ {hit} }}}}` and use \"$VALUE\""
                )),
            );
        }
    }
}

/// `github.event.commits.*.message` matches `github.event.commits[0].message`
/// as a reference path writes it (`github.event.commits.*.message` or with an index).
fn matches_star(pattern: &str, path: &str) -> bool {
    let (head, tail) = pattern.split_once(".*.").unwrap_or((pattern, ""));
    let Some(rest) = path.strip_prefix(head) else {
        return false;
    };
    rest.ends_with(&format!(".{tail}")) && (rest.starts_with(".*.") || rest.starts_with('['))
}

/// What a job condition can be without knowing anything of the event.
struct Nothing;

impl Contexts for Nothing {
    fn context(&self, _: &str) -> Lookup<Value> {
        Lookup::Unknown
    }
    fn status(&self, f: StatusFunction) -> Lookup<bool> {
        match f {
            StatusFunction::Always => Lookup::Known(true),
            _ => Lookup::Unknown,
        }
    }
}

/// Jobs whose condition is false whatever happens, and jobs that need them
/// without asking for `always()` or another status function.
fn never_runs(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let mut never = vec![false; wf.jobs.len()];
    for index in crate::graph::topological_order(wf) {
        let job: &Job = &wf.jobs[index];
        let explicit_status = match job.condition.as_ref().map(|c| &c.form) {
            Some(ConditionForm::Expression(expr)) => {
                if let Ok(Partial::Known(v)) = expr.eval_partial(&Nothing) {
                    if !v.is_truthy() {
                        never[index] = true;
                        out.push(Diagnostic::warning(
                            "never-runs",
                            &wf.file,
                            job.condition
                                .as_ref()
                                .map(|c| c.span)
                                .unwrap_or(job.id.span),
                            format!(
                                "job `{}` can never run: its `if:` is always false",
                                job.id.value
                            ),
                        ));
                        continue;
                    }
                }
                expr.uses_status_function()
            }
            _ => false,
        };
        if explicit_status {
            continue;
        }
        if let Some(&n) = job.needs.iter().find(|&&n| never[n]) {
            never[index] = true;
            out.push(
                Diagnostic::warning(
                    "never-runs",
                    &wf.file,
                    job.id.span,
                    format!(
                        "job `{}` can never run: it needs `{}`, which never runs",
                        job.id.value, wf.jobs[n].id.value
                    ),
                )
                .with_help("add `if: always()` (or another status check) if it should run anyway"),
            );
        }
    }
}
