//! YAML nodes -> a checked `Workflow`. Every problem is collected and
//! reported together, each with its position; a workflow is returned only
//! when there are no errors.

use slipway_expr::{parse, parse_template, Segment};

use crate::availability::{self as at, Place};
use crate::diagnostic::{suggest, Diagnostic};
use crate::filter_pattern::FilterPattern;
use crate::graph;
use crate::matrix::{Dimension, Matrix, Strategy};
use crate::source::{SourceFile, Span, Spanned};
use crate::triggers::{DispatchInput, EventFilters, EventTrigger, Filter, InputType, Triggers};
use crate::workflow::*;
use crate::yaml::{self, Node, NodeValue, Style};

/// The expression parser says "at position N" (inside the expression);
/// diagnostics show file:line:column instead.
fn without_position(message: &str) -> String {
    let mut out = message.to_string();
    while let Some(start) = out.find(" at position ") {
        let digits = out[start + 13..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        if digits == 0 {
            break;
        }
        out.replace_range(start..start + 13 + digits, "");
    }
    out
}

/// What reading a file gave: the workflow when it had no errors, and every
/// diagnostic found (errors, and warnings about what cannot run here).
pub struct ReadOutcome {
    pub workflow: Option<Workflow>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn read_workflow(source: &SourceFile) -> ReadOutcome {
    let mut r = Reader {
        src: source,
        diags: Vec::new(),
    };
    let workflow = match yaml::parse(&source.text) {
        Ok((root, problems)) => {
            for p in problems {
                r.diags.push(Diagnostic::error(
                    "duplicate-key",
                    &source.path,
                    p.span,
                    p.message,
                ));
            }
            r.workflow(&root)
        }
        Err(e) => {
            r.diags.push(
                Diagnostic::error(
                    "yaml-syntax",
                    &source.path,
                    e.span,
                    format!("invalid YAML: {}", e.message),
                )
                .with_help("check the indentation and quoting here and on the line before"),
            );
            None
        }
    };
    let mut diagnostics = r.diags;
    crate::diagnostic::sort(&mut diagnostics);
    let has_errors = diagnostics.iter().any(|d| d.is_error());
    ReadOutcome {
        workflow: if has_errors { None } else { workflow },
        diagnostics,
    }
}

const WORKFLOW_KEYS: &[&str] = &[
    "name",
    "run-name",
    "on",
    "permissions",
    "env",
    "defaults",
    "concurrency",
    "jobs",
];
const JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "permissions",
    "runs-on",
    "environment",
    "concurrency",
    "outputs",
    "env",
    "defaults",
    "if",
    "steps",
    "timeout-minutes",
    "strategy",
    "continue-on-error",
    "container",
    "services",
    "uses",
    "with",
    "secrets",
];
const RUN_STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "if",
    "run",
    "shell",
    "working-directory",
    "env",
    "continue-on-error",
    "timeout-minutes",
];
const USES_STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "if",
    "uses",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
];
const ALL_STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "if",
    "run",
    "uses",
    "with",
    "shell",
    "working-directory",
    "env",
    "continue-on-error",
    "timeout-minutes",
];
pub(crate) const EVENTS: &[&str] = &[
    "branch_protection_rule",
    "check_run",
    "check_suite",
    "create",
    "delete",
    "deployment",
    "deployment_status",
    "discussion",
    "discussion_comment",
    "fork",
    "gollum",
    "issue_comment",
    "issues",
    "label",
    "merge_group",
    "milestone",
    "page_build",
    "project",
    "project_card",
    "project_column",
    "public",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_target",
    "push",
    "registry_package",
    "release",
    "repository_dispatch",
    "schedule",
    "status",
    "watch",
    "workflow_call",
    "workflow_dispatch",
    "workflow_run",
];
const PERMISSION_SCOPES: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

