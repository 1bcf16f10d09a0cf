//! `slipway registry up|down|status`: the local OCI registry images are
//! pushed to by default (Debian's docker-registry on loopback, configured
//! under `.slipway/registry/`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use serde::Serialize;
use slipway_image::local::{parse_loopback, LocalError, Status};
use slipway_image::{LocalRegistry, RegistryConfig, RegistryKind};

use crate::output::{print_json, Format};
use crate::UsageError;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Start the local registry (in the background; it keeps running) unless one already answers
    Up(UpArgs),
    /// Stop the local registry started from this repository (its images stay)
    Down(CommonArgs),
    /// Whether the local registry runs, where, and the repositories it holds
    Status(CommonArgs),
}

#[derive(clap::Args)]
struct CommonArgs {
    /// The port on 127.0.0.1 [default: slipway.toml's [registry] address, else 5000]
    #[arg(long, value_name = "PORT", conflicts_with = "address")]
    port: Option<u16>,
    /// A loopback host:port to listen on (127.0.0.1:5000, [::1]:5000)
    #[arg(long, value_name = "HOST:PORT")]
    address: Option<String>,
    /// The repository, whose .slipway/registry/ holds the configuration, log and data
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct UpArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Require basic auth with the users of this htpasswd file (`htpasswd -Bbc FILE USER PASSWORD`) [default: slipway.toml's [registry] htpasswd, else none]
    #[arg(long, value_name = "FILE")]
    htpasswd: Option<PathBuf>,
    /// Where the blobs go [default: slipway.toml's [registry] storage, else .slipway/registry/data]
    #[arg(long, value_name = "DIR")]
    storage: Option<PathBuf>,
}

#[derive(Serialize)]
struct UpView<'a> {
    started: bool,
    #[serde(flatten)]
    status: &'a Status,
}

#[derive(Serialize)]
struct DownView {
    stopped: bool,
    pid: Option<u32>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Up(args) => up(args),
        RegistryCommand::Down(args) => down(args),
        RegistryCommand::Status(args) => status(args),
    }
}

/// The registry these flags and slipway.toml describe.
fn registry(
    common: &CommonArgs,
    htpasswd: Option<&Path>,
    storage: Option<&Path>,
) -> anyhow::Result<LocalRegistry> {
    let dir = std::fs::canonicalize(&common.dir)
        .map_err(|e| UsageError(format!("-C {}: {e}", common.dir.display())))?;
    let config = RegistryConfig::load(&dir).map_err(|e| UsageError(e.to_string()))?;
    // The one started from here, as it was started: wherever it listens
    // when no address is asked for.
    let asked = match (&common.address, common.port) {
        (Some(a), _) => Some(parse_loopback(a).map_err(|m| UsageError(format!("--address {m}")))?),
        (None, Some(p)) => Some(([127, 0, 0, 1], p).into()),
        (None, None) => None,
    };
    if let Some(r) = LocalRegistry::as_started(&dir.join(".slipway")) {
        if asked.is_none_or(|a| a == r.addr) {
            return Ok(r);
        }
    }
    let local = config.kind == RegistryKind::Local;
    let addr = match asked {
        Some(a) => a,
        None => match config.address.as_deref().filter(|_| local) {
            Some(a) => parse_loopback(a)
                .map_err(|m| UsageError(format!("slipway.toml: [registry] address {m}")))?,
            None => slipway_image::config::DEFAULT_LOCAL_ADDRESS
                .parse()
                .expect("a socket address"),
        },
    };
    let mut r = LocalRegistry::new(&dir.join(".slipway"), addr);
    let cwd = std::env::current_dir()?;
    if let Some(s) = storage
        .map(|s| cwd.join(s))
        .or(config.storage.filter(|_| local))
    {
        r.storage = s;
    }
    r.htpasswd = htpasswd
        .map(|h| cwd.join(h))
        .or(config.htpasswd.filter(|_| local));
    Ok(r)
}

fn local_error(e: LocalError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

fn up(args: UpArgs) -> anyhow::Result<()> {
    let r = registry(
        &args.common,
        args.htpasswd.as_deref(),
        args.storage.as_deref(),
    )?;
    std::fs::create_dir_all(&r.dir)?;
    let (status, started) = r.up(Duration::from_secs(20)).map_err(local_error)?;
    match args.common.format {
        Format::Json => print_json(&UpView {
            started,
            status: &status,
        })?,
        Format::Text => {
            let how = if started {
                "started"
            } else if status.managed {
                "already running"
            } else {
                "already answering (not started from this repository)"
            };
            println!("registry {how} at {}", status.url);
            print!("{}", details(&status));
        }
    }
    Ok(())
}

fn down(args: CommonArgs) -> anyhow::Result<()> {
    let r = registry(&args, None, None)?;
    let pid = r.down().map_err(local_error)?;
    match args.format {
        Format::Json => print_json(&DownView {
            stopped: pid.is_some(),
            pid,
        })?,
        Format::Text => match pid {
            Some(pid) => println!(
                "registry stopped (pid {pid}); its data stays in {}",
                r.storage.display()
            ),
            None => println!("no registry was running from {}", r.dir.display()),
        },
    }
    Ok(())
}

fn status(args: CommonArgs) -> anyhow::Result<()> {
    let r = registry(&args, None, None)?;
    let status = r.status();
    match args.format {
        Format::Json => print_json(&status)?,
        Format::Text => {
            if status.running {
                println!("registry running at {}", status.url);
            } else {
                println!("registry not running ({})", status.url);
            }
            print!("{}", details(&status));
        }
    }
    Ok(())
}

fn details(s: &Status) -> String {
    let mut out = String::new();
    if let Some(pid) = s.pid {
        out.push_str(&format!("  pid           {pid}\n"));
    }
    out.push_str(&format!("  storage       {}\n", s.storage));
    out.push_str(&format!("  config        {}\n", s.config));
    out.push_str(&format!("  log           {}\n", s.log));
    out.push_str(&format!("  auth          {}\n", s.auth));
    if let Some(repos) = &s.repositories {
        out.push_str(&format!("  repositories  {}", repos.len()));
        if !repos.is_empty() {
            out.push_str(&format!(" ({})", repos.join(", ")));
        }
        out.push('\n');
    }
    out
}
