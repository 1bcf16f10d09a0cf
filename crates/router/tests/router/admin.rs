use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use serde_json::Value;
use slipway_router::{AdminServer, Router, RouterOptions, ServiceSpec, VersionSpec};

use crate::support::{client, closed_port, get, Backend, HttpClient};

struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn call(http: &HttpClient, method: Method, url: &str, body: &str) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = http.request(req).await.unwrap();
    let status = res.status().as_u16();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.to_str().unwrap().to_string())
    };
    let content_type = header("content-type").unwrap_or_default();
    let allow = header("allow");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        allow,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Values that depend on ports and timing, replaced so the shape and the
/// exact counts can be compared.
fn redact_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match k.as_str() {
                    "listen" => *v = Value::from("[addr]"),
                    "upstreams" => {
                        if let Value::Array(a) = v {
                            for u in a {
                                *u = Value::from("[addr]");
                            }
                        }
                    }
                    "p50" | "p95" | "p99" => *v = Value::from("[ms]"),
                    _ => redact_json(v),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Latency sums, buckets and percentiles vary from run to run; counts,
/// weights and the text's shape do not.
fn redact_metrics(text: &str) -> String {
    let re = regex::Regex::new(r"^(slipway_router_(?:request_duration_seconds_(?:sum|bucket)|window_latency_seconds)\S*) \S+$").unwrap();
    text.lines()
        .map(|l| re.replace(l, "$1 [value]").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A service with three versions and a known history: blue served 8
/// requests, green 2 (one a 500), old 1 (its upstream down, 502) before it
/// was removed; blue 90 / green 10 now.
async fn service_with_history(router: &Router) -> (Backend, Backend) {
    let blue = Backend::start("blue").await;
    let green = Backend::with_behavior(
        "green",
        Arc::new(|n| (if n == 0 { 500 } else { 200 }, Duration::ZERO)),
    )
    .await;
    let old = closed_port().to_string();
    let addr = router
        .start_service(ServiceSpec::new(
            "api",
            "127.0.0.1:0".parse().unwrap(),
            vec![
                VersionSpec::new("blue", 100, &[&blue.upstream()]),
                VersionSpec::new("green", 0, &[&green.upstream()]),
                VersionSpec::new("old", 0, &[&old]),
            ],
        ))
        .await
        .unwrap();
    let http = client();
    let url = format!("http://{addr}/");
    for _ in 0..8 {
        assert_eq!(get(&http, &url).await.ok_body(), Some("blue"));
    }
    router.set_weights("api", &[("green", 100)]).unwrap();
    get(&http, &url).await;
    get(&http, &url).await;
    router.set_weights("api", &[("old", 100)]).unwrap();
    assert_eq!(get(&http, &url).await.result.unwrap().0, 502);
    router
        .set_versions(
            "api",
            &[
                VersionSpec::new("blue", 90, &[&blue.upstream()]),
                VersionSpec::new("green", 10, &[&green.upstream()]),
            ],
        )
        .unwrap();
    (blue, green)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_per_service_and_version() {
    // A window as long as the retention, so that a slow machine still
    // finds every request of the test in it.
    let router = Router::with_options(RouterOptions {
        metrics_window: Duration::from_secs(60),
        ..RouterOptions::default()
    });
    let _backends = service_with_history(&router).await;
    let admin = AdminServer::start(router.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let res = call(
        &client(),
        Method::GET,
        &format!("http://{}/metrics", admin.addr()),
        "",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    insta::assert_snapshot!("metrics", redact_metrics(&res.body));
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_reads_figures_and_moves_traffic() {
    let router = Router::new();
    let _backends = service_with_history(&router).await;
    let admin = AdminServer::start(router.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = client();
    let base = format!("http://{}/api/v1", admin.addr());

    let res = call(
        &http,
        Method::GET,
        &format!("{base}/services/api?window=60"),
        "",
    )
    .await;
    assert_eq!(
        (res.status, res.content_type.as_str()),
        (200, "application/json")
    );
    let mut v = res.json();
    redact_json(&mut v);
    insta::assert_snapshot!("service", serde_json::to_string_pretty(&v).unwrap());

    let res = call(&http, Method::GET, &format!("{base}/services"), "").await;
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(v["services"][0]["service"], "api");
    assert_eq!(v["services"][0]["versions"][0]["window"]["seconds"], 10);

    // Weights: the named versions take them, the others 0, in one swap.
    let res = call(
        &http,
        Method::PUT,
        &format!("{base}/services/api/weights"),
        r#"{"weights": {"green": 100}}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    assert_eq!(v["versions"][0]["weight"], 0);
    assert_eq!(v["versions"][1]["weight"], 100);
    assert_eq!(v["versions"][1]["traffic_percent"], 100.0);

    // A whole set of versions, then one removed.
    let res = call(
        &http,
        Method::PUT,
        &format!("{base}/services/api/versions"),
        &format!(
            r#"{{"versions": [{{"name": "blue", "weight": 1, "upstreams": ["{0}"]}},
                              {{"name": "canary", "weight": 1, "upstreams": ["{0}"]}}]}}"#,
            closed_port()
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let names: Vec<(String, String)> = res.json()["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().into(),
                v["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("blue".into(), "routed".into()),
            ("canary".into(), "routed".into()),
            ("green".into(), "removed".into()),
            ("old".into(), "removed".into())
        ]
    );
    let res = call(
        &http,
        Method::DELETE,
        &format!("{base}/services/api/versions/canary"),
        "",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["versions"][0]["traffic_percent"], 100.0);

    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_errors_are_json_naming_the_fault() {
    let router = Router::new();
    let _backends = service_with_history(&router).await;
    let admin = AdminServer::start(router.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = client();
    let base = format!("http://{}", admin.addr());
    let cases = [
        (
            Method::PUT,
            "/api/v1/services/api/weights",
            r#"{"weights": {"gren": 1}}"#,
        ),
        (
            Method::PUT,
            "/api/v1/services/api/weights",
            r#"{"weights": {"blue": -1}}"#,
        ),
        (Method::PUT, "/api/v1/services/api/weights", "{"),
        (
            Method::PUT,
            "/api/v1/services/web/weights",
            r#"{"weights": {}}"#,
        ),
        (
            Method::PUT,
            "/api/v1/services/api/versions",
            r#"{"versions": [{"name": "x", "weight": 1, "upstreams": []}]}"#,
        ),
        (Method::DELETE, "/api/v1/services/api/versions/nope", ""),
        (Method::GET, "/api/v1/services/api?window=0", ""),
        (Method::POST, "/metrics", ""),
        (Method::GET, "/nope", ""),
    ];
    let mut out = String::new();
    for (method, path, body) in cases {
        let res = call(&http, method.clone(), &format!("{base}{path}"), body).await;
        assert_eq!(res.content_type, "application/json");
        out.push_str(&format!(
            "{method} {path}\n-> {}{}\n{}\n",
            res.status,
            res.allow
                .map(|a| format!(" (Allow: {a})"))
                .unwrap_or_default(),
            res.body
        ));
    }
    insta::assert_snapshot!("errors", out);
    // Nothing moved.
    let stats = router.stats("api", Duration::from_secs(10)).unwrap();
    let weights: Vec<u32> = stats.versions.iter().map(|v| v.weight).collect();
    assert_eq!(weights[..2], [90, 10]);
    admin.stop().await;
}
