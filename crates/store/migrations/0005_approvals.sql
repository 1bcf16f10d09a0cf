-- Approval gates and what a resumed run needs.
--
-- A gate is one wait for approval: a job's protected environment, or a
-- `trstringer/manual-approval` step. It is kept with every decision on it
-- so approvals given from another terminal release the waiting run, and a
-- run whose process died finds them again when resumed.

CREATE TABLE approval_gates (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    job_key     TEXT    NOT NULL,
    -- `environment`, or `step N`
    gate        TEXT    NOT NULL,
    job_id      TEXT    NOT NULL,
    job_name    TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    environment TEXT,
    url         TEXT,
    -- JSON list of the users who may decide (teams expanded)
    approvers   TEXT    NOT NULL,
    required    INTEGER NOT NULL,
    -- who may not approve (the run's actor, when self-review is prevented)
    excluded    TEXT,
    -- waiting | approved | rejected | timed-out | cancelled
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    deadline    INTEGER NOT NULL,
    decided_at  INTEGER,
    UNIQUE (run_id, job_key, gate)
);

CREATE INDEX approval_gates_by_state ON approval_gates (state);

CREATE TABLE approvals (
    gate_id  INTEGER NOT NULL REFERENCES approval_gates (id),
    user     TEXT    NOT NULL,
    -- approve | reject
    decision TEXT    NOT NULL,
    comment  TEXT,
    at       INTEGER NOT NULL,
    PRIMARY KEY (gate_id, user)
);

-- What `slipway resume` needs to start the run again: the workflow text,
-- the event and the options, as JSON.
ALTER TABLE runs ADD COLUMN request TEXT;

-- A finished job's outputs (JSON object), for the jobs that need it when
-- the run is resumed.
ALTER TABLE run_jobs ADD COLUMN outputs TEXT NOT NULL DEFAULT '{}';
