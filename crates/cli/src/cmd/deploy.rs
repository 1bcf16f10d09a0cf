//! `slipway deploy blue-green|rolling|status|history` and `slipway
//! rollback`: the spec's deploy and rollback scripts as commands that ask
//! the cluster's daemon (started when needed) and follow what it does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use serde::Serialize;
use slipway_deploy::client::{Client, ClientError, ErrorKind};
use slipway_deploy::config::DeployConfig;
use slipway_deploy::protocol::{DeployRequest, RollbackRequest};
use slipway_deploy::settings::{Inconclusive, SettingsPatch, Step};
use slipway_model::deploy::{
    Breach, DeployEvent, DeployEventRecord, DeployState, DeployStore, ServiceChange, Strategy,
};
use slipway_model::exit;

use crate::cmd::deploy_view;
use crate::output::{print_json, Format};
use crate::{Exit, UsageError};

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: DeployCommand,
}

#[derive(Subcommand)]
enum DeployCommand {
    /// Green beside blue, smoke tests, traffic in steps under analysis, automatic rollback
    #[command(name = "blue-green")]
    BlueGreen(StartArgs),
    /// New instances beside the old, traffic moved as they are healthy, old stopped once stable
    Rolling(StartArgs),
    /// Per service: the serving version, weights, instances, error rate and p95, last deploy
    Status(StatusArgs),
    /// Deploys and rollbacks of a cluster, newest first
    History(HistoryArgs),
}

#[derive(ClapArgs, Clone)]
pub struct Target {
    /// The cluster (a [clusters.NAME] of slipway.toml) [default: the only one]
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Services, comma-separated [default: every service of the cluster]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub services: Option<Vec<String>>,
    /// The repository (where slipway.toml and .slipway/ are) [default: $SLIPWAY_REPOSITORY in workflow steps, else .]
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Who deploys, as recorded [default: $GITHUB_ACTOR, else $USER]
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(ClapArgs)]
struct StartArgs {
    /// The version: an image tag (docker services) or a commit, as `{branch}-{sha7}-{timestamp}` or any git revision (process services)
    #[arg(long = "image-tag", value_name = "TAG")]
    image_tag: String,
    #[command(flatten)]
    target: Target,
    /// Blue-green traffic steps, percent:bake [default: 5:15m,50:30m,100:60m]
    #[arg(long, value_name = "P:D,...")]
    steps: Option<String>,
    /// Analysis every interval during bakes [default: 10s]
    #[arg(long, value_name = "DURATION")]
    interval: Option<String>,
    /// The window each analysis reads [default: the interval]
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    /// Roll back above this error rate, in percent [default: 0.5]
    #[arg(long, value_name = "PERCENT", alias = "alert-on-error-rate")]
    max_error_rate: Option<f64>,
    /// Roll back above this p95 latency, in ms [default: 1000]
    #[arg(long = "max-p95-ms", value_name = "MS", alias = "alert-on-latency-p95")]
    max_p95_ms: Option<f64>,
    /// Fewer requests in a window: inconclusive [default: 20]
    #[arg(long, value_name = "N")]
    min_requests: Option<u64>,
    /// Breaches in a row that roll back [default: 1]
    #[arg(long, value_name = "N")]
    failure_limit: Option<u32>,
    /// A step never judged for want of traffic [default: fail]
    #[arg(long, value_enum, value_name = "WHAT")]
    inconclusive: Option<InconclusiveArg>,
    /// Keep the previous version idle this long after promotion, for an instant rollback [default: 1h]
    #[arg(long, value_name = "DURATION")]
    keep_previous: Option<String>,
    /// Time the new version has to become healthy [default: 5m]
    #[arg(long, value_name = "DURATION")]
    start_timeout: Option<String>,
    /// Rolling: time to be stable before the deploy fails and the old version keeps serving [default: 15m]
    #[arg(long, value_name = "DURATION", alias = "stable-timeout")]
    timeout: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum InconclusiveArg {
    Fail,
    Continue,
}

#[derive(ClapArgs)]
pub struct StatusArgs {
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// The window figures are read over, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    window: u64,
    /// The repository (where slipway.toml and .slipway/ are) [default: $SLIPWAY_REPOSITORY in workflow steps, else .]
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(ClapArgs)]
struct HistoryArgs {
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// Only deploys of this service
    #[arg(long, value_name = "NAME")]
    service: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// The repository (where slipway.toml and .slipway/ are) [default: $SLIPWAY_REPOSITORY in workflow steps, else .]
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        DeployCommand::BlueGreen(a) => start(Strategy::BlueGreen, a),
        DeployCommand::Rolling(a) => start(Strategy::Rolling, a),
        DeployCommand::Status(a) => status(a),
        DeployCommand::History(a) => {
            deploy_view::history(a.dir, a.cluster, a.service, a.limit, a.format)
        }
    }
}

