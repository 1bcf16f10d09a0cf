//! Judging a version by its figures over a window: error rate and p95
//! latency against their thresholds, once the window holds enough
//! requests to say anything.

use slipway_model::deploy::{Breach, Verdict, VersionFigures};

/// The limits a version is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Percent of requests failing (5xx answers and router errors).
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
    /// Fewer requests in a window: inconclusive.
    pub min_requests: u64,
}

/// The verdict on one version's figures. A threshold is crossed when the
/// figure is above it, as the spec's monitoring script compares.
pub fn judge(
    service: &str,
    figures: &VersionFigures,
    window_seconds: u64,
    t: &Thresholds,
) -> Verdict {
    if figures.requests < t.min_requests {
        return Verdict::Inconclusive {
            requests: figures.requests,
            needed: t.min_requests,
        };
    }
    let breach = |metric: &str, value: f64, threshold: f64| {
        Verdict::Breach(Breach {
            service: service.to_string(),
            version: figures.version.clone(),
            metric: metric.to_string(),
            value,
            threshold,
            window_seconds,
            requests: figures.requests,
        })
    };
    if let Some(rate) = figures.error_rate_percent {
        if rate > t.max_error_rate {
            return breach("error_rate", rate, t.max_error_rate);
        }
    }
    if let Some(p95) = figures.p95_ms {
        if p95 > t.max_p95_ms {
            return breach("p95", p95, t.max_p95_ms);
        }
    }
    Verdict::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        max_error_rate: 0.5,
        max_p95_ms: 1000.0,
        min_requests: 20,
    };

    fn figures(requests: u64, rate: f64, p95: f64) -> VersionFigures {
        VersionFigures {
            version: "v2".into(),
            traffic_percent: 5.0,
            requests,
            error_rate_percent: Some(rate),
            p95_ms: Some(p95),
        }
    }

    #[test]
    fn too_few_requests_is_inconclusive_even_when_all_fail() {
        assert_eq!(
            judge("api", &figures(19, 100.0, 5000.0), 10, &T),
            Verdict::Inconclusive {
                requests: 19,
                needed: 20
            }
        );
    }

    #[test]
    fn thresholds_are_crossed_strictly_above() {
        assert_eq!(
            judge("api", &figures(200, 0.5, 1000.0), 10, &T),
            Verdict::Healthy
        );
        let Verdict::Breach(b) = judge("api", &figures(200, 5.0, 20.0), 10, &T) else {
            panic!("not a breach")
        };
        assert_eq!(
            (b.metric.as_str(), b.value, b.threshold),
            ("error_rate", 5.0, 0.5)
        );
        assert_eq!(
            b.to_string(),
            "api v2: error rate 5.00% is over 0.5% (200 requests in 10 s)"
        );
        let Verdict::Breach(b) = judge("api", &figures(200, 0.0, 1500.0), 10, &T) else {
            panic!("not a breach")
        };
        assert_eq!(
            b.to_string(),
            "api v2: p95 latency 1500 ms is over 1000 ms (200 requests in 10 s)"
        );
    }
}
