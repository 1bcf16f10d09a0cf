use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Version};
use slipway_router::{Router, ServiceSpec, VersionSpec};

use crate::support::{h2_client, load, tally, Backend};

/// HTTP/2 without TLS (prior knowledge) from the client; the upstream gets
/// HTTP/1.1 with the `:authority` as its `Host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_clients_are_served() {
    let blue = Backend::start("blue").await;
    let green = Backend::start("green").await;
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
    let http = h2_client();

    let req = Request::post(format!("http://{addr}/orders"))
        .body(Full::new(Bytes::from_static(b"{\"id\":1}")))
        .unwrap();
    let res = http.request(req).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-seen-host"], addr.to_string().as_str());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body == "blue" || body == "green", "{body:?}");

    // Many streams at once on the one connection.
    let replies = load(&http, &format!("http://{addr}/"), 400, 50).await;
    let (ok, other) = tally(&replies);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ok.values().sum::<usize>(), 400);
    assert!(ok["blue"] > 100 && ok["green"] > 100, "{ok:?}");

    let stats = router.stats("api", Duration::from_secs(60)).unwrap();
    let counted: u64 = stats.versions.iter().map(|v| v.totals.requests).sum();
    assert_eq!(counted, 401);
}
