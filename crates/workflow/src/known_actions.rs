//! Inputs of well-known actions, to catch inputs an action does not read.
//! Lists follow each action's `action.yml` for the major version named.

pub(crate) struct KnownAction {
    pub slug: &'static str,
    /// Major version prefix (`v1`), or "" for every version.
    pub major: &'static str,
    pub inputs: &'static [&'static str],
    pub required: &'static [&'static str],
    /// Extra advice for inputs people often pass by mistake.
    pub hints: &'static [(&'static str, &'static str)],
}

pub(crate) const KNOWN_ACTIONS: &[KnownAction] = &[
    KnownAction {
        slug: "actions/checkout",
        major: "",
        inputs: &[
            "repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
            "persist-credentials", "path", "clean", "filter", "sparse-checkout",
            "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags", "show-progress", "lfs",
            "submodules", "set-safe-directory", "github-server-url",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "actions/setup-python",
        major: "",
        inputs: &[
            "python-version", "python-version-file", "cache", "architecture", "check-latest",
            "token", "cache-dependency-path", "update-environment", "allow-prereleases",
            "freethreaded", "pip-version", "pip-install",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "actions/setup-go",
        major: "",
        inputs: &[
            "go-version", "go-version-file", "check-latest", "token", "cache",
            "cache-dependency-path", "architecture",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "actions/setup-node",
        major: "",
        inputs: &[
            "node-version", "node-version-file", "architecture", "check-latest", "registry-url",
            "scope", "token", "cache", "cache-dependency-path", "always-auth", "package-manager-cache",
            "mirror", "mirror-token",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "pnpm/action-setup",
        major: "",
        inputs: &["version", "dest", "run_install", "package_json_file", "standalone"],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "codecov/codecov-action",
        major: "v3",
        inputs: &[
            "token", "files", "file", "flags", "name", "fail_ci_if_error", "verbose", "directory",
            "env_vars", "os", "working-directory", "commit_parent", "dry_run", "functionalities",
            "gcov", "gcov_args", "gcov_executable", "gcov_ignore", "gcov_include", "move_coverage_to_trash",
            "network_filter", "override_branch", "override_build", "override_commit", "override_pr",
            "override_tag", "root_dir", "slug", "swift", "swift_project", "url", "version",
            "xcode", "xcode_archive_path", "xtra_args", "full_report", "plugin", "plugins",
            "network_prefix", "required",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "golangci/golangci-lint-action",
        major: "",
        inputs: &[
            "version", "args", "working-directory", "github-token", "only-new-issues",
            "skip-cache", "skip-pkg-cache", "skip-build-cache", "install-mode", "problem-matchers",
            "cache-invalidation-interval", "verify", "install-only",
        ],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "aws-actions/configure-aws-credentials",
        major: "",
        inputs: &[
            "aws-region", "role-to-assume", "aws-access-key-id", "aws-secret-access-key",
            "aws-session-token", "web-identity-token-file", "role-chaining", "audience",
            "http-proxy", "mask-aws-account-id", "role-duration-seconds", "role-external-id",
            "role-session-name", "role-skip-session-tagging", "inline-session-policy",
            "managed-session-policies", "output-credentials", "unset-current-credentials",
            "disable-retry", "retry-max-attempts", "special-characters-workaround",
        ],
        required: &["aws-region"],
        hints: &[],
    },
    KnownAction {
        slug: "aws-actions/amazon-ecr-login",
        major: "",
        inputs: &["registries", "mask-password", "skip-logout", "registry-type", "http-proxy"],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "slipway/deploy",
        major: "",
        inputs: &[
            "strategy", "cluster", "services", "image-tag", "steps", "interval", "window",
            "max-error-rate", "max-p95-ms", "min-requests", "failure-limit", "inconclusive",
            "keep-previous", "start-timeout", "timeout",
        ],
        required: &["image-tag"],
        hints: &[],
    },
    KnownAction {
        slug: "trstringer/manual-approval",
        major: "",
        inputs: &[
            "secret", "approvers", "minimum-approvals", "issue-title", "issue-body",
            "exclude-workflow-initiator-as-approver", "additional-approved-words",
            "additional-denied-words", "fail-on-denial", "target-repository",
            "target-repository-owner", "polling-interval-seconds",
        ],
        required: &["secret", "approvers"],
        hints: &[],
    },
    KnownAction {
        slug: "slackapi/slack-github-action",
        major: "v1",
        inputs: &[
            "channel-id", "slack-message", "payload", "payload-file-path", "update-ts",
            "payload-delimiter", "payload-file-path-parsed",
        ],
        required: &[],
        hints: &[(
            "webhook-url",
            "on GitHub, v1 reads the webhook only from the `SLACK_WEBHOOK_URL` environment variable (with `SLACK_WEBHOOK_TYPE: INCOMING_WEBHOOK`): set it under `env:` instead (slipway takes `webhook-url` as well)",
        )],
    },
    KnownAction {
        slug: "slackapi/slack-github-action",
        major: "v2",
        inputs: &[
            "api", "errors", "method", "payload", "payload-delimiter", "payload-file-path",
            "payload-templated", "proxy", "retries", "token", "webhook", "webhook-type",
        ],
        required: &[],
        hints: &[("webhook-url", "on GitHub, v2 takes the webhook as `webhook:` together with `webhook-type: incoming-webhook` (slipway takes `webhook-url` as well)")],
    },
    KnownAction {
        slug: "actions/upload-artifact",
        major: "",
        inputs: &[
            "name", "path", "if-no-files-found", "retention-days", "compression-level",
            "overwrite", "include-hidden-files",
        ],
        required: &["path"],
        hints: &[],
    },
    KnownAction {
        slug: "actions/download-artifact",
        major: "",
        inputs: &["name", "path", "pattern", "merge-multiple", "github-token", "repository", "run-id", "artifact-ids"],
        required: &[],
        hints: &[],
    },
    KnownAction {
        slug: "actions/cache",
        major: "",
        inputs: &[
            "path", "key", "restore-keys", "upload-chunk-size", "enableCrossOsArchive",
            "fail-on-cache-miss", "lookup-only", "save-always",
        ],
        required: &["path", "key"],
        hints: &[],
    },
];

/// The entry for `slug@version`, matching the major version when the
/// entry names one.
pub(crate) fn find(slug: &str, version: &str) -> Option<&'static KnownAction> {
    let major = version.split('.').next().unwrap_or(version);
    KNOWN_ACTIONS
        .iter()
        .find(|a| a.slug == slug && (a.major.is_empty() || a.major == major))
}
