//! The live view on a terminal: a block of one line per running job
//! (current step, elapsed), redrawn in place; finished jobs and the full
//! output of failing steps are printed above it and stay.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use slipway_model::{Conclusion, JobKey, LogLevel, RunEvent};

struct Running {
    key: JobKey,
    since: Instant,
    step: Option<String>,
    /// The current step's output, shown in full if it fails.
    output: Vec<String>,
}

#[derive(Default)]
pub struct LiveView {
    running: Vec<Running>,
    names: HashMap<(String, usize), String>,
    /// Lines of the block drawn last, to erase before the next draw.
    drawn: usize,
}

impl LiveView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one event; returns what to print above the block (kept).
    pub fn event(&mut self, event: &RunEvent, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        match event {
            RunEvent::JobStarted { job } => self.running.push(Running {
                key: job.clone(),
                since: now,
                step: None,
                output: Vec::new(),
            }),
            RunEvent::StepStarted { job, step, name } => {
                self.names.insert((job.label(), *step), name.clone());
                if let Some(r) = self.find(job) {
                    r.step = Some(name.clone());
                    r.output.clear();
                }
            }
            RunEvent::Log {
                job, line, level, ..
            } => {
                let line = match level {
                    LogLevel::Error => format!("error: {line}"),
                    LogLevel::Warning => format!("warning: {line}"),
                    _ => line.clone(),
                };
                if let Some(r) = self.find(job) {
                    r.output.push(line);
                }
            }
            RunEvent::StepFinished {
                job,
                step,
                conclusion,
                outcome,
                ..
            } => {
                let name = self
                    .names
                    .get(&(job.label(), *step))
                    .cloned()
                    .unwrap_or_default();
                if *outcome == Conclusion::Failure {
                    let label = job.label();
                    let tolerated = if *conclusion == Conclusion::Success {
                        " (continue-on-error)"
                    } else {
                        ""
                    };
                    out.push(format!("✗ {label} / {name} failed{tolerated}:"));
                    if let Some(r) = self.find(job) {
                        out.extend(r.output.iter().map(|l| format!("  │ {l}")));
                    }
                }
                if let Some(r) = self.find(job) {
                    r.step = None;
                    r.output.clear();
                }
            }
            RunEvent::JobFinished {
                job,
                conclusion,
                seconds,
                ..
            } => {
                self.running.retain(|r| &r.key != job);
                let mark = match conclusion {
                    Conclusion::Success => "✓",
                    Conclusion::Failure => "✗",
                    Conclusion::Cancelled => "⊘",
                    Conclusion::Skipped => "-",
                    Conclusion::Waiting => "⏸",
                };
                out.push(format!(
                    "{mark} {} {} in {}",
                    job.name,
                    conclusion.as_str(),
                    elapsed(Duration::from_secs_f64(*seconds))
                ));
            }
            RunEvent::RunFinished { .. } => {}
        }
        out
    }

    fn find(&mut self, job: &JobKey) -> Option<&mut Running> {
        self.running.iter_mut().find(|r| &r.key == job)
    }

    /// The block: a line per running job.
    pub fn block(&self, now: Instant) -> Vec<String> {
        let width = self
            .running
            .iter()
            .map(|r| r.key.name.chars().count())
            .max()
            .unwrap_or(0);
        self.running
            .iter()
            .map(|r| {
                let step = r.step.as_deref().unwrap_or("starting");
                format!(
                    "⠿ {:<width$}  {:>6}  {step}",
                    r.key.name,
                    elapsed(now.saturating_duration_since(r.since))
                )
            })
            .collect()
    }

    /// Erase the last block, print `above`, draw the block again.
    pub fn frame(&mut self, above: &[String], now: Instant) -> String {
        let mut s = String::new();
        if self.drawn > 0 {
            s.push_str(&format!("\x1b[{}A\x1b[J", self.drawn));
        }
        for line in above {
            s.push_str(line);
            s.push('\n');
        }
        let block = self.block(now);
        for line in &block {
            s.push_str(line);
            s.push('\n');
        }
        self.drawn = block.len();
        s
    }
}

fn elapsed(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> JobKey {
        JobKey {
            id: id.into(),
            name: format!("Job {id}"),
            matrix: None,
        }
    }

    #[test]
    fn shows_running_jobs_and_keeps_failures_above() {
        let t0 = Instant::now();
        let mut view = LiveView::new();
        let mut printed = Vec::new();
        let events = [
            RunEvent::JobStarted { job: key("a") },
            RunEvent::JobStarted { job: key("b") },
            RunEvent::StepStarted {
                job: key("a"),
                step: 0,
                name: "Build".into(),
            },
            RunEvent::Log {
                job: key("a"),
                step: Some(0),
                line: "compiling".into(),
                level: LogLevel::Output,
            },
            RunEvent::Log {
                job: key("a"),
                step: Some(0),
                line: "Process completed with exit code 2.".into(),
                level: LogLevel::Error,
            },
            RunEvent::StepStarted {
                job: key("b"),
                step: 0,
                name: "Test".into(),
            },
        ];
        for e in &events {
            printed.extend(view.event(e, t0));
        }
        let block = view.block(t0 + Duration::from_millis(2500)).join("\n");
        insta::assert_snapshot!(block, @r"
        ⠿ Job a    2.5s  Build
        ⠿ Job b    2.5s  Test
        ");
        printed.extend(view.event(
            &RunEvent::StepFinished {
                job: key("a"),
                step: 0,
                outcome: Conclusion::Failure,
                conclusion: Conclusion::Failure,
                seconds: 1.0,
            },
            t0,
        ));
        printed.extend(view.event(
            &RunEvent::JobFinished {
                job: key("a"),
                conclusion: Conclusion::Failure,
                seconds: 3.0,
                outputs: Vec::new(),
            },
            t0,
        ));
        insta::assert_snapshot!(printed.join("\n"), @r"
        ✗ a / Build failed:
          │ compiling
          │ error: Process completed with exit code 2.
        ✗ Job a failure in 3.0s
        ");
        assert_eq!(view.block(t0).len(), 1);
        let frame = view.frame(&[], t0);
        assert!(frame.starts_with("⠿ Job b"), "{frame:?}");
        assert!(view.frame(&[], t0).starts_with("\x1b[1A\x1b[J"));
    }
}