pub(crate) struct Reader<'s> {
    pub(crate) src: &'s SourceFile,
    pub(crate) diags: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub(crate) fn error(
        &mut self,
        rule: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(rule, &self.src.path, span, message));
        self.diags.last_mut().expect("just pushed")
    }

    fn type_error(&mut self, node: &Node, what: &str, expected: &str) {
        self.error(
            "invalid-type",
            node.span,
            format!("`{what}` must be {expected}, not {}", node.kind_name()),
        );
    }

    /// The entries of a mapping whose keys are all allowed; unknown keys
    /// are reported with the closest known key.
    pub(crate) fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Vec<(&'n str, &'n Node, Span)> {
        let Some(map) = node.as_map() else {
            self.type_error(node, what, "a mapping");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(key) = k.as_scalar() else {
                self.error(
                    "invalid-type",
                    k.span,
                    format!("keys of `{what}` must be strings"),
                );
                continue;
            };
            if !allowed.is_empty() && !allowed.contains(&key) {
                let help = suggest(key, allowed.iter().copied())
                    .unwrap_or_else(|| format!("allowed keys: {}", allowed.join(", ")));
                self.error(
                    "unknown-key",
                    k.span,
                    format!("unknown key `{key}` in `{what}`"),
                )
                .help = Some(help);
                continue;
            }
            out.push((key, v, k.span));
        }
        out
    }

    /// Any scalar as its text (`3` -> "3", `true` -> "true").
    pub(crate) fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(_) if node.is_null() => Some(String::new()),
            Some(s) => Some(s.to_string()),
            None => {
                self.type_error(node, what, "a string");
                None
            }
        }
    }

    fn spanned_scalar(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        self.scalar(node, what).map(|s| Spanned::new(s, node.span))
    }

    /// A string that may hold `${{ }}`, with its expressions parsed and
    /// their contexts checked against where they are written.
    pub(crate) fn text(&mut self, node: &Node, what: &str, place: Place) -> Option<Text> {
        let raw = self.scalar(node, what)?;
        self.text_from(raw, node, place)
    }

    fn text_from(&mut self, raw: String, node: &Node, place: Place) -> Option<Text> {
        match parse_template(&raw) {
            Ok(template) => {
                for segment in &template.segments {
                    if let Segment::Expr { expr, offset, .. } = segment {
                        self.check_contexts(expr, node, *offset, place);
                    }
                }
                let mut line_starts = Vec::new();
                if raw.contains('\n') {
                    let mut offset = 0;
                    for line in raw.split('\n') {
                        line_starts.push(node.pos_of(offset, self.src));
                        offset += line.chars().count() + 1;
                    }
                }
                Some(Text {
                    first: node.pos_of(0, self.src),
                    line_starts,
                    raw,
                    span: node.span,
                    template,
                })
            }
            Err(e) => {
                let pos = node.pos_of(e.offset, self.src);
                self.error(
                    "invalid-expression",
                    Span::point(pos.line, pos.column),
                    format!("invalid expression: {}", without_position(&e.message)),
                );
                None
            }
        }
    }

    fn check_contexts(
        &mut self,
        expr: &slipway_expr::Expr,
        node: &Node,
        base: usize,
        place: Place,
    ) {
        for reference in expr.references() {
            let name = reference
                .path
                .split(['.', '['])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let pos = node.pos_of(base + reference.offset, self.src);
            let span = Span::on_line(pos.line, pos.column, name.chars().count());
            if !at::ALL_CONTEXTS.contains(&name.as_str()) {
                let help = suggest(&name, at::ALL_CONTEXTS)
                    .unwrap_or_else(|| format!("known contexts: {}", at::ALL_CONTEXTS.join(", ")));
                self.error("unknown-context", span, format!("unknown context `{name}`"))
                    .help = Some(help);
            } else if !place.contexts.contains(&name.as_str()) {
                let available = if place.contexts.is_empty() {
                    "expressions are not allowed here".to_string()
                } else {
                    format!("available here: {}", place.contexts.join(", "))
                };
                self.error(
                    "unavailable-context",
                    span,
                    format!("context `{name}` is not available in `{}`", place.name),
                )
                .help = Some(available);
            }
        }
        for (function, offset) in expr.functions() {
            let pos = node.pos_of(base + offset, self.src);
            let span = Span::on_line(pos.line, pos.column, function.chars().count());
            if at::STATUS_FUNCTIONS.contains(&function.as_str()) && !place.status_functions {
                self.error(
                    "unavailable-function",
                    span,
                    format!(
                        "`{function}()` can only be used in `if:` conditions, not in `{}`",
                        place.name
                    ),
                );
            } else if function == "hashfiles" && !place.hash_files {
                self.error(
                    "unavailable-function",
                    span,
                    format!(
                        "`hashFiles()` can only be used in steps, not in `{}`",
                        place.name
                    ),
                );
            }
        }
    }

    fn condition(&mut self, node: &Node, place: Place) -> Option<Condition> {
        if let Some(b) = node.as_bool() {
            // `if: true` is the expression `true`.
            let expr = parse(if b { "true" } else { "false" }).ok()?;
            return Some(Condition {
                raw: b.to_string(),
                span: node.span,
                form: ConditionForm::Expression(expr),
                pos: node.span.start,
            });
        }
        let raw = self.scalar(node, "if")?;
        if raw.contains("${{") {
            let text = self.text_from(raw.clone(), node, place)?;
            let pos = text.first;
            let form = match text.template.whole_expression() {
                Some(expr) => ConditionForm::Expression(expr.clone()),
                None => ConditionForm::Template(text.template),
            };
            return Some(Condition {
                raw,
                span: node.span,
                form,
                pos,
            });
        }
        match parse(&raw) {
            Ok(expr) => {
                self.check_contexts(&expr, node, 0, place);
                Some(Condition {
                    raw,
                    span: node.span,
                    form: ConditionForm::Expression(expr),
                    pos: node.pos_of(0, self.src),
                })
            }
            Err(e) => {
                let pos = node.pos_of(e.offset, self.src);
                self.error(
                    "invalid-expression",
                    Span::point(pos.line, pos.column),
                    format!(
                        "invalid expression in `if`: {}",
                        without_position(&e.message)
                    ),
                );
                None
            }
        }
    }

    fn bool_or(&mut self, node: &Node, what: &str, place: Place) -> Option<BoolOr> {
        if let Some(b) = node.as_bool() {
            return Some(BoolOr::Bool(b));
        }
        match node.as_scalar() {
            Some(s) if s.contains("${{") => self.text(node, what, place).map(BoolOr::Expr),
            _ => {
                self.type_error(node, what, "`true`, `false` or an expression");
                None
            }
        }
    }

    fn number_or(&mut self, node: &Node, what: &str, place: Place) -> Option<NumberOr> {
        if let Some(n) = node.as_number() {
            if n.is_finite() && n >= 0.0 {
                return Some(NumberOr::Number(n));
            }
        }
        match node.as_scalar() {
            Some(s) if s.contains("${{") => self.text(node, what, place).map(NumberOr::Expr),
            _ => {
                self.type_error(node, what, "a positive number or an expression");
                None
            }
        }
    }

    /// A string or a list of strings (`needs`, `branches`, `types`).
    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        match &node.value {
            NodeValue::Seq(items) => items
                .iter()
                .filter_map(|item| match item.as_scalar() {
                    Some(s) if !item.is_null() => Some(Spanned::new(s.to_string(), item.span)),
                    _ => {
                        self.type_error(item, what, "a list of strings");
                        None
                    }
                })
                .collect(),
            NodeValue::Scalar { .. } if node.is_null() => Vec::new(),
            NodeValue::Scalar { text, .. } => vec![Spanned::new(text.clone(), node.span)],
            NodeValue::Map(_) => {
                self.type_error(node, what, "a string or a list of strings");
                Vec::new()
            }
        }
    }

    fn data(&mut self, node: &Node, what: &str, place: Place) -> Data {
        match &node.value {
            NodeValue::Scalar { .. } if node.is_null() => Data::Null,
            NodeValue::Scalar { text, style } => {
                if *style == Style::Plain {
                    if let Some(b) = node.as_bool() {
                        return Data::Bool(b);
                    }
                    if let Some(n) = node.as_number() {
                        return Data::Number(n);
                    }
                }
                match self.text_from(text.clone(), node, place) {
                    Some(t) => Data::Str(t),
                    None => Data::Null,
                }
            }
            NodeValue::Seq(items) => {
                Data::Seq(items.iter().map(|i| self.data(i, what, place)).collect())
            }
            NodeValue::Map(entries) => Data::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = self.scalar(k, what)?;
                        Some((key, self.data(v, what, place)))
                    })
                    .collect(),
            ),
        }
    }

    fn env(&mut self, node: &Node, what: &str, place: Place) -> Env {
        if node.is_null() {
            return Vec::new();
        }
        if let Some(s) = node.as_scalar() {
            // `env: ${{ fromJSON(...) }}` is allowed by GitHub; keep it as one entry.
            if s.contains("${{") {
                self.error("unsupported", node.span, format!("`{what}` given as one expression is not supported; write the variables as a mapping"));
                return Vec::new();
            }
        }
        let mut out = Vec::new();
        for (key, value, key_span) in self.entries(node, what, &[]) {
            if let Some(text) = match value.value {
                NodeValue::Scalar { .. } => self.text(value, what, place),
                _ => {
                    self.type_error(
                        value,
                        &format!("{what}.{key}"),
                        "a string, number or boolean",
                    );
                    None
                }
            } {
                out.push((Spanned::new(key.to_string(), key_span), text));
            }
        }
        out
    }

    fn defaults(&mut self, node: &Node, what: &str, place: Place) -> RunDefaults {
        let mut d = RunDefaults::default();
        for (key, value, _) in self.entries(node, what, &["run"]) {
            debug_assert_eq!(key, "run");
            for (key, value, _) in self.entries(
                value,
                &format!("{what}.run"),
                &["shell", "working-directory"],
            ) {
                match key {
                    "shell" => d.shell = self.text(value, "shell", place),
                    _ => d.working_directory = self.text(value, "working-directory", place),
                }
            }
        }
        d
    }

    fn concurrency(&mut self, node: &Node, place: Place) -> Option<Concurrency> {
        if node.as_scalar().is_some() {
            return Some(Concurrency {
                group: self.text(node, "concurrency", place)?,
                cancel_in_progress: None,
            });
        }
        let mut group = None;
        let mut cancel = None;
        for (key, value, _) in self.entries(node, "concurrency", &["group", "cancel-in-progress"]) {
            match key {
                "group" => group = self.text(value, "concurrency.group", place),
                _ => cancel = self.bool_or(value, "concurrency.cancel-in-progress", place),
            }
        }
        match group {
            Some(group) => Some(Concurrency {
                group,
                cancel_in_progress: cancel,
            }),
            None => {
                self.error("missing-key", node.span, "`concurrency` needs a `group`");
                None
            }
        }
    }

    fn permissions(&mut self, node: &Node) -> Option<Vec<(String, String)>> {
        if let Some(s) = node.as_scalar() {
            if !matches!(s, "read-all" | "write-all") {
                self.error(
                    "invalid-value",
                    node.span,
                    format!("`permissions: {s}` is not valid"),
                )
                .help = Some("use `read-all`, `write-all` or a mapping of scopes".into());
                return None;
            }
            return Some(vec![("*".into(), s.into())]);
        }
        let mut out = Vec::new();
        for (scope, level, _) in self.entries(node, "permissions", PERMISSION_SCOPES) {
            let Some(level_text) = level.as_scalar() else {
                self.type_error(level, scope, "`read`, `write` or `none`");
                continue;
            };
            if !matches!(level_text, "read" | "write" | "none") {
                self.error(
                    "invalid-value",
                    level.span,
                    format!("permission level `{level_text}` is not valid"),
                )
                .help = Some("use `read`, `write` or `none`".into());
                continue;
            }
            out.push((scope.to_string(), level_text.to_string()));
        }
        Some(out)
    }

    fn workflow(&mut self, root: &Node) -> Option<Workflow> {
        if root.as_map().is_none() {
            self.error(
                "invalid-type",
                root.span,
                "a workflow file must be a mapping with `on` and `jobs`",
            );
            return None;
        }
        let mut wf = Workflow {
            file: self.src.path.clone(),
            name: None,
            run_name: None,
            on: Triggers::default(),
            env: Vec::new(),
            defaults: RunDefaults::default(),
            concurrency: None,
            permissions: None,
            jobs: Vec::new(),
        };
        let mut saw_on = false;
        let mut jobs_node = None;
        for (key, value, _) in self.entries(root, "workflow", WORKFLOW_KEYS) {
            match key {
                "name" => wf.name = self.text(value, "name", at::WORKFLOW_NAME),
                "run-name" => wf.run_name = self.text(value, "run-name", at::RUN_NAME),
                "on" => {
                    saw_on = true;
                    wf.on = self.triggers(value);
                }
                "env" => wf.env = self.env(value, "env", at::WORKFLOW_ENV),
                "defaults" => wf.defaults = self.defaults(value, "defaults", at::WORKFLOW_DEFAULTS),
                "concurrency" => wf.concurrency = self.concurrency(value, at::WORKFLOW_CONCURRENCY),
                "permissions" => wf.permissions = self.permissions(value),
                _ => jobs_node = Some(value),
            }
        }
        if !saw_on {
            self.error(
                "missing-key",
                Span::point(1, 1),
                "the workflow has no `on:`; say which events start it",
            )
            .help = Some("add for example `on: push`".into());
        }
        match jobs_node {
            None => {
                self.error(
                    "missing-key",
                    Span::point(1, 1),
                    "the workflow has no `jobs:`",
                );
            }
            Some(node) => wf.jobs = self.jobs(node),
        }
        graph::resolve_needs(&mut wf, &self.src.path, &mut self.diags);
        Some(wf)
    }

    fn triggers(&mut self, node: &Node) -> Triggers {
        let mut triggers = Triggers::default();
        let names: Vec<(Spanned<String>, Option<&Node>)> = match &node.value {
            NodeValue::Scalar { text, .. } => vec![(Spanned::new(text.clone(), node.span), None)],
            NodeValue::Seq(items) => items
                .iter()
                .filter_map(|i| self.spanned_scalar(i, "on").map(|s| (s, None)))
                .collect(),
            NodeValue::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| self.spanned_scalar(k, "on").map(|s| (s, Some(v))))
                .collect(),
        };
        for (name, config) in names {
            if !EVENTS.contains(&name.value.as_str()) {
                let help = suggest(&name.value, EVENTS.iter().copied())
                    .unwrap_or_else(|| "see GitHub's list of events that trigger workflows".into());
                self.error(
                    "unknown-event",
                    name.span,
                    format!("unknown event `{}`", name.value),
                )
                .help = Some(help);
                continue;
            }
            let trigger = self.event_trigger(name, config);
            triggers.events.push(trigger);
        }
        triggers
    }

    fn event_trigger(&mut self, name: Spanned<String>, config: Option<&Node>) -> EventTrigger {
        let mut t = EventTrigger {
            name,
            types: None,
            filters: EventFilters::default(),
            inputs: Vec::new(),
            crons: Vec::new(),
        };
        let Some(config) = config.filter(|c| !c.is_null()) else {
            return t;
        };
        let event = t.name.value.clone();
        let what = format!("on.{event}");
        let allowed: &[&str] = match event.as_str() {
            "push" => &[
                "branches",
                "branches-ignore",
                "tags",
                "tags-ignore",
                "paths",
                "paths-ignore",
            ],
            "pull_request" | "pull_request_target" => &[
                "types",
                "branches",
                "branches-ignore",
                "paths",
                "paths-ignore",
            ],
            "workflow_dispatch" => &["inputs"],
            "workflow_call" => &["inputs", "outputs", "secrets"],
            "workflow_run" => &["workflows", "types", "branches", "branches-ignore"],
            "schedule" => {
                self.schedule(config, &mut t);
                return t;
            }
            _ => &["types"],
        };
        for (key, value, _) in self.entries(config, &what, allowed) {
            match key {
                "types" => t.types = Some(self.string_list(value, "types")),
                "branches" => t.filters.branches = self.filter(value, key),
                "branches-ignore" => t.filters.branches_ignore = self.filter(value, key),
                "tags" => t.filters.tags = self.filter(value, key),
                "tags-ignore" => t.filters.tags_ignore = self.filter(value, key),
                "paths" => t.filters.paths = self.filter(value, key),
                "paths-ignore" => t.filters.paths_ignore = self.filter(value, key),
                "inputs" => t.inputs = self.inputs(value, &event),
                "outputs" => {
                    for (_, output, _) in self.entries(value, "outputs", &[]) {
                        for (k, v, _) in
                            self.entries(output, "outputs.<output_id>", &["description", "value"])
                        {
                            if k == "value" {
                                self.text(v, "value", at::CALL_OUTPUT_VALUE);
                            }
                        }
                    }
                }
                "secrets" => {
                    for (_, secret, _) in self.entries(value, "secrets", &[]) {
                        if !secret.is_null() {
                            self.entries(
                                secret,
                                "secrets.<secret_id>",
                                &["description", "required"],
                            );
                        }
                    }
                }
                _ => {
                    self.string_list(value, key);
                }
            }
        }
        let f = &t.filters;
        let conflicts = [
            ("branches", f.branches.as_ref(), f.branches_ignore.as_ref()),
            ("tags", f.tags.as_ref(), f.tags_ignore.as_ref()),
            ("paths", f.paths.as_ref(), f.paths_ignore.as_ref()),
        ];
        let mut found = Vec::new();
        for (key, a, b) in conflicts {
            if let (Some(_), Some(ignore)) = (a, b) {
                found.push((key, ignore.span));
            }
        }
        for (key, span) in found {
            self.error(
                "filter-conflict",
                span,
                format!("`{key}` and `{key}-ignore` cannot both be used for `{event}`"),
            )
            .help = Some(format!(
                "keep `{key}` and exclude with `!` patterns instead"
            ));
        }
        t
    }

    fn filter(&mut self, node: &Node, key: &str) -> Option<Filter> {
        let mut patterns = Vec::new();
        for item in self.string_list(node, key) {
            match FilterPattern::parse(&item.value) {
                Ok(p) => patterns.push(p),
                Err(e) => {
                    let item_node = find_item(node, &item.span);
                    let pos = item_node
                        .map(|n| n.pos_of(e.column, self.src))
                        .unwrap_or(item.span.start);
                    self.error(
                        "invalid-filter",
                        Span::point(pos.line, pos.column),
                        format!("invalid pattern `{}` in `{key}`: {}", item.value, e.message),
                    );
                }
            }
        }
        Some(Filter {
            patterns,
            span: node.span,
        })
    }

    fn schedule(&mut self, node: &Node, t: &mut EventTrigger) {
        let Some(items) = node.as_seq() else {
            self.type_error(node, "on.schedule", "a list of `- cron: ...` entries");
            return;
        };
        for item in items {
            for (_, value, _) in self.entries(item, "on.schedule", &["cron"]) {
                let Some(cron) = self.spanned_scalar(value, "cron") else {
                    continue;
                };
                if let Err(message) = crate::cron::check(&cron.value) {
                    self.error(
                        "invalid-cron",
                        value.span,
                        format!("invalid cron `{}`: {message}", cron.value),
                    )
                    .help =
                        Some("use five fields: minute hour day-of-month month day-of-week".into());
                } else {
                    t.crons.push(cron);
                }
            }
        }
    }

    fn inputs(&mut self, node: &Node, event: &str) -> Vec<DispatchInput> {
        let mut out = Vec::new();
        let allowed: &[&str] = if event == "workflow_dispatch" {
            &[
                "description",
                "required",
                "default",
                "type",
                "options",
                "deprecationMessage",
            ]
        } else {
            &["description", "required", "default", "type"]
        };
        for (name, config, name_span) in self.entries(node, &format!("on.{event}.inputs"), &[]) {
            let mut input = DispatchInput {
                name: Spanned::new(name.to_string(), name_span),
                description: None,
                required: false,
                default: None,
                kind: InputType::String,
            };
            let mut options = Vec::new();
            let mut type_span = None;
            if !config.is_null() {
                for (key, value, _) in self.entries(config, &format!("inputs.{name}"), allowed) {
                    match key {
                        "description" => input.description = self.scalar(value, key),
                        "required" => match value.as_bool() {
                            Some(b) => input.required = b,
                            None => self.type_error(value, key, "`true` or `false`"),
                        },
                        "default" => {
                            input.default = Some(self.data(value, key, at::CALL_INPUT_DEFAULT))
                        }
                        "options" => {
                            options = self
                                .string_list(value, key)
                                .into_iter()
                                .map(|s| s.value)
                                .collect()
                        }
                        "type" => {
                            type_span = Some(value.span);
                            let text = self.scalar(value, key).unwrap_or_default();
                            input.kind = match text.as_str() {
                                "string" => InputType::String,
                                "boolean" => InputType::Boolean,
                                "number" => InputType::Number,
                                "choice" if event == "workflow_dispatch" => {
                                    InputType::Choice(Vec::new())
                                }
                                "environment" if event == "workflow_dispatch" => {
                                    InputType::Environment
                                }
                                other => {
                                    self.error(
                                        "invalid-value",
                                        value.span,
                                        format!("unknown input type `{other}`"),
                                    )
                                    .help = Some(
                                        "use string, boolean, number, choice or environment".into(),
                                    );
                                    InputType::String
                                }
                            };
                        }
                        _ => {}
                    }
                }
            }
            if let InputType::Choice(o) = &mut input.kind {
                if options.is_empty() {
                    self.error(
                        "missing-key",
                        type_span.unwrap_or(name_span),
                        format!("choice input `{name}` needs `options`"),
                    );
                }
                *o = options;
            }
            out.push(input);
        }
        out
    }

    fn jobs(&mut self, node: &Node) -> Vec<Job> {
        let mut jobs = Vec::new();
        let Some(map) = node.as_map() else {
            self.type_error(node, "jobs", "a mapping of job ids to jobs");
            return jobs;
        };
        if map.is_empty() {
            self.error(
                "missing-key",
                node.span,
                "`jobs` is empty; a workflow needs at least one job",
            );
        }
        for (key, value) in map {
            let Some(id) = self.spanned_scalar(key, "jobs") else {
                continue;
            };
            if !valid_id(&id.value) {
                self.error(
                    "invalid-id",
                    id.span,
                    format!("job id `{}` must start with a letter or `_` and hold only letters, digits, `-` and `_`", id.value),
                );
            }
            if let Some(job) = self.job(id, value) {
                jobs.push(job);
            }
        }
        jobs
    }

    fn job(&mut self, id: Spanned<String>, node: &Node) -> Option<Job> {
        let mut job = Job {
            id,
            name: None,
            needs: Vec::new(),
            needs_names: Vec::new(),
            condition: None,
            runs_on: None,
            environment: None,
            outputs: Vec::new(),
            env: Vec::new(),
            defaults: RunDefaults::default(),
            timeout_minutes: None,
            continue_on_error: None,
            strategy: None,
            concurrency: None,
            permissions: None,
            container: None,
            services: None,
            uses: None,
            with: Vec::new(),
            steps: Vec::new(),
        };
        let what = format!("jobs.{}", job.id.value);
        let mut has_steps = false;
        let mut has_runs_on = false;
        for (key, value, key_span) in self.entries(node, &what, JOB_KEYS) {
            match key {
                "name" => job.name = self.text(value, key, at::JOB_NAME),
                "needs" => job.needs_names = self.string_list(value, "needs"),
                "if" => job.condition = self.condition(value, at::JOB_IF),
                "runs-on" => {
                    has_runs_on = true;
                    job.runs_on = self.runs_on(value);
                }
                "environment" => job.environment = self.environment(value),
                "outputs" => {
                    for (name, v, span) in self.entries(value, "outputs", &[]) {
                        if let Some(t) = self.text(v, name, at::JOB_OUTPUTS) {
                            job.outputs.push((Spanned::new(name.to_string(), span), t));
                        }
                    }
                }
                "env" => job.env = self.env(value, "env", at::JOB_ENV),
                "defaults" => job.defaults = self.defaults(value, "defaults", at::JOB_DEFAULTS),
                "timeout-minutes" => {
                    job.timeout_minutes = self.number_or(value, key, at::JOB_TIMEOUT)
                }
                "continue-on-error" => {
                    job.continue_on_error = self.bool_or(value, key, at::JOB_CONTINUE_ON_ERROR)
                }
                "strategy" => job.strategy = self.strategy(value),
                "concurrency" => job.concurrency = self.concurrency(value, at::JOB_CONCURRENCY),
                "permissions" => job.permissions = self.permissions(value),
                "container" => {
                    let data = self.data(value, key, at::JOB_CONTAINER);
                    job.container = Some(Spanned::new(data, key_span));
                }
                "services" => {
                    let data = self.data(value, key, at::JOB_CONTAINER);
                    job.services = Some(Spanned::new(data, key_span));
                }
                "uses" => job.uses = self.text(value, key, at::JOB_USES),
                "with" => {
                    for (name, v, span) in self.entries(value, "with", &[]) {
                        if let Some(t) = self.text(v, name, at::JOB_WITH) {
                            job.with.push((Spanned::new(name.to_string(), span), t));
                        }
                    }
                }
                "secrets" => {
                    if value.as_scalar() != Some("inherit") {
                        self.env(value, "secrets", at::JOB_WITH);
                    }
                }
                _ => {
                    has_steps = true;
                    job.steps = self.steps(value);
                }
            }
        }
        if job.uses.is_none() {
            if !has_runs_on {
                self.error(
                    "missing-key",
                    job.id.span,
                    format!("job `{}` has no `runs-on`", job.id.value),
                )
                .help =
                    Some("add `runs-on: ubuntu-latest` (slipway maps labels to executors)".into());
            }
            if !has_steps {
                self.error(
                    "missing-key",
                    job.id.span,
                    format!("job `{}` has no `steps`", job.id.value),
                );
            }
        }
        Some(job)
    }

    fn runs_on(&mut self, node: &Node) -> Option<RunsOn> {
        match &node.value {
            NodeValue::Scalar { text, .. } => {
                let t = self.text(node, "runs-on", at::JOB_RUNS_ON)?;
                if text.contains("${{") {
                    Some(RunsOn::Expr(t))
                } else {
                    Some(RunsOn::Labels(vec![t]))
                }
            }
            NodeValue::Seq(items) => Some(RunsOn::Labels(
                items
                    .iter()
                    .filter_map(|i| self.text(i, "runs-on", at::JOB_RUNS_ON))
                    .collect(),
            )),
            NodeValue::Map(_) => {
                let mut group = None;
                let mut labels = Vec::new();
                for (key, value, _) in self.entries(node, "runs-on", &["group", "labels"]) {
                    if key == "group" {
                        group = self.text(value, key, at::JOB_RUNS_ON);
                    } else if let Some(items) = value.as_seq() {
                        labels = items
                            .iter()
                            .filter_map(|i| self.text(i, key, at::JOB_RUNS_ON))
                            .collect();
                    } else if let Some(t) = self.text(value, key, at::JOB_RUNS_ON) {
                        labels = vec![t];
                    }
                }
                Some(RunsOn::Group { group, labels })
            }
        }
    }

    fn environment(&mut self, node: &Node) -> Option<Environment> {
        if node.as_scalar().is_some() {
            return Some(Environment {
                name: self.text(node, "environment", at::JOB_ENVIRONMENT)?,
                url: None,
            });
        }
        let mut name = None;
        let mut url = None;
        for (key, value, _) in self.entries(node, "environment", &["name", "url", "deployment"]) {
            match key {
                "name" => name = self.text(value, "environment.name", at::JOB_ENVIRONMENT),
                "url" => url = self.text(value, "environment.url", at::JOB_ENVIRONMENT_URL),
                _ => {}
            }
        }
        match name {
            Some(name) => Some(Environment { name, url }),
            None => {
                self.error("missing-key", node.span, "`environment` needs a `name`");
                None
            }
        }
    }

    fn strategy(&mut self, node: &Node) -> Option<Strategy> {
        let mut s = Strategy {
            span: node.span,
            matrix: None,
            fail_fast: None,
            max_parallel: None,
        };
        for (key, value, _) in
            self.entries(node, "strategy", &["matrix", "fail-fast", "max-parallel"])
        {
            match key {
                "matrix" => s.matrix = self.matrix(value),
                "fail-fast" => s.fail_fast = self.bool_or(value, key, at::JOB_STRATEGY),
                _ => s.max_parallel = self.number_or(value, key, at::JOB_STRATEGY),
            }
        }
        Some(s)
    }

    fn matrix(&mut self, node: &Node) -> Option<Matrix> {
        if node.as_scalar().is_some() {
            let t = self.text(node, "matrix", at::JOB_STRATEGY)?;
            if t.template.whole_expression().is_none() {
                self.type_error(node, "strategy.matrix", "a mapping or an expression");
                return None;
            }
            return Some(Matrix::Expr(t));
        }
        let mut dimensions = Vec::new();
        let mut include = None;
        let mut exclude = None;
        for (key, value, key_span) in self.entries(node, "strategy.matrix", &[]) {
            match key {
                "include" | "exclude" => {
                    let data = self.data(value, key, at::JOB_STRATEGY);
                    let ok = match &data {
                        Data::Seq(items) => items.iter().all(|i| matches!(i, Data::Map(_))),
                        Data::Str(t) => t.template.whole_expression().is_some(),
                        _ => false,
                    };
                    if !ok {
                        self.type_error(value, &format!("matrix.{key}"), "a list of mappings");
                        continue;
                    }
                    let spanned = Some(Spanned::new(data, value.span));
                    if key == "include" {
                        include = spanned;
                    } else {
                        exclude = spanned;
                    }
                }
                _ => {
                    let name = Spanned::new(key.to_string(), key_span);
                    match &value.value {
                        NodeValue::Seq(items) => {
                            if items.is_empty() {
                                self.error(
                                    "invalid-value",
                                    value.span,
                                    format!("matrix dimension `{key}` has no values"),
                                );
                            }
                            let values = items
                                .iter()
                                .map(|i| self.data(i, key, at::JOB_STRATEGY))
                                .collect();
                            dimensions.push((name, Dimension::Values(values)));
                        }
                        NodeValue::Scalar { text, .. } if text.contains("${{") => {
                            if let Some(t) = self.text(value, key, at::JOB_STRATEGY) {
                                dimensions.push((name, Dimension::Expr(t)));
                            }
                        }
                        _ => self.type_error(value, &format!("matrix.{key}"), "a list of values"),
                    }
                }
            }
        }
        Some(Matrix::Map {
            span: node.span,
            dimensions,
            include: include.map(Box::new),
            exclude: exclude.map(Box::new),
        })
    }

    pub(crate) fn steps(&mut self, node: &Node) -> Vec<Step> {
        let Some(items) = node.as_seq() else {
            self.type_error(node, "steps", "a list of steps");
            return Vec::new();
        };
        if items.is_empty() {
            self.error("missing-key", node.span, "`steps` is empty");
        }
        let mut steps: Vec<Step> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let Some(step) = self.step(index, item) else {
                continue;
            };
            if let Some(id) = &step.id {
                if let Some(first) = steps
                    .iter()
                    .find_map(|s| s.id.as_ref().filter(|o| o.value == id.value))
                {
                    let line = first.span.start.line;
                    self.error(
                        "duplicate-step-id",
                        id.span,
                        format!("step id `{}` is used twice in this job", id.value),
                    )
                    .help = Some(format!(
                        "first used on line {line}; step ids must be unique within a job"
                    ));
                }
            }
            steps.push(step);
        }
        steps
    }

    fn step(&mut self, index: usize, node: &Node) -> Option<Step> {
        let mut step = Step {
            index,
            span: node.span,
            id: None,
            name: None,
            condition: None,
            uses: None,
            with: Vec::new(),
            run: None,
            shell: None,
            working_directory: None,
            env: Vec::new(),
            continue_on_error: None,
            timeout_minutes: None,
        };
        let is_run = node.get("run").is_some();
        let is_uses = node.get("uses").is_some();
        let allowed = match (is_run, is_uses) {
            (true, true) => {
                self.error(
                    "invalid-step",
                    node.span,
                    "a step has either `run` or `uses`, not both",
                );
                ALL_STEP_KEYS
            }
            (false, false) => {
                if node.as_map().is_some() {
                    self.error(
                        "missing-key",
                        node.span,
                        format!("step {} has neither `run` nor `uses`", index + 1),
                    )
                    .help = Some("add `run:` with a script or `uses:` with an action".into());
                }
                ALL_STEP_KEYS
            }
            (true, false) => RUN_STEP_KEYS,
            (false, true) => USES_STEP_KEYS,
        };
        for (key, value, _) in self.entries(node, "steps", allowed) {
            match key {
                "id" => {
                    let Some(id) = self.spanned_scalar(value, key) else {
                        continue;
                    };
                    if !valid_id(&id.value) {
                        self.error(
                            "invalid-id",
                            id.span,
                            format!("step id `{}` must start with a letter or `_` and hold only letters, digits, `-` and `_`", id.value),
                        );
                    }
                    step.id = Some(id);
                }
                "name" => step.name = self.text(value, key, at::STEP_KEY),
                "if" => step.condition = self.condition(value, at::STEP_IF),
                "uses" => {
                    let Some(raw) = self.spanned_scalar(value, key) else {
                        continue;
                    };
                    match parse_action_ref(&raw.value) {
                        Ok(r) => step.uses = Some(Spanned::new(r, raw.span)),
                        Err(message) => {
                            self.error("invalid-action", raw.span, message);
                        }
                    }
                }
                "with" => {
                    for (name, v, span) in self.entries(value, "with", &[]) {
                        if let Some(t) = self.text(v, name, at::STEP_KEY) {
                            step.with.push((Spanned::new(name.to_string(), span), t));
                        }
                    }
                }
                "run" => step.run = self.text(value, key, at::STEP_KEY),
                "shell" => step.shell = self.text(value, key, at::STEP_KEY),
                "working-directory" => step.working_directory = self.text(value, key, at::STEP_KEY),
                "env" => step.env = self.env(value, "env", at::STEP_KEY),
                "continue-on-error" => {
                    step.continue_on_error = self.bool_or(value, key, at::STEP_KEY)
                }
                _ => step.timeout_minutes = self.number_or(value, key, at::STEP_KEY),
            }
        }
        Some(step)
    }
}

