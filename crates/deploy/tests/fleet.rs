//! The local cluster's fleet with real processes, a real git repository
//! and a real Docker Engine: versions prepared and started, crashes and
//! failed checks, and a daemon restart that adopts what still runs.
//!
//! Every test runs in a cluster of its own; a guard kills whatever runs in
//! it when the test ends, passed or not.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use slipway_deploy::config::{RuntimeConfig, ServiceConfig, Source};
use slipway_deploy::local::{Adopted, Fleet, FleetError, FleetOptions};
use slipway_deploy::memory_store::MemoryStore;
use slipway_model::deploy::DeployStore;

/// Long enough for a slow machine; the tests never wait this long when
/// things work.
const PATIENCE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A cluster name no other test (or earlier run) uses.
fn cluster_name(test: &str) -> String {
    format!("t{}-{test}", std::process::id())
}

/// Kills, when dropped, every process of the cluster (found by the
/// `SLIPWAY_CLUSTER` its instances and builds run with) and removes its
/// containers.
struct Cleanup {
    cluster: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let wanted = format!("SLIPWAY_CLUSTER={}", self.cluster);
        for pid in pids_with_env(&wanted) {
            // SAFETY: signals only.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let label = format!("label=slipway.cluster={}", self.cluster);
        if let Ok(out) = Command::new("docker")
            .args(["ps", "-aq", "--filter", &label])
            .output()
        {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
        }
    }
}

fn pids_with_env(entry: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == entry.as_bytes()))
        })
        .collect()
}

/// Runs, and is not a zombie.
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            !matches!(state, "Z" | "X")
        }
        Err(_) => false,
    }
}

/// The process group of a process (field 5 of its stat).
fn group_of(pid: i64) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

/// The pid of the server answering on `addr` (the instance's `sh`, or a
/// process it started in its group).
fn served_by(addr: SocketAddr) -> i64 {
    let (_, body) = get(addr, "/");
    body.split_whitespace()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {body:?}"))
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository with the test service in `svc/`; its commit.
fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::create_dir(dir.path().join("svc")).unwrap();
    std::fs::copy(fixture("server.py"), dir.path().join("svc/server.py")).unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "a service"]);
    let sha = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, sha)
}

fn process_service(name: &str, command: &str, build: Option<&str>) -> ServiceConfig {
    ServiceConfig {
        name: name.into(),
        path: PathBuf::from("svc"),
        port: 8000,
        health: "/health".into(),
        instances: 1,
        env: Vec::new(),
        runtime: RuntimeConfig::Process {
            source: Source::Checkout,
            build: build.map(str::to_string),
            command: command.into(),
        },
        smoke: vec!["/health".into()],
        smoke_command: None,
        stop_timeout: Duration::from_secs(5),
    }
}

fn options(cluster: &str, root: &Path) -> FleetOptions {
    FleetOptions {
        health_interval: Duration::from_millis(200),
        ..FleetOptions::new(cluster, root)
    }
}

