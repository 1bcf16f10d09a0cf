//! The `[registry]` section of `slipway.toml`: where images go.
//!
//! ```toml
//! [registry]
//! kind = "local"                 # "local" (default), "oci" or "ecr"
//! address = "127.0.0.1:5000"     # local: where it listens; oci/ecr: host[:port]
//!
//! # local only
//! storage = ".slipway/registry/data"   # relative to the repository
//! htpasswd = "registry.htpasswd"       # basic auth with these users (bcrypt)
//!
//! # oci: credentials from the environment, plain HTTP when insecure
//! username-env = "REGISTRY_USERNAME"
//! password-env = "REGISTRY_PASSWORD"
//! insecure = false
//!
//! # ecr: the login built-in asks ECR for a token (GetAuthorizationToken)
//! region = "ap-northeast-1"            # default: AWS_REGION
//! account = "123456789012"             # the registry id; default: the caller's
//! endpoint = "http://127.0.0.1:5100"   # the ECR API, for local mocks;
//!                                      # default: AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL
//! ```
//!
//! Other sections of the file are not looked at here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LOCAL_ADDRESS: &str = "127.0.0.1:5000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryKind {
    Local,
    Oci,
    Ecr,
}

impl RegistryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RegistryKind::Local => "local",
            RegistryKind::Oci => "oci",
            RegistryKind::Ecr => "ecr",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    pub kind: RegistryKind,
    /// host[:port]; for ECR, None until known (from `account` and `region`).
    pub address: Option<String>,
    pub storage: Option<PathBuf>,
    pub htpasswd: Option<PathBuf>,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    pub insecure: bool,
    pub region: Option<String>,
    pub account: Option<String>,
    pub endpoint: Option<String>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            kind: RegistryKind::Local,
            address: Some(DEFAULT_LOCAL_ADDRESS.into()),
            storage: None,
            htpasswd: None,
            username_env: None,
            password_env: None,
            insecure: false,
            region: None,
            account: None,
            endpoint: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

#[derive(Deserialize)]
struct File {
    registry: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Section {
    kind: Option<String>,
    address: Option<String>,
    storage: Option<PathBuf>,
    htpasswd: Option<PathBuf>,
    username_env: Option<String>,
    password_env: Option<String>,
    insecure: Option<bool>,
    region: Option<String>,
    account: Option<String>,
    endpoint: Option<String>,
}

impl RegistryConfig {
    /// `slipway.toml` in `dir`; the defaults when there is none. Relative
    /// paths are made relative to `dir`.
    pub fn load(dir: &Path) -> Result<RegistryConfig, ConfigError> {
        let file = dir.join("slipway.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RegistryConfig::default())
            }
            Err(e) => {
                return Err(ConfigError {
                    file: file.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        Self::parse(&text, dir).map_err(|message| ConfigError {
            file: file.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str, dir: &Path) -> Result<RegistryConfig, String> {
        let file: File = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        let Some(s) = file.registry else {
            return Ok(RegistryConfig::default());
        };
        let kind = match s.kind.as_deref() {
            None | Some("local") => RegistryKind::Local,
            Some("oci") => RegistryKind::Oci,
            Some("ecr") => RegistryKind::Ecr,
            Some(other) => {
                return Err(format!(
                    "[registry] kind = \"{other}\": expected \"local\", \"oci\" or \"ecr\""
                ))
            }
        };
        let address = match (&kind, s.address) {
            (RegistryKind::Local, None) => Some(DEFAULT_LOCAL_ADDRESS.to_string()),
            (RegistryKind::Oci, None) => {
                return Err("[registry] kind = \"oci\" needs `address` (host[:port])".into())
            }
            (_, a) => a,
        };
        if let Some(a) = &address {
            if a.is_empty() || a.contains('/') || a.contains("://") {
                return Err(format!(
                    "[registry] address = \"{a}\": expected host[:port], without a scheme or path"
                ));
            }
        }
        if kind == RegistryKind::Local {
            if let Some(a) = &address {
                crate::local::parse_loopback(a).map_err(|m| format!("[registry] address: {m}"))?;
            }
        }
        if kind != RegistryKind::Local && (s.storage.is_some() || s.htpasswd.is_some()) {
            return Err("[registry] `storage` and `htpasswd` are for kind = \"local\"".into());
        }
        if kind != RegistryKind::Ecr
            && (s.region.is_some() || s.account.is_some() || s.endpoint.is_some())
        {
            return Err(
                "[registry] `region`, `account` and `endpoint` are for kind = \"ecr\"".into(),
            );
        }
        if s.username_env.is_some() != s.password_env.is_some() {
            return Err("[registry] `username-env` and `password-env` go together".into());
        }
        Ok(RegistryConfig {
            kind,
            address,
            storage: s.storage.map(|p| dir.join(p)),
            htpasswd: s.htpasswd.map(|p| dir.join(p)),
            username_env: s.username_env,
            password_env: s.password_env,
            insecure: s.insecure.unwrap_or(false),
            region: s.region,
            account: s.account,
            endpoint: s.endpoint,
        })
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RegistryConfig, String> {
        RegistryConfig::parse(text, Path::new("/repo"))
    }

    #[test]
    fn defaults_to_the_local_registry() {
        assert_eq!(parse("").unwrap(), RegistryConfig::default());
        assert_eq!(
            parse("[coverage]\nfail-under = 80\n").unwrap(),
            RegistryConfig::default()
        );
        let c = parse("[registry]\naddress = \"127.0.0.1:5999\"\nstorage = \"data\"\n").unwrap();
        assert_eq!(c.kind, RegistryKind::Local);
        assert_eq!(c.address.as_deref(), Some("127.0.0.1:5999"));
        assert_eq!(c.storage, Some(PathBuf::from("/repo/data")));
    }

    #[test]
    fn ecr_and_oci() {
        let c = parse(
            "[registry]\nkind = \"ecr\"\nregion = \"ap-northeast-1\"\nendpoint = \"http://127.0.0.1:5100\"\n",
        )
        .unwrap();
        assert_eq!(c.kind, RegistryKind::Ecr);
        assert_eq!(c.address, None);
        let c = parse(
            "[registry]\nkind = \"oci\"\naddress = \"ghcr.io\"\nusername-env = \"U\"\npassword-env = \"P\"\n",
        )
        .unwrap();
        assert_eq!(c.username_env.as_deref(), Some("U"));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("[registry]\nkind = \"s3\"\n", "kind = \"s3\""),
            ("[registry]\nkind = \"oci\"\n", "needs `address`"),
            (
                "[registry]\naddress = \"http://x:5000\"\n",
                "without a scheme",
            ),
            ("[registry]\naddress = \"10.0.0.1:5000\"\n", "loopback"),
            (
                "[registry]\nkind = \"oci\"\naddress = \"x\"\nhtpasswd = \"h\"\n",
                "for kind = \"local\"",
            ),
            ("[registry]\nregion = \"x\"\n", "for kind = \"ecr\""),
            ("[registry]\nport = 5000\n", "unknown field `port`"),
            (
                "[registry]\nkind = \"oci\"\naddress = \"x\"\nusername-env = \"U\"\n",
                "go together",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
