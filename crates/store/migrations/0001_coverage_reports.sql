-- Coverage reports: one row per recorded report, with its totals, and one
-- row per file with its counts and line data (enough to compare with a
-- later report and to compute patch coverage).
--
-- Counters are NULL when the report has no such data (no branch data
-- without coverage.py's --branch; statements only for Go and Istanbul).

CREATE TABLE coverage_reports (
    id                 INTEGER PRIMARY KEY,
    repository         TEXT    NOT NULL,
    flag               TEXT    NOT NULL,
    branch             TEXT    NOT NULL,
    commit_sha         TEXT    NOT NULL,
    recorded_at        INTEGER NOT NULL,
    format             TEXT    NOT NULL,
    percent            REAL    NOT NULL,
    lines_covered      INTEGER NOT NULL,
    lines_total        INTEGER NOT NULL,
    branches_covered   INTEGER,
    branches_total     INTEGER,
    functions_covered  INTEGER,
    functions_total    INTEGER,
    statements_covered INTEGER,
    statements_total   INTEGER
);

CREATE INDEX coverage_reports_by_flag
    ON coverage_reports (repository, flag, branch, recorded_at, id);

CREATE TABLE coverage_files (
    report_id          INTEGER NOT NULL REFERENCES coverage_reports (id) ON DELETE CASCADE,
    path               TEXT    NOT NULL,
    lines_covered      INTEGER NOT NULL,
    lines_total        INTEGER NOT NULL,
    branches_covered   INTEGER,
    branches_total     INTEGER,
    functions_covered  INTEGER,
    functions_total    INTEGER,
    statements_covered INTEGER,
    statements_total   INTEGER,
    -- slipway_gates::history::encode_lines: a version byte, then varints.
    line_data          BLOB    NOT NULL,
    PRIMARY KEY (report_id, path)
);
