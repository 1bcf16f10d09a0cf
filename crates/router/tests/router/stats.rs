use std::sync::Arc;
use std::time::Duration;

use slipway_router::{Router, ServiceSpec, VersionSpec};

use crate::support::{client, load, Backend};

/// Green's upstream fails every 20th request (5%) and holds every 10th
/// for 200 ms (10%); blue's is clean and fast. The router's figures for
/// each version match what was injected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_and_p95_match_injected_failures_and_delays() {
    let blue = Backend::start("blue").await;
    let green = Backend::with_behavior(
        "green",
        Arc::new(|n| {
            let status = if n % 20 == 0 { 500 } else { 200 };
            let delay = if n % 10 == 5 {
                Duration::from_millis(200)
            } else {
                Duration::ZERO
            };
            (status, delay)
        }),
    )
    .await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 1, &[&blue.upstream()]),
                VersionSpec::new("green", 1, &[&green.upstream()]),
            ],
        ))
        .await
        .unwrap();

    let replies = load(&client(), &format!("http://{addr}/"), 2000, 20).await;
    assert!(replies.iter().all(|r| r.result.is_ok()));

    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    let g = stats.version("green").unwrap();
    let served = green.served();
    let failures = served.div_ceil(20); // n = 0, 20, 40, ... answered 500
    let slow = (served + 4) / 10; // n = 5, 15, 25, ... held 200 ms
    assert_eq!(g.window.requests, served);
    assert_eq!(g.window.responses_5xx, failures);
    assert_eq!(g.window.errors, 0);
    let rate = g.window.error_rate_percent.unwrap();
    assert!(
        (rate - failures as f64 * 100.0 / served as f64).abs() < 1e-9,
        "{rate}"
    );
    assert!((4.5..=5.5).contains(&rate), "{rate}");

    // 10% of green's requests took 200 ms or more: p95 and p99 are at
    // least 200 ms (within the histogram's 1%), p50 is one of the fast ones.
    assert!(slow * 10 >= served - 10);
    let l = g.window.latency_ms.unwrap();
    assert!(l.p95 >= 198.0 && l.p95 < 2000.0, "{l:?}");
    assert!(l.p99 >= 198.0, "{l:?}");
    assert!(l.p50 < 150.0, "{l:?}");

    let b = stats.version("blue").unwrap();
    assert_eq!(b.window.requests, blue.served());
    assert_eq!(b.window.error_rate_percent, Some(0.0));
    assert!(b.window.latency_ms.unwrap().p95 < 150.0, "{:?}", b.window);
    assert_eq!(b.window.requests + g.window.requests, 2000);
}

/// A version without requests in the window says so: no error rate, no
/// percentiles, zero requests (for the controller, "inconclusive").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_without_traffic_has_no_figures() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 1, &[&blue.upstream()]),
                VersionSpec::new("green", 0, &[&blue.upstream()]),
            ],
        ))
        .await
        .unwrap();
    let stats = router.stats("api", Duration::from_secs(10)).unwrap();
    let g = stats.version("green").unwrap();
    assert_eq!(g.window.requests, 0);
    assert_eq!(g.window.error_rate_percent, None);
    assert_eq!(g.window.latency_ms, None);
    assert_eq!(g.window.seconds, 10);
}