fn duration_flag(flag: &str, value: &Option<String>) -> anyhow::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(v) => slipway_deploy::duration::parse(v)
            .map(Some)
            .map_err(|m| UsageError(format!("--{flag}: {m}")).into()),
    }
}

impl StartArgs {
    fn settings(&self) -> anyhow::Result<SettingsPatch> {
        let positive = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Duration>> {
            match duration_flag(flag, v)? {
                Some(d) if d.is_zero() => {
                    Err(UsageError(format!("--{flag}: must be longer than 0s")).into())
                }
                d => Ok(d),
            }
        };
        if let Some(r) = self.max_error_rate {
            if !(0.0..=100.0).contains(&r) {
                return Err(UsageError(format!(
                    "--max-error-rate {r}: give a percentage from 0 to 100"
                ))
                .into());
            }
        }
        if let Some(p) = self.max_p95_ms {
            if !(p > 0.0 && p.is_finite()) {
                return Err(UsageError(format!(
                    "--max-p95-ms {p}: give a number of milliseconds above 0"
                ))
                .into());
            }
        }
        if self.min_requests == Some(0) {
            return Err(UsageError("--min-requests 0: give at least 1".into()).into());
        }
        if self.failure_limit == Some(0) {
            return Err(UsageError("--failure-limit 0: give at least 1".into()).into());
        }
        Ok(SettingsPatch {
            steps: match &self.steps {
                Some(s) => {
                    Some(Step::parse_list(s).map_err(|m| UsageError(format!("--steps: {m}")))?)
                }
                None => None,
            },
            interval: positive("interval", &self.interval)?,
            window: positive("window", &self.window)?,
            max_error_rate: self.max_error_rate,
            max_p95_ms: self.max_p95_ms,
            min_requests: self.min_requests,
            failure_limit: self.failure_limit,
            inconclusive: self.inconclusive.map(|i| match i {
                InconclusiveArg::Fail => Inconclusive::Fail,
                InconclusiveArg::Continue => Inconclusive::Continue,
            }),
            keep_previous: duration_flag("keep-previous", &self.keep_previous)?,
            start_timeout: positive("start-timeout", &self.start_timeout)?,
            stable_timeout: positive("timeout", &self.timeout)?,
        })
    }
}