/// `GET path`: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Waits until `done` holds, checking every 100 ms; fails after PATIENCE
/// with `what`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[tokio::test]
async fn a_checked_out_version_is_built_once_started_served_and_stopped() {
    let cluster = cluster_name("checkout");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let counter = tempfile::tempdir().unwrap();
    let builds = counter.path().join("builds");
    let mut service = process_service(
        "web",
        "python3 server.py",
        Some("echo building \"$SLIPWAY_SERVICE $SLIPWAY_VERSION\" >> \"$BUILDS\"; echo compiled"),
    );
    service.instances = 2;
    service.env = vec![("BUILDS".into(), builds.display().to_string())];
    let store = MemoryStore::new();
    let options = options(&cluster, root.path());
    let state_dir = options.state_dir.clone();
    let fleet = Fleet::new(options, store.clone());

    let tag = format!("main-{}-20260101000000", &sha[..7]);
    fleet.prepare(&service, &tag).await.unwrap();
    let checkout = state_dir.join("versions").join(&tag);
    assert!(checkout.join("svc/server.py").is_file());
    assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), sha);
    assert_eq!(lines(&builds), 1);
    fleet.prepare(&service, &tag).await.unwrap();
    assert_eq!(lines(&builds), 1, "a second prepare does not build again");
    let build_log = state_dir.join("logs/web").join(format!("{tag}.build.log"));
    assert!(std::fs::read_to_string(&build_log)
        .unwrap()
        .contains("compiled"));

    // A plain sha is a version too, with a checkout and a build of its own.
    fleet.prepare(&service, &sha).await.unwrap();
    assert!(state_dir
        .join("versions")
        .join(&sha)
        .join("svc/server.py")
        .is_file());
    assert_eq!(lines(&builds), 2);

    let addrs = fleet.start(&service, &tag).await.unwrap();
    assert_eq!(
        lines(&builds),
        2,
        "starting a prepared version does not build"
    );
    assert_eq!(addrs.len(), 2);
    assert_ne!(addrs[0].port(), addrs[1].port());
    assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    fleet.wait_healthy(&service, &tag, PATIENCE).await.unwrap();
    for addr in &addrs {
        let (status, body) = get(*addr, "/");
        assert_eq!(status, 200);
        assert!(body.starts_with(&format!("version {tag} ")), "{body}");
    }
    assert_eq!(fleet.addresses("web", &tag), addrs);
    assert_eq!(fleet.versions("web"), vec![tag.clone()]);

    let records = store.instances(&cluster).await.unwrap();
    assert_eq!(records.len(), 2);
    let pids: Vec<i64> = records.iter().map(|r| r.pid.unwrap()).collect();
    assert!(records
        .iter()
        .all(|r| r.runtime == "process" && r.pid_start.is_some()));
    assert_eq!(
        records.iter().map(|r| r.port).collect::<Vec<_>>(),
        addrs.iter().map(|a| a.port()).collect::<Vec<_>>()
    );
    let status = fleet.status();
    assert_eq!(status.len(), 2);
    assert!(status
        .iter()
        .all(|s| s.state == "healthy" && s.restarts == 0));
    let log = status[0].log.clone().unwrap();
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains(&format!("serving version {tag}")));
    let json = serde_json::to_value(&status[0]).unwrap();
    assert_eq!(json["state"], "healthy");
    assert_eq!(json["runtime"], "process");

    fleet.stop(&service, &tag).await;
    assert!(pids.iter().all(|p| !alive(*p)), "the instances are gone");
    assert!(store.instances(&cluster).await.unwrap().is_empty());
    assert!(fleet.addresses("web", &tag).is_empty());
    assert!(fleet.status().is_empty());
    // Stopping what is not there is nothing.
    fleet.stop(&service, &tag).await;
}

