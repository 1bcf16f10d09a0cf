//! Delivery to a real HTTP receiver on loopback standing in for Slack.

use std::time::{Duration, Instant};

use slipway_notify::receiver::{Answer, Receiver};
use slipway_notify::{
    deliver, ErrorKind, HttpTransport, Notifier, NotifyConfig, Outbox, Outcome, RetryPolicy,
    SlackChannel, SystemClock, WebhookSource, WebhookUrl,
};

const SECRET_PATH: &str = "/services/T0001/B0001/s3cretT0ken";

/// Quick retries for tests: 100 ms, 200 ms, … up to `give_up_after`.
fn policy(give_up_after: Duration) -> RetryPolicy {
    RetryPolicy {
        give_up_after,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        request_timeout: Duration::from_secs(2),
    }
}

async fn send(
    receiver: &Receiver,
    body: &str,
    policy: RetryPolicy,
) -> (
    Result<slipway_notify::Delivered, slipway_notify::DeliveryError>,
    Vec<String>,
) {
    let url = WebhookUrl::parse(&receiver.url(SECRET_PATH)).unwrap();
    let mut heard = Vec::new();
    let result = deliver(
        &HttpTransport::new().unwrap(),
        &SystemClock,
        &policy,
        &url,
        body.as_bytes(),
        |r| heard.push(format!("{} -> wait {:?}", r.reason, r.wait)),
    )
    .await;
    (result, heard)
}

const BLOCK_KIT: &str = r#"{
  "text": "Production Deployment: success",
  "blocks": [
    {
      "type": "section",
      "text": {
        "type": "mrkdwn",
        "text": "*Production Deployment*\nStatus: success\n@channel"
      }
    }
  ]
}"#;

#[tokio::test]
async fn the_receiver_gets_the_payload_byte_for_byte() {
    let receiver = Receiver::start(vec![]);
    let (result, heard) = send(&receiver, BLOCK_KIT, policy(Duration::from_secs(5))).await;
    let delivered = result.unwrap();
    assert_eq!((delivered.attempts, delivered.status), (1, 200));
    assert_eq!(delivered.body, "ok");
    assert!(heard.is_empty());
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, SECRET_PATH);
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert_eq!(got[0].body_text(), BLOCK_KIT);
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_seconds() {
    let receiver = Receiver::start(vec![Answer::RetryAfter(1)]);
    let (result, heard) = send(
        &receiver,
        r#"{"text":"hi"}"#,
        policy(Duration::from_secs(10)),
    )
    .await;
    assert_eq!(result.unwrap().attempts, 2);
    assert_eq!(heard, ["rate limited (429) -> wait 1s"]);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(1),
        "the retry came {:?} after the 429",
        got[1].at - got[0].at
    );
    assert_eq!(got[1].body_text(), r#"{"text":"hi"}"#);
}

#[tokio::test]
async fn server_errors_are_retried_until_accepted() {
    let receiver = Receiver::start(vec![
        Answer::Status(500, "internal_error".into()),
        Answer::Status(503, String::new()),
        Answer::Hang,
    ]);
    let (result, heard) = send(&receiver, "{}", policy(Duration::from_secs(10))).await;
    assert_eq!(result.unwrap().attempts, 4);
    assert_eq!(heard.len(), 3);
    assert_eq!(heard[0], "server error 500 (internal_error) -> wait 100ms");
    assert_eq!(heard[1], "server error 503 -> wait 200ms");
    assert!(heard[2].ends_with("-> wait 400ms"), "{heard:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert!(got[1].at - got[0].at >= Duration::from_millis(100));
    assert!(got[2].at - got[1].at >= Duration::from_millis(200));
}

#[tokio::test]
async fn server_errors_for_ever_end_in_giving_up_within_the_limit() {
    let receiver = Receiver::start_with(vec![], Answer::Status(500, "down".into()));
    let started = Instant::now();
    let (result, _) = send(&receiver, "{}", policy(Duration::from_millis(1500))).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::GaveUp);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("gave up on {}/… after ", receiver.url(""))),
        "{message}"
    );
    assert!(
        message.contains("server error 500 (down) (retries stop after 1.5 s)"),
        "{message}"
    );
    assert!(!message.contains(SECRET_PATH), "{message}");
    assert_eq!(receiver.received().len() as u32, err.attempts);
    assert!(err.attempts >= 4, "{}", err.attempts);
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let receiver = Receiver::start(vec![Answer::Status(404, "no_service".into())]);
    let (result, _) = send(&receiver, "{}", policy(Duration::from_secs(5))).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(err.status, Some(404));
    assert_eq!(
        err.to_string(),
        format!(
            "{}/… refused the message: 404 (no_service)",
            receiver.url("")
        )
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn nobody_listening_is_retried_and_the_error_does_not_show_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = WebhookUrl::parse(&format!("http://127.0.0.1:{port}{SECRET_PATH}")).unwrap();
    let mut retries = 0;
    let err = deliver(
        &HttpTransport::new().unwrap(),
        &SystemClock,
        &policy(Duration::from_millis(700)),
        &url,
        b"{}",
        |_| retries += 1,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::GaveUp);
    assert!(retries >= 2, "{retries}");
    let message = err.to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(!message.contains(SECRET_PATH), "{message}");
}

