//! Deploys through the real binary: a cluster daemon, the router, real
//! Python processes checked out from git commits, and steady HTTP load
//! through the router while traffic moves.

mod deploy_support;
mod support;

use std::time::{Duration, Instant};

use deploy_support::{alive, serial, Got, Load, Repo, Sample, GOOD};

/// Quick steps, an analysis a second, ten requests to judge a window.
const QUICK: &str = r#"steps = "20:4s,50:4s,100:4s"
interval = "1s"
min-requests = 10
keep-previous = "3s"
start-timeout = "20s"
"#;

const LOAD_WORKERS: usize = 4;
const LOAD_PAUSE: Duration = Duration::from_millis(10);

fn first_deploy(repo: &Repo, version: &str) {
    let run = repo.deploy("blue-green", version, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn by_version(samples: &[Sample], version: &str) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| s.version() == Some(version))
        .cloned()
        .collect()
}

#[test]
fn a_healthy_blue_green_deploy_under_load_ends_on_green_without_a_failed_request() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(GOOD);
    first_deploy(&repo, &v1);
    let blue = repo.pids(&v1);
    assert_eq!(blue.len(), 1);

    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    std::thread::sleep(Duration::from_millis(500));
    let run = repo.deploy("blue-green", &v2, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("promoted"), "{}", run.stdout);
    let promoted = Instant::now();

    // Blue stays idle for its delay, then stops.
    assert!(alive(blue[0]), "blue stopped before its delay");
    assert_eq!(repo.weights(), vec![(v1.clone(), 0), (v2.clone(), 100)]);
    wait_until("blue to stop", Duration::from_secs(15), || !alive(blue[0]));
    assert!(promoted.elapsed() >= Duration::from_secs(2));
    assert_eq!(repo.weights(), vec![(v2.clone(), 100)]);
    std::thread::sleep(Duration::from_millis(300));
    let samples = load.stop();

    let failed: Vec<&Sample> = samples
        .iter()
        .filter(|s| !matches!(s.got, Got::Ok(_)))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed requests: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(by_version(&samples, &v1).len() > 100);
    assert!(by_version(&samples, &v2).len() > 100);
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent > promoted).collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|s| s.version() == Some(v2.as_str())));
}

#[test]
fn a_green_failing_five_percent_is_rolled_back_within_an_interval_and_a_second() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"fail_every": 20}"#);
    first_deploy(&repo, &v1);

    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    std::thread::sleep(Duration::from_millis(500));
    let run = repo.deploy("blue-green", &v2, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("rolled back"), "{}", run.stdout);
    assert!(run.stdout.contains("error rate"), "{}", run.stdout);
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.stop();

    // Nothing lost to the switch: every answer is a version's own, and the
    // only failures are the ones green was told to give.
    for s in &samples {
        match &s.got {
            Got::Ok(_) => {}
            Got::Injected(v) => assert_eq!(v, &v2),
            other => panic!("a request got {other:?}"),
        }
    }
    let mut green = by_version(&samples, &v2);
    green.sort_by_key(|s| s.done);
    assert!(!green.is_empty());
    // The load must let one-second windows judge green at all.
    let span = green.last().unwrap().done.duration_since(green[0].done);
    let per_second = green.len() as f64 / span.as_secs_f64().max(0.001);
    assert!(
        per_second >= 12.0,
        "green got {per_second:.1} requests a second: too little load to judge a one-second window"
    );
    // The breach is measurable once a one-second window holds the ten
    // requests analysis needs, one of them failed.
    let measurable = green
        .iter()
        .enumerate()
        .find(|(i, s)| {
            let window: Vec<&Sample> = green[..=*i]
                .iter()
                .filter(|o| s.done.duration_since(o.done) < Duration::from_secs(1))
                .collect();
            window.len() >= 10 && window.iter().any(|o| matches!(o.got, Got::Injected(_)))
        })
        .map(|(_, s)| s.done)
        .expect("the breach became measurable");
    let last_to_green = green.iter().map(|s| s.sent).max().unwrap();
    let reaction = last_to_green.saturating_duration_since(measurable);
    assert!(
        reaction <= Duration::from_secs(2),
        "traffic went to green {reaction:?} after the breach was measurable (interval 1 s + 1 s allowed)"
    );
    assert_eq!(repo.weights(), vec![(v1.clone(), 100)]);
    assert!(repo.pids(&v2).is_empty());
    // No notification channel here: the deploy's events wait in the outbox.
    let kept: Vec<String> = std::fs::read_dir(repo.root().join(".slipway/outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for kind in ["deploy.started", "deploy.traffic", "deploy.rolled-back"] {
        assert!(
            kept.iter().any(|k| k.contains(kind)),
            "no {kind} in {kept:?}"
        );
    }
}

