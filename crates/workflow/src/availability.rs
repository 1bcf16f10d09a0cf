//! Which contexts and functions an expression may use, by where it is
//! written (GitHub's "context availability" table).

pub(crate) const ALL_CONTEXTS: [&str; 12] = [
    "github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix",
    "needs", "inputs",
];

/// A place in a workflow where expressions may appear.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// How the place is named in messages, e.g. `jobs.<job_id>.if`.
    pub name: &'static str,
    pub contexts: &'static [&'static str],
    pub status_functions: bool,
    pub hash_files: bool,
}

const fn place(name: &'static str, contexts: &'static [&'static str]) -> Place {
    Place {
        name,
        contexts,
        status_functions: false,
        hash_files: false,
    }
}

const STEP: &[&str] = &[
    "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps",
    "inputs",
];

pub(crate) const RUN_NAME: Place = place("run-name", &["github", "inputs", "vars"]);
pub(crate) const WORKFLOW_CONCURRENCY: Place = place("concurrency", &["github", "inputs", "vars"]);
pub(crate) const WORKFLOW_ENV: Place = place("env", &["github", "secrets", "inputs", "vars"]);
pub(crate) const WORKFLOW_DEFAULTS: Place = place("defaults.run", &["github", "inputs", "vars"]);
pub(crate) const WORKFLOW_NAME: Place = place("name", &[]);
pub(crate) const JOB_USES: Place = place("jobs.<job_id>.uses", &[]);
pub(crate) const JOB_NAME: Place = place(
    "jobs.<job_id>.name",
    &["github", "needs", "strategy", "matrix", "vars", "inputs"],
);
pub(crate) const JOB_IF: Place = Place {
    name: "jobs.<job_id>.if",
    contexts: &["github", "needs", "vars", "inputs"],
    status_functions: true,
    hash_files: false,
};
pub(crate) const JOB_RUNS_ON: Place = place(
    "jobs.<job_id>.runs-on",
    &["github", "needs", "strategy", "matrix", "vars", "inputs"],
);
pub(crate) const JOB_ENV: Place = place(
    "jobs.<job_id>.env",
    &[
        "github", "needs", "strategy", "matrix", "vars", "secrets", "inputs",
    ],
);
pub(crate) const JOB_ENVIRONMENT: Place = place(
    "jobs.<job_id>.environment",
    &["github", "needs", "strategy", "matrix", "vars", "inputs"],
);
pub(crate) const JOB_ENVIRONMENT_URL: Place = place(
    "jobs.<job_id>.environment.url",
    &[
        "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs",
    ],
);
pub(crate) const JOB_OUTPUTS: Place = place(
    "jobs.<job_id>.outputs.<output_id>",
    &[
        "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets",
        "steps", "inputs",
    ],
);
pub(crate) const JOB_CONCURRENCY: Place = place(
    "jobs.<job_id>.concurrency",
    &["github", "needs", "strategy", "matrix", "inputs", "vars"],
);
pub(crate) const JOB_DEFAULTS: Place = place(
    "jobs.<job_id>.defaults.run",
    &[
        "github", "needs", "strategy", "matrix", "env", "vars", "inputs",
    ],
);
pub(crate) const JOB_STRATEGY: Place = place(
    "jobs.<job_id>.strategy",
    &["github", "needs", "vars", "inputs"],
);
pub(crate) const JOB_TIMEOUT: Place = place(
    "jobs.<job_id>.timeout-minutes",
    &["github", "needs", "strategy", "matrix", "vars", "inputs"],
);
pub(crate) const JOB_CONTINUE_ON_ERROR: Place = place(
    "jobs.<job_id>.continue-on-error",
    &["github", "needs", "strategy", "vars", "matrix", "inputs"],
);
pub(crate) const JOB_CONTAINER: Place = place(
    "jobs.<job_id>.container",
    &[
        "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets",
        "inputs",
    ],
);
pub(crate) const JOB_WITH: Place = place(
    "jobs.<job_id>.with",
    &[
        "github", "needs", "strategy", "matrix", "inputs", "vars", "secrets",
    ],
);
pub(crate) const STEP_IF: Place = Place {
    name: "jobs.<job_id>.steps.if",
    contexts: &[
        "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs",
    ],
    status_functions: true,
    hash_files: true,
};
pub(crate) const STEP_KEY: Place = Place {
    name: "jobs.<job_id>.steps",
    contexts: STEP,
    status_functions: false,
    hash_files: true,
};
pub(crate) const CALL_INPUT_DEFAULT: Place = place(
    "on.workflow_call.inputs.<input_id>.default",
    &["github", "inputs", "vars"],
);
pub(crate) const CALL_OUTPUT_VALUE: Place = place(
    "on.workflow_call.outputs.<output_id>.value",
    &["github", "jobs", "vars", "inputs"],
);

pub(crate) const STATUS_FUNCTIONS: [&str; 4] = ["success", "failure", "always", "cancelled"];