pub fn actor(given: &Option<String>) -> Option<String> {
    given
        .clone()
        .or_else(|| std::env::var("GITHUB_ACTOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.is_empty())
}

/// The repository and the cluster a command names, checked against
/// `slipway.toml` before anything starts.
pub fn resolve(
    dir: &Option<PathBuf>,
    cluster: Option<&str>,
    services: Option<&[String]>,
) -> anyhow::Result<(PathBuf, String)> {
    let root = repository(dir)?;
    let config = DeployConfig::load(&root).map_err(|e| UsageError(e.to_string()))?;
    let c = config
        .cluster(cluster)
        .map_err(|m| UsageError(format!("--cluster: {m}")))?;
    config
        .services_of(c, services)
        .map_err(|m| UsageError(format!("--services: {m}")))?;
    Ok((root, c.name.clone()))
}

/// `-C DIR`; in a workflow step, the repository the run started in (its
/// checkout is not where the clusters' state lives); else `.`.
pub fn repository(dir: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = dir.clone().unwrap_or_else(|| {
        std::env::var_os("SLIPWAY_REPOSITORY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
    });
    std::fs::canonicalize(&dir).map_err(|e| UsageError(format!("-C {}: {e}", dir.display())).into())
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn client_error(e: ClientError) -> anyhow::Error {
    match e.kind {
        ErrorKind::Invalid | ErrorKind::Held(_) => UsageError(e.message).into(),
        _ => anyhow::anyhow!(e.message),
    }
}

/// The daemon of the cluster, started when none runs.
pub async fn daemon(root: &Path, cluster: &str, format: Format) -> anyhow::Result<Client> {
    let exe = std::env::current_exe()?;
    let say = move |line: &str| {
        if format == Format::Text {
            eprintln!("{line}");
        }
    };
    Client::find_or_start(root, cluster, &exe, &say)
        .await
        .map_err(client_error)
}

fn start(strategy: Strategy, args: StartArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let t = &args.target;
    let (root, cluster) = resolve(&t.dir, t.cluster.as_deref(), t.services.as_deref())?;
    let request = DeployRequest {
        strategy,
        version: args.image_tag.clone(),
        services: t.services.clone(),
        settings,
        actor: actor(&t.actor),
    };
    let format = t.format;
    runtime()?.block_on(async move {
        let client = daemon(&root, &cluster, format).await?;
        let accepted = client.deploy(&request).await.map_err(client_error)?;
        let Some(id) = accepted.deploy else {
            return finish_unchanged(&cluster, &accepted.message, format);
        };
        if format == Format::Text {
            println!("{}", accepted.message);
        }
        follow(&root, &cluster, client, id, format, false).await
    })
}

/// What `--format json` prints at the end of a deploy or rollback.
#[derive(Serialize)]
struct DeployResult {
    deploy: Option<i64>,
    cluster: String,
    strategy: Option<Strategy>,
    version: Option<String>,
    state: DeployState,
    reason: Option<String>,
    breach: Option<Breach>,
    services: Vec<ServiceChange>,
    seconds: f64,
}

fn finish_unchanged(cluster: &str, message: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&DeployResult {
            deploy: None,
            cluster: cluster.to_string(),
            strategy: None,
            version: None,
            state: DeployState::Unchanged,
            reason: Some(message.to_string()),
            breach: None,
            services: Vec::new(),
            seconds: 0.0,
        }),
        Format::Text => {
            println!("{message}");
            Ok(())
        }
    }
}

/// Prints a deploy's events until it ends; Ctrl-C rolls it back (a second
/// Ctrl-C leaves it to the daemon). Exit: 0 promoted (or a rollback done),
/// 1 rolled back or failed, 2 when it asked for what does not exist, 130
/// after Ctrl-C.
pub async fn follow(
    root: &Path,
    cluster: &str,
    client: Client,
    id: i64,
    format: Format,
    rolling_back: bool,
) -> anyhow::Result<()> {
    let mut client = client;
    let mut last_seq = 0;
    let mut first_at: Option<i64> = None;
    let mut started: Option<DeployEvent> = None;
    let mut interrupted = false;
    // A cancelled workflow job stops its step with SIGTERM, and SIGKILL
    // soon after: ask for the rollback and leave it to the daemon.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let mut stream = client.events(id, last_seq).await.map_err(client_error)?;
        loop {
            let next = tokio::select! {
                next = stream.next() => next.map_err(client_error)?,
                _ = term.recv() => {
                    let who = actor(&None).unwrap_or_else(|| "the user".into());
                    client.abort(id, &format!("stopped by {who} (SIGTERM)")).await.map_err(client_error)?;
                    eprintln!("SIGTERM: deploy {id} rolls back in the daemon of cluster {cluster}");
                    return Err(Exit(exit::CANCELLED).into());
                }
                _ = tokio::signal::ctrl_c() => {
                    if interrupted {
                        eprintln!("second Ctrl-C: leaving deploy {id} to the daemon (it rolls back)");
                        return Err(Exit(exit::CANCELLED).into());
                    }
                    interrupted = true;
                    eprintln!("Ctrl-C: rolling deploy {id} back (Ctrl-C again to stop waiting)");
                    let who = actor(&None).unwrap_or_else(|| "the user".into());
                    client.abort(id, &format!("cancelled with Ctrl-C by {who}")).await.map_err(client_error)?;
                    continue;
                }
            };
            let Some(record) = next else { break };
            last_seq = record.seq;
            let at = *first_at.get_or_insert(record.at);
            if format == Format::Text {
                println!("{}", deploy_view::event_text(&record, at));
            }
            match &record.event {
                DeployEvent::Started { .. } => started = Some(record.event.clone()),
                DeployEvent::Finished { .. } => {
                    return finished(
                        cluster,
                        id,
                        started.as_ref(),
                        &record,
                        format,
                        interrupted,
                        rolling_back,
                    );
                }
                _ => {}
            }
        }
        // The stream ended before the deploy did: the daemon went away.
        if format == Format::Text {
            eprintln!(
                "the daemon of cluster {cluster} stopped during deploy {id}; starting it again, which leaves the cluster consistent"
            );
        }
        client = daemon(root, cluster, format).await?;
    }
}

fn finished(
    cluster: &str,
    id: i64,
    started: Option<&DeployEvent>,
    record: &DeployEventRecord,
    format: Format,
    interrupted: bool,
    rolling_back: bool,
) -> anyhow::Result<()> {
    let DeployEvent::Finished {
        state,
        reason,
        breach,
        invalid,
        seconds,
    } = &record.event
    else {
        unreachable!("called with the Finished event");
    };
    let (strategy, version, services) = match started {
        Some(DeployEvent::Started {
            strategy,
            version,
            services,
            ..
        }) => (Some(*strategy), Some(version.clone()), services.clone()),
        _ => (None, None, Vec::new()),
    };
    if format == Format::Json {
        print_json(&DeployResult {
            deploy: Some(id),
            cluster: cluster.to_string(),
            strategy,
            version,
            state: *state,
            reason: reason.clone(),
            breach: breach.clone(),
            services,
            seconds: *seconds,
        })?;
    }
    // `slipway rollback` asked for traffic back on the previous version:
    // a deploy that rolled back (its own or one it stopped) did just that.
    let ok = state.succeeded() || (rolling_back && *state == DeployState::RolledBack);
    let code = if interrupted {
        exit::CANCELLED
    } else if ok {
        exit::SUCCESS
    } else if *invalid {
        exit::INVALID
    } else {
        exit::FAILED
    };
    if code == exit::SUCCESS {
        Ok(())
    } else {
        Err(Exit(code).into())
    }
}

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let (root, cluster) = resolve(&args.dir, args.cluster.as_deref(), None)?;
    deploy_view::status(&root, &cluster, args.window, args.format)
}

