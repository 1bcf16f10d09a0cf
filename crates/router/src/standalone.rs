//! Running the router on its own from a TOML file, without the deploy
//! controller: `cargo run -p slipway-router --example router -- FILE`
//! and the benchmark use it.
//!
//! ```toml
//! admin = "127.0.0.1:9901"      # /metrics and the JSON API (loopback only)
//! retention_seconds = 60        # the longest window figures are read over
//!
//! [[service]]
//! name = "svc-portal"
//! listen = "127.0.0.1:8002"
//! connect_timeout_ms = 3000     # optional
//! response_timeout_ms = 60000   # optional
//!
//! [[service.version]]
//! name = "blue"
//! weight = 95
//! upstreams = ["127.0.0.1:9001", "127.0.0.1:9002"]
//!
//! [[service.version]]
//! name = "green"
//! weight = 5
//! upstreams = ["127.0.0.1:9003"]
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::admin::AdminServer;
use crate::error::RouterError;
use crate::router::{Router, RouterOptions};
use crate::spec::{ServiceSpec, VersionSpec};

fn default_admin() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9901))
}

fn default_retention() -> u64 {
    Router::DEFAULT_RETENTION.as_secs()
}

/// The standalone router's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandaloneConfig {
    #[serde(default = "default_admin")]
    pub admin: SocketAddr,
    #[serde(default = "default_retention")]
    pub retention_seconds: u64,
    #[serde(rename = "service", default)]
    pub services: Vec<ServiceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    pub listen: SocketAddr,
    pub connect_timeout_ms: Option<u64>,
    pub response_timeout_ms: Option<u64>,
    #[serde(rename = "version", default)]
    pub versions: Vec<VersionSpec>,
}

impl StandaloneConfig {
    /// Reads and checks the file; errors name it (and the line and column
    /// for syntax errors).
    pub fn load(path: &Path) -> Result<StandaloneConfig, RouterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RouterError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// `origin` names the text in errors (a file name).
    pub fn parse(text: &str, origin: &str) -> Result<StandaloneConfig, RouterError> {
        let config: StandaloneConfig =
            toml::from_str(text).map_err(|e| RouterError::Invalid(format!("{origin}: {e}")))?;
        if config.services.is_empty() {
            return Err(RouterError::Invalid(format!(
                "{origin}: no [[service]] to route: add one with name, listen and [[service.version]]"
            )));
        }
        for (i, s) in config.services.iter().enumerate() {
            if config.services[..i].iter().any(|o| o.name == s.name) {
                return Err(RouterError::Invalid(format!(
                    "{origin}: service `{}` is given twice",
                    s.name
                )));
            }
        }
        if !(1..=3600).contains(&config.retention_seconds) {
            return Err(RouterError::Invalid(format!(
                "{origin}: retention_seconds = {} is not from 1 to 3600",
                config.retention_seconds
            )));
        }
        Ok(config)
    }
}

/// A router started from a [`StandaloneConfig`].
pub struct Standalone {
    pub router: Router,
    pub admin: AdminServer,
    /// Each service's name and the address it listens on.
    pub services: Vec<(String, SocketAddr)>,
}

impl Standalone {
    /// Starts every service and the admin server; on an error, stops what
    /// was started.
    pub async fn start(config: &StandaloneConfig) -> Result<Standalone, RouterError> {
        let router = Router::with_options(RouterOptions {
            retention: Duration::from_secs(config.retention_seconds),
            ..RouterOptions::default()
        });
        let mut services = Vec::new();
        for s in &config.services {
            let mut spec = ServiceSpec::new(&s.name, s.listen, s.versions.clone());
            if let Some(ms) = s.connect_timeout_ms {
                spec.connect_timeout = Duration::from_millis(ms);
            }
            if let Some(ms) = s.response_timeout_ms {
                spec.response_timeout = Duration::from_millis(ms);
            }
            match router.start_service(spec).await {
                Ok(addr) => services.push((s.name.clone(), addr)),
                Err(e) => {
                    router.shutdown().await;
                    return Err(e);
                }
            }
        }
        match AdminServer::start(router.clone(), config.admin).await {
            Ok(admin) => Ok(Standalone {
                router,
                admin,
                services,
            }),
            Err(e) => {
                router.shutdown().await;
                Err(e)
            }
        }
    }

    /// Stops the admin server and every service, letting open requests
    /// finish.
    pub async fn stop(self) {
        self.admin.stop().await;
        self.router.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_file() {
        let text = r#"
admin = "127.0.0.1:9901"
retention_seconds = 30

[[service]]
name = "svc-portal"
listen = "127.0.0.1:8002"
connect_timeout_ms = 500

[[service.version]]
name = "blue"
weight = 95
upstreams = ["127.0.0.1:9001", "127.0.0.1:9002"]

[[service.version]]
name = "green"
weight = 5
upstreams = ["127.0.0.1:9003"]
"#;
        let c = StandaloneConfig::parse(text, "router.toml").unwrap();
        assert_eq!(c.retention_seconds, 30);
        assert_eq!(
            c.services[0].versions[1],
            VersionSpec::new("green", 5, &["127.0.0.1:9003"])
        );
        assert_eq!(c.services[0].connect_timeout_ms, Some(500));
    }

    #[test]
    fn errors_name_the_file_and_the_spot() {
        let e = StandaloneConfig::parse(
            "[[service]]\nname = \"a\"\nlisten = \"nowhere\"\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.toml: "), "{e}");
        assert!(e.contains("line 3"), "{e}");

        let e = StandaloneConfig::parse("admin = \"127.0.0.1:1\"\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "r.toml: no [[service]] to route: add one with name, listen and [[service.version]]"
        );

        let e = StandaloneConfig::parse(
            "[[service]]\nname = \"a\"\nlisten = \"127.0.0.1:1\"\nwieght = 3\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("wieght"), "{e}");
    }
}
