//! The `on:` section: which events start a workflow, with GitHub's filter
//! semantics for branches, tags and paths.

use crate::event::Event;
use crate::filter_pattern::{self, FilterPattern};
use crate::source::{Span, Spanned};
use crate::workflow::Data;

#[derive(Debug, Clone, Default)]
pub struct Triggers {
    pub events: Vec<EventTrigger>,
}

/// A list of filter patterns as written under one key.
#[derive(Debug, Clone)]
pub struct Filter {
    pub patterns: Vec<FilterPattern>,
    pub span: Span,
}

impl Filter {
    fn describe(&self, key: &str) -> String {
        let list: Vec<&str> = self.patterns.iter().map(|p| p.source()).collect();
        format!("`{key}: [{}]`", list.join(", "))
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilters {
    pub branches: Option<Filter>,
    pub branches_ignore: Option<Filter>,
    pub tags: Option<Filter>,
    pub tags_ignore: Option<Filter>,
    pub paths: Option<Filter>,
    pub paths_ignore: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputType {
    String,
    Boolean,
    Number,
    Choice(Vec<String>),
    Environment,
}

#[derive(Debug, Clone)]
pub struct DispatchInput {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub required: bool,
    pub default: Option<Data>,
    pub kind: InputType,
}

#[derive(Debug, Clone)]
pub struct EventTrigger {
    pub name: Spanned<String>,
    /// `types:` activity filter, when given.
    pub types: Option<Vec<Spanned<String>>>,
    pub filters: EventFilters,
    /// workflow_dispatch and workflow_call inputs.
    pub inputs: Vec<DispatchInput>,
    /// schedule crons.
    pub crons: Vec<Spanned<String>>,
}

/// Whether a workflow starts for an event, and why, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerDecision {
    pub triggered: bool,
    pub reason: String,
}

impl TriggerDecision {
    fn yes(reason: String) -> Self {
        TriggerDecision {
            triggered: true,
            reason,
        }
    }
    fn no(reason: String) -> Self {
        TriggerDecision {
            triggered: false,
            reason,
        }
    }
}

/// GitHub's default activity types for pull requests.
pub const PULL_REQUEST_DEFAULT_TYPES: [&str; 3] = ["opened", "synchronize", "reopened"];

impl Triggers {
    pub fn event_names(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.name.value.as_str()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&EventTrigger> {
        self.events.iter().find(|e| e.name.value == name)
    }

    pub fn decide(&self, event: &Event) -> TriggerDecision {
        let Some(trigger) = self.get(&event.name) else {
            return TriggerDecision::no(format!(
                "the workflow does not listen for `{}` (it listens for {})",
                event.name,
                self.event_names().join(", ")
            ));
        };
        if let Some(d) = trigger.decide_types(event) {
            return d;
        }
        match event.name.as_str() {
            "push" => trigger.decide_push(event),
            "pull_request" | "pull_request_target" => trigger.decide_pull_request(event),
            name => TriggerDecision::yes(format!("the workflow listens for `{name}`")),
        }
    }
}

impl EventTrigger {
    fn decide_types(&self, event: &Event) -> Option<TriggerDecision> {
        let is_pr = matches!(event.name.as_str(), "pull_request" | "pull_request_target");
        let action = event.action.as_deref()?;
        let allowed: Vec<&str> = match &self.types {
            Some(types) => types.iter().map(|t| t.value.as_str()).collect(),
            None if is_pr => PULL_REQUEST_DEFAULT_TYPES.to_vec(),
            None => return None,
        };
        if allowed.contains(&action) {
            None
        } else {
            let defaulted = if self.types.is_none() {
                " (the default types)"
            } else {
                ""
            };
            Some(TriggerDecision::no(format!(
                "activity `{action}` is not among `types: [{}]`{defaulted}",
                allowed.join(", ")
            )))
        }
    }

    fn decide_push(&self, event: &Event) -> TriggerDecision {
        let f = &self.filters;
        let (kind, name, include, ignore, include_key, ignore_key) =
            if let Some(tag) = event.git_ref.strip_prefix("refs/tags/") {
                ("tag", tag, &f.tags, &f.tags_ignore, "tags", "tags-ignore")
            } else {
                let branch = event
                    .git_ref
                    .strip_prefix("refs/heads/")
                    .unwrap_or(&event.git_ref);
                (
                    "branch",
                    branch,
                    &f.branches,
                    &f.branches_ignore,
                    "branches",
                    "branches-ignore",
                )
            };
        let has_ref_filters = f.branches.is_some()
            || f.branches_ignore.is_some()
            || f.tags.is_some()
            || f.tags_ignore.is_some();
        let ref_reason = match (include, ignore) {
            (Some(filter), _) => {
                if !filter_pattern::included(&filter.patterns, name) {
                    return TriggerDecision::no(format!(
                        "push to {kind} `{name}` does not match {}",
                        filter.describe(include_key)
                    ));
                }
                format!(
                    "push to {kind} `{name}` matches {}",
                    filter.describe(include_key)
                )
            }
            (None, Some(filter)) => {
                if filter_pattern::ignored(&filter.patterns, name) {
                    return TriggerDecision::no(format!(
                        "push to {kind} `{name}` is excluded by {}",
                        filter.describe(ignore_key)
                    ));
                }
                format!(
                    "push to {kind} `{name}` is not excluded by {}",
                    filter.describe(ignore_key)
                )
            }
            (None, None) if has_ref_filters => {
                // Only filters for the other kind of ref were given: GitHub
                // then runs for those refs only.
                let other = if kind == "tag" { "branches" } else { "tags" };
                return TriggerDecision::no(format!(
                    "push to {kind} `{name}`, but the push filter lists only {other}"
                ));
            }
            (None, None) => format!("push to {kind} `{name}`"),
        };
        // Path filters do not apply to tag pushes.
        if kind == "tag" {
            return TriggerDecision::yes(ref_reason);
        }
        self.with_paths(event, ref_reason)
    }

    fn decide_pull_request(&self, event: &Event) -> TriggerDecision {
        let f = &self.filters;
        let base = event.base_ref.as_deref().unwrap_or("");
        let action = event.action.as_deref().unwrap_or("opened");
        let what = format!("{} ({action}) into `{base}`", event.name);
        let reason = if let Some(filter) = &f.branches {
            if !filter_pattern::included(&filter.patterns, base) {
                return TriggerDecision::no(format!(
                    "{what} does not match {}",
                    filter.describe("branches")
                ));
            }
            format!("{what} matches {}", filter.describe("branches"))
        } else if let Some(filter) = &f.branches_ignore {
            if filter_pattern::ignored(&filter.patterns, base) {
                return TriggerDecision::no(format!(
                    "{what} is excluded by {}",
                    filter.describe("branches-ignore")
                ));
            }
            format!(
                "{what} is not excluded by {}",
                filter.describe("branches-ignore")
            )
        } else {
            what
        };
        self.with_paths(event, reason)
    }

    /// Branch and path filters must both pass when both are given.
    fn with_paths(&self, event: &Event, reason: String) -> TriggerDecision {
        let f = &self.filters;
        if f.paths.is_none() && f.paths_ignore.is_none() {
            return TriggerDecision::yes(reason);
        }
        let Some(files) = &event.changed_files else {
            // GitHub runs the workflow when it has no diff to compare.
            return TriggerDecision::yes(format!(
                "{reason}; the changed files are not known, so path filters pass"
            ));
        };
        match (&f.paths, &f.paths_ignore) {
            (Some(filter), _) => match filter_pattern::paths_match(&filter.patterns, files) {
                Some(file) => TriggerDecision::yes(format!(
                    "{reason}, and changed file `{file}` matches {}",
                    filter.describe("paths")
                )),
                None => TriggerDecision::no(format!(
                    "{reason}, but none of the {} changed files matches {}",
                    files.len(),
                    filter.describe("paths")
                )),
            },
            (None, Some(filter)) => {
                match filter_pattern::paths_ignore_match(&filter.patterns, files) {
                    Some(file) => TriggerDecision::yes(format!(
                        "{reason}, and changed file `{file}` is not excluded by {}",
                        filter.describe("paths-ignore")
                    )),
                    None => TriggerDecision::no(format!(
                        "{reason}, but every changed file is excluded by {}",
                        filter.describe("paths-ignore")
                    )),
                }
            }
            (None, None) => TriggerDecision::yes(reason),
        }
    }
}
