//! The deploy sections of `slipway.toml`: services, clusters, and the
//! defaults of every deploy.
//!
//! ```toml
//! [deploy]                       # defaults for every cluster
//! steps = "5:15m,50:30m,100:60m" # blue-green traffic steps: percent:bake
//! interval = "10s"               # analysis every interval during bakes
//! max-error-rate = 0.5           # percent of requests failing (5xx, errors)
//! max-p95-ms = 1000
//! min-requests = 20              # fewer in a window: inconclusive
//! failure-limit = 1              # breaches before rolling back
//! inconclusive = "fail"          # a step never judged: "fail" or "continue"
//! keep-previous = "1h"           # blue kept after promotion, for rollback
//! start-timeout = "5m"           # a new version's time to become healthy
//! stable-timeout = "15m"         # rolling: time to be stable
//!
//! [services.svc-portal]
//! path = "mpac-smartpos/svc-portal"  # in the repository
//! port = 8002                        # the public port (the router's)
//! health = "/health"
//! instances = 1
//! env = { LOG_LEVEL = "info" }
//! runtime = "process"                # or "docker"
//! # process: a version is a commit, checked out under .slipway/
//! source = "checkout"                # or "workdir": the tree as it is
//! build = "python3 -m venv .venv && .venv/bin/pip install ."
//! command = ".venv/bin/svc-portal"   # PORT is set to the instance's port
//! # docker: a version is an image tag
//! image = "127.0.0.1:5000/mpac-svc-portal"
//! container-port = 8002
//! smoke = ["/health", "/v1/merchants/M-1001"]  # GETs green must answer 2xx
//! smoke-command = "curl -fsS $SLIPWAY_SMOKE_URL/health"
//! stop-timeout = "10s"
//!
//! [clusters.mpac-prod]
//! target = "local"
//! bind = "127.0.0.1"            # where services listen
//! port-offset = 0               # added to every service's port
//! ports = { svc-portal = 8002 } # or one port per service
//! admin = "127.0.0.1:9901"      # metrics and control API (loopback)
//! services = ["svc-portal"]     # default: every service
//!
//! [clusters.mpac-prod.deploy]   # any [deploy] key, for this cluster
//! steps = "5:2m,100:5m"
//! ```
//!
//! Errors name the file, line and column.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::duration;
use crate::settings::{Inconclusive, Settings, SettingsPatch, Step};

/// A configuration error: where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// Every deploy setting of a repository.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// The repository root.
    pub root: PathBuf,
    /// `slipway.toml`, as errors name it.
    pub file: String,
    pub services: BTreeMap<String, ServiceConfig>,
    pub clusters: BTreeMap<String, ClusterConfig>,
    /// `[deploy]`.
    pub defaults: SettingsPatch,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    pub name: String,
    /// Relative to the repository (or to a version's checkout).
    pub path: PathBuf,
    /// The public port, before a cluster's offset.
    pub port: u16,
    pub health: String,
    pub instances: u32,
    pub env: Vec<(String, String)>,
    pub runtime: RuntimeConfig,
    /// Paths green must answer with 2xx before it takes traffic.
    pub smoke: Vec<String>,
    /// Run with `SLIPWAY_SMOKE_URL` set to green's address; exit 0 passes.
    pub smoke_command: Option<String>,
    /// SIGTERM (or `docker stop`) to SIGKILL.
    pub stop_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeConfig {
    Process {
        source: Source,
        /// Run once per version (in the service's folder of its checkout)
        /// before the first instance starts.
        build: Option<String>,
        /// Run through `sh -c` in the service's folder, with `PORT`.
        command: String,
    },
    Docker {
        /// `registry/repository`; a version is a tag of it.
        image: String,
        container_port: u16,
    },
}

impl RuntimeConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeConfig::Process { .. } => "process",
            RuntimeConfig::Docker { .. } => "docker",
        }
    }
}

