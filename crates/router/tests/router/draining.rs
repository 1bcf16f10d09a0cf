use std::time::Duration;

use slipway_router::{Router, RouterError, ServiceSpec, VersionSpec, VersionStatus};

use crate::support::{client, eventually, get, Backend};

/// A request held by green's upstream is in flight when green is removed:
/// new requests go to blue at once, the held one completes with 200 from
/// green, and only then does green count as drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_to_a_removed_version_completes() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 0, &[&blue.upstream()]),
                VersionSpec::new("green", 100, &[&green.upstream()]),
            ],
        ))
        .await
        .unwrap();
    let http = client();

    let held = tokio::spawn({
        let http = http.clone();
        async move { get(&http, &format!("http://{addr}/hold")).await }
    });
    eventually("the held request to reach green", || {
        router.in_flight("api", "green").unwrap() == 1 && green.served() == 1
    })
    .await;

    // Still routed: waiting for it to drain is refused.
    let err = router
        .wait_drained("api", "green", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RouterError::StillRouted { weight: 100, .. }),
        "{err}"
    );

    router.set_weights("api", &[("blue", 100)]).unwrap();
    router.remove_version("api", "green").unwrap();

    let stats = router.stats("api", Duration::from_secs(10)).unwrap();
    let g = stats.version("green").unwrap();
    assert_eq!(
        (g.status, g.in_flight, g.drained),
        (VersionStatus::Removed, 1, false)
    );
    for _ in 0..20 {
        assert_eq!(
            get(&http, &format!("http://{addr}/")).await.ok_body(),
            Some("blue")
        );
    }
    // The held request keeps green from draining.
    let err = router
        .wait_drained("api", "green", Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RouterError::DrainTimeout { in_flight: 1, .. }),
        "{err}"
    );
    assert!(!held.is_finished());

    green.release();
    router
        .wait_drained("api", "green", Duration::from_secs(30))
        .await
        .unwrap();
    let reply = held.await.unwrap();
    assert_eq!(reply.ok_body(), Some("green"));

    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    let g = stats.version("green").unwrap();
    assert_eq!((g.in_flight, g.drained, g.totals.requests), (0, true, 1));
    assert_eq!(g.totals.errors, 0);
}

/// Setting a version's weight to 0 drains it the same way; it stays in the
/// table, idle, and can take traffic again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_zero_drains_and_keeps_the_version() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 0, &[&blue.upstream()]),
                VersionSpec::new("green", 1, &[&green.upstream()]),
            ],
        ))
        .await
        .unwrap();
    let http = client();
    let held = tokio::spawn({
        let http = http.clone();
        async move { get(&http, &format!("http://{addr}/hold")).await }
    });
    eventually("the held request", || {
        router.in_flight("api", "green").unwrap() == 1
    })
    .await;
    router
        .set_weights("api", &[("blue", 1), ("green", 0)])
        .unwrap();
    let g = router.stats("api", Duration::from_secs(10)).unwrap();
    assert_eq!(g.version("green").unwrap().status, VersionStatus::Idle);

    green.release();
    router
        .wait_drained("api", "green", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(held.await.unwrap().ok_body(), Some("green"));

    router.set_weights("api", &[("green", 1)]).unwrap();
    assert_eq!(
        get(&http, &format!("http://{addr}/")).await.ok_body(),
        Some("green")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_an_unknown_version_says_which_exist() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![VersionSpec::new("blue", 1, &[&blue.upstream()])],
        ))
        .await
        .unwrap();
    let err = router
        .wait_drained("api", "gren", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown version `gren` of service `api` (known: `blue`)"
    );
    let err = router.remove_version("apі", "blue").unwrap_err();
    assert_eq!(err.to_string(), "unknown service `apі` (known: `api`)");
}
