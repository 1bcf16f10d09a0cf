//! The strategies on fakes, under tokio's paused clock: what moves when,
//! and what the deploy ends as.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_model::deploy::{DeployEvent, DeployState, Strategy, Verdict, VersionFigures};
use tokio::time::Instant;

use super::*;
use crate::config::{RuntimeConfig, ServiceConfig, Source};
use crate::ports::{InstanceError, Route, SmokeResult};
use crate::settings::{Inconclusive, Settings, Step};

/// How a fake version behaves under traffic.
#[derive(Clone, Copy)]
struct Behaviour {
    healthy: bool,
    error_rate: f64,
    p95_ms: f64,
    /// Only from this share of traffic on (to model load-dependent
    /// latency); below it the version is fine.
    bad_from_percent: u32,
}

const GOOD: Behaviour = Behaviour {
    healthy: true,
    error_rate: 0.0,
    p95_ms: 20.0,
    bad_from_percent: 0,
};

/// (when, service, [(version, weight)])
type Change = (Instant, String, Vec<(String, u32)>);
/// (active, previous, retire_at)
type Active = (Option<String>, Option<String>, Option<i64>);

#[derive(Default)]
struct World {
    behaviour: BTreeMap<String, Behaviour>,
    /// Requests a second the service receives in all.
    rps: f64,
    instances: BTreeMap<(String, String), Vec<SocketAddr>>,
    next_port: u16,
    routes: BTreeMap<String, Vec<Route>>,
    /// (when, service, [(version, weight)]) for every route change.
    changes: Vec<Change>,
    active: BTreeMap<String, Active>,
    log: Vec<String>,
    bad_versions: Vec<String>,
    smoke_fails: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<World>>);

impl Fake {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }

    fn with_version(self, version: &str, b: Behaviour) -> Self {
        self.world().behaviour.insert(version.into(), b);
        self
    }

    /// A service already serving `version` with all its traffic.
    async fn serving(&self, service: &str, version: &str) {
        let addrs = self.start(&config(service), version).await.unwrap();
        self.route(
            service,
            &[Route {
                version: version.into(),
                weight: 100,
                upstreams: addrs,
            }],
        )
        .await
        .unwrap();
        self.world().changes.clear();
    }

    fn weights(&self, service: &str) -> Vec<(String, u32)> {
        self.world().routes[service]
            .iter()
            .map(|r| (r.version.clone(), r.weight))
            .collect()
    }

    fn changes(&self, service: &str) -> Vec<Vec<(String, u32)>> {
        self.world()
            .changes
            .iter()
            .filter(|(_, s, _)| s == service)
            .map(|(_, _, w)| w.clone())
            .collect()
    }
}

impl Instances for Fake {
    async fn prepare(&self, service: &ServiceConfig, version: &str) -> Result<(), InstanceError> {
        let w = &mut *self.world();
        w.log.push(format!("prepare {} {version}", service.name));
        if w.bad_versions.iter().any(|v| v == version) {
            return Err(InstanceError {
                bad_input: true,
                message: format!("version `{version}` of {} does not exist", service.name),
            });
        }
        Ok(())
    }

    async fn start(
        &self,
        service: &ServiceConfig,
        version: &str,
    ) -> Result<Vec<SocketAddr>, InstanceError> {
        let w = &mut *self.world();
        w.log.push(format!("start {} {version}", service.name));
        let addrs: Vec<SocketAddr> = (0..service.instances)
            .map(|_| {
                w.next_port += 1;
                SocketAddr::from(([127, 0, 0, 1], 20000 + w.next_port))
            })
            .collect();
        w.instances
            .insert((service.name.clone(), version.into()), addrs.clone());
        Ok(addrs)
    }

    async fn wait_healthy(
        &self,
        service: &ServiceConfig,
        version: &str,
        timeout: Duration,
    ) -> Result<(), InstanceError> {
        let healthy = self
            .world()
            .behaviour
            .get(version)
            .is_none_or(|b| b.healthy);
        if healthy {
            return Ok(());
        }
        tokio::time::sleep(timeout).await;
        Err(InstanceError {
            bad_input: false,
            message: format!(
                "service `{}` version `{version}` did not become healthy within {}: GET /health answered 503",
                service.name,
                crate::duration::format(timeout)
            ),
        })
    }