/// Where the files of a process version come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The version names a commit (`{branch}-{sha7}-{timestamp}` or any
    /// git revision), checked out under `.slipway/`.
    Checkout,
    /// The repository's working tree as it is; the version is a label
    /// (`SLIPWAY_VERSION`).
    Workdir,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    pub name: String,
    pub bind: IpAddr,
    pub port_offset: i64,
    pub ports: BTreeMap<String, u16>,
    /// The admin address (loopback); `None`: a free port, recorded in the
    /// cluster's state folder.
    pub admin: Option<SocketAddr>,
    /// `None`: every service.
    pub services: Option<Vec<String>>,
    pub settings: SettingsPatch,
}

impl DeployConfig {
    /// `slipway.toml` in `root`; empty settings when there is none.
    pub fn load(root: &Path) -> Result<DeployConfig, ConfigError> {
        let path = root.join("slipway.toml");
        let file = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, root, &file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DeployConfig {
                root: root.to_path_buf(),
                file,
                services: BTreeMap::new(),
                clusters: BTreeMap::new(),
                defaults: SettingsPatch::default(),
            }),
            Err(e) => Err(ConfigError {
                file,
                at: None,
                message: format!("cannot read it: {e}"),
            }),
        }
    }

    pub fn parse(text: &str, root: &Path, file: &str) -> Result<DeployConfig, ConfigError> {
        let err = |span: Option<Range<usize>>, message: String| ConfigError {
            file: file.to_string(),
            at: span.map(|s| line_col(text, s.start)),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            err(
                e.span(),
                e.message().trim_end().replace('\n', "; ").to_string(),
            )
        })?;
        let defaults = match raw.deploy {
            Some(d) => d.check().map_err(|(s, m)| err(Some(s), m))?,
            None => SettingsPatch::default(),
        };
        let mut services = BTreeMap::new();
        for (name, s) in raw.services {
            let service = s
                .check(name.get_ref())
                .map_err(|(span, m)| err(Some(span), m))?;
            check_name("service", name.get_ref()).map_err(|m| err(Some(name.span()), m))?;
            services.insert(name.into_inner(), service);
        }
        resolve_registry(&mut services, text, root).map_err(|m| err(None, m))?;
        let mut clusters = BTreeMap::new();
        for (name, c) in raw.clusters {
            check_name("cluster", name.get_ref()).map_err(|m| err(Some(name.span()), m))?;
            let cluster = c
                .check(&name, &services)
                .map_err(|(span, m)| err(Some(span), m))?;
            clusters.insert(name.into_inner(), cluster);
        }
        Ok(DeployConfig {
            root: root.to_path_buf(),
            file: file.to_string(),
            services,
            clusters,
            defaults,
        })
    }

    /// The cluster a command names, or the only one there is.
    pub fn cluster(&self, name: Option<&str>) -> Result<&ClusterConfig, String> {
        match name {
            Some(n) => self.clusters.get(n).ok_or_else(|| {
                if self.clusters.is_empty() {
                    format!(
                        "unknown cluster `{n}`: {} defines no cluster; add [clusters.{n}] with target = \"local\"",
                        self.file
                    )
                } else {
                    format!(
                        "unknown cluster `{n}`{}: {} defines {}",
                        suggest(n, self.clusters.keys()),
                        self.file,
                        list(self.clusters.keys())
                    )
                }
            }),
            None => match self.clusters.len() {
                1 => Ok(self.clusters.values().next().expect("one cluster")),
                0 => Err(format!(
                    "{} defines no cluster: add [clusters.NAME] with target = \"local\"",
                    self.file
                )),
                _ => Err(format!(
                    "--cluster is needed: {} defines {}",
                    self.file,
                    list(self.clusters.keys())
                )),
            },
        }
    }

    /// The services of a cluster, by name, checked against the config:
    /// `names` as given (`a,b`), or every service of the cluster.
    pub fn services_of(
        &self,
        cluster: &ClusterConfig,
        names: Option<&[String]>,
    ) -> Result<Vec<&ServiceConfig>, String> {
        let of_cluster = self.cluster_service_names(cluster);
        let Some(names) = names else {
            return Ok(of_cluster
                .iter()
                .filter_map(|n| self.services.get(n))
                .collect());
        };
        let mut out: Vec<&ServiceConfig> = Vec::new();
        for n in names {
            let Some(s) = self.services.get(n) else {
                return Err(if self.services.is_empty() {
                    format!(
                        "unknown service `{n}`: {} defines no service; add [services.{n}] with its port, health path and how to start it",
                        self.file
                    )
                } else {
                    format!(
                        "unknown service `{n}`{}: {} defines {}",
                        suggest(n, self.services.keys()),
                        self.file,
                        list(self.services.keys())
                    )
                });
            };
            if !of_cluster.contains(n) {
                return Err(format!(
                    "service `{n}` is not part of cluster `{}` (its services: {})",
                    cluster.name,
                    of_cluster.join(", ")
                ));
            }
            if !out.iter().any(|o| o.name == *n) {
                out.push(s);
            }
        }
        if out.is_empty() {
            return Err("no service named: give --services a,b".into());
        }
        Ok(out)
    }

    pub fn cluster_service_names(&self, cluster: &ClusterConfig) -> Vec<String> {
        match &cluster.services {
            Some(list) => list.clone(),
            None => self.services.keys().cloned().collect(),
        }
    }

    /// The settings of a cluster: built-in defaults < `[deploy]` <
    /// `[clusters.NAME]`.
    pub fn settings(&self, cluster: &ClusterConfig) -> Settings {
        let mut s = Settings::default();
        s.apply(&self.defaults);
        s.apply(&cluster.settings);
        s
    }
}