fn find_item<'n>(node: &'n Node, span: &Span) -> Option<&'n Node> {
    match &node.value {
        NodeValue::Seq(items) => items.iter().find(|i| &i.span == span),
        _ => Some(node),
    }
}

/// Job and step ids: a letter or `_`, then letters, digits, `-`, `_`.
pub(crate) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_action_ref(s: &str) -> Result<ActionRef, String> {
    if let Some(image) = s.strip_prefix("docker://") {
        return Ok(ActionRef::Docker(image.to_string()));
    }
    if s.starts_with("./") {
        return Ok(ActionRef::Local(s.to_string()));
    }
    let Some((path, git_ref)) = s.split_once('@') else {
        return Err(format!("`uses: {s}` needs a version, e.g. `{s}@v1`"));
    };
    let mut parts = path.splitn(3, '/');
    let (Some(owner), Some(repo)) = (parts.next(), parts.next()) else {
        return Err(format!(
            "`uses: {s}` must be `owner/repo@ref`, `./path` or `docker://image`"
        ));
    };
    if owner.is_empty() || repo.is_empty() || git_ref.is_empty() {
        return Err(format!(
            "`uses: {s}` must be `owner/repo@ref`, `./path` or `docker://image`"
        ));
    }
    Ok(ActionRef::Repository {
        owner: owner.to_string(),
        repo: repo.to_string(),
        path: parts.next().map(str::to_string),
        git_ref: git_ref.to_string(),
    })
}