#[test]
fn a_port_in_use_keeps_the_cluster_from_starting_with_exit_2() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let _taken = std::net::TcpListener::bind(("127.0.0.1", repo.port)).unwrap();
    let run = repo.slipway(["cluster", "up", "--cluster", "prod"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "port {} on 127.0.0.1 for service `api` is already in use",
            repo.port
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("[clusters.prod] ports or port-offset"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_green_over_the_p95_threshold_is_rolled_back() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"delay_ms": 300}"#);
    first_deploy(&repo, &v1);
    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    let run = repo.deploy("blue-green", &v2, &["--max-p95-ms", "200"]);
    let samples = load.stop();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("p95 latency"), "{}", run.stdout);
    assert!(samples.iter().all(|s| matches!(s.got, Got::Ok(_))));
    assert_eq!(repo.weights(), vec![(v1, 100)]);
}

#[test]
fn a_green_that_never_becomes_healthy_fails_before_any_traffic_moves() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"health": 503}"#);
    first_deploy(&repo, &v1);
    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    let run = repo.deploy("blue-green", &v2, &["--start-timeout", "3s"]);
    let samples = load.stop();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("did not become healthy within 3s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("GET /health answered 503"),
        "{}",
        run.stdout
    );
    assert!(by_version(&samples, &v2).is_empty(), "green got traffic");
    assert!(samples.iter().all(|s| s.got == Got::Ok(v1.clone())));
    assert_eq!(repo.weights(), vec![(v1, 100)]);
    assert!(repo.pids(&v2).is_empty());
}

#[test]
fn the_daemon_killed_mid_deploy_comes_back_routing_only_to_running_versions() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(GOOD);
    first_deploy(&repo, &v1);
    let blue = repo.pids(&v1);

    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    // The kill is what is tested here, not the analysis: go on whatever
    // the traffic.
    let deploy = repo.deploy_spawn(
        "blue-green",
        &v2,
        &[
            "--steps",
            "20:2s,50:60s,100:2s",
            "--inconclusive",
            "continue",
        ],
    );
    wait_until("half the traffic on green", Duration::from_secs(30), || {
        repo.weights().contains(&(v2.clone(), 50))
    });
    let green = repo.pids(&v2);
    let old = repo.daemon_info()["pid"].as_i64().unwrap();
    // SAFETY: a plain kill of the daemon's pid.
    unsafe {
        libc::kill(old as i32, libc::SIGKILL);
    }
    // The deploy command sees its daemon go, starts another, and reports
    // how the deploy ended.
    let out = deploy.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the cluster daemon stopped during the deploy"),
        "{stdout}\n{stderr}"
    );
    let restarted = Instant::now();
    let new = repo.daemon_info()["pid"].as_i64().unwrap();
    assert_ne!(new, old);

    assert_eq!(repo.weights(), vec![(v1.clone(), 100)]);
    assert_eq!(repo.pids(&v1), blue, "blue was adopted, not restarted");
    assert!(green.iter().all(|p| !alive(*p)), "green still runs");
    std::thread::sleep(Duration::from_secs(1));
    let samples = load.stop();
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent > restarted).collect();
    assert!(after.len() > 20);
    assert!(
        after.iter().all(|s| s.got == Got::Ok(v1.clone())),
        "{:?}",
        after.iter().find(|s| s.got != Got::Ok(v1.clone()))
    );

    let history = repo.slipway(["deploy", "history", "--cluster", "prod", "--format", "json"]);
    let history: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(history["deploys"][0]["state"], "rolled-back");
}

#[test]
fn a_rolling_deploy_that_never_stabilises_leaves_the_old_version_serving() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"health": 500}"#);
    let run = repo.deploy("rolling", &v1, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    let run = repo.deploy("rolling", &v2, &["--timeout", "3s"]);
    let samples = load.stop();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("within 3s"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("{v1} of api keeps serving")),
        "{}",
        run.stdout
    );
    assert!(samples.iter().all(|s| s.got == Got::Ok(v1.clone())));
    assert_eq!(repo.weights(), vec![(v1, 100)]);
}

#[test]
fn a_healthy_rolling_deploy_moves_traffic_and_stops_the_old_version() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(GOOD);
    assert_eq!(repo.deploy("rolling", &v1, &[]).code, 0);
    let old = repo.pids(&v1);
    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    let run = repo.deploy("rolling", &v2, &[]);
    let samples = load.stop();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(samples.iter().all(|s| matches!(s.got, Got::Ok(_))));
    assert_eq!(repo.weights(), vec![(v2, 100)]);
    assert!(old.iter().all(|p| !alive(*p)));
}

