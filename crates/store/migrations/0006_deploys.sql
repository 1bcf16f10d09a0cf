-- Deploys and the state of the clusters they change (the `DeployStore`
-- port of slipway-model). All times are milliseconds since the Unix epoch.

-- One row per deploy, written when it begins and kept current as it goes,
-- so `slipway deploys` shows the history and a cluster daemon that died
-- finds the deploys it has to recover (the ones still `running`).
CREATE TABLE deploys (
    id          INTEGER PRIMARY KEY,
    cluster     TEXT    NOT NULL,
    -- rolling | blue-green | rollback
    strategy    TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    -- JSON list of {service, from, to}
    services    TEXT    NOT NULL,
    actor       TEXT,
    -- running | promoted | rolled-back | failed | unchanged
    state       TEXT    NOT NULL,
    -- the phase it is in, or ended in (start, health, smoke, traffic, ...)
    phase       TEXT    NOT NULL,
    reason      TEXT,
    -- JSON of the threshold crossed, when a breach rolled it back
    breach      TEXT,
    -- the options it ran with (JSON), to recover it as it was asked
    request     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);

CREATE INDEX deploys_by_cluster ON deploys (cluster, state);

-- Which deploy holds a service of a cluster: one row per service, taken in
-- the transaction that records the deploy and dropped when it finishes, so
-- two deploys (from two processes too) never move the same service at
-- once. A row whose deploy is no longer `running` holds nothing.
CREATE TABLE deploy_locks (
    cluster   TEXT    NOT NULL,
    service   TEXT    NOT NULL,
    deploy_id INTEGER NOT NULL REFERENCES deploys (id),
    PRIMARY KEY (cluster, service)
);

CREATE INDEX deploy_locks_by_deploy ON deploy_locks (deploy_id);

-- What a deploy reported while it ran, in order, so its progress can be
-- followed from another terminal and shown again once it is over.
CREATE TABLE deploy_events (
    deploy_id INTEGER NOT NULL REFERENCES deploys (id),
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    -- JSON of the event (tagged by `type`)
    event     TEXT    NOT NULL,
    PRIMARY KEY (deploy_id, seq)
);

-- Each service of a cluster: the version serving, the one before it (kept
-- running until `retire_at` for an instant rollback) and the route table
-- the router is to have, so a restarted daemon routes as before.
CREATE TABLE cluster_services (
    cluster   TEXT    NOT NULL,
    service   TEXT    NOT NULL,
    active    TEXT,
    previous  TEXT,
    retire_at INTEGER,
    -- JSON list of [version, weight in percent]
    routes    TEXT    NOT NULL,
    PRIMARY KEY (cluster, service)
);

-- The instances a cluster runs, so a restarted daemon adopts the ones
-- still alive (the pid with its start time, or the container) instead of
-- starting them twice.
CREATE TABLE cluster_instances (
    cluster    TEXT    NOT NULL,
    service    TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    slot       INTEGER NOT NULL,
    -- the loopback port it listens on
    port       INTEGER NOT NULL,
    -- process | docker
    runtime    TEXT    NOT NULL,
    pid        INTEGER,
    -- clock ticks since boot (/proc/PID/stat), so a reused pid is not
    -- taken for it
    pid_start  INTEGER,
    container  TEXT,
    restarts   INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (cluster, service, version, slot)
);
