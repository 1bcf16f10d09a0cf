use std::time::{Duration, Instant};

use slipway_router::{Router, ServiceSpec, VersionSpec};

use crate::support::{client, eventually, get, load, tally, Backend, SteadyLoad};

fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_split_by_weight() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![
                VersionSpec::new("blue", 95, &[&blue.upstream()]),
                VersionSpec::new("green", 5, &[&green.upstream()]),
            ],
        ))
        .await
        .unwrap();

    let total = 4000;
    let replies = load(&client(), &format!("http://{addr}/"), total, 32).await;
    let (ok, other) = tally(&replies);
    assert!(other.is_empty(), "failed requests: {other:?}");
    // green: 200 expected, a standard deviation of about 14.
    let g = ok.get("green").copied().unwrap_or(0);
    assert!((130..=270).contains(&g), "green got {g} of {total}: {ok:?}");
    assert_eq!(ok["blue"] + g, total);

    // The router's counts agree with what the upstreams served.
    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    assert_eq!(
        stats.version("blue").unwrap().totals.requests,
        blue.served()
    );
    assert_eq!(
        stats.version("green").unwrap().totals.requests,
        green.served()
    );
    assert_eq!(stats.version("green").unwrap().traffic_percent, 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_round_robin_among_a_versions_upstreams() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![VersionSpec::new("blue", 1, &[&a.upstream(), &b.upstream()])],
        ))
        .await
        .unwrap();
    let replies = load(&client(), &format!("http://{addr}/"), 100, 1).await;
    let (ok, other) = tally(&replies);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!((ok["a"], ok["b"]), (50, 50));
}

/// Weights flip back and forth under steady load: no request fails, and
/// every request that starts after a switch returned goes where the new
/// weights say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_switches_under_load_lose_no_request() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![
                VersionSpec::new("blue", 100, &[&blue.upstream()]),
                VersionSpec::new("green", 0, &[&green.upstream()]),
            ],
        ))
        .await
        .unwrap();

    // (swap begun, swap returned, where traffic goes)
    let start = Instant::now();
    let mut switches: Vec<(Instant, Instant, &str)> = vec![(start, start, "blue")];
    let steady = SteadyLoad::start(&client(), &format!("http://{addr}/"), 16);
    for round in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let begun = Instant::now();
        let to = if round % 2 == 0 { "green" } else { "blue" };
        match round % 4 {
            // Weights alone, and whole version sets, both swap at once.
            0 | 1 => router.set_weights("api", &[(to, 100)]).unwrap(),
            _ => {
                let (b, g) = if to == "blue" { (100, 0) } else { (0, 100) };
                router
                    .set_versions(
                        "api",
                        &[
                            VersionSpec::new("blue", b, &[&blue.upstream()]),
                            VersionSpec::new("green", g, &[&green.upstream()]),
                        ],
                    )
                    .unwrap();
            }
        }
        switches.push((begun, Instant::now(), to));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let replies = steady.stop().await;

    let (ok, other) = tally(&replies);
    assert!(
        other.is_empty(),
        "failed requests during switches: {other:?}"
    );
    assert!(replies.len() > 200, "too little load: {}", replies.len());
    assert!(ok["blue"] > 0 && ok["green"] > 0, "{ok:?}");
    let mut checked = 0;
    for r in &replies {
        // The last switch that had returned when the request started...
        let Some(k) = switches.iter().rposition(|(_, done, _)| *done <= r.started) else {
            continue;
        };
        // ... unless the next one had begun before it ended.
        if switches
            .get(k + 1)
            .is_some_and(|(begun, _, _)| *begun < r.ended)
        {
            continue;
        }
        assert_eq!(r.ok_body(), Some(switches[k].2), "a request after a switch");
        checked += 1;
    }
    assert!(
        checked * 2 > replies.len(),
        "only {checked} of {} requests checked",
        replies.len()
    );
    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    assert_eq!(stats.unrouted, 0);
    let counted: u64 = stats.versions.iter().map(|v| v.totals.requests).sum();
    assert_eq!(counted, replies.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_weight_anywhere_answers_503_and_counts_it() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![VersionSpec::new("blue", 0, &[&blue.upstream()])],
        ))
        .await
        .unwrap();
    let reply = get(&client(), &format!("http://{addr}/")).await;
    assert_eq!(reply.result.unwrap().0, 503);
    let stats = router.stats("api", Duration::from_secs(10)).unwrap();
    assert_eq!(stats.unrouted, 1);
    assert_eq!(stats.version("blue").unwrap().totals.requests, 0);

    router.set_weights("api", &[("blue", 1)]).unwrap();
    let reply = get(&client(), &format!("http://{addr}/")).await;
    assert_eq!(reply.ok_body(), Some("blue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_reach_the_upstream_as_a_proxy_should_send_them() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![VersionSpec::new("blue", 1, &[&blue.upstream()])],
        ))
        .await
        .unwrap();
    let req = hyper::Request::get(format!("http://{addr}/x?y=1"))
        .header("host", "shop.example")
        .header("x-forwarded-for", "203.0.113.9")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = client().request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-seen-host"], "shop.example");
    assert_eq!(
        res.headers()["x-seen-forwarded-for"],
        "203.0.113.9, 127.0.0.1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_service_frees_its_port() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    let spec = |addr| {
        ServiceSpec::new(
            "api",
            addr,
            vec![VersionSpec::new("blue", 1, &[&blue.upstream()])],
        )
    };
    let addr = router.start_service(spec(loopback())).await.unwrap();
    assert_eq!(
        get(&client(), &format!("http://{addr}/")).await.ok_body(),
        Some("blue")
    );
    router.stop_service("api").await.unwrap();
    assert!(router.service_names().is_empty());
    // The same port again, at once.
    let again = router.start_service(spec(addr)).await.unwrap();
    assert_eq!(again, addr);
    eventually("the restarted service to answer", || true).await;
    assert_eq!(
        get(&client(), &format!("http://{addr}/")).await.ok_body(),
        Some("blue")
    );
}