#[tokio::test]
async fn concurrent_prepares_of_a_version_share_one_checkout() {
    let cluster = cluster_name("concurrent");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let counter = tempfile::tempdir().unwrap();
    let builds = counter.path().join("builds");
    let build = Some("echo \"$SLIPWAY_SERVICE\" >> \"$BUILDS\"");
    let mut web = process_service("web", "python3 server.py", build);
    let mut worker = process_service("worker", "python3 server.py", build);
    for s in [&mut web, &mut worker] {
        s.env = vec![("BUILDS".into(), builds.display().to_string())];
    }
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    let (a, b, c) = tokio::join!(
        fleet.prepare(&web, &sha),
        fleet.prepare(&worker, &sha),
        fleet.prepare(&web, &sha)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let mut built: Vec<String> = std::fs::read_to_string(&builds)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    built.sort();
    assert_eq!(built, ["web", "worker"], "each service built once");
    let worktrees = git(root.path(), &["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 2, "{worktrees}");
}

#[tokio::test]
async fn an_instance_that_cannot_be_spawned_fails_the_start() {
    let cluster = cluster_name("nospawn");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, _) = repo();
    let mut service = process_service("web", "python3 server.py", None);
    service.path = PathBuf::from("no-such-folder");
    service.runtime = RuntimeConfig::Process {
        source: Source::Workdir,
        build: None,
        command: "python3 server.py".into(),
    };
    let store = MemoryStore::new();
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let err = fleet.start(&service, "v1").await.unwrap_err();
    assert!(matches!(err, FleetError::Spawn { slot: 0, .. }), "{err:?}");
    assert!(!err.is_bad_input());
    let message = err.to_string();
    assert!(
        message.contains("cannot run `sh -c python3 server.py` in")
            && message.contains("no-such-folder"),
        "{message}"
    );
    assert!(fleet.status().is_empty());
    assert!(store.instances(&cluster).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_version_naming_no_commit_is_bad_input() {
    let cluster = cluster_name("nocommit");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, _) = repo();
    let service = process_service("web", "python3 server.py", None);
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    for version in ["main-abcdef1-20260101000000", "no-such-branch"] {
        let err = fleet.prepare(&service, version).await.unwrap_err();
        assert!(matches!(err, FleetError::VersionNotFound { .. }), "{err:?}");
        assert!(err.is_bad_input());
        let message = err.to_string();
        assert!(
            message.contains("`web`") && message.contains(&format!("`{version}`")),
            "{message}"
        );
    }
    let message = fleet
        .prepare(&service, "main-abcdef1-20260101000000")
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("commit abcdef1"), "{message}");
    // start prepares first, so it says the same.
    let err = fleet.start(&service, "no-such-branch").await.unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(fleet.status().is_empty());
}

#[tokio::test]
async fn a_failing_build_shows_the_end_of_its_output() {
    let cluster = cluster_name("badbuild");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let service = process_service(
        "web",
        "python3 server.py",
        Some("for i in $(seq 1 30); do echo line $i; done; echo 'error: the build broke' >&2; exit 4"),
    );
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    let err = fleet.prepare(&service, &sha).await.unwrap_err();
    assert!(!err.is_bad_input());
    let FleetError::BuildFailed { tail, log, .. } = &err else {
        panic!("{err:?}");
    };
    let message = err.to_string();
    assert!(message.contains("exited with code 4"), "{message}");
    assert!(message.contains("error: the build broke"), "{message}");
    assert!(message.contains(&log.display().to_string()), "{message}");
    assert_eq!(tail.lines().count(), 20);
    assert!(!tail.contains("line 10\n"), "only the last lines: {tail}");
    assert!(log.is_file());
    // Not marked as built: the next prepare tries again.
    assert!(matches!(
        fleet.prepare(&service, &sha).await,
        Err(FleetError::BuildFailed { .. })
    ));
}

#[tokio::test]
async fn a_killed_instance_comes_back_on_its_port() {
    let cluster = cluster_name("crash");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let service = process_service("web", "python3 server.py", None);
    let store = MemoryStore::new();
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let addrs = fleet.start(&service, &sha).await.unwrap();
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    let mut events = fleet.subscribe();
    let first = fleet.status()[0].pid.unwrap();

    // SAFETY: a signal to the instance this test started.
    unsafe {
        libc::kill(first as i32, libc::SIGKILL);
    }
    until("the instance to be restarted and healthy", || {
        let s = &fleet.status()[0];
        s.restarts == 1 && s.state == "healthy"
    })
    .await;
    let status = &fleet.status()[0];
    let second = status.pid.unwrap();
    assert_ne!(second, first);
    assert!(alive(second));
    assert_eq!(status.address, addrs[0], "the same port");
    assert_eq!(fleet.addresses("web", &sha), addrs);
    assert_eq!(get(addrs[0], "/").0, 200);
    assert_eq!(group_of(served_by(addrs[0])), second, "in the new group");
    let record = &store.instances(&cluster).await.unwrap()[0];
    assert_eq!((record.pid, record.restarts), (Some(second), 1));

    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        assert_eq!(
            (e.service.as_str(), e.slot, e.address),
            ("web", 0, addrs[0])
        );
        seen.push((e.state, e.detail));
    }
    let restarting = seen
        .iter()
        .find(|(s, _)| s == "restarting")
        .unwrap_or_else(|| panic!("no restarting event in {seen:?}"));
    assert_eq!(restarting.1.as_deref(), Some("was killed by signal 9"));
    assert!(seen.iter().any(|(s, _)| s == "healthy"), "{seen:?}");

    fleet.stop(&service, &sha).await;
    assert!(!alive(second));
}

#[tokio::test]
async fn an_unhealthy_version_times_out_with_its_answer() {
    let cluster = cluster_name("unhealthy");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let mut service = process_service("web", "python3 server.py", None);
    service.env = vec![("HEALTH_STATUS".into(), "503".into())];
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    let addrs = fleet.start(&service, &sha).await.unwrap();
    // Answering at all is what this waits for; then the short wait fails.
    until("the instance to answer", || {
        fleet.status()[0].last_check.as_deref() == Some("GET /health answered 503")
    })
    .await;
    let err = fleet
        .wait_healthy(&service, &sha, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(matches!(err, FleetError::NotHealthy { .. }), "{err:?}");
    assert!(!err.is_bad_input());
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}: GET /health answered 503", addrs[0])),
        "{message}"
    );
    assert!(message.contains(".0.log"), "{message}");
    assert_eq!(fleet.status()[0].state, "starting");
    fleet.stop(&service, &sha).await;
}