impl ClusterConfig {
    /// The port a service listens on in this cluster.
    pub fn port(&self, service: &ServiceConfig) -> u16 {
        if let Some(p) = self.ports.get(&service.name) {
            return *p;
        }
        // Checked when the file was read.
        u16::try_from(i64::from(service.port).saturating_add(self.port_offset))
            .unwrap_or(service.port)
    }
}

/// `{registry}` in a docker service's image: the `[registry]` address
/// (the local registry's, 127.0.0.1:5000, unless configured), so the
/// services deploy what `build-and-push` pushed wherever it pushed.
fn resolve_registry(
    services: &mut BTreeMap<String, ServiceConfig>,
    text: &str,
    root: &Path,
) -> Result<(), String> {
    let uses = services.values().any(|s| {
        matches!(&s.runtime, RuntimeConfig::Docker { image, .. } if image.contains("{registry}"))
    });
    if !uses {
        return Ok(());
    }
    let registry = slipway_image::RegistryConfig::parse(text, root)?;
    let Some(address) = registry.address else {
        return Err(
            "an image names {registry}, but [registry] has no address yet (an ECR registry needs `account` and `region`)"
                .into(),
        );
    };
    for s in services.values_mut() {
        if let RuntimeConfig::Docker { image, .. } = &mut s.runtime {
            *image = image.replace("{registry}", &address);
        }
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> String {
    known
        .filter(|k| levenshtein(name, k) <= 2.max(name.len() / 4))
        .min_by_key(|k| levenshtein(name, k))
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name `{name}` is not valid: use 1 to 64 letters, digits, `.`, `_` or `-`"
        ))
    }
}

type Checked<T> = Result<T, (Range<usize>, String)>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    deploy: Option<RawSettings>,
    #[serde(default)]
    services: BTreeMap<Spanned<String>, RawService>,
    #[serde(default)]
    clusters: BTreeMap<Spanned<String>, RawCluster>,
    // The sections other parts of slipway read; named so that a
    // misspelt section (`[servcies]`) is an error rather than ignored.
    #[serde(default, rename = "coverage")]
    _coverage: Option<toml::Value>,
    #[serde(default, rename = "teams")]
    _teams: Option<toml::Value>,
    #[serde(default, rename = "approvals")]
    _approvals: Option<toml::Value>,
    #[serde(default, rename = "environments")]
    _environments: Option<toml::Value>,
    #[serde(default, rename = "notify")]
    _notify: Option<toml::Value>,
    #[serde(default, rename = "registry")]
    _registry: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSettings {
    steps: Option<Spanned<String>>,
    interval: Option<Spanned<toml::Value>>,
    window: Option<Spanned<toml::Value>>,
    max_error_rate: Option<Spanned<f64>>,
    max_p95_ms: Option<Spanned<f64>>,
    min_requests: Option<Spanned<i64>>,
    failure_limit: Option<Spanned<i64>>,
    inconclusive: Option<Spanned<String>>,
    keep_previous: Option<Spanned<toml::Value>>,
    start_timeout: Option<Spanned<toml::Value>>,
    stable_timeout: Option<Spanned<toml::Value>>,
}

