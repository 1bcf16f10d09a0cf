use std::sync::Arc;
use std::time::Duration;

use slipway_router::{AdminServer, Router, RouterError, ServiceSpec, VersionSpec};

use crate::support::{client, closed_port, get, Backend};

/// Green's only upstream is down: its requests answer 502 and count as
/// errors for green; blue's figures are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_is_down_answers_502_counted_against_its_version() {
    let blue = Backend::start("blue").await;
    let down = closed_port().to_string();
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 1, &[&blue.upstream()]),
                VersionSpec::new("green", 0, &[&down]),
            ],
        ))
        .await
        .unwrap();
    let http = client();
    for _ in 0..10 {
        assert_eq!(
            get(&http, &format!("http://{addr}/")).await.ok_body(),
            Some("blue")
        );
    }
    router.set_weights("api", &[("green", 1)]).unwrap();
    for _ in 0..5 {
        let (status, _) = get(&http, &format!("http://{addr}/")).await.result.unwrap();
        assert_eq!(status, 502);
    }

    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    let g = stats.version("green").unwrap();
    assert_eq!(
        (g.totals.requests, g.totals.errors, g.totals.responses_5xx),
        (5, 5, 0)
    );
    assert_eq!(g.window.error_rate_percent, Some(100.0));
    let b = stats.version("blue").unwrap();
    assert_eq!((b.totals.requests, b.totals.errors), (10, 0));
    assert_eq!(b.window.error_rate_percent, Some(0.0));
}

/// An upstream that accepts the request but does not answer within the
/// service's response timeout: 504, an error for its version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_too_slow_to_answer_gets_504() {
    let slow = Backend::start("slow").await;
    let router = Router::new();
    let mut spec = ServiceSpec::new(
        "api",
        "127.0.0.1:0".parse().unwrap(),
        vec![VersionSpec::new("blue", 1, &[&slow.upstream()])],
    );
    spec.response_timeout = Duration::from_millis(200);
    let addr = router.start_service(spec).await.unwrap();
    let (status, _) = get(&client(), &format!("http://{addr}/hold"))
        .await
        .result
        .unwrap();
    assert_eq!(status, 504);
    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    let b = stats.version("blue").unwrap();
    assert_eq!((b.totals.requests, b.totals.errors, b.in_flight), (1, 1, 0));
    slow.release();
}

/// An upstream whose accept queue is full never completes the TCP
/// handshake: past the connect timeout the client gets 504.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_timeout_gets_504() {
    // A listener that never accepts, with a backlog of 0 (one pending
    // connection on Linux), filled by one connection: later SYNs are
    // dropped and connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let full = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        // Extra ones only make sure the queue is full whatever the kernel
        // counts; they may hang, so they are not awaited.
        fillers.push(tokio::spawn(tokio::net::TcpStream::connect(full)));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let router = Router::new();
    let mut spec = ServiceSpec::new(
        "api",
        "127.0.0.1:0".parse().unwrap(),
        vec![VersionSpec::new("blue", 1, &[&full.to_string()])],
    );
    spec.connect_timeout = Duration::from_millis(300);
    let addr = router.start_service(spec).await.unwrap();
    let (status, body) = get(&client(), &format!("http://{addr}/"))
        .await
        .result
        .unwrap();
    assert_eq!(status, 504, "{body}");
    let b = router.stats("api", Duration::from_secs(60)).unwrap();
    assert_eq!(b.version("blue").unwrap().totals.errors, 1);
    drop(listener);
    for f in fillers {
        f.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_named_with_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let router = Router::new();
    let err = router
        .start_service(ServiceSpec::new(
            "svc-portal",
            addr,
            vec![VersionSpec::new("blue", 1, &["127.0.0.1:1"])],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, RouterError::PortInUse { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "port {p} on 127.0.0.1 for service `svc-portal` is already in use: stop what listens there (`ss -ltnp 'sport = :{p}'` shows it) or choose another port",
            p = addr.port()
        )
    );
    assert!(router.service_names().is_empty());

    let err = AdminServer::start(router.clone(), addr)
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), "port_in_use");
    assert!(
        err.to_string().contains("for the router's admin server"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_changes_nothing() {
    let blue = Backend::start("blue").await;
    let router = Router::new();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 1, &[&blue.upstream()]),
                VersionSpec::new("green", 0, &["127.0.0.1:1"]),
            ],
        ))
        .await
        .unwrap();

    // An unknown name among good ones: no weight moves.
    let err = router
        .set_weights("api", &[("green", 1), ("gren", 1)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown version `gren` of service `api` (known: `blue`, `green`)"
    );
    let err = router
        .set_versions("api", &[VersionSpec::new("blue", 1, &["nowhere"])])
        .unwrap_err();
    assert_eq!(err.kind(), "invalid");
    let stats = router.stats("api", Duration::from_secs(10)).unwrap();
    let weights: Vec<(String, u32)> = stats
        .versions
        .iter()
        .map(|v| (v.name.clone(), v.weight))
        .collect();
    assert_eq!(weights, [("blue".to_string(), 1), ("green".to_string(), 0)]);
    assert_eq!(
        get(&client(), &format!("http://{addr}/")).await.ok_body(),
        Some("blue")
    );

    let err = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![VersionSpec::new("blue", 1, &[&blue.upstream()])],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "service `api` is already running; stop it first or choose another name"
    );

    let err = AdminServer::start(router.clone(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), "admin_not_loopback");
    let _ = Arc::new(());
}