/// `slipway rollback`
#[derive(ClapArgs)]
pub struct RollbackArgs {
    #[command(flatten)]
    target: Target,
}

pub fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let t = args.target;
    let (root, cluster) = resolve(&t.dir, t.cluster.as_deref(), t.services.as_deref())?;
    let request = RollbackRequest {
        services: t.services.clone(),
        actor: actor(&t.actor),
    };
    let format = t.format;
    runtime()?.block_on(async move {
        if Client::find(&root, &cluster).await.is_none() {
            // No daemon: when no service has a deploy to undo, say so
            // without starting one.
            if let Some(notes) = nothing_to_undo(&root, &cluster, t.services.as_deref()).await? {
                return finish_unchanged(&cluster, &notes, format);
            }
        }
        let client = daemon(&root, &cluster, format).await?;
        let accepted = client.rollback(&request).await.map_err(client_error)?;
        let Some(id) = accepted.deploy else {
            return finish_unchanged(&cluster, &accepted.message, format);
        };
        if format == Format::Text {
            println!("{}", accepted.message);
        }
        follow(&root, &cluster, client, id, format, true).await
    })
}

/// Why none of the services has anything to roll back, from what the store
/// remembers; `None` when one has (or a deploy is in progress).
async fn nothing_to_undo(
    root: &Path,
    cluster: &str,
    services: Option<&[String]>,
) -> anyhow::Result<Option<String>> {
    let config = DeployConfig::load(root).map_err(|e| UsageError(e.to_string()))?;
    let c = config.cluster(Some(cluster)).map_err(UsageError)?;
    let names: Vec<String> = config
        .services_of(c, services)
        .map_err(UsageError)?
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let path = slipway_store::default_path(root);
    let store = if path.exists() {
        Some(slipway_store::SqliteStore::open(&path).await?)
    } else {
        None
    };
    let records = match &store {
        Some(s) => s.services(cluster).await?,
        None => Vec::new(),
    };
    let mut notes = Vec::new();
    for name in names {
        let last = match &store {
            Some(s) => s
                .deploys(Some(cluster), Some(&name), 1)
                .await?
                .into_iter()
                .next(),
            None => None,
        };
        if last
            .as_ref()
            .is_some_and(|d| d.state == DeployState::Running)
        {
            return Ok(None);
        }
        let active = records
            .iter()
            .find(|r| r.service == name)
            .and_then(|r| r.active.clone());
        match slipway_deploy::controller::undo(&name, cluster, last.as_ref(), active.as_deref()) {
            Ok(_) => return Ok(None),
            Err(note) => notes.push(note),
        }
    }
    Ok(Some(notes.join("\n")))
}
