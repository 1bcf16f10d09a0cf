//! `slipway image`: the spec's image tags, builds through the Docker
//! Engine, pushes to OCI registries.

use std::path::PathBuf;

use clap::Subcommand;
use slipway_image::{image_tags, UnixTime};

use crate::git::Git;
use crate::output::{print_json, Format};
use crate::UsageError;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Print the spec's image tag, `{branch}-{short-sha}-{timestamp}` (UTC), made valid whatever the branch is called
    Tag(TagArgs),
}

#[derive(clap::Args)]
struct TagArgs {
    /// The branch (`feature/x` or `refs/heads/feature/x`) [default: the current branch of -C]
    #[arg(long, value_name = "B")]
    branch: Option<String>,
    /// The commit, at least 7 hex digits [default: HEAD of -C]
    #[arg(long, value_name = "S")]
    sha: Option<String>,
    /// When the image is built: RFC 3339 (`2026-01-28T10:30:45Z`), `20260128103045` (UTC) or `@UNIX_SECONDS` [default: now]
    #[arg(long, value_name = "T")]
    time: Option<String>,
    /// Print `{branch}-latest` instead
    #[arg(long)]
    latest: bool,
    /// The repository, for the defaults of --branch and --sha
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        ImageCommand::Tag(args) => tag(args),
    }
}

fn tag(args: TagArgs) -> anyhow::Result<()> {
    let git = Git::new(&args.dir);
    let branch = match args.branch {
        Some(b) => b,
        None => git.current_ref().ok_or_else(|| {
            UsageError(format!(
                "--branch is needed: {} is not on a branch (detached HEAD or not a git repository)",
                args.dir.display()
            ))
        })?,
    };
    let sha = match args.sha {
        Some(s) => s,
        None => git.resolve("HEAD").ok_or_else(|| {
            UsageError(format!(
                "--sha is needed: {} has no commit to read",
                args.dir.display()
            ))
        })?,
    };
    let time = match &args.time {
        Some(t) => UnixTime::parse(t).ok_or_else(|| {
            UsageError(format!(
                "--time `{t}`: expected RFC 3339 (2026-01-28T10:30:45Z), 20260128103045 or @UNIX_SECONDS"
            ))
        })?,
        None => UnixTime::now(),
    };
    let tags = image_tags(&branch, &sha, time).map_err(|e| UsageError(e.to_string()))?;
    match args.format {
        Format::Json => print_json(&tags)?,
        Format::Text if args.latest => println!("{}", tags.latest),
        Format::Text => println!("{}", tags.tag),
    }
    Ok(())
}