    async fn smoke(&self, service: &ServiceConfig, version: &str) -> Vec<SmokeResult> {
        let fails = self.world().smoke_fails.iter().any(|v| v == version);
        vec![SmokeResult {
            check: format!("GET {}", service.health),
            ok: !fails,
            detail: if fails {
                "answered 500"
            } else {
                "answered 200"
            }
            .into(),
        }]
    }

    async fn stop(&self, service: &ServiceConfig, version: &str) {
        let w = &mut *self.world();
        if w.instances
            .remove(&(service.name.clone(), version.into()))
            .is_some()
        {
            w.log.push(format!("stop {} {version}", service.name));
        }
    }

    fn addresses(&self, service: &str, version: &str) -> Vec<SocketAddr> {
        self.world()
            .instances
            .get(&(service.into(), version.into()))
            .cloned()
            .unwrap_or_default()
    }
}

impl Routing for Fake {
    async fn route(&self, service: &str, routes: &[Route]) -> Result<(), String> {
        let w = &mut *self.world();
        for r in routes {
            if r.weight > 0 && r.upstreams.is_empty() {
                return Err(format!("{service} {} has no instances", r.version));
            }
        }
        w.routes.insert(service.into(), routes.to_vec());
        w.changes.push((
            Instant::now(),
            service.into(),
            routes
                .iter()
                .map(|r| (r.version.clone(), r.weight))
                .collect(),
        ));
        Ok(())
    }

    fn routes(&self, service: &str) -> Vec<Route> {
        self.world()
            .routes
            .get(service)
            .cloned()
            .unwrap_or_default()
    }

    async fn set_active(
        &self,
        service: &str,
        active: Option<&str>,
        previous: Option<&str>,
        retire_at: Option<i64>,
    ) -> Result<(), String> {
        self.world().active.insert(
            service.into(),
            (
                active.map(str::to_string),
                previous.map(str::to_string),
                retire_at,
            ),
        );
        Ok(())
    }

    fn figures(&self, service: &str, window: Duration) -> Vec<VersionFigures> {
        let w = self.world();
        let routes = w.routes.get(service).cloned().unwrap_or_default();
        let total: u32 = routes.iter().map(|r| r.weight).sum();
        routes
            .iter()
            .map(|r| {
                let share = if total == 0 {
                    0.0
                } else {
                    f64::from(r.weight) / f64::from(total)
                };
                let requests = (w.rps * window.as_secs_f64() * share).round() as u64;
                let b = w
                    .behaviour
                    .get(&format!("{service}/{}", r.version))
                    .or_else(|| w.behaviour.get(&r.version))
                    .copied()
                    .unwrap_or(GOOD);
                let percent = (share * 100.0).round() as u32;
                let bad = percent >= b.bad_from_percent;
                VersionFigures {
                    version: r.version.clone(),
                    traffic_percent: share * 100.0,
                    requests,
                    error_rate_percent: (requests > 0).then_some(if bad {
                        b.error_rate
                    } else {
                        0.0
                    }),
                    p95_ms: (requests > 0).then_some(if bad { b.p95_ms } else { 20.0 }),
                }
            })
            .collect()
    }

    async fn wait_drained(&self, _service: &str, _version: &str, _timeout: Duration) {}
}

#[derive(Default)]
struct Collected(Mutex<Vec<DeployEvent>>);

impl Events for Collected {
    async fn emit(&self, event: DeployEvent) {
        self.0.lock().unwrap().push(event);
    }
}

fn config(name: &str) -> ServiceConfig {
    ServiceConfig {
        name: name.into(),
        path: ".".into(),
        port: 8002,
        health: "/health".into(),
        instances: 1,
        env: Vec::new(),
        runtime: RuntimeConfig::Process {
            source: Source::Workdir,
            build: None,
            command: "true".into(),
        },
        smoke: vec!["/health".into()],
        smoke_command: None,
        stop_timeout: Duration::from_secs(1),
    }
}

fn settings() -> Settings {
    Settings {
        steps: Step::parse_list("5:10s,50:10s,100:10s").unwrap(),
        interval: Duration::from_secs(1),
        keep_previous: Duration::from_secs(60),
        start_timeout: Duration::from_secs(30),
        stable_timeout: Duration::from_secs(30),
        ..Settings::default()
    }
}

