-- Workflow runs: one row per run of one workflow. `summary` holds the run
-- as `slipway show --format json` prints it, rewritten as jobs finish, so
-- a run whose process died still shows what it got done. Logs live in
-- files beside the database (.slipway/runs/<id>/logs/), appended as
-- they stream.

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    repository    TEXT    NOT NULL,
    workflow_file TEXT    NOT NULL,
    workflow_name TEXT    NOT NULL,
    event         TEXT    NOT NULL,
    git_ref       TEXT    NOT NULL,
    commit_sha    TEXT    NOT NULL,
    -- running | success | failure | cancelled | interrupted
    status        TEXT    NOT NULL,
    -- The process running it, to tell a live run from one whose process died.
    pid           INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    summary       TEXT    NOT NULL
);

CREATE INDEX runs_by_status ON runs (status);
