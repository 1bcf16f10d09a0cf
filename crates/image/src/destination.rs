//! Where a push goes and with what credentials: `--registry`, else
//! `slipway.toml`'s `[registry]`, else the local registry; credentials from
//! the variables `[registry]` names, else the docker CLI's config.

use std::path::Path;

use crate::auth::{self, Credentials};
use crate::config::{RegistryConfig, RegistryKind};
use crate::local::{parse_loopback, LocalRegistry};

#[derive(Debug, Clone)]
pub struct Destination {
    /// host[:port]
    pub registry: String,
    pub insecure: bool,
    pub credentials: Option<Credentials>,
    /// The repository's local registry, when this is it (it can be
    /// started on demand).
    pub local: Option<LocalRegistry>,
}

/// The registry host an ECR configuration names.
pub fn ecr_address(config: &RegistryConfig) -> Result<String, String> {
    if let Some(a) = &config.address {
        return Ok(a.clone());
    }
    let region = config
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .ok_or("[registry] kind = \"ecr\" needs `region` (or AWS_REGION)")?;
    let account = config
        .account
        .clone()
        .ok_or("[registry] kind = \"ecr\" needs `account` (the registry id) or `address`")?;
    Ok(format!("{account}.dkr.ecr.{region}.amazonaws.com"))
}

/// `host[:port]`, no scheme or path.
pub fn check_registry(flag: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.contains("://") || value.contains('/') || value.contains(' ') {
        return Err(format!(
            "{flag} `{value}`: expected a registry host[:port] such as 127.0.0.1:5000 or ghcr.io"
        ));
    }
    Ok(())
}

/// The destination for `registry` (a flag) or the configured one.
pub fn destination(
    repo_dir: &Path,
    config: &RegistryConfig,
    registry: Option<&str>,
) -> Result<Destination, String> {
    let configured = match config.kind {
        RegistryKind::Ecr => ecr_address(config).ok(),
        _ => config.address.clone(),
    };
    let registry = match registry {
        Some(r) => {
            check_registry("--registry", r)?;
            r.to_string()
        }
        None => match config.kind {
            RegistryKind::Ecr => ecr_address(config)?,
            _ => configured.clone().ok_or("[registry] names no address")?,
        },
    };
    let is_configured = configured.as_deref() == Some(registry.as_str());
    let local = if config.kind == RegistryKind::Local && is_configured {
        let addr = parse_loopback(&registry)?;
        let mut r = LocalRegistry::new(&repo_dir.join(".slipway"), addr);
        if let Some(s) = &config.storage {
            r.storage = s.clone();
        }
        r.htpasswd = config.htpasswd.clone();
        Some(r)
    } else {
        None
    };
    let credentials = credentials(config, &registry, is_configured)?;
    Ok(Destination {
        insecure: is_configured && config.insecure,
        registry,
        credentials,
        local,
    })
}

fn credentials(
    config: &RegistryConfig,
    registry: &str,
    is_configured: bool,
) -> Result<Option<Credentials>, String> {
    if is_configured {
        if let (Some(u), Some(p)) = (&config.username_env, &config.password_env) {
            let get = |name: &str| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        format!("[registry] names the variable {name}, which is not set")
                    })
            };
            return Ok(Some(Credentials {
                username: get(u)?,
                password: get(p)?,
            }));
        }
    }
    match auth::docker_config_dir() {
        Some(dir) => auth::from_docker_config(&dir, registry),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_registry_by_default() {
        let d = destination(Path::new("/repo"), &RegistryConfig::default(), None).unwrap();
        assert_eq!(d.registry, "127.0.0.1:5000");
        let local = d.local.unwrap();
        assert_eq!(local.dir, Path::new("/repo/.slipway/registry"));
        let d = destination(
            Path::new("/repo"),
            &RegistryConfig::default(),
            Some("ghcr.io"),
        )
        .unwrap();
        assert!(d.local.is_none());
        assert!(destination(
            Path::new("/r"),
            &RegistryConfig::default(),
            Some("http://x")
        )
        .is_err());
    }

    #[test]
    fn ecr_names_its_host() {
        let c = RegistryConfig::parse(
            "[registry]\nkind = \"ecr\"\naccount = \"123456789012\"\nregion = \"ap-northeast-1\"\n",
            Path::new("/r"),
        )
        .unwrap();
        assert_eq!(
            ecr_address(&c).unwrap(),
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
    }
}