/// Requests reuse upstream connections; an upstream that closes every
/// connection after one response costs the clients nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_and_closed_ones_replaced() {
    let blue = Backend::start("blue").await;
    let closing = Backend::closing("closing").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![
                VersionSpec::new("blue", 1, &[&blue.upstream()]),
                VersionSpec::new("closing", 0, &[&closing.upstream()]),
            ],
        ))
        .await
        .unwrap();
    let http = client();
    let url = format!("http://{addr}/");
    let (ok, other) = tally(&load(&http, &url, 300, 4).await);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ok["blue"], 300);
    // At most one connection per concurrent request, not one per request.
    assert!(
        blue.connections() <= 4,
        "{} connections",
        blue.connections()
    );

    router.set_weights("api", &[("closing", 1)]).unwrap();
    let (ok, other) = tally(&load(&http, &url, 100, 4).await);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ok["closing"], 100);
    assert_eq!(closing.connections(), 100);
}

/// Responses without a body (HEAD, 204) give their connection back too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodiless_responses_keep_the_connection() {
    let blue = Backend::with_behavior("blue", std::sync::Arc::new(|_| (204, Duration::ZERO))).await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            loopback(),
            vec![VersionSpec::new("blue", 1, &[&blue.upstream()])],
        ))
        .await
        .unwrap();
    let http = client();
    for i in 0..50 {
        let method = if i % 2 == 0 { "HEAD" } else { "GET" };
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}/"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let res = http.request(req).await.unwrap();
        assert_eq!(res.status(), 204);
    }
    // One per client connection at most (the client may open a second
    // one, served by another worker), not one per request.
    assert!(
        blue.connections() <= 4,
        "{} connections",
        blue.connections()
    );
    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    assert_eq!(stats.version("blue").unwrap().totals.requests, 50);
    assert_eq!(stats.version("blue").unwrap().in_flight, 0);
}