#[test]
fn bad_input_is_refused_with_exit_2_and_changes_nothing() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);

    let run = repo.slipway([
        "deploy",
        "blue-green",
        "--image-tag",
        &v1,
        "--cluster",
        "prdo",
    ]);
    assert_eq!(run.code, 2);
    let file = repo.root().canonicalize().unwrap().join("slipway.toml");
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: --cluster: unknown cluster `prdo` (did you mean `prod`?): {} defines `prod`",
            file.display()
        )
    );
    let run = repo.slipway([
        "deploy",
        "blue-green",
        "--image-tag",
        &v1,
        "--cluster",
        "prod",
        "--services",
        "apii",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown service `apii` (did you mean `api`?)"),
        "{}",
        run.stderr
    );
    let run = repo.slipway([
        "deploy",
        "blue-green",
        "--image-tag",
        &v1,
        "--cluster",
        "prod",
        "--steps",
        "5:1m,50",
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "error: --steps: `50` is not percent:duration, e.g. 5:15m"
    );

    let run = repo.deploy("blue-green", "main-abcdef1-20260101000000", &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("does not exist"), "{}", run.stdout);

    // One deploy at a time per service.
    first_deploy(&repo, &v1);
    let v2 = repo.version(GOOD);
    let mut slow = repo.deploy_spawn("blue-green", &v2, &["--steps", "50:30s,100:1s"]);
    wait_until(
        "the first deploy to move traffic",
        Duration::from_secs(30),
        || repo.weights().contains(&(v2.clone(), 50)),
    );
    let v3 = repo.version(GOOD);
    let run = repo.deploy("blue-green", &v3, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("api is being deployed by deploy 3"),
        "{}",
        run.stderr
    );
    // Ctrl-C on the first rolls it back.
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(slow.id() as i32, libc::SIGINT);
    }
    let code = slow.wait().unwrap().code();
    assert_eq!(code, Some(130));
    assert_eq!(repo.weights(), vec![(v1, 100)]);
}

#[test]
fn rollback_switches_back_at_once_and_only_once() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(GOOD);
    first_deploy(&repo, &v1);
    let run = repo.deploy(
        "blue-green",
        &v2,
        // No load here: nothing to judge, and that is said, not failed.
        &[
            "--steps",
            "100:1s",
            "--keep-previous",
            "10m",
            "--inconclusive",
            "continue",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let blue = repo.pids(&v1);
    let run = repo.slipway(["rollback", "--cluster", "prod", "--services", "api"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(repo.weights(), vec![(v1.clone(), 100)]);
    assert_eq!(repo.pids(&v1), blue, "blue was still running: no restart");
    assert!(repo.pids(&v2).is_empty());
    let run = repo.slipway(["rollback", "--cluster", "prod"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("nothing to roll back"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.weights(), vec![(v1, 100)]);
}

#[test]
fn monitor_exits_1_on_the_first_breach_naming_service_metric_and_value() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(r#"{"fail_every": 10}"#);
    first_deploy(&repo, &v1);
    let load = Load::start(repo.port, LOAD_WORKERS, LOAD_PAUSE);
    let run = repo.slipway([
        "monitor",
        "--duration",
        "30",
        "--alert-on-error-rate",
        "0.5",
        "--alert-on-latency-p95",
        "1000",
        "--cluster",
        "prod",
        "--interval",
        "1s",
        "--min-requests",
        "10",
    ]);
    load.stop();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    // Every tenth request fails: about 10% in any one-second window.
    let line = regex::Regex::new(&format!(
        r"ERROR: api {v1}: error rate (\d+\.\d\d)% is over 0.5% \((\d+) requests in 2 s\)"
    ))
    .unwrap();
    let found = line
        .captures(&run.stderr)
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let rate: f64 = found[1].parse().unwrap();
    assert!((5.0..=20.0).contains(&rate), "{}", run.stderr);
}

/// What people read, with what changes from run to run (times, ports,
/// pids, commit hashes, paths) replaced.
fn redact(text: &str, repo: &Repo, versions: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (version, name) in versions {
        text = text.replace(version, name);
    }
    let root = repo.root().canonicalize().unwrap();
    text = text.replace(&root.display().to_string(), "[repo]");
    let rules = [
        (r"\b\d+\.\ds\b", "[t]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"pid \d+", "pid [pid]"),
    ];
    for (pattern, with) in rules {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

#[test]
fn what_a_failed_deploy_the_status_and_the_history_print() {
    let _one = serial();
    let repo = Repo::new(QUICK);
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"health": 503}"#);
    first_deploy(&repo, &v1);
    let names = [(v1.as_str(), "V1"), (v2.as_str(), "V2")];
    let run = repo.deploy(
        "blue-green",
        &v2,
        &["--start-timeout", "2s", "--actor", "alice"],
    );
    assert_eq!(run.code, 1);
    // Instance events interleave with phases as they happen: keep the
    // controller's own lines, in order.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.contains(" #0 at "))
        .collect();
    insta::assert_snapshot!(
        "deploy_never_healthy",
        redact(&lines.join("\n"), &repo, &names)
    );

    let status = repo.slipway(["deploy", "status", "--cluster", "prod"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    insta::assert_snapshot!("deploy_status", redact(&status.stdout, &repo, &names));

    let history = repo.slipway(["deploy", "history", "--cluster", "prod"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    insta::assert_snapshot!("deploy_history", redact(&history.stdout, &repo, &names));
}
