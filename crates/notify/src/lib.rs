//! Notifications: Slack incoming webhooks (and workflow triggers) with
//! retries that honour `Retry-After`, and the outbox that keeps what was
//! not delivered.
//!
//! Side effects sit behind two small ports: [`Transport`] (one HTTP POST)
//! and [`Clock`] (now and sleep), so that the retry rules are tested
//! without a network or real waiting. Webhook URLs are secrets and are only
//! ever shown as scheme and host ([`WebhookUrl`]).

pub mod blocking;
pub mod clock;
pub mod config;
mod error;
pub mod notifier;
pub mod outbox;
pub mod payload;
pub mod retry;
pub mod time;
pub mod transport;
mod webhook;

#[cfg(feature = "test-receiver")]
pub mod receiver;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{NotifyConfig, SlackChannel, WebhookSource};
pub use error::{DeliveryError, ErrorKind};
pub use notifier::{Notifier, Outcome};
pub use outbox::{Outbox, OutboxEntry};
pub use retry::{deliver, Delivered, RetryPolicy, Retrying};
pub use transport::{HttpTransport, NoReply, Reply, Transport};
pub use webhook::WebhookUrl;