#[tokio::test]
async fn an_instance_failing_its_checks_is_restarted() {
    let cluster = cluster_name("sick");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let health = tempfile::tempdir().unwrap();
    let health_file = health.path().join("status");
    let mut service = process_service("web", "python3 server.py", None);
    service.env = vec![("HEALTH_FILE".into(), health_file.display().to_string())];
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    fleet.start(&service, &sha).await.unwrap();
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    let mut events = fleet.subscribe();
    let first = fleet.status()[0].pid.unwrap();

    std::fs::write(&health_file, "500").unwrap();
    until("the instance to be restarted", || {
        fleet.status()[0].restarts == 1
    })
    .await;
    assert!(!alive(first), "the sick instance was stopped");
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push((e.state, e.detail.unwrap_or_default()));
    }
    assert_eq!(
        seen[0],
        ("unhealthy".into(), "GET /health answered 500".into())
    );
    let restarting = seen.iter().find(|(s, _)| s == "restarting").unwrap();
    assert!(
        restarting
            .1
            .contains("GET /health answered 500 (3 checks in a row)"),
        "{seen:?}"
    );

    // Once it answers well again it is healthy again.
    std::fs::write(&health_file, "200").unwrap();
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    assert_eq!(fleet.status()[0].restarts, 1);
    fleet.stop(&service, &sha).await;
}

#[tokio::test]
async fn a_crashing_version_times_out_with_how_it_exited() {
    let cluster = cluster_name("exit3");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let service = process_service("web", "echo going down; exit 3", None);
    let fleet = Fleet::new(options(&cluster, root.path()), MemoryStore::new());
    fleet.start(&service, &sha).await.unwrap();
    until("the instance to be restarted", || {
        fleet.status()[0].restarts >= 1
    })
    .await;
    let message = fleet
        .wait_healthy(&service, &sha, Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(message.contains("(restarted "), "{message}");
    let log = fleet.status()[0].log.clone().unwrap();
    assert!(std::fs::read_to_string(log).unwrap().contains("going down"));
    fleet.stop(&service, &sha).await;
    let err = fleet
        .wait_healthy(&service, &sha, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, FleetError::NotStarted { .. }), "{err:?}");
}

#[tokio::test]
async fn a_new_daemon_adopts_what_runs_and_restarts_what_died() {
    let cluster = cluster_name("adopt");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, sha) = repo();
    let mut service = process_service("web", "python3 server.py", None);
    service.instances = 2;
    let services = BTreeMap::from([("web".to_string(), service.clone())]);
    let store = MemoryStore::new();

    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let addrs = fleet.start(&service, &sha).await.unwrap();
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    let pids: Vec<i64> = fleet.status().iter().map(|s| s.pid.unwrap()).collect();
    let servers: Vec<i64> = addrs.iter().map(|a| served_by(*a)).collect();
    assert_eq!(group_of(servers[0]), pids[0]);
    // The daemon dies: supervision ends, the instances run on.
    drop(fleet);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(pids.iter().all(|p| alive(*p)));
    assert_eq!(served_by(addrs[0]), servers[0]);

    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let records = store.instances(&cluster).await.unwrap();
    let adopted = fleet.adopt(records, &services).await;
    assert_eq!(
        adopted
            .iter()
            .map(|(r, a)| (r.slot, *a))
            .collect::<Vec<_>>(),
        [(0, Adopted::Running), (1, Adopted::Running)]
    );
    assert_eq!(fleet.addresses("web", &sha), addrs);
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    let status = fleet.status();
    assert_eq!(
        status.iter().map(|s| s.pid.unwrap()).collect::<Vec<_>>(),
        pids,
        "the same processes"
    );
    assert_eq!(served_by(addrs[1]), servers[1], "the same servers");
    drop(fleet);

    // One dies while no daemon runs.
    // SAFETY: a signal to an instance this test started.
    unsafe {
        libc::killpg(pids[1] as i32, libc::SIGKILL);
    }
    until("the killed instance to be gone", || !alive(pids[1])).await;
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let records = store.instances(&cluster).await.unwrap();
    let adopted = fleet.adopt(records, &services).await;
    assert_eq!(
        adopted
            .iter()
            .map(|(r, a)| (r.slot, *a))
            .collect::<Vec<_>>(),
        [(0, Adopted::Running), (1, Adopted::Restarted)]
    );
    fleet.wait_healthy(&service, &sha, PATIENCE).await.unwrap();
    assert_eq!(fleet.addresses("web", &sha), addrs, "on its recorded port");
    let status = fleet.status();
    assert_eq!(status[0].pid, Some(pids[0]));
    assert_ne!(status[1].pid, Some(pids[1]));
    assert_eq!(served_by(addrs[0]), servers[0]);
    assert_eq!(group_of(served_by(addrs[1])), status[1].pid.unwrap());
    assert_eq!(status[1].restarts, 1);
    let records = store.instances(&cluster).await.unwrap();
    assert_eq!(records[1].restarts, 1);
    assert_eq!(records[1].pid, status[1].pid);
    let restarted = status[1].pid.unwrap();
    drop(fleet);

    // The service left the config: its instances stop and are forgotten.
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let records = store.instances(&cluster).await.unwrap();
    let adopted = fleet.adopt(records, &BTreeMap::new()).await;
    assert!(adopted.iter().all(|(_, a)| *a == Adopted::Stopped));
    assert!(!alive(pids[0]) && !alive(restarted));
    assert!(store.instances(&cluster).await.unwrap().is_empty());
    assert!(fleet.status().is_empty());
}

