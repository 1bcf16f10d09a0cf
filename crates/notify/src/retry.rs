//! Delivering one message with retries, the way Slack asks clients to:
//! after a 429 wait as long as `Retry-After` says; after a 5xx or no
//! answer at all back off exponentially; any other 4xx is final. Retries
//! stop when the next wait would pass the time allowed.

use std::time::Duration;

use crate::clock::Clock;
use crate::error::{DeliveryError, ErrorKind};
use crate::transport::{Reply, Transport};
use crate::webhook::WebhookUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// From the first request, the time after which no retry is started.
    pub give_up_after: Duration,
    /// The first back-off; each one after doubles, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest one request may take.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            give_up_after: Duration::from_secs(60),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy, giving up after `give_up_after`; back-offs
    /// shrink with it so that a short budget still sees a few attempts.
    pub fn giving_up_after(give_up_after: Duration) -> RetryPolicy {
        let default = RetryPolicy::default();
        RetryPolicy {
            give_up_after,
            first_backoff: default.first_backoff.min(give_up_after / 8),
            max_backoff: default.max_backoff.min(give_up_after / 2),
            request_timeout: default
                .request_timeout
                .min(give_up_after.max(Duration::from_secs(1))),
        }
    }
}

/// A retry about to happen, for progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrying {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// Why it failed, e.g. `server error 503`.
    pub reason: String,
    pub wait: Duration,
    /// Whether the wait is the receiver's `Retry-After`.
    pub asked: bool,
}

/// A message the receiver accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub attempts: u32,
    pub status: u16,
    /// What the receiver answered (Slack says `ok`).
    pub body: String,
}

/// POST `body` to `url` until it is accepted, refused for good, or the
/// policy's time is up. `progress` hears of each retry before its wait.
pub async fn deliver<T: Transport, C: Clock>(
    transport: &T,
    clock: &C,
    policy: &RetryPolicy,
    url: &WebhookUrl,
    body: &[u8],
    mut progress: impl FnMut(&Retrying),
) -> Result<Delivered, DeliveryError> {
    let start = clock.now();
    let mut backoff = policy.first_backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let left = policy
            .give_up_after
            .saturating_sub(clock.now() - start)
            .max(Duration::from_millis(100));
        let answer = transport
            .post_json(url, body, policy.request_timeout.min(left))
            .await;
        let mut status = None;
        let (reason, wait, asked) = match answer {
            Ok(Reply {
                status: s, body, ..
            }) if (200..300).contains(&s) => {
                return Ok(Delivered {
                    attempts: attempt,
                    status: s,
                    body,
                });
            }
            Ok(Reply {
                status: 429,
                retry_after,
                ..
            }) => {
                status = Some(429);
                match retry_after {
                    Some(wait) => ("rate limited (429)".to_string(), wait, true),
                    None => (
                        "rate limited (429)".to_string(),
                        next(&mut backoff, policy),
                        false,
                    ),
                }
            }
            Ok(Reply {
                status: s, body, ..
            }) if s >= 500 => {
                status = Some(s);
                (
                    format!("server error {s}{}", said(&body)),
                    next(&mut backoff, policy),
                    false,
                )
            }
            Ok(Reply {
                status: s, body, ..
            }) => {
                let why = if (300..400).contains(&s) {
                    " (a webhook does not redirect; check the URL)".to_string()
                } else {
                    said(&body)
                };
                let mut err = DeliveryError::new(
                    ErrorKind::Rejected,
                    format!("{url} refused the message: {s}{why}"),
                );
                err.attempts = attempt;
                err.elapsed = clock.now() - start;
                err.status = Some(s);
                return Err(err);
            }
            Err(no_reply) => (no_reply.0, next(&mut backoff, policy), false),
        };
        let elapsed = clock.now() - start;
        if elapsed + wait > policy.give_up_after {
            let why = if asked {
                format!(
                    "; it asked to wait {} (Retry-After), past the {} allowed",
                    seconds(wait),
                    seconds(policy.give_up_after)
                )
            } else {
                format!(" (retries stop after {})", seconds(policy.give_up_after))
            };
            let mut err = DeliveryError::new(
                ErrorKind::GaveUp,
                format!(
                    "gave up on {url} after {attempt} attempt{} in {}: {reason}{why}",
                    if attempt == 1 { "" } else { "s" },
                    seconds(elapsed),
                ),
            );
            err.attempts = attempt;
            err.elapsed = elapsed;
            err.status = status;
            return Err(err);
        }
        progress(&Retrying {
            attempt,
            reason,
            wait,
            asked,
        });
        clock.sleep(wait).await;
    }
}

/// The current back-off, doubling the next one.
fn next(backoff: &mut Duration, policy: &RetryPolicy) -> Duration {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(policy.max_backoff);
    wait
}

fn said(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(" ({})", body.lines().next().unwrap_or(""))
    }
}

