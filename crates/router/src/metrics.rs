//! `/metrics`: every service's and version's figures in the Prometheus
//! text format (OpenMetrics 1.0, what Prometheus scrapes by default).

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{text, DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::router::Router;
use crate::stats::{Latency, Totals, WindowStats, DURATION_BUCKETS};

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn render(router: &Router) -> String {
    let mut registry = Registry::with_prefix("slipway_router");
    registry.register_collector(Box::new(RouterCollector {
        router: router.clone(),
    }));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = text::encode(&mut out, &registry);
    out
}

struct RouterCollector {
    router: Router,
}

impl fmt::Debug for RouterCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterCollector").finish_non_exhaustive()
    }
}

/// One version's figures, read once per scrape.
struct Row {
    service: String,
    version: String,
    weight: u32,
    in_flight: u64,
    totals: Totals,
    window: WindowStats,
}

/// A metric's name, help text, and value for one version.
type Family<H, V> = (&'static str, H, fn(&Row) -> V);

impl Row {
    fn labels(&self) -> [(&str, &str); 2] {
        [("service", &self.service), ("version", &self.version)]
    }
}

impl Collector for RouterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let window = self.router.metrics_window();
        let services = self.router.all();
        let mut rows = Vec::new();
        let mut unrouted = Vec::new();
        for service in &services {
            unrouted.push((service.name.clone(), service.unrouted_count()));
            for (state, weight) in service.states() {
                rows.push(Row {
                    service: service.name.clone(),
                    version: state.name.clone(),
                    weight: weight.unwrap_or(0),
                    in_flight: state.in_flight(),
                    totals: state.stats.totals(),
                    window: state.stats.window(window),
                });
            }
        }
        let secs = crate::stats::window_seconds(window);

        let int_gauges: [Family<String, i64>; 3] = [
            (
                "weight",
                "A version's weight (0 when it takes no new requests).".to_string(),
                |r| i64::from(r.weight),
            ),
            (
                "in_flight",
                "Requests in flight to a version.".to_string(),
                |r| r.in_flight as i64,
            ),
            (
                "window_requests",
                format!("Requests to a version that ended in the last {secs} s."),
                |r| r.window.requests as i64,
            ),
        ];

        let counters: [Family<&str, u64>; 3] = [
            (
                "requests",
                "Requests to a version that ended (answered, failed, or left by the client).",
                |r| r.totals.counts.requests,
            ),
            (
                "upstream_5xx",
                "Responses with a 5xx status from a version's upstreams.",
                |r| r.totals.counts.responses_5xx,
            ),
            (
                "errors",
                "Requests the router could not complete with a version's upstreams (connect errors, timeouts, broken responses), answered 502 or 504.",
                |r| r.totals.counts.errors,
            ),
        ];
        for (name, help, value) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for row in &rows {
                ConstCounter::new(value(row)).encode(metric.encode_family(&row.labels())?)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "request_duration",
            "Time from a request's arrival to the end of its response.",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for row in &rows {
            let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
                .iter()
                .copied()
                .chain(std::iter::once(f64::INFINITY))
                .zip(row.totals.duration_buckets.iter().copied())
                .collect();
            metric
                .encode_family(&row.labels())?
                .encode_histogram::<NoLabelSet>(
                    row.totals.duration_sum_seconds,
                    row.totals.counts.requests,
                    &buckets,
                    None,
                )?;
        }

        for (name, help, value) in &int_gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for row in &rows {
                ConstGauge::new(value(row)).encode(metric.encode_family(&row.labels())?)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "window_error_rate_percent",
            &format!(
                "Failed requests (5xx and errors) per hundred in the last {secs} s; absent without requests."
            ),
            None,
            MetricType::Gauge,
        )?;
        for row in &rows {
            if let Some(rate) = row.window.error_rate_percent {
                ConstGauge::new(rate).encode(metric.encode_family(&row.labels())?)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "window_latency",
            &format!(
                "Latency percentiles of a version over the last {secs} s; absent without requests."
            ),
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for row in &rows {
            let Some(Latency { p50, p95, p99 }) = row.window.latency_ms else {
                continue;
            };
            for (quantile, ms) in [("0.5", p50), ("0.95", p95), ("0.99", p99)] {
                let labels = [
                    ("service", row.service.as_str()),
                    ("version", row.version.as_str()),
                    ("quantile", quantile),
                ];
                ConstGauge::new(ms / 1000.0).encode(metric.encode_family(&labels)?)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "unrouted",
            "Requests answered 503 because no version of the service had weight.",
            None,
            MetricType::Counter,
        )?;
        for (service, count) in &unrouted {
            ConstCounter::new(*count)
                .encode(metric.encode_family(&[("service", service.as_str())])?)?;
        }
        Ok(())
    }
}
