//! `slipway image`: the spec's image tags, builds through the Docker
//! Engine, pushes to OCI registries. Progress goes to stderr as it
//! happens; the result (text or `--format json`) to stdout.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde::Serialize;
use slipway_image::auth::Credentials;
use slipway_image::destination::{destination, Destination};
use slipway_image::push::short;
use slipway_image::reference::{check_repository, split_registry};
use slipway_image::{
    image_tags, BuildError, BuildEvent, BuildOptions, Docker, PushError, PushEvent, PushOptions,
    Pushed, Reference, RegistryConfig, UnixTime,
};
use slipway_model::exit;

use crate::git::Git;
use crate::output::{print_json, Format};
use crate::{Exit, UsageError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Print the spec's image tag, `{branch}-{short-sha}-{timestamp}` (UTC), made valid whatever the branch is called
    Tag(TagArgs),
    /// Build an image with the Docker Engine (multi-stage, layer cache, .dockerignore), and push it with --push
    Build(BuildArgs),
    /// Push local images to a registry (the local registry unless --registry or slipway.toml says otherwise)
    Push(PushArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The build context: the folder sent to the engine
    #[arg(value_name = "CONTEXT")]
    context: PathBuf,
    /// The Dockerfile [default: CONTEXT/Dockerfile]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    dockerfile: Option<PathBuf>,
    /// The repository name (`mpac-pgw`, `team/app`; a registry prefix is allowed)
    #[arg(long, value_name = "NAME")]
    repo: String,
    /// A tag (repeatable) [default: the spec's two tags for -C's branch and HEAD, as `slipway image tag` prints them]
    #[arg(long = "tag", short = 't', value_name = "T")]
    tags: Vec<String>,
    /// A build argument, `KEY=VALUE`, or `KEY` to take it from the environment (repeatable)
    #[arg(long = "build-arg", value_name = "K=V")]
    build_args: Vec<String>,
    /// Build up to this stage of a multi-stage Dockerfile
    #[arg(long, value_name = "STAGE")]
    target: Option<String>,
    /// A label, `KEY=VALUE` (repeatable)
    #[arg(long = "label", value_name = "K=V")]
    labels: Vec<String>,
    /// Do not use the layer cache
    #[arg(long)]
    no_cache: bool,
    /// Push every tag once built
    #[arg(long)]
    push: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print only the result, not the engine's build output
    #[arg(long, short = 'q')]
    quiet: bool,
    /// The repository slipway.toml, .slipway/ and the default tags come from
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct RegistryArgs {
    /// The registry, host[:port] [default: slipway.toml's [registry], else the local registry at 127.0.0.1:5000]
    #[arg(long, value_name = "R")]
    registry: Option<String>,
    /// Plain HTTP to a registry that is not on loopback (loopback always is)
    #[arg(long)]
    insecure: bool,
    /// The user name for the registry (with --password-stdin) [default: [registry] username-env, else the docker CLI's login]
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    username: Option<String>,
    /// Read the registry password from standard input
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// gzip level for layers, 1 (fastest) to 9 (smallest)
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    compression_level: u32,
}

#[derive(clap::Args)]
struct PushArgs {
    /// A local image, `[registry/]repo:tag`; without a registry it goes to --registry or the configured one
    #[arg(value_name = "IMAGE")]
    image: String,
    #[command(flatten)]
    registry: RegistryArgs,
    /// The repository slipway.toml and .slipway/ come from
    #[arg(short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
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
        ImageCommand::Build(args) => build(args),
        ImageCommand::Push(args) => push(args),
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

/// `--format json` of `image build`.
#[derive(Serialize)]
struct BuildView {
    image_id: String,
    repo: String,
    /// Where the image was pushed, or would be with --push.
    registry: Option<String>,
    steps: usize,
    cached_steps: usize,
    context: ContextView,
    tags: Vec<TagView>,
    push: Option<PushView>,
    seconds: f64,
}

#[derive(Serialize)]
struct ContextView {
    files: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct TagView {
    tag: String,
    reference: String,
    image_id: String,
    /// The registry's manifest digest, once pushed.
    digest: Option<String>,
}

/// `--format json` of `image push`, and `push` of `image build`.
#[derive(Serialize)]
struct PushView {
    image_id: String,
    manifest_digest: String,
    tags: Vec<slipway_image::push::PushedTag>,
    layers: usize,
    uploaded_blobs: usize,
    uploaded_bytes: u64,
    existing_blobs: usize,
    size: u64,
    retries: u32,
    seconds: f64,
}

impl PushView {
    fn new(p: &Pushed, seconds: f64) -> PushView {
        PushView {
            image_id: p.image_id.clone(),
            manifest_digest: p.manifest_digest.clone(),
            tags: p.tags.clone(),
            layers: p.layers,
            uploaded_blobs: p.uploaded_blobs,
            uploaded_bytes: p.uploaded_bytes,
            existing_blobs: p.existing_blobs,
            size: p.size,
            retries: p.retries,
            seconds,
        }
    }
}

#[derive(Serialize)]
struct ErrorView {
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    /// `usage`, `build`, `push` or `engine`.
    kind: &'static str,
    message: String,
    /// Tags pushed before a push failed.
    pushed: Vec<slipway_image::push::PushedTag>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn round_s(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `K=V` pairs; for build args a bare `K` takes the environment's value,
/// as docker does.
fn pairs(flag: &str, values: &[String], from_env: bool) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for v in values {
        match v.split_once('=') {
            Some(("", _)) => {
                return Err(UsageError(format!("{flag} `{v}`: expected KEY=VALUE")).into())
            }
            Some((k, val)) => out.push((k.to_string(), val.to_string())),
            None if from_env => {
                // Docker leaves an unset variable out.
                if let Ok(val) = std::env::var(v) {
                    out.push((v.clone(), val));
                }
            }
            None => return Err(UsageError(format!("{flag} `{v}`: expected KEY=VALUE")).into()),
        }
    }
    Ok(out)
}

fn repo_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(dir).map_err(|e| UsageError(format!("-C {}: {e}", dir.display())).into())
}

/// Where pushes go, with credentials from the flags when given.
fn resolve_destination(
    dir: &Path,
    args: &RegistryArgs,
    registry: Option<&str>,
) -> anyhow::Result<Destination> {
    let config = RegistryConfig::load(dir).map_err(|e| UsageError(e.to_string()))?;
    let mut d = destination(dir, &config, registry).map_err(UsageError)?;
    if let Some(user) = &args.username {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .map_err(|e| UsageError(format!("--password-stdin: {e}")))?;
        let password = password.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err(UsageError("--password-stdin: standard input was empty".into()).into());
        }
        d.credentials = Some(Credentials {
            username: user.clone(),
            password,
        });
    }
    d.insecure |= args.insecure;
    Ok(d)
}

/// The local registry, started if it is the destination and is down.
fn ensure_local(d: &Destination, quiet: bool) -> anyhow::Result<()> {
    let Some(local) = &d.local else { return Ok(()) };
    if local.status().running {
        return Ok(());
    }
    std::fs::create_dir_all(&local.dir)?;
    let (status, started) = local.up(Duration::from_secs(20))?;
    if started && !quiet {
        eprintln!(
            "started the local registry at {} (`slipway registry down` stops it)",
            status.url
        );
    }
    Ok(())
}

fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("slipway").join("layers"))
}

fn push_options(source: &str, targets: Vec<Reference>, d: &Destination, level: u32) -> PushOptions {
    let mut o = PushOptions::new(source, targets);
    if let Some(c) = &d.credentials {
        o.credentials.insert(d.registry.clone(), c.clone());
    }
    o.insecure = d.insecure;
    o.cache_dir = cache_dir();
    o.level = level;
    o
}

fn mb(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.1} kB", bytes as f64 / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// How a push's progress reads on stderr.
fn push_progress(e: PushEvent) {
    let line = match e {
        PushEvent::Started { image_id, layers } => {
            format!("pushing {} ({layers} layers)", short(&image_id))
        }
        PushEvent::Compressed {
            diff_id,
            size,
            uncompressed_size,
            ..
        } => format!(
            "  layer {}: {} -> {} gzip",
            short(&diff_id),
            mb(uncompressed_size),
            mb(size)
        ),
        PushEvent::Reused { diff_id, .. } => {
            format!("  layer {}: already pushed", short(&diff_id))
        }
        PushEvent::Uploaded {
            repository,
            digest,
            size,
        } => format!(
            "  uploaded {} ({}) to {repository}",
            short(&digest),
            mb(size)
        ),
        PushEvent::AlreadyThere { repository, digest } => {
            format!("  {} is already in {repository}", short(&digest))
        }
        PushEvent::Tagged { reference, digest } => format!("  {reference} -> {}", short(&digest)),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn push_error(
    e: PushError,
) -> (
    i32,
    &'static str,
    String,
    Vec<slipway_image::push::PushedTag>,
) {
    match e {
        PushError::Usage(m) => (exit::INVALID, "usage", m, Vec::new()),
        PushError::Partial { pushed, error } => (
            exit::FAILED,
            "push",
            PushError::Partial {
                pushed: pushed.clone(),
                error,
            }
            .to_string(),
            pushed,
        ),
        PushError::Docker(d) => (exit::FAILED, "engine", d.to_string(), Vec::new()),
        e => (exit::FAILED, "push", e.to_string(), Vec::new()),
    }
}

fn fail(
    format: Format,
    code: i32,
    kind: &'static str,
    message: String,
    pushed: Vec<slipway_image::push::PushedTag>,
) -> anyhow::Error {
    if format == Format::Json {
        let _ = print_json(&ErrorView {
            error: ErrorBody {
                kind,
                message: message.clone(),
                pushed,
            },
        });
    }
    eprintln!("error: {message}");
    Exit(code).into()
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = repo_dir(&args.dir)?;
    let (repo_registry, repo) = split_registry(&args.repo);
    check_repository(repo).map_err(|m| UsageError(format!("--repo {m}")))?;
    if let (Some(a), Some(b)) = (repo_registry, &args.registry.registry) {
        if a != b {
            return Err(UsageError(format!(
                "--repo names registry `{a}` and --registry `{b}`: give one"
            ))
            .into());
        }
    }
    let registry_asked = repo_registry.or(args.registry.registry.as_deref());
    let tags = if args.tags.is_empty() {
        let git = Git::new(&dir);
        let branch = git.current_ref().ok_or_else(|| {
            UsageError(format!(
                "--tag is needed: {} is not on a branch, so the spec's tags cannot be made",
                dir.display()
            ))
        })?;
        let sha = git.resolve("HEAD").ok_or_else(|| {
            UsageError(format!("--tag is needed: {} has no commit", dir.display()))
        })?;
        let t =
            image_tags(&branch, &sha, UnixTime::now()).map_err(|e| UsageError(e.to_string()))?;
        vec![t.tag, t.latest]
    } else {
        for t in &args.tags {
            if !slipway_image::tag::is_valid_tag(t) {
                return Err(UsageError(format!(
                    "--tag `{t}`: a tag is up to 128 of [A-Za-z0-9_.-], not starting with `.` or `-` (`slipway image tag` makes one from a branch)"
                ))
                .into());
            }
        }
        args.tags.clone()
    };
    let destination = if args.push || registry_asked.is_some() {
        Some(resolve_destination(&dir, &args.registry, registry_asked)?)
    } else {
        None
    };
    let references: Vec<Reference> = tags
        .iter()
        .map(|t| Reference {
            registry: destination.as_ref().map(|d| d.registry.clone()),
            repository: repo.to_string(),
            tag: t.clone(),
        })
        .collect();
    let options = BuildOptions {
        context: args.context.clone(),
        dockerfile: args.dockerfile.clone(),
        references: references.iter().map(|r| r.to_string()).collect(),
        build_args: pairs("--build-arg", &args.build_args, true)?,
        target: args.target.clone(),
        labels: pairs("--label", &args.labels, false)?,
        no_cache: args.no_cache,
    };
    let docker = Docker::connect().map_err(|e| UsageError(e.to_string()))?;
    let rt = runtime()?;
    let quiet = args.quiet;
    let built = rt.block_on(slipway_image::build(&docker, &options, |e| {
        if quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = match e {
            BuildEvent::Context(c) => {
                writeln!(err, "sent the context: {} files, {}", c.files, mb(c.bytes))
            }
            BuildEvent::Step {
                n,
                total,
                instruction,
                ..
            } => writeln!(err, "Step {n}/{total} : {instruction}"),
            BuildEvent::Output(line) => writeln!(err, "{line}"),
            BuildEvent::Cached(_) => Ok(()),
        };
    }));
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            let (code, kind) = match &e {
                BuildError::Usage(_) => (exit::INVALID, "usage"),
                BuildError::Failed { .. } => (exit::FAILED, "build"),
                BuildError::Docker(_) => (exit::FAILED, "engine"),
            };
            return Err(fail(args.format, code, kind, e.to_string(), Vec::new()));
        }
    };

    let mut pushed: Option<(Pushed, f64)> = None;
    if args.push {
        let d = destination.as_ref().expect("a destination with --push");
        if let Err(e) = ensure_local(d, args.quiet) {
            return Err(fail(
                args.format,
                exit::FAILED,
                "push",
                e.to_string(),
                Vec::new(),
            ));
        }
        let push_started = Instant::now();
        let options = push_options(
            &built.image_id,
            references.clone(),
            d,
            args.registry.compression_level,
        );
        let result = rt.block_on(slipway_image::push(&docker, &options, |e| {
            if !quiet {
                push_progress(e)
            }
        }));
        match result {
            Ok(p) => pushed = Some((p, round_s(push_started.elapsed()))),
            Err(e) => {
                let (code, kind, message, tags) = push_error(e);
                return Err(fail(args.format, code, kind, message, tags));
            }
        }
    }
    let digest_of = |r: &Reference| {
        pushed.as_ref().and_then(|(p, _)| {
            p.tags
                .iter()
                .find(|t| t.reference == r.to_string())
                .map(|t| t.digest.clone())
        })
    };
    match args.format {
        Format::Json => print_json(&BuildView {
            image_id: built.image_id.clone(),
            repo: repo.to_string(),
            registry: destination.as_ref().map(|d| d.registry.clone()),
            steps: built.steps,
            cached_steps: built.cached_steps,
            context: ContextView {
                files: built.context.files,
                bytes: built.context.bytes,
            },
            tags: references
                .iter()
                .map(|r| TagView {
                    tag: r.tag.clone(),
                    reference: r.to_string(),
                    image_id: built.image_id.clone(),
                    digest: digest_of(r),
                })
                .collect(),
            push: pushed.as_ref().map(|(p, s)| PushView::new(p, *s)),
            seconds: round_s(started.elapsed()),
        })?,
        Format::Text => {
            let mut out = format!(
                "built {} ({} steps, {} from cache) in {:.1} s\n",
                short(&built.image_id),
                built.steps,
                built.cached_steps,
                started.elapsed().as_secs_f64()
            );
            for r in &references {
                match digest_of(r) {
                    Some(d) => out.push_str(&format!("  {r}  pushed {}\n", short(&d))),
                    None => out.push_str(&format!("  {r}\n")),
                }
            }
            if let Some((p, _)) = &pushed {
                out.push_str(&push_summary(p));
            }
            print!("{out}");
        }
    }
    Ok(())
}

fn push_summary(p: &Pushed) -> String {
    format!(
        "pushed {} layers: {} blobs uploaded ({}), {} already there; manifest {}\n",
        p.layers,
        p.uploaded_blobs,
        mb(p.uploaded_bytes),
        p.existing_blobs,
        short(&p.manifest_digest)
    )
}

fn push(args: PushArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = repo_dir(&args.dir)?;
    let r = Reference::parse(&args.image).map_err(|m| UsageError(format!("IMAGE {m}")))?;
    let docker = Docker::connect().map_err(|e| UsageError(e.to_string()))?;
    let rt = runtime()?;
    let asked = r.registry.as_deref().or(args.registry.registry.as_deref());
    let d = resolve_destination(&dir, &args.registry, asked)?;
    if let Err(e) = ensure_local(&d, false) {
        return Err(fail(
            args.format,
            exit::FAILED,
            "push",
            e.to_string(),
            Vec::new(),
        ));
    }
    let target = Reference {
        registry: Some(d.registry.clone()),
        ..r
    };
    let options = push_options(
        &args.image,
        vec![target],
        &d,
        args.registry.compression_level,
    );
    match rt.block_on(slipway_image::push(&docker, &options, push_progress)) {
        Ok(p) => {
            match args.format {
                Format::Json => print_json(&PushView::new(&p, round_s(started.elapsed())))?,
                Format::Text => {
                    for t in &p.tags {
                        println!("pushed {}  {}", t.reference, t.digest);
                    }
                    print!("{}", push_summary(&p));
                }
            }
            Ok(())
        }
        Err(e) => {
            let (code, kind, message, tags) = push_error(e);
            Err(fail(args.format, code, kind, message, tags))
        }
    }
}
