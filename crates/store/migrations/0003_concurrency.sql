-- Concurrency groups across runs sharing this state folder. A slot is a
-- run or job in a group: `pending` (waiting), `running` (holds the group),
-- or `cancel` (asked to stop: a newer run took over, or a newer waiter
-- replaced it). Slots of processes that died are removed by whoever looks.

CREATE TABLE concurrency_slots (
    id         INTEGER PRIMARY KEY,
    grp        TEXT    NOT NULL,
    run_id     INTEGER NOT NULL,
    pid        INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    entered_at INTEGER NOT NULL
);

CREATE INDEX concurrency_slots_by_group ON concurrency_slots (grp, id);