fn plan(strategy: Strategy, services: &[&str], settings: Settings) -> DeployPlan {
    DeployPlan {
        id: 1,
        cluster: "prod".into(),
        strategy,
        version: "v2".into(),
        targets: services
            .iter()
            .map(|s| Target {
                config: config(s),
                from: Some("v1".into()),
            })
            .collect(),
        settings,
    }
}

struct Run {
    fake: Fake,
    events: Arc<Collected>,
    outcome: Outcome,
    started: Instant,
}

impl Run {
    fn events(&self) -> Vec<DeployEvent> {
        self.events.0.lock().unwrap().clone()
    }

    fn analyses(&self) -> Vec<(String, usize, Verdict)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                DeployEvent::Analysis {
                    service,
                    step,
                    verdict,
                    ..
                } => Some((service, step, verdict)),
                _ => None,
            })
            .collect()
    }
}

async fn deploy(fake: Fake, rps: f64, plan: DeployPlan, abort: Abort) -> Run {
    fake.world().rps = rps;
    for t in &plan.targets {
        fake.serving(&t.config.name, "v1").await;
    }
    let events = Arc::new(Collected::default());
    let controller = Controller {
        instances: Arc::new(fake.clone()),
        routing: Arc::new(fake.clone()),
        events: events.clone(),
        now_ms: || 1_000_000,
    };
    let started = Instant::now();
    let outcome = controller.run(&plan, &abort).await;
    Run {
        fake,
        events,
        outcome,
        started,
    }
}

