//! Detection to rollback: how long after a bad green's breach becomes
//! measurable does traffic stop reaching it?
//!
//! Each round makes a repository whose service (the deploy tests' Python
//! service, `tests/fixtures/deploy/server.py`) has a good version and one
//! that fails every 20th request (5%), deploys the good one, puts steady
//! load on the router (4 keep-alive connections) and deploys the bad one
//! blue-green with its first step at 20%. From what every request got:
//!
//! - measurable: the first moment a one-second window of green's answers
//!   holds `min-requests` (10) answers, one of them a failure — what
//!   analysis needs to see;
//! - back on blue: the last request sent to green;
//! - reaction = back on blue - measurable, against the issue's bound of one
//!   analysis interval plus one second, run beside it for each interval.
//!
//! Run: `cargo bench -p slipway-cli --bench rollback` (5 rounds at
//! intervals of 1 s and 2 s; `-- --quick`: 2 rounds at 1 s).

#[path = "../tests/deploy_support/mod.rs"]
mod deploy_support;
#[path = "../tests/support.rs"]
mod support;

use std::time::Duration;

use deploy_support::{Got, Load, Repo, Sample, GOOD};

fn reaction(samples: &[Sample], green: &str, min_requests: usize) -> Option<(Duration, usize)> {
    let mut answers: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.version() == Some(green))
        .collect();
    answers.sort_by_key(|s| s.done);
    let measurable = answers.iter().enumerate().find_map(|(i, s)| {
        let window: Vec<&&Sample> = answers[..=i]
            .iter()
            .filter(|o| s.done.duration_since(o.done) < Duration::from_secs(1))
            .collect();
        (window.len() >= min_requests && window.iter().any(|o| matches!(o.got, Got::Injected(_))))
            .then_some(s.done)
    })?;
    let last = answers.iter().map(|s| s.sent).max()?;
    Some((last.saturating_duration_since(measurable), answers.len()))
}

fn round(interval: u64) -> Result<(Duration, usize, usize), String> {
    let repo = Repo::new(&format!(
        "steps = \"20:30s,100:1s\"\ninterval = \"{interval}s\"\nmin-requests = 10\n"
    ));
    let v1 = repo.version(GOOD);
    let v2 = repo.version(r#"{"fail_every": 20}"#);
    let first = repo.deploy("blue-green", &v1, &[]);
    if first.code != 0 {
        return Err(format!(
            "the first deploy failed: {}{}",
            first.stdout, first.stderr
        ));
    }
    let load = Load::start(repo.port, 4, Duration::from_millis(2));
    std::thread::sleep(Duration::from_millis(500));
    let run = repo.deploy("blue-green", &v2, &[]);
    std::thread::sleep(Duration::from_millis(300));
    let samples = load.stop();
    if run.code != 1 || !run.stdout.contains("error rate") {
        return Err(format!(
            "the bad version was not rolled back for its errors:\n{}",
            run.stdout
        ));
    }
    let lost = samples
        .iter()
        .filter(|s| !matches!(s.got, Got::Ok(_) | Got::Injected(_)))
        .count();
    let (reaction, green) =
        reaction(&samples, &v2, 10).ok_or("green never answered enough to judge")?;
    Ok((reaction, green, lost))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, intervals): (usize, &[u64]) = if quick { (2, &[1]) } else { (5, &[1, 2]) };
    println!(
        "rollback bench: {rounds} round(s) per interval; load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:>8}  {:>9}  {:>9}  {:>9}  {:>12}  {:>14}  {:>9}",
        "interval", "median", "max", "bound", "within bound", "green answers", "lost"
    );
    let mut failed = false;
    for &interval in intervals {
        let mut times = Vec::new();
        let (mut answers, mut lost) = (0, 0);
        for _ in 0..rounds {
            match round(interval) {
                Ok((t, g, l)) => {
                    times.push(t);
                    answers += g;
                    lost += l;
                }
                Err(e) => {
                    eprintln!("round failed: {e}");
                    failed = true;
                }
            }
        }
        if times.is_empty() {
            continue;
        }
        times.sort();
        let bound = Duration::from_secs(interval + 1);
        let within = times.iter().filter(|t| **t <= bound).count();
        println!(
            "{:>7}s  {:>8.2}s  {:>8.2}s  {:>8.2}s  {:>12}  {:>14}  {:>9}",
            interval,
            times[times.len() / 2].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            bound.as_secs_f64(),
            format!("{within}/{}", times.len()),
            answers / times.len(),
            lost
        );
    }
    if failed {
        std::process::exit(1);
    }
}