fn channel(env: &str, events: &[&str]) -> SlackChannel {
    SlackChannel {
        name: "deploys".into(),
        webhook: WebhookSource::Env(env.into()),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

fn config(slack: Vec<SlackChannel>) -> NotifyConfig {
    NotifyConfig {
        give_up_after: Duration::from_millis(600),
        fail_on_error: false,
        slack,
    }
}

#[tokio::test]
async fn events_go_to_the_channels_that_take_them() {
    let receiver = Receiver::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let url = receiver.url(SECRET_PATH);
    let notifier = Notifier::new(
        config(vec![channel("DEPLOY_HOOK", &["deploy.*"])]),
        Outbox::in_repo(dir.path()),
        HttpTransport::new().unwrap(),
        SystemClock,
    )
    .with_env(move |name| (name == "DEPLOY_HOOK").then(|| url.clone()));
    let outcomes = notifier
        .notify_event(
            "deploy.started",
            &[("service", "svc-portal"), ("version", "main-abc1234")],
        )
        .await;
    assert_eq!(
        outcomes,
        [Outcome::Delivered {
            channel: "deploys".into(),
            attempts: 1
        }]
    );
    assert_eq!(
        receiver.received()[0].body_text(),
        r#"{"text":"Deploy started: service svc-portal, version main-abc1234","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Deploy started*\n*service*: svc-portal\n*version*: main-abc1234"}}]}"#
    );
    // Not a deploy event: no channel takes it, so it is kept.
    let outcomes = notifier.notify_event("run.finished", &[]).await;
    let Outcome::Kept { reason, path, .. } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        reason,
        "no channel in slipway.toml takes `run.finished` events"
    );
    assert!(path.starts_with(dir.path().join(".slipway/outbox")));
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn without_channels_events_are_kept_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let notifier = Notifier::new(
        config(vec![]),
        Outbox::in_repo(dir.path()),
        HttpTransport::new().unwrap(),
        SystemClock,
    );
    for kind in ["deploy.started", "deploy.traffic", "deploy.done"] {
        notifier
            .notify_event(kind, &[("service", "svc-portal")])
            .await;
    }
    let files = Outbox::in_repo(dir.path()).files().unwrap();
    let kinds: Vec<String> = files
        .iter()
        .map(|f| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            assert_eq!(v["reason"], "no notification channel is configured");
            assert_eq!(v["fields"]["service"], "svc-portal");
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(kinds, ["deploy.started", "deploy.traffic", "deploy.done"]);
}

#[tokio::test]
async fn an_undelivered_event_is_kept_with_the_reason_and_without_the_url() {
    let receiver = Receiver::start_with(vec![], Answer::Status(503, String::new()));
    let dir = tempfile::tempdir().unwrap();
    let url = receiver.url(SECRET_PATH);
    let notifier = Notifier::new(
        config(vec![
            channel("DEPLOY_HOOK", &[]),
            channel("UNSET_HOOK", &[]),
        ]),
        Outbox::in_repo(dir.path()),
        HttpTransport::new().unwrap(),
        SystemClock,
    )
    .with_env(move |name| (name == "DEPLOY_HOOK").then(|| url.clone()));
    let outcomes = notifier
        .notify_event("deploy.rolled-back", &[("reason", "error rate 2% > 0.5%")])
        .await;
    assert_eq!(outcomes.len(), 2);
    let Outcome::Kept { reason, path, .. } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(
        reason.starts_with("gave up on http://127.0.0.1:"),
        "{reason}"
    );
    let kept = std::fs::read_to_string(path).unwrap();
    assert!(!kept.contains(SECRET_PATH), "{kept}");
    assert!(kept.contains(r#""channel": "deploys""#), "{kept}");
    let Outcome::Kept { reason, .. } = &outcomes[1] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(reason, "UNSET_HOOK is not set");
}
