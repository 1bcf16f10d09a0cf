//! slipway's router: a weighted HTTP reverse proxy (HTTP/1.1 and HTTP/2)
//! with one listener per service, versions chosen by weight, weights
//! changed in one atomic swap, keep-alive pools to upstreams, draining,
//! and per-version counts, error rate and latency percentiles over a
//! sliding window. An admin server on loopback serves `/metrics` and a
//! JSON API.
//!
//! The deploy controller drives it through [`Router`]:
//!
//! ```no_run
//! # async fn f() -> Result<(), slipway_router::RouterError> {
//! use std::time::Duration;
//! use slipway_router::{Router, ServiceSpec, VersionSpec};
//!
//! let router = Router::new();
//! router
//!     .start_service(ServiceSpec::new(
//!         "svc-portal",
//!         "127.0.0.1:8002".parse().unwrap(),
//!         vec![VersionSpec::new("blue", 100, &["127.0.0.1:9001"])],
//!     ))
//!     .await?;
//! router.set_versions(
//!     "svc-portal",
//!     &[
//!         VersionSpec::new("blue", 95, &["127.0.0.1:9001"]),
//!         VersionSpec::new("green", 5, &["127.0.0.1:9002"]),
//!     ],
//! )?;
//! let stats = router.stats("svc-portal", Duration::from_secs(10))?;
//! let green = stats.version("green").unwrap();
//! if green.window.error_rate_percent.unwrap_or(0.0) > 0.5 {
//!     router.set_weights("svc-portal", &[("blue", 100)])?; // green gets 0
//!     router.wait_drained("svc-portal", "green", Duration::from_secs(30)).await?;
//! }
//! # Ok(()) }
//! ```

mod admin;
mod clock;
mod error;
mod listener;
mod metrics;
mod pool;
mod proxy;
mod router;
mod service;
mod spec;
mod standalone;
mod stats;
mod table;
mod workers;

pub use admin::{respond as admin_respond, AdminServer, VersionsBody, WeightsBody};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::RouterError;
pub use metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
pub use router::{Router, RouterOptions};
pub use service::{ServiceStats, VersionStatus, VersionView};
pub use spec::{ServiceSpec, VersionSpec, MAX_WEIGHT};
pub use standalone::{ServiceConfig, Standalone, StandaloneConfig};
pub use stats::{Counts, Latency, WindowStats};
