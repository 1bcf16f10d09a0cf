//! Deploy events as the one line a person reads: in the terminal of the
//! command that deploys, in the daemon's log, in notifications.

use slipway_model::deploy::{DeployEvent, DeployState, Verdict, VersionFigures};

pub fn event_line(event: &DeployEvent) -> String {
    match event {
        DeployEvent::Started {
            deploy,
            cluster,
            strategy,
            version,
            services,
        } => {
            let moves: Vec<String> = services
                .iter()
                .map(|s| match &s.from {
                    Some(from) => format!("{} {from} -> {}", s.service, s.to),
                    None => format!("{} (first deploy) -> {}", s.service, s.to),
                })
                .collect();
            format!(
                "deploy {deploy}: {} of {version} on cluster {cluster}: {}",
                strategy.as_str(),
                moves.join(", ")
            )
        }
        DeployEvent::Phase { phase, message } => format!("[{phase}] {message}"),
        DeployEvent::Instance {
            service,
            version,
            slot,
            address,
            state,
            detail,
        } => {
            let detail = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!("{service} {version} #{slot} at {address}: {state}{detail}")
        }
        DeployEvent::Smoke {
            service,
            check,
            ok,
            detail,
        } => format!(
            "{service} {check}: {} ({detail})",
            if *ok { "passed" } else { "FAILED" }
        ),
        DeployEvent::Traffic {
            step,
            steps,
            weights,
        } => {
            let split: Vec<String> = weights
                .iter()
                .map(|s| {
                    let w: Vec<String> =
                        s.weights.iter().map(|(v, w)| format!("{v} {w}%")).collect();
                    format!("{} {}", s.service, w.join(" / "))
                })
                .collect();
            let at = if *step > 0 {
                format!("step {step}/{steps}: ")
            } else {
                String::new()
            };
            format!("traffic {at}{}", split.join(", "))
        }
        DeployEvent::Analysis {
            service,
            window_seconds,
            versions,
            verdict,
            ..
        } => {
            let figures: Vec<String> = versions.iter().map(version_figures).collect();
            format!(
                "{service} last {window_seconds}s: {} => {}",
                figures.join(" | "),
                verdict_text(verdict)
            )
        }
        DeployEvent::Finished {
            state,
            reason,
            seconds,
            ..
        } => {
            let what = match state {
                DeployState::Promoted => "promoted",
                DeployState::RolledBack => "rolled back",
                DeployState::Failed => "failed",
                DeployState::Unchanged => "unchanged",
                DeployState::Running => "running",
            };
            match reason {
                Some(r) => format!("{what} after {seconds:.1}s: {r}"),
                None => format!("{what} after {seconds:.1}s"),
            }
        }
    }
}

pub fn version_figures(f: &VersionFigures) -> String {
    let rate = f
        .error_rate_percent
        .map_or("-".to_string(), |r| format!("{r:.2}%"));
    let p95 = f.p95_ms.map_or("-".to_string(), |p| format!("{p:.0}ms"));
    format!(
        "{} {:.0}%: {} req, errors {rate}, p95 {p95}",
        f.version, f.traffic_percent, f.requests
    )
}

pub fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Healthy => "healthy".into(),
        Verdict::Inconclusive { requests, needed } => {
            format!("inconclusive ({requests} of {needed} requests needed)")
        }
        Verdict::Breach(b) => match b.metric.as_str() {
            "error_rate" => format!(
                "BREACH: {} error rate {:.2}% > {}%",
                b.version, b.value, b.threshold
            ),
            _ => format!(
                "BREACH: {} p95 {:.0}ms > {}ms",
                b.version, b.value, b.threshold
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_model::deploy::{Breach, ServiceChange, ServiceWeights, Strategy};

    #[test]
    fn lines_people_read() {
        let lines = [
            DeployEvent::Started {
                deploy: 7,
                cluster: "mpac-prod".into(),
                strategy: Strategy::BlueGreen,
                version: "main-a1b2c3d-20260128103045".into(),
                services: vec![
                    ServiceChange {
                        service: "svc-portal".into(),
                        from: Some("main-0000000-20260101000000".into()),
                        to: "main-a1b2c3d-20260128103045".into(),
                    },
                    ServiceChange {
                        service: "mpac-pgw".into(),
                        from: None,
                        to: "main-a1b2c3d-20260128103045".into(),
                    },
                ],
            },
            DeployEvent::Traffic {
                step: 1,
                steps: 3,
                weights: vec![ServiceWeights {
                    service: "svc-portal".into(),
                    weights: vec![("blue".into(), 95), ("green".into(), 5)],
                }],
            },
            DeployEvent::Analysis {
                service: "svc-portal".into(),
                step: 1,
                window_seconds: 10,
                versions: vec![
                    VersionFigures {
                        version: "blue".into(),
                        traffic_percent: 95.0,
                        requests: 1900,
                        error_rate_percent: Some(0.0),
                        p95_ms: Some(12.4),
                    },
                    VersionFigures {
                        version: "green".into(),
                        traffic_percent: 5.0,
                        requests: 100,
                        error_rate_percent: Some(5.0),
                        p95_ms: Some(13.0),
                    },
                ],
                verdict: Verdict::Breach(Breach {
                    service: "svc-portal".into(),
                    version: "green".into(),
                    metric: "error_rate".into(),
                    value: 5.0,
                    threshold: 0.5,
                    window_seconds: 10,
                    requests: 100,
                }),
            },
            DeployEvent::Finished {
                state: DeployState::RolledBack,
                reason: Some(
                    "svc-portal green: error rate 5.00% is over 0.5% (100 requests in 10 s)".into(),
                ),
                breach: None,
                invalid: false,
                seconds: 31.25,
            },
        ];
        let text: Vec<String> = lines.iter().map(event_line).collect();
        assert_eq!(
            text,
            vec![
                "deploy 7: blue-green of main-a1b2c3d-20260128103045 on cluster mpac-prod: svc-portal main-0000000-20260101000000 -> main-a1b2c3d-20260128103045, mpac-pgw (first deploy) -> main-a1b2c3d-20260128103045",
                "traffic step 1/3: svc-portal blue 95% / green 5%",
                "svc-portal last 10s: blue 95%: 1900 req, errors 0.00%, p95 12ms | green 5%: 100 req, errors 5.00%, p95 13ms => BREACH: green error rate 5.00% > 0.5%",
                "rolled back after 31.2s: svc-portal green: error rate 5.00% is over 0.5% (100 requests in 10 s)",
            ]
        );
    }
}