#[tokio::test]
async fn stop_all_stops_every_version() {
    let cluster = cluster_name("down");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let (root, _) = repo();
    let mut service = process_service("web", "python3 server.py", None);
    service.runtime = RuntimeConfig::Process {
        source: Source::Workdir,
        build: None,
        command: "python3 server.py".into(),
    };
    let store = MemoryStore::new();
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    // A workdir version is a label: nothing is checked out.
    fleet.start(&service, "one").await.unwrap();
    fleet.start(&service, "two").await.unwrap();
    fleet.wait_healthy(&service, "two", PATIENCE).await.unwrap();
    assert!(get(fleet.addresses("web", "two")[0], "/")
        .1
        .starts_with("version two "));
    assert!(!fleet.options().state_dir.join("versions").exists());
    let pids: Vec<i64> = fleet.status().iter().map(|s| s.pid.unwrap()).collect();
    assert_eq!(pids.len(), 2);
    fleet.stop_all().await;
    assert!(pids.iter().all(|p| !alive(*p)));
    assert!(fleet.status().is_empty());
    assert!(store.instances(&cluster).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- docker

/// Fails, saying what to install, when a tool the docker test needs is
/// missing.
fn require(program: &str, args: &[&str], install: &str) {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "`{program} {}` failed: {install}", args.join(" "));
}

/// The test service as a static binary for a FROM scratch image, built
/// once per target folder.
fn go_server() -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleet-tests/server");
    if out.is_file() {
        return out;
    }
    let src = out
        .parent()
        .unwrap()
        .join(format!("src-{}", std::process::id()));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(fixture("go-server/main.go"), src.join("main.go")).unwrap();
    std::fs::write(src.join("go.mod"), "module fleetserver\n\ngo 1.19\n").unwrap();
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("go")
        .current_dir(&src)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(&tmp)
        .arg(".")
        .status()
        .expect("go runs");
    assert!(status.success(), "go build of the test server");
    std::fs::rename(&tmp, &out).unwrap();
    let _ = std::fs::remove_dir_all(&src);
    out
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A local registry (Debian's docker-registry) and the test's images;
/// both gone when dropped.
struct Registry {
    registry: slipway_image::LocalRegistry,
    repository: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.registry.down();
        let out = docker(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
        let refs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(&format!("{}:", self.repository)))
            .map(str::to_string)
            .collect();
        if !refs.is_empty() {
            // With their untagged parents: the build's layers are this
            // test's alone.
            let _ = Command::new("docker")
                .args(["image", "rm"])
                .args(&refs)
                .output();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn docker_versions_are_pulled_started_adopted_and_removed() {
    require(
        "docker",
        &["version"],
        "install Docker and start its engine (the fleet's docker instances are tested on a real one)",
    );
    require(
        "go",
        &["version"],
        "install Go (scripts/install/gates.sh): the test builds its static server with it",
    );
    require(
        "docker-registry",
        &["--version"],
        "install Debian's docker-registry (scripts/install/images.sh)",
    );
    let cluster = cluster_name("docker");
    let _cleanup = Cleanup {
        cluster: cluster.clone(),
    };
    let server = go_server();

    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let registry = Registry {
        registry: slipway_image::LocalRegistry::new(dir.path(), addr),
        repository: format!("{addr}/slipway-fleet-test-{}", std::process::id()),
        _dir: dir,
    };
    registry
        .registry
        .up(PATIENCE)
        .expect("the local registry starts");
    let repo = registry.repository.clone();

    // v1 built here, v2 only in the registry.
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(&server, context.path().join("server")).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n",
    )
    .unwrap();
    let context_dir = context.path().display().to_string();
    docker_ok(&["build", "-q", "-t", &format!("{repo}:v1"), &context_dir]);
    docker_ok(&["tag", &format!("{repo}:v1"), &format!("{repo}:v2")]);
    docker_ok(&["push", "-q", &format!("{repo}:v2")]);
    docker_ok(&["image", "rm", "--no-prune", &format!("{repo}:v2")]);

    let root = tempfile::tempdir().unwrap();
    let service = ServiceConfig {
        name: "api".into(),
        path: PathBuf::from("."),
        port: 8000,
        health: "/health".into(),
        instances: 1,
        env: vec![("GREETING".into(), "hello".into())],
        runtime: RuntimeConfig::Docker {
            image: repo.clone(),
            container_port: 8080,
        },
        smoke: vec!["/health".into()],
        smoke_command: None,
        stop_timeout: Duration::from_secs(5),
    };
    let services = BTreeMap::from([("api".to_string(), service.clone())]);
    let store = MemoryStore::new();
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());

    fleet.prepare(&service, "v1").await.unwrap();
    fleet.prepare(&service, "v2").await.unwrap();
    docker_ok(&["image", "inspect", &format!("{repo}:v2")]);
    let err = fleet.prepare(&service, "v404").await.unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`api`")
            && message.contains("`v404`")
            && message.contains(&format!("{repo}:v404")),
        "{message}"
    );

    let addrs = fleet.start(&service, "v1").await.unwrap();
    fleet.wait_healthy(&service, "v1", PATIENCE).await.unwrap();
    let (code, body) = get(addrs[0], "/");
    assert_eq!(code, 200);
    assert!(body.starts_with("version v1 "), "{body}");
    let status = fleet.status();
    assert_eq!(
        (status[0].runtime.as_str(), status[0].pid),
        ("docker", None)
    );
    let id = status[0].container.clone().unwrap();
    let name = format!("slipway-{cluster}-api-v1-0");
    assert_eq!(
        docker_ok(&[
            "inspect",
            "-f",
            "{{.Id}} {{.State.Running}} {{index .Config.Labels \"slipway.slot\"}}",
            &name
        ]),
        format!("{id} true 0")
    );
    let records = store.instances(&cluster).await.unwrap();
    assert_eq!(records[0].container.as_deref(), Some(id.as_str()));
    assert_eq!(records[0].runtime, "docker");

    // A new daemon finds the container running.
    drop(fleet);
    let fleet = Fleet::new(options(&cluster, root.path()), store.clone());
    let adopted = fleet
        .adopt(store.instances(&cluster).await.unwrap(), &services)
        .await;
    assert_eq!(adopted[0].1, Adopted::Running);
    assert_eq!(fleet.status()[0].container.as_deref(), Some(id.as_str()));
    assert_eq!(fleet.addresses("api", "v1"), addrs);
    fleet.wait_healthy(&service, "v1", PATIENCE).await.unwrap();

    // A container that dies comes back on its port.
    docker_ok(&["kill", &id]);
    until("the container to be restarted and healthy", || {
        let s = &fleet.status()[0];
        s.restarts == 1 && s.state == "healthy"
    })
    .await;
    let second = fleet.status()[0].container.clone().unwrap();
    assert_ne!(second, id);
    assert!(get(addrs[0], "/").1.starts_with("version v1 "));
    let log = fleet.status()[0].log.clone().unwrap();
    until("the container's output in its log", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("serving version v1 on 8080"))
    })
    .await;

    fleet.stop(&service, "v1").await;
    assert!(!docker(&["inspect", &second]).status.success(), "removed");
    assert!(!docker(&["inspect", &id]).status.success(), "removed");
    assert!(store.instances(&cluster).await.unwrap().is_empty());
}