fn duration_value(v: &Spanned<toml::Value>, key: &str) -> Checked<Duration> {
    let bad = |m: String| (v.span(), format!("{key}: {m}"));
    match v.get_ref() {
        toml::Value::Integer(n) if *n >= 0 => duration::parse(&n.to_string()).map_err(bad),
        toml::Value::Float(f) => duration::parse(&f.to_string()).map_err(bad),
        toml::Value::String(s) => duration::parse(s).map_err(bad),
        other => Err(bad(format!(
            "expected a duration such as \"10s\" or \"15m\", found {}",
            other.type_str()
        ))),
    }
}

impl RawSettings {
    fn check(self) -> Checked<SettingsPatch> {
        let positive = |v: &Spanned<toml::Value>, key: &str| -> Checked<Duration> {
            let d = duration_value(v, key)?;
            if d.is_zero() {
                return Err((v.span(), format!("{key}: must be longer than 0s")));
            }
            Ok(d)
        };
        let percent = |v: &Spanned<f64>, key: &str| -> Checked<f64> {
            let x = *v.get_ref();
            if !(0.0..=100.0).contains(&x) {
                return Err((
                    v.span(),
                    format!("{key}: {x} is not a percentage from 0 to 100"),
                ));
            }
            Ok(x)
        };
        Ok(SettingsPatch {
            steps: match &self.steps {
                Some(s) => Some(
                    Step::parse_list(s.get_ref()).map_err(|m| (s.span(), format!("steps: {m}")))?,
                ),
                None => None,
            },
            interval: self
                .interval
                .as_ref()
                .map(|v| positive(v, "interval"))
                .transpose()?,
            window: self
                .window
                .as_ref()
                .map(|v| positive(v, "window"))
                .transpose()?,
            max_error_rate: self
                .max_error_rate
                .as_ref()
                .map(|v| percent(v, "max-error-rate"))
                .transpose()?,
            max_p95_ms: match &self.max_p95_ms {
                Some(v) if !(*v.get_ref() > 0.0 && v.get_ref().is_finite()) => {
                    return Err((
                        v.span(),
                        format!(
                            "max-p95-ms: {} is not a number of milliseconds above 0",
                            v.get_ref()
                        ),
                    ))
                }
                Some(v) => Some(*v.get_ref()),
                None => None,
            },
            min_requests: match &self.min_requests {
                Some(v) if *v.get_ref() < 1 => {
                    return Err((
                        v.span(),
                        format!("min-requests: {} must be at least 1", v.get_ref()),
                    ))
                }
                Some(v) => Some(*v.get_ref() as u64),
                None => None,
            },
            failure_limit: match &self.failure_limit {
                Some(v) if !(1..=1000).contains(v.get_ref()) => {
                    return Err((
                        v.span(),
                        format!("failure-limit: {} is not from 1 to 1000", v.get_ref()),
                    ))
                }
                Some(v) => Some(*v.get_ref() as u32),
                None => None,
            },
            inconclusive: match &self.inconclusive {
                Some(v) => Some(match v.get_ref().as_str() {
                    "fail" => Inconclusive::Fail,
                    "continue" => Inconclusive::Continue,
                    other => {
                        return Err((
                            v.span(),
                            format!(
                                "inconclusive = \"{other}\": expected \"fail\" or \"continue\""
                            ),
                        ))
                    }
                }),
                None => None,
            },
            keep_previous: self
                .keep_previous
                .as_ref()
                .map(|v| duration_value(v, "keep-previous"))
                .transpose()?,
            start_timeout: self
                .start_timeout
                .as_ref()
                .map(|v| positive(v, "start-timeout"))
                .transpose()?,
            stable_timeout: self
                .stable_timeout
                .as_ref()
                .map(|v| positive(v, "stable-timeout"))
                .transpose()?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawService {
    path: Option<String>,
    port: Spanned<i64>,
    health: Option<Spanned<String>>,
    instances: Option<Spanned<i64>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    runtime: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    build: Option<String>,
    command: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    container_port: Option<Spanned<i64>>,
    smoke: Option<Vec<Spanned<String>>>,
    smoke_command: Option<String>,
    stop_timeout: Option<Spanned<toml::Value>>,
}

fn port(v: &Spanned<i64>, key: &str) -> Checked<u16> {
    match u16::try_from(*v.get_ref()) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err((
            v.span(),
            format!("{key}: {} is not a port from 1 to 65535", v.get_ref()),
        )),
    }
}

fn http_path(v: &Spanned<String>, key: &str) -> Checked<String> {
    let p = v.get_ref();
    if !p.starts_with('/') || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            v.span(),
            format!("{key}: `{p}` is not a path: write it as /health"),
        ));
    }
    Ok(p.clone())
}

