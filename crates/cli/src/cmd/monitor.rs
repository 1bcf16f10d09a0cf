//! `slipway monitor`: the spec's monitoring script, reading the router's
//! own figures every interval instead of CloudWatch every minute. Exits 1
//! on the first breach, naming the service, the metric and its value.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde::Serialize;
use slipway_deploy::analysis::{judge, Thresholds};
use slipway_model::deploy::{Breach, Verdict, VersionFigures};
use slipway_model::exit;

use crate::cmd::deploy::{client_error, daemon, resolve, runtime};
use crate::output::{print_json, Format};
use crate::{Exit, UsageError};

#[derive(ClapArgs)]
pub struct Args {
    /// How long to watch, in seconds (or 1h, 30m)
    #[arg(long, value_name = "SECONDS")]
    duration: String,
    /// Alert above this error rate, in percent
    #[arg(
        long = "alert-on-error-rate",
        value_name = "PERCENT",
        default_value_t = 0.5
    )]
    error_rate: f64,
    /// Alert above this p95 latency, in ms
    #[arg(
        long = "alert-on-latency-p95",
        value_name = "MS",
        default_value_t = 1000.0
    )]
    p95: f64,
    /// The cluster [default: the only one]
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// Services, comma-separated [default: every service of the cluster]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    services: Option<Vec<String>>,
    /// How often to look, and the window each look reads
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    interval: String,
    /// Fewer requests in a window: inconclusive (shown, never taken for healthy)
    #[arg(long, value_name = "N", default_value_t = 20)]
    min_requests: u64,
    /// The repository (where slipway.toml and .slipway/ are) [default: $SLIPWAY_REPOSITORY in workflow steps, else .]
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct MonitorResult {
    cluster: String,
    seconds: f64,
    /// Looks taken.
    windows: u64,
    /// Version windows too quiet to judge.
    inconclusive: u64,
    breach: Option<Breach>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let duration = slipway_deploy::duration::parse(&args.duration)
        .map_err(|m| UsageError(format!("--duration: {m}")))?;
    let interval = slipway_deploy::duration::parse(&args.interval)
        .map_err(|m| UsageError(format!("--interval: {m}")))?;
    let retention = slipway_deploy::daemon::RETENTION;
    if interval < Duration::from_secs(1) || interval > retention {
        return Err(UsageError(format!(
            "--interval {}: give 1s to {}s",
            args.interval,
            retention.as_secs()
        ))
        .into());
    }
    if !(0.0..=100.0).contains(&args.error_rate) {
        return Err(UsageError(format!(
            "--alert-on-error-rate {}: give a percentage from 0 to 100",
            args.error_rate
        ))
        .into());
    }
    if !(args.p95 > 0.0 && args.p95.is_finite()) {
        return Err(UsageError(format!(
            "--alert-on-latency-p95 {}: give a number of milliseconds above 0",
            args.p95
        ))
        .into());
    }
    let (root, cluster) = resolve(&args.dir, args.cluster.as_deref(), args.services.as_deref())?;
    let thresholds = Thresholds {
        max_error_rate: args.error_rate,
        max_p95_ms: args.p95,
        min_requests: args.min_requests.max(1),
    };
    let format = args.format;
    let text = format == Format::Text;
    runtime()?.block_on(async move {
        let client = daemon(&root, &cluster, format).await?;
        if text {
            println!(
                "monitoring cluster {cluster} for {}: alert above {}% errors or p95 {} ms, every {}",
                slipway_deploy::duration::format(duration),
                args.error_rate,
                args.p95,
                slipway_deploy::duration::format(interval)
            );
        }
        let start = tokio::time::Instant::now();
        let end = start + duration;
        let (mut windows, mut inconclusive) = (0u64, 0u64);
        let mut breach = None;
        let mut next = start + interval;
        while next <= end {
            tokio::time::sleep_until(next).await;
            next += interval;
            windows += 1;
            // One second more: the router's window includes the second
            // under way, only just begun at each look.
            let window = (interval + Duration::from_secs(1)).min(retention);
            let status = client.status(window).await.map_err(client_error)?;
            for s in &status.services {
                if let Some(only) = &args.services {
                    if !only.contains(&s.service) {
                        continue;
                    }
                }
                for v in s.versions.iter().filter(|v| v.weight > 0) {
                    let figures = VersionFigures {
                        version: v.version.clone(),
                        traffic_percent: v.traffic_percent,
                        requests: v.requests,
                        error_rate_percent: v.error_rate_percent,
                        p95_ms: v.p95_ms,
                    };
                    let verdict = judge(&s.service, &figures, status.window_seconds, &thresholds);
                    if text {
                        println!(
                            "{:>8} {} {}: {}",
                            format!("+{}s", start.elapsed().as_secs()),
                            s.service,
                            slipway_deploy::render::version_figures(&figures),
                            slipway_deploy::render::verdict_text(&verdict)
                        );
                    }
                    match verdict {
                        Verdict::Breach(b) => {
                            breach.get_or_insert(b);
                        }
                        Verdict::Inconclusive { .. } => inconclusive += 1,
                        Verdict::Healthy => {}
                    }
                }
            }
            if breach.is_some() {
                break;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        match format {
            Format::Json => print_json(&MonitorResult {
                cluster: cluster.clone(),
                seconds,
                windows,
                inconclusive,
                breach: breach.clone(),
            })?,
            Format::Text => match &breach {
                Some(b) => eprintln!("ERROR: {b}"),
                None => println!(
                    "monitoring completed: no threshold crossed in {seconds:.0} s ({windows} looks, {inconclusive} too quiet to judge)"
                ),
            },
        }
        if breach.is_some() {
            Err(Exit(exit::FAILED).into())
        } else {
            Ok(())
        }
    })
}