/// `1.5 s`, `200 ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;
    use crate::transport::NoReply;

    /// Answers from a script, one per request; each takes `latency` of
    /// the clock's time.
    struct Scripted<'c> {
        answers: Mutex<VecDeque<Result<Reply, NoReply>>>,
        clock: &'c ManualClock,
        latency: Duration,
        requests: Mutex<u32>,
    }

    fn reply(status: u16, retry_after: Option<u64>) -> Result<Reply, NoReply> {
        Ok(Reply {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: if status == 200 {
                "ok".into()
            } else {
                String::new()
            },
        })
    }

    impl<'c> Scripted<'c> {
        fn new(clock: &'c ManualClock, answers: Vec<Result<Reply, NoReply>>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into()),
                clock,
                latency: Duration::from_millis(10),
                requests: Mutex::new(0),
            }
        }
    }

    impl Transport for Scripted<'_> {
        async fn post_json(
            &self,
            _url: &WebhookUrl,
            _body: &[u8],
            _timeout: Duration,
        ) -> Result<Reply, NoReply> {
            *self.requests.lock().unwrap() += 1;
            self.clock.advance(self.latency);
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| reply(500, None))
        }
    }

    fn url() -> WebhookUrl {
        WebhookUrl::parse("https://hooks.slack.com/services/T/B/secret").unwrap()
    }

    fn run(
        transport: &Scripted,
        clock: &ManualClock,
        policy: RetryPolicy,
    ) -> (Result<Delivered, DeliveryError>, Vec<Retrying>) {
        let mut heard = Vec::new();
        let result = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(deliver(transport, clock, &policy, &url(), b"{}", |r| {
                heard.push(r.clone())
            }));
        (result, heard)
    }

    #[test]
    fn backs_off_exponentially_on_server_errors_then_delivers() {
        let clock = ManualClock::default();
        let t = Scripted::new(
            &clock,
            vec![
                reply(500, None),
                reply(502, None),
                reply(503, None),
                reply(200, None),
            ],
        );
        let (result, heard) = run(&t, &clock, RetryPolicy::default());
        let delivered = result.unwrap();
        assert_eq!(delivered.attempts, 4);
        assert_eq!(delivered.body, "ok");
        assert_eq!(clock.sleeps(), [1, 2, 4].map(Duration::from_secs).to_vec());
        assert_eq!(heard[1].reason, "server error 502");
    }

    #[test]
    fn waits_as_long_as_retry_after_says() {
        let clock = ManualClock::default();
        let t = Scripted::new(&clock, vec![reply(429, Some(7)), reply(200, None)]);
        let (result, heard) = run(&t, &clock, RetryPolicy::default());
        assert_eq!(result.unwrap().attempts, 2);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
        assert!(heard[0].asked);
    }

    #[test]
    fn a_429_without_retry_after_backs_off() {
        let clock = ManualClock::default();
        let t = Scripted::new(
            &clock,
            vec![reply(429, None), reply(429, None), reply(200, None)],
        );
        let (result, _) = run(&t, &clock, RetryPolicy::default());
        assert!(result.is_ok());
        assert_eq!(clock.sleeps(), [1, 2].map(Duration::from_secs).to_vec());
    }

    #[test]
    fn connection_errors_are_retried() {
        let clock = ManualClock::default();
        let t = Scripted::new(
            &clock,
            vec![
                Err(NoReply("could not connect: refused".into())),
                reply(200, None),
            ],
        );
        let (result, heard) = run(&t, &clock, RetryPolicy::default());
        assert_eq!(result.unwrap().attempts, 2);
        assert_eq!(heard[0].reason, "could not connect: refused");
    }

    #[test]
    fn other_client_errors_are_final() {
        for status in [400, 403, 404, 410] {
            let clock = ManualClock::default();
            let t = Scripted::new(
                &clock,
                vec![Ok(Reply {
                    status,
                    retry_after: None,
                    body: "no_service".into(),
                })],
            );
            let (result, _) = run(&t, &clock, RetryPolicy::default());
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Rejected);
            assert_eq!(err.attempts, 1);
            assert_eq!(
                err.to_string(),
                format!("https://hooks.slack.com/… refused the message: {status} (no_service)")
            );
            assert!(clock.sleeps().is_empty());
        }
    }

    #[test]
    fn gives_up_when_the_next_wait_would_pass_the_limit() {
        let clock = ManualClock::default();
        let t = Scripted::new(&clock, vec![]);
        let (result, heard) = run(&t, &clock, RetryPolicy::default());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::GaveUp);
        // 1 + 2 + 4 + 8 + 16 + 16 = 47 s of waits; the next 16 would pass 60.
        assert_eq!(
            clock.sleeps(),
            [1, 2, 4, 8, 16, 16].map(Duration::from_secs).to_vec()
        );
        assert_eq!(err.attempts, 7);
        assert_eq!(heard.len(), 6);
        assert_eq!(err.status, Some(500));
        assert_eq!(
            err.to_string(),
            "gave up on https://hooks.slack.com/… after 7 attempts in 47.1 s: server error 500 (retries stop after 60 s)"
        );
    }

    #[test]
    fn a_retry_after_past_the_limit_gives_up_at_once() {
        let clock = ManualClock::default();
        let t = Scripted::new(&clock, vec![reply(429, Some(120))]);
        let (result, _) = run(&t, &clock, RetryPolicy::default());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::GaveUp);
        assert!(clock.sleeps().is_empty());
        assert!(
            err.to_string().ends_with(
                "rate limited (429); it asked to wait 120 s (Retry-After), past the 60 s allowed"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_short_limit_scales_the_back_off_down() {
        let policy = RetryPolicy::giving_up_after(Duration::from_secs(2));
        assert_eq!(policy.first_backoff, Duration::from_millis(250));
        assert_eq!(policy.max_backoff, Duration::from_secs(1));
        let clock = ManualClock::default();
        let t = Scripted::new(&clock, vec![]);
        let (result, _) = run(&t, &clock, policy);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::GaveUp);
        assert_eq!(
            clock.sleeps(),
            [250, 500, 1000].map(Duration::from_millis).to_vec()
        );
    }
}