impl RawService {
    fn check(self, name: &str) -> Checked<ServiceConfig> {
        let key = |k: &str| format!("services.{name}.{k}");
        let health = match &self.health {
            Some(h) => http_path(h, &key("health"))?,
            None => "/health".to_string(),
        };
        let instances = match &self.instances {
            Some(v) if !(1..=64).contains(v.get_ref()) => {
                return Err((
                    v.span(),
                    format!("{}: {} is not from 1 to 64", key("instances"), v.get_ref()),
                ))
            }
            Some(v) => *v.get_ref() as u32,
            None => 1,
        };
        let runtime_name = self.runtime.as_ref().map(|r| r.get_ref().as_str());
        let runtime = match runtime_name {
            None | Some("process") => {
                if let Some(i) = &self.image {
                    return Err((i.span(), format!("{}: `image` is for runtime = \"docker\"; a process service runs `command`", key("image"))));
                }
                let Some(command) = self.command else {
                    return Err((self.port.span(), format!(
                        "[services.{name}] has no `command`: say how to start it (PORT is set), or set runtime = \"docker\" and `image`"
                    )));
                };
                if command.get_ref().trim().is_empty() {
                    return Err((command.span(), format!("{}: empty command", key("command"))));
                }
                let source = match &self.source {
                    None => Source::Checkout,
                    Some(s) => match s.get_ref().as_str() {
                        "checkout" => Source::Checkout,
                        "workdir" => Source::Workdir,
                        other => {
                            return Err((
                                s.span(),
                                format!(
                                    "{} = \"{other}\": expected \"checkout\" or \"workdir\"",
                                    key("source")
                                ),
                            ))
                        }
                    },
                };
                RuntimeConfig::Process {
                    source,
                    build: self.build.filter(|b| !b.trim().is_empty()),
                    command: command.into_inner(),
                }
            }
            Some("docker") => {
                if let Some(c) = &self.command {
                    return Err((c.span(), format!("{}: `command` is for runtime = \"process\"; a docker service runs its image", key("command"))));
                }
                let Some(image) = self.image else {
                    return Err((self.port.span(), format!(
                        "[services.{name}] has runtime = \"docker\" but no `image`: name the repository, e.g. image = \"127.0.0.1:5000/{name}\""
                    )));
                };
                let repo = image.get_ref();
                if repo.is_empty()
                    || repo.contains('@')
                    || repo
                        .rsplit('/')
                        .next()
                        .is_some_and(|last| last.contains(':'))
                {
                    return Err((image.span(), format!("{}: `{repo}` must be a repository without tag or digest: the version is the tag", key("image"))));
                }
                RuntimeConfig::Docker {
                    image: image.into_inner(),
                    container_port: match &self.container_port {
                        Some(p) => port(p, &key("container-port"))?,
                        None => port(&self.port, &key("port"))?,
                    },
                }
            }
            Some(other) => {
                let span = self.runtime.as_ref().map(|r| r.span()).unwrap_or(0..0);
                return Err((
                    span,
                    format!(
                        "{} = \"{other}\": expected \"process\" or \"docker\"",
                        key("runtime")
                    ),
                ));
            }
        };
        let smoke = match &self.smoke {
            Some(list) => list
                .iter()
                .map(|p| http_path(p, &key("smoke")))
                .collect::<Checked<Vec<_>>>()?,
            None => vec![health.clone()],
        };
        Ok(ServiceConfig {
            name: name.to_string(),
            path: PathBuf::from(self.path.unwrap_or_else(|| ".".into())),
            port: port(&self.port, &key("port"))?,
            health,
            instances,
            env: self.env.into_iter().collect(),
            runtime,
            smoke,
            smoke_command: self.smoke_command.filter(|c| !c.trim().is_empty()),
            stop_timeout: match &self.stop_timeout {
                Some(v) => duration_value(v, &key("stop-timeout"))?,
                None => Duration::from_secs(10),
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCluster {
    target: Option<Spanned<String>>,
    bind: Option<Spanned<String>>,
    port_offset: Option<Spanned<i64>>,
    #[serde(default)]
    ports: BTreeMap<Spanned<String>, Spanned<i64>>,
    admin: Option<Spanned<String>>,
    services: Option<Vec<Spanned<String>>>,
    deploy: Option<RawSettings>,
}

impl RawCluster {
    fn check(
        self,
        spanned_name: &Spanned<String>,
        services: &BTreeMap<String, ServiceConfig>,
    ) -> Checked<ClusterConfig> {
        let name = spanned_name.get_ref().as_str();
        let key = |k: &str| format!("clusters.{name}.{k}");
        if let Some(t) = &self.target {
            if t.get_ref() != "local" {
                return Err((t.span(), format!(
                    "{} = \"{}\": only \"local\" clusters exist yet (supervised processes or containers behind slipway's router)",
                    key("target"), t.get_ref()
                )));
            }
        }
        let bind = match &self.bind {
            Some(b) => b.get_ref().parse::<IpAddr>().map_err(|_| {
                (
                    b.span(),
                    format!(
                        "{}: `{}` is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)",
                        key("bind"),
                        b.get_ref()
                    ),
                )
            })?,
            None => IpAddr::from([127, 0, 0, 1]),
        };
        let admin = match &self.admin {
            Some(a) => {
                let addr: SocketAddr = a.get_ref().parse().map_err(|_| {
                    (
                        a.span(),
                        format!(
                            "{}: `{}` is not host:port, e.g. 127.0.0.1:9901",
                            key("admin"),
                            a.get_ref()
                        ),
                    )
                })?;
                if !addr.ip().is_loopback() {
                    return Err((a.span(), format!("{}: `{addr}` is not a loopback address: the admin API can move traffic, so it listens on 127.0.0.1 or ::1 only", key("admin"))));
                }
                Some(addr)
            }
            None => None,
        };
        let member_names: Option<Vec<String>> = match &self.services {
            Some(list) => {
                let mut names = Vec::new();
                for s in list {
                    if !services.contains_key(s.get_ref()) {
                        return Err((
                            s.span(),
                            format!(
                                "{}: unknown service `{}`{}; define [services.{}]",
                                key("services"),
                                s.get_ref(),
                                suggest(s.get_ref(), services.keys()),
                                s.get_ref()
                            ),
                        ));
                    }
                    names.push(s.get_ref().clone());
                }
                Some(names)
            }
            None => None,
        };
        let mut ports = BTreeMap::new();
        for (service, p) in &self.ports {
            if !services.contains_key(service.get_ref()) {
                return Err((
                    service.span(),
                    format!(
                        "{}: unknown service `{}`{}",
                        key("ports"),
                        service.get_ref(),
                        suggest(service.get_ref(), services.keys())
                    ),
                ));
            }
            ports.insert(
                service.get_ref().clone(),
                port(p, &key(&format!("ports.{}", service.get_ref())))?,
            );
        }
        let port_offset = match &self.port_offset {
            Some(o) => *o.get_ref(),
            None => 0,
        };
        let members: Vec<&ServiceConfig> = match &member_names {
            Some(n) => n.iter().filter_map(|n| services.get(n)).collect(),
            None => services.values().collect(),
        };
        let mut taken: BTreeMap<u16, &str> = BTreeMap::new();
        for s in &members {
            let p = match ports.get(&s.name) {
                Some(p) => i128::from(*p),
                None => i128::from(s.port) + i128::from(port_offset),
            };
            let span = self
                .port_offset
                .as_ref()
                .map_or_else(|| spanned_name.span(), |o| o.span());
            let Ok(p) = u16::try_from(p) else {
                return Err((
                    span,
                    format!(
                        "{}: service `{}` would listen on port {p}, outside 1 to 65535",
                        key("port-offset"),
                        s.name
                    ),
                ));
            };
            if p == 0 {
                return Err((
                    span,
                    format!(
                        "{}: service `{}` would listen on port 0",
                        key("port-offset"),
                        s.name
                    ),
                ));
            }
            if let Some(other) = taken.insert(p, &s.name) {
                return Err((span, format!(
                    "cluster `{name}`: services `{other}` and `{}` would both listen on port {p}; give one another port in [clusters.{name}] ports",
                    s.name
                )));
            }
        }
        Ok(ClusterConfig {
            name: name.to_string(),
            bind,
            port_offset,
            ports,
            admin,
            services: member_names,
            settings: match self.deploy {
                Some(d) => d.check()?,
                None => SettingsPatch::default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DeployConfig, ConfigError> {
        DeployConfig::parse(text, Path::new("/repo"), "slipway.toml")
    }

    const EXAMPLE: &str = r#"
[coverage]
fail-under = 80

[deploy]
steps = "5:2s,50:2s,100:5s"
interval = "1s"
max-error-rate = 0.5

[services.svc-portal]
path = "mpac-smartpos/svc-portal"
port = 8002
command = "python3 -m app --port $PORT"
build = "true"

[services.svc-smarttab]
path = "mpac-smartpos/svc-smarttab"
port = 8003
runtime = "docker"
image = "127.0.0.1:5000/mpac-svc-smarttab"
instances = 2
smoke = ["/health", "/v1/tabs"]

[clusters.staging]
target = "local"
port-offset = 10000

[clusters.staging.deploy]
interval = "2s"

[clusters.prod]
admin = "127.0.0.1:9901"
services = ["svc-portal"]
"#;

    #[test]
    fn reads_services_clusters_and_defaults() {
        let c = parse(EXAMPLE).unwrap();
        let portal = &c.services["svc-portal"];
        assert_eq!(portal.health, "/health");
        assert_eq!(portal.smoke, vec!["/health".to_string()]);
        assert_eq!(
            portal.runtime,
            RuntimeConfig::Process {
                source: Source::Checkout,
                build: Some("true".into()),
                command: "python3 -m app --port $PORT".into()
            }
        );
        let tab = &c.services["svc-smarttab"];
        assert_eq!(tab.instances, 2);
        assert_eq!(
            tab.runtime,
            RuntimeConfig::Docker {
                image: "127.0.0.1:5000/mpac-svc-smarttab".into(),
                container_port: 8003
            }
        );
        let staging = c.cluster(Some("staging")).unwrap();
        assert_eq!(staging.port(portal), 18002);
        let settings = c.settings(staging);
        assert_eq!(settings.interval, Duration::from_secs(2));
        assert_eq!(settings.steps.len(), 3);
        assert_eq!(settings.max_error_rate, 0.5);
        let prod = c.cluster(Some("prod")).unwrap();
        assert_eq!(c.settings(prod).interval, Duration::from_secs(1));
        assert_eq!(c.cluster_service_names(prod), vec!["svc-portal"]);
        assert_eq!(
            c.services_of(prod, Some(&["svc-smarttab".into()]))
                .unwrap_err(),
            "service `svc-smarttab` is not part of cluster `prod` (its services: svc-portal)"
        );
    }

    #[test]
    fn unknown_names_suggest_the_near_one() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(
            c.cluster(Some("stagin")).unwrap_err(),
            "unknown cluster `stagin` (did you mean `staging`?): slipway.toml defines `prod`, `staging`"
        );
        let staging = c.cluster(Some("staging")).unwrap();
        assert_eq!(
            c.services_of(staging, Some(&["svc-portl".into()])).unwrap_err(),
            "unknown service `svc-portl` (did you mean `svc-portal`?): slipway.toml defines `svc-portal`, `svc-smarttab`"
        );
        assert_eq!(
            c.cluster(None).unwrap_err(),
            "--cluster is needed: slipway.toml defines `prod`, `staging`"
        );
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            error("[services.a]\nport = 8002\nruntime = \"k8s\"\ncommand = \"x\"\n"),
            "slipway.toml:3:11: services.a.runtime = \"k8s\": expected \"process\" or \"docker\""
        );
        assert_eq!(
            error("[services.a]\nport = 70000\ncommand = \"x\"\n"),
            "slipway.toml:2:8: services.a.port: 70000 is not a port from 1 to 65535"
        );
        assert_eq!(
            error("[deploy]\nsteps = \"5:1m,50\"\n"),
            "slipway.toml:2:9: steps: `50` is not percent:duration, e.g. 5:15m"
        );
        assert_eq!(
            error("[deploy]\ninterval = \"soon\"\n"),
            "slipway.toml:2:12: interval: `soon` is not a duration: write e.g. 500ms, 10s, 15m, 2h or 1h30m"
        );
        assert!(error("[services.a]\nport = 1\ncommand = \"x\"\nwat = 1\n")
            .starts_with("slipway.toml:4:1: unknown field `wat`"));
        assert_eq!(
            error("[services.a]\nport = 1\n"),
            "slipway.toml:2:8: [services.a] has no `command`: say how to start it (PORT is set), or set runtime = \"docker\" and `image`"
        );
        assert_eq!(
            error("[services.a]\nport = 1\nruntime = \"docker\"\nimage = \"r/a:1\"\n"),
            "slipway.toml:4:9: services.a.image: `r/a:1` must be a repository without tag or digest: the version is the tag"
        );
        assert_eq!(
            error("[services.a]\nport = 1\ncommand = \"x\"\n[clusters.c]\nadmin = \"0.0.0.0:9901\"\n"),
            "slipway.toml:5:9: clusters.c.admin: `0.0.0.0:9901` is not a loopback address: the admin API can move traffic, so it listens on 127.0.0.1 or ::1 only"
        );
        assert_eq!(
            error("[services.a]\nport = 1\ncommand = \"x\"\n[services.b]\nport = 1\ncommand = \"y\"\n[clusters.c]\n"),
            "slipway.toml:7:11: cluster `c`: services `a` and `b` would both listen on port 1; give one another port in [clusters.c] ports"
        );
        assert_eq!(
            error("[clusters.c]\ntarget = \"ecs\"\n"),
            "slipway.toml:2:10: clusters.c.target = \"ecs\": only \"local\" clusters exist yet (supervised processes or containers behind slipway's router)"
        );
    }

    #[test]
    fn images_name_the_registry() {
        let text = "[services.a]\nport = 1\nruntime = \"docker\"\nimage = \"{registry}/mpac-a\"\n";
        let c = parse(text).unwrap();
        assert_eq!(
            c.services["a"].runtime,
            RuntimeConfig::Docker {
                image: "127.0.0.1:5000/mpac-a".into(),
                container_port: 1
            }
        );
        let c = parse(&format!("{text}[registry]\naddress = \"127.0.0.1:5123\"\n")).unwrap();
        assert!(matches!(
            &c.services["a"].runtime,
            RuntimeConfig::Docker { image, .. } if image == "127.0.0.1:5123/mpac-a"
        ));
    }

    #[test]
    fn no_file_no_settings() {
        let dir = tempfile::tempdir().unwrap();
        let c = DeployConfig::load(dir.path()).unwrap();
        assert!(c.services.is_empty());
        assert!(c
            .cluster(Some("x"))
            .unwrap_err()
            .contains("defines no cluster"));
    }
}
