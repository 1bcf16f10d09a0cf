-- The jobs of a run as they start and end, one small row each, so a run
-- whose process died still shows what it finished and what it was doing
-- (the full summary is written to `runs.summary` when the run ends).

CREATE TABLE run_jobs (
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    job_key    TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    matrix     TEXT,
    -- running | success | failure | cancelled | skipped
    conclusion TEXT    NOT NULL,
    seconds    REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, job_key)
);
