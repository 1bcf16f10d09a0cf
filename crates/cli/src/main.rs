//! slipway: CI/CD in one binary. This file wires the commands; each lives
//! in `cmd/`. Errors become exit codes in one place, `exit_code`.

mod approvals;
mod cmd;
mod concurrency;
mod event_args;
mod git;
mod history;
mod live;
mod output;
mod workflows;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use slipway_model::exit;

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "Runs GitHub Actions workflows as they are, gates on tests and coverage, and ships with blue-green deploys",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a `${{ }}` expression and print its value as JSON
    Eval(cmd::eval::Args),
    /// Show which workflows an event triggers and what each job would do
    Plan(cmd::plan::Args),
    /// Check workflow files: errors, and warnings for known mistakes
    Lint(cmd::lint::Args),
    /// Coverage reports: gate on the total, report against a base branch, show the trend
    Coverage(cmd::coverage::Args),
    /// Test reports (JUnit XML): failures, flaky and slowest tests
    Tests(cmd::tests_report::Args),
    /// Run workflows on this machine
    Run(cmd::run::Args),
    /// List recorded runs, newest first
    Runs(cmd::history::RunsArgs),
    /// Show one run: jobs, steps, conclusions
    Show(cmd::history::ShowArgs),
    /// Print a run's logs (--follow while it runs)
    Logs(cmd::history::LogsArgs),
    /// Send notifications: `slipway notify slack`
    Notify(cmd::notify::Args),
    /// Approve a run waiting at an approval gate
    Approve(cmd::approvals::DecideArgs),
    /// Reject a run waiting at an approval gate (its job fails)
    Reject(cmd::approvals::DecideArgs),
    /// Go on with a run left waiting for approval or interrupted
    Resume(cmd::approvals::ResumeArgs),
    /// Images: `slipway image tag|build|push`
    Image(cmd::image::Args),
    /// The local OCI registry: `slipway registry up|down|status`
    Registry(cmd::registry::Args),
    /// Deploy a version: `slipway deploy blue-green|rolling|status|history`
    Deploy(cmd::deploy::Args),
    /// Traffic back to the version each service ran before its last deploy
    Rollback(cmd::deploy::RollbackArgs),
    /// Watch error rate and p95 latency; exit 1 on the first breach
    Monitor(cmd::monitor::Args),
    /// The local cluster's daemon: `slipway cluster up|down|status`
    Cluster(cmd::cluster::Args),
}

/// An error that already told the user what went wrong and only needs to
/// set the exit code.
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Bad input from the user: a flag, a file, a value. Exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn exit_code(err: &anyhow::Error) -> i32 {
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return *code;
    }
    if err.downcast_ref::<UsageError>().is_some() {
        return exit::INVALID;
    }
    exit::FAILED
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of our
    // output goes away (`slipway show 1 | head`) instead of panicking.
    // SAFETY: called first thing, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => cmd::eval::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Coverage(args) => cmd::coverage::run(args),
        Command::Tests(args) => cmd::tests_report::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Runs(args) => cmd::history::runs(args),
        Command::Show(args) => cmd::history::show(args),
        Command::Logs(args) => cmd::history::logs(args),
        Command::Notify(args) => cmd::notify::run(args),
        Command::Approve(args) => cmd::approvals::approve(args),
        Command::Reject(args) => cmd::approvals::reject(args),
        Command::Resume(args) => cmd::approvals::resume(args),
        Command::Image(args) => cmd::image::run(args),
        Command::Registry(args) => cmd::registry::run(args),
        Command::Deploy(args) => cmd::deploy::run(args),
        Command::Rollback(args) => cmd::deploy::rollback(args),
        Command::Monitor(args) => cmd::monitor::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code(&err);
            if err.downcast_ref::<Exit>().is_none() {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