fn w(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    pairs.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

#[tokio::test(start_paused = true)]
async fn a_healthy_green_goes_through_every_step_and_blue_stays_idle() {
    let run = deploy(
        Fake::default(),
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(run.outcome, Outcome::Promoted);
    assert_eq!(
        run.fake.changes("api"),
        vec![
            w(&[("v1", 95), ("v2", 5)]),
            w(&[("v1", 50), ("v2", 50)]),
            w(&[("v1", 0), ("v2", 100)]),
        ]
    );
    // Three bakes of 10 s, one analysis a second.
    assert_eq!(run.started.elapsed(), Duration::from_secs(30));
    let analyses = run.analyses();
    assert_eq!(analyses.len(), 30);
    assert!(analyses.iter().all(|(_, _, v)| *v == Verdict::Healthy));
    let w = run.fake.world();
    assert_eq!(
        w.active["api"],
        (Some("v2".into()), Some("v1".into()), Some(1_060_000))
    );
    assert!(w.instances.contains_key(&("api".into(), "v1".into())));
    assert_eq!(
        w.log,
        vec!["start api v1", "prepare api v2", "start api v2"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_rate_breach_rolls_back_at_the_next_analysis() {
    let fake = Fake::default().with_version(
        "v2",
        Behaviour {
            error_rate: 5.0,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    let Outcome::RolledBack { reason, breach } = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    let b = breach.as_ref().unwrap();
    assert_eq!(
        (b.metric.as_str(), b.value, b.threshold),
        ("error_rate", 5.0, 0.5)
    );
    assert_eq!(
        reason,
        "api v2: error rate 5.00% is over 0.5% (100 requests in 2 s)"
    );
    let changes = run.fake.world().changes.clone();
    assert_eq!(
        changes.iter().map(|c| c.2.clone()).collect::<Vec<_>>(),
        vec![
            w(&[("v1", 95), ("v2", 5)]),
            w(&[("v1", 100), ("v2", 0)]),
            w(&[("v1", 100)]),
        ]
    );
    // Back on blue one interval after green took traffic.
    assert_eq!(changes[1].0 - changes[0].0, Duration::from_secs(1));
    let w = run.fake.world();
    assert!(!w.instances.contains_key(&("api".into(), "v2".into())));
    assert!(!w.active.contains_key("api"), "nothing promoted");
    drop(w);
    let last = run.events().pop().unwrap();
    assert!(matches!(
        last,
        DeployEvent::Finished {
            state: DeployState::RolledBack,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_p95_breach_at_half_traffic_rolls_back_in_step_two() {
    let fake = Fake::default().with_version(
        "v2",
        Behaviour {
            p95_ms: 1500.0,
            bad_from_percent: 50,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    let breach = run.outcome.breach().cloned().unwrap();
    assert_eq!((breach.metric.as_str(), breach.value), ("p95", 1500.0));
    assert_eq!(run.analyses().last().unwrap().1, 2);
    assert_eq!(run.fake.weights("api"), w(&[("v1", 100)]));
}

#[tokio::test(start_paused = true)]
async fn a_green_that_never_becomes_healthy_fails_before_traffic_moves() {
    let fake = Fake::default().with_version(
        "v2",
        Behaviour {
            healthy: false,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    let Outcome::Failed { reason, bad_input } = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(!bad_input);
    assert_eq!(
        reason,
        "service `api` version `v2` did not become healthy within 30s: GET /health answered 503; v1 of api keeps serving"
    );
    assert!(run.fake.changes("api").is_empty(), "no traffic moved");
    assert_eq!(run.fake.weights("api"), w(&[("v1", 100)]));
    assert!(run.fake.world().log.contains(&"stop api v2".to_string()));
}

#[tokio::test(start_paused = true)]
async fn failed_smoke_tests_stop_green_before_traffic_moves() {
    let fake = Fake::default();
    fake.world().smoke_fails.push("v2".into());
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(
        run.outcome.reason(),
        Some("smoke tests failed: api GET /health: answered 500")
    );
    assert!(run.fake.changes("api").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_version_that_does_not_exist_is_bad_input() {
    let fake = Fake::default();
    fake.world().bad_versions.push("v2".into());
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(
        run.outcome,
        Outcome::Failed {
            reason: "version `v2` of api does not exist".into(),
            bad_input: true
        }
    );
}

#[tokio::test(start_paused = true)]
async fn too_little_traffic_is_inconclusive_and_fails_unless_told_to_go_on() {
    // 10 requests a second: 0.5 a second at 5%, 6 in the bake and the second
    // read beside it.
    let run = deploy(
        Fake::default(),
        10.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(
        run.outcome.reason(),
        Some("inconclusive: api v2: 6 requests at 5% in 10s, fewer than the 20 needed to judge it")
    );
    assert!(run
        .analyses()
        .iter()
        .all(|(_, _, v)| matches!(v, Verdict::Inconclusive { .. })));
    assert_eq!(run.fake.weights("api"), w(&[("v1", 100)]));

    let mut s = settings();
    s.inconclusive = Inconclusive::Continue;
    let run = deploy(
        Fake::default(),
        10.0,
        plan(Strategy::BlueGreen, &["api"], s),
        Abort::new(),
    )
    .await;
    assert_eq!(run.outcome, Outcome::Promoted);
}

#[tokio::test(start_paused = true)]
async fn the_failure_limit_counts_breaches_in_a_row() {
    let mut s = settings();
    s.failure_limit = 3;
    // Bad from 50% on: every analysis of step two breaches, and the third
    // in a row rolls back.
    let fake = Fake::default().with_version(
        "v2",
        Behaviour {
            error_rate: 2.0,
            bad_from_percent: 50,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["api"], s),
        Abort::new(),
    )
    .await;
    let breaches: Vec<_> = run
        .analyses()
        .into_iter()
        .filter(|(_, _, v)| matches!(v, Verdict::Breach(_)))
        .collect();
    assert_eq!(breaches.len(), 3);
    assert_eq!(run.outcome.state(), DeployState::RolledBack);
}

#[tokio::test(start_paused = true)]
async fn an_abort_during_a_bake_rolls_back_with_its_reason() {
    let abort = Abort::new();
    let later = abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(12_500)).await;
        later.abort("cancelled by alice");
    });
    let run = deploy(
        Fake::default(),
        1000.0,
        plan(Strategy::BlueGreen, &["api"], settings()),
        abort,
    )
    .await;
    assert_eq!(run.outcome.reason(), Some("cancelled by alice"));
    assert_eq!(run.fake.weights("api"), w(&[("v1", 100)]));
    assert_eq!(run.started.elapsed(), Duration::from_millis(12_500));
}

#[tokio::test(start_paused = true)]
async fn a_breach_in_one_service_rolls_back_every_service_of_the_deploy() {
    // Only b's v2 fails, from 50% on.
    let fake = Fake::default().with_version(
        "b/v2",
        Behaviour {
            error_rate: 3.0,
            bad_from_percent: 50,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::BlueGreen, &["a", "b"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(run.outcome.breach().unwrap().service, "b");
    assert_eq!(run.fake.weights("a"), w(&[("v1", 100)]));
    assert_eq!(run.fake.weights("b"), w(&[("v1", 100)]));
    let log = run.fake.world().log.clone();
    assert!(log.contains(&"stop a v2".to_string()) && log.contains(&"stop b v2".to_string()));
    assert!(run
        .analyses()
        .iter()
        .filter(|(s, _, _)| s == "a")
        .all(|(_, _, v)| *v == Verdict::Healthy));
}

#[tokio::test(start_paused = true)]
async fn a_first_deploy_takes_all_traffic_once_healthy() {
    let fake = Fake::default();
    fake.world().rps = 1000.0;
    let mut p = plan(Strategy::BlueGreen, &["api"], settings());
    p.targets[0].from = None;
    let events = Arc::new(Collected::default());
    let controller = Controller {
        instances: Arc::new(fake.clone()),
        routing: Arc::new(fake.clone()),
        events: events.clone(),
        now_ms: || 0,
    };
    let start = Instant::now();
    assert_eq!(controller.run(&p, &Abort::new()).await, Outcome::Promoted);
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(fake.weights("api"), w(&[("v2", 100)]));
    assert_eq!(fake.world().active["api"], (Some("v2".into()), None, None));
}

#[tokio::test(start_paused = true)]
async fn rolling_moves_traffic_per_instance_then_stops_the_old_version() {
    let mut p = plan(Strategy::Rolling, &["api"], settings());
    p.targets[0].config.instances = 2;
    let run = deploy(Fake::default(), 1000.0, p, Abort::new()).await;
    assert_eq!(run.outcome, Outcome::Promoted);
    assert_eq!(
        run.fake.changes("api"),
        vec![
            w(&[("v1", 50), ("v2", 50)]),
            w(&[("v1", 0), ("v2", 100)]),
            w(&[("v2", 100)]),
        ]
    );
    let w = run.fake.world();
    assert!(!w.instances.contains_key(&("api".into(), "v1".into())));
    assert_eq!(
        w.active["api"],
        (Some("v2".into()), Some("v1".into()), None)
    );
}

#[tokio::test(start_paused = true)]
async fn rolling_not_stable_in_time_leaves_the_old_version_serving() {
    let fake = Fake::default().with_version(
        "v2",
        Behaviour {
            healthy: false,
            ..GOOD
        },
    );
    let run = deploy(
        fake,
        1000.0,
        plan(Strategy::Rolling, &["api"], settings()),
        Abort::new(),
    )
    .await;
    assert_eq!(run.outcome.state(), DeployState::Failed);
    assert!(run.outcome.reason().unwrap().contains("within 30s"));
    assert_eq!(run.started.elapsed(), Duration::from_secs(30));
    assert!(run.fake.changes("api").is_empty());
    assert_eq!(run.fake.weights("api"), w(&[("v1", 100)]));
}

#[tokio::test(start_paused = true)]
async fn a_kept_previous_version_is_cleared_before_the_next_deploy() {
    let fake = Fake::default();
    fake.world().rps = 1000.0;
    fake.serving("api", "v0").await;
    // v1 serves, v0 idle (kept after the last deploy).
    let v1 = fake.start(&config("api"), "v1").await.unwrap();
    let v0 = fake.addresses("api", "v0");
    fake.route(
        "api",
        &[
            Route {
                version: "v0".into(),
                weight: 0,
                upstreams: v0,
            },
            Route {
                version: "v1".into(),
                weight: 100,
                upstreams: v1,
            },
        ],
    )
    .await
    .unwrap();
    let controller = Controller {
        instances: Arc::new(fake.clone()),
        routing: Arc::new(fake.clone()),
        events: Arc::new(Collected::default()),
        now_ms: || 0,
    };
    let p = plan(Strategy::BlueGreen, &["api"], settings());
    assert_eq!(controller.run(&p, &Abort::new()).await, Outcome::Promoted);
    assert_eq!(fake.weights("api"), w(&[("v1", 0), ("v2", 100)]));
    assert!(fake.world().log.contains(&"stop api v0".to_string()));
}
