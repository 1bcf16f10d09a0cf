//! `slipway tests report`: JUnit XML from any test tool, summed up: counts,
//! failures with message and location, flaky tests, the slowest tests.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use slipway_gates::render;
use slipway_gates::view::TestsView;
use slipway_gates::{read_junit, FileInput, Input};
use slipway_model::exit;

use crate::output::print_json;
use crate::{Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TestsCommand,
}

#[derive(Subcommand)]
enum TestsCommand {
    /// Passed, failed, errored, skipped and flaky tests; failures with their location; the slowest tests. Exits 1 when a test failed
    Report(ReportArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
enum OutputFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// JUnit XML reports (pytest, go-junit-report, Vitest, Maven Surefire, ...)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let TestsCommand::Report(args) = args.command;
    let inputs: Vec<FileInput> = args.files.iter().map(FileInput::new).collect();
    let refs: Vec<&dyn Input> = inputs.iter().map(|i| i as &dyn Input).collect();
    let report = read_junit(&refs).map_err(|e| UsageError(e.to_string()))?;
    let view = TestsView::new(&report);
    match args.format {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text => print!("{}", render::tests_text(&view)),
        OutputFormat::Markdown => print!("{}", render::tests_markdown(&view)),
    }
    if view.counts.failed + view.counts.errored > 0 {
        return Err(Exit(exit::FAILED).into());
    }
    Ok(())
}
