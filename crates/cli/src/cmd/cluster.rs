//! `slipway cluster up|down|status`: the local cluster's daemon (router,
//! supervised instances, deploys), which deploy commands also start when
//! it does not run. `slipway cluster daemon` is the daemon itself.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;
use slipway_deploy::client::Client;
use slipway_deploy::daemon::{self, DaemonOptions};
use slipway_model::exit;
use slipway_store::SqliteStore;

use crate::cmd::deploy::{client_error, daemon as start_daemon, resolve, runtime};
use crate::cmd::deploy_view::{read_status, status_text};
use crate::output::{print_json, Format};
use crate::Exit;

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Start the cluster's daemon in the background (the router and the serving versions)
    Up(CommonArgs),
    /// Stop the daemon and every instance of the cluster (deploys in progress roll back)
    Down(DownArgs),
    /// The daemon, and per service its versions, weights, instances and figures
    Status(StatusArgs),
    /// Run the daemon in the foreground (what `up` starts)
    #[command(hide = true)]
    Daemon(CommonArgs),
}

#[derive(ClapArgs)]
struct CommonArgs {
    /// The cluster (a [clusters.NAME] of slipway.toml) [default: the only one]
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// The repository (where slipway.toml and .slipway/ are) [default: $SLIPWAY_REPOSITORY in workflow steps, else .]
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(ClapArgs)]
struct DownArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Leave the instances running (the next daemon adopts them)
    #[arg(long)]
    keep_instances: bool,
}

#[derive(ClapArgs)]
struct StatusArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The window figures are read over, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    window: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        ClusterCommand::Up(a) => up(a),
        ClusterCommand::Down(a) => down(a),
        ClusterCommand::Status(a) => {
            let (root, cluster) = resolve(&a.common.dir, a.common.cluster.as_deref(), None)?;
            crate::cmd::deploy_view::status(&root, &cluster, a.window, a.common.format)
        }
        ClusterCommand::Daemon(a) => run_daemon(a),
    }
}

#[derive(Serialize)]
struct UpView {
    started: bool,
    cluster: String,
    pid: u32,
    admin: String,
}

fn up(args: CommonArgs) -> anyhow::Result<()> {
    let (root, cluster) = resolve(&args.dir, args.cluster.as_deref(), None)?;
    let format = args.format;
    runtime()?.block_on(async move {
        let was_running = Client::find(&root, &cluster).await.is_some();
        let client = start_daemon(&root, &cluster, format).await?;
        match format {
            Format::Json => print_json(&UpView {
                started: !was_running,
                cluster: cluster.clone(),
                pid: client.info.pid,
                admin: client.info.admin.to_string(),
            }),
            Format::Text => {
                if was_running {
                    println!("cluster {cluster} already running");
                }
                let view = read_status(&root, &cluster, 10).await?;
                print!("{}", status_text(&view));
                Ok(())
            }
        }
    })
}

#[derive(Serialize)]
struct DownView {
    stopped: bool,
    cluster: String,
    pid: Option<u32>,
}

fn down(args: DownArgs) -> anyhow::Result<()> {
    let a = args.common;
    let (root, cluster) = resolve(&a.dir, a.cluster.as_deref(), None)?;
    let format = a.format;
    runtime()?.block_on(async move {
        let Some(client) = Client::find(&root, &cluster).await else {
            return match format {
                Format::Json => print_json(&DownView {
                    stopped: false,
                    cluster,
                    pid: None,
                }),
                Format::Text => {
                    println!("cluster {cluster} is not running");
                    Ok(())
                }
            };
        };
        let pid = client.info.pid;
        client
            .shutdown(!args.keep_instances)
            .await
            .map_err(client_error)?;
        // Deploys in progress roll back first; give them their time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while slipway_deploy::daemon::info::alive(pid) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if slipway_deploy::daemon::info::alive(pid) {
            return Err(anyhow::anyhow!(
                "the daemon of cluster {cluster} (pid {pid}) is still stopping after 120 s; see {}",
                client.dir.join("daemon.log").display()
            ));
        }
        match format {
            Format::Json => print_json(&DownView {
                stopped: true,
                cluster,
                pid: Some(pid),
            }),
            Format::Text => {
                if args.keep_instances {
                    println!("cluster {cluster} stopped (pid {pid}); its instances keep running for the next daemon");
                } else {
                    println!("cluster {cluster} stopped (pid {pid}) with its instances");
                }
                Ok(())
            }
        }
    })
}

fn run_daemon(args: CommonArgs) -> anyhow::Result<()> {
    let (root, cluster) = resolve(&args.dir, args.cluster.as_deref(), None)?;
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let store = SqliteStore::open(&slipway_store::default_path(&root)).await?;
        let options = DaemonOptions {
            root: root.clone(),
            cluster,
            on_ready: Box::new(|_| {}),
        };
        anyhow::Ok(daemon::run(options, store).await)
    })?;
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            eprintln!("error: {e}");
            let code = if e.is_bad_input() {
                exit::INVALID
            } else {
                exit::FAILED
            };
            Err(Exit(code).into())
        }
    }
}
