//! `aws-actions/amazon-ecr-login`: makes the registry configured for the
//! repository (`slipway.toml`'s `[registry]`) ready for the steps that
//! follow, and sets the outputs the real action sets.
//!
//! - local (the default): the repository's local registry, started if it
//!   is not running (it keeps running after the run; `slipway registry
//!   down` stops it). `registry` is its address; no login is needed.
//! - ecr: ECR's GetAuthorizationToken with the keys and region the step's
//!   environment holds (`configure-aws-credentials` puts them there),
//!   at `[registry] endpoint` or `AWS_ENDPOINT_URL_ECR`/`AWS_ENDPOINT_URL`
//!   when set; then a docker login in a configuration of the job's own
//!   (`DOCKER_CONFIG` for the following steps), so `docker push` works.
//! - oci: the configured registry, logged in with `[registry]
//!   username-env`/`password-env` when given.

use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_image::auth::{self, Credentials};
use slipway_image::destination::destination;
use slipway_image::ecr::{self, EcrRequest};
use slipway_image::{RegistryConfig, RegistryKind};

use super::{BuiltinInput, BuiltinResult};

pub(super) fn login(input: &BuiltinInput) -> BuiltinResult {
    let slipway_dir = repository_slipway_dir(input);
    let root = slipway_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| input.workspace.clone());
    let config = match RegistryConfig::load(&root) {
        Ok(c) => c,
        Err(e) => return BuiltinResult::fail(e.to_string()),
    };
    match config.kind {
        RegistryKind::Local => local(input, &root, &slipway_dir, &config),
        RegistryKind::Ecr => ecr_login(input, &config),
        RegistryKind::Oci => oci(input, &root, &config),
    }
}

/// `<repository>/.slipway`, the folder the run's own folder is in.
fn repository_slipway_dir(input: &BuiltinInput) -> PathBuf {
    input
        .run_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == ".slipway"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| input.workspace.join(".slipway"))
}

fn ignored_inputs(input: &BuiltinInput, mut result: BuiltinResult) -> BuiltinResult {
    for name in ["registries", "registry-type"] {
        if let Some(v) = input.input(name) {
            result = result.say(format!(
                "`{name}: {v}` is not used: slipway.toml's [registry] says where images go"
            ));
        }
    }
    result
}

fn local(
    input: &BuiltinInput,
    root: &Path,
    slipway_dir: &Path,
    config: &RegistryConfig,
) -> BuiltinResult {
    // The registry this repository already runs, wherever it listens;
    // else the configured one, started now.
    let running =
        slipway_image::LocalRegistry::as_started(slipway_dir).filter(|r| r.status().running);
    let (registry, started) = match running {
        Some(r) => (r, false),
        None => {
            let d = match destination(root, config, None) {
                Ok(d) => d,
                Err(e) => return BuiltinResult::fail(format!("slipway.toml: {e}")),
            };
            let Some(r) = d.local else {
                return BuiltinResult::fail("the local registry is not configured");
            };
            if let Err(e) = std::fs::create_dir_all(&r.dir) {
                return BuiltinResult::fail(format!("{}: {e}", r.dir.display()));
            }
            match r.up(Duration::from_secs(20)) {
                Ok((_, started)) => (r, started),
                Err(e) => return BuiltinResult::fail(format!("the local registry: {e}")),
            }
        }
    };
    let address = registry.addr.to_string();
    let mut result = BuiltinResult::ok();
    result.outputs.push(("registry".into(), address.clone()));
    result = result.say(if started {
        format!(
            "started the local registry at http://{address} (it keeps running; `slipway registry down` stops it)"
        )
    } else {
        format!("the local registry answers at http://{address}")
    });
    result = result.say(format!(
        "no login needed: images pushed to {address} stay on this machine (slipway.toml's [registry] kind = \"ecr\" logs in to Amazon ECR)"
    ));
    ignored_inputs(input, result)
}

fn env(input: &BuiltinInput, name: &str) -> Option<String> {
    input
        .env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.is_empty())
}

/// A docker configuration of the job's own, starting from the user's, so
/// a login here does not change `~/.docker`.
fn docker_config(input: &BuiltinInput) -> Result<PathBuf, String> {
    let dir = input.temp.join("docker-config");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let from = env(input, "DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(auth::docker_config_dir);
    if let Some(from) = from.filter(|f| *f != dir) {
        let file = from.join("config.json");
        if file.is_file() && !dir.join("config.json").exists() {
            std::fs::copy(&file, dir.join("config.json"))
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    Ok(dir)
}

fn ecr_login(input: &BuiltinInput, config: &RegistryConfig) -> BuiltinResult {
    let Some(region) = config
        .region
        .clone()
        .or_else(|| env(input, "AWS_REGION"))
        .or_else(|| env(input, "AWS_DEFAULT_REGION"))
    else {
        return BuiltinResult::fail(
            "no AWS region: set `aws-region` on aws-actions/configure-aws-credentials, or [registry] region",
        );
    };
    let (Some(key), Some(secret)) = (
        env(input, "AWS_ACCESS_KEY_ID"),
        env(input, "AWS_SECRET_ACCESS_KEY"),
    ) else {
        return BuiltinResult::fail(
            "no AWS credentials: give aws-access-key-id and aws-secret-access-key to aws-actions/configure-aws-credentials (from secrets), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        );
    };
    let endpoint = config
        .endpoint
        .clone()
        .or_else(|| env(input, "AWS_ENDPOINT_URL_ECR"))
        .or_else(|| env(input, "AWS_ENDPOINT_URL"));
    let registry_ids: Vec<String> = input
        .input("registries")
        .map(|r| {
            r.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .or_else(|| config.account.clone().map(|a| vec![a]))
        .unwrap_or_default();
    let request = EcrRequest {
        region,
        access_key_id: key,
        secret_access_key: secret,
        session_token: env(input, "AWS_SESSION_TOKEN"),
        endpoint: endpoint.clone(),
        registry_ids,
    };
    let logins = match slipway_notify::blocking::block_on(ecr::login(&request)) {
        Ok(l) if !l.is_empty() => l,
        Ok(_) => return BuiltinResult::fail("ECR answered no authorization data"),
        Err(e) => return BuiltinResult::fail(e.to_string()),
    };
    let dir = match docker_config(input) {
        Ok(d) => d,
        Err(e) => return BuiltinResult::fail(e),
    };
    let mut result = BuiltinResult::ok();
    for l in &logins {
        let creds = Credentials {
            username: l.username.clone(),
            password: l.password.clone(),
        };
        if let Err(e) = auth::write_docker_login(&dir, &l.registry, &creds) {
            return BuiltinResult::fail(format!("{}: {e}", dir.display()));
        }
        result.outputs.push((
            format!("docker_username_{}", ecr::output_suffix(&l.registry)),
            l.username.clone(),
        ));
        result = result.say(format!(
            "logged in to {} as {}{}{}",
            l.registry,
            l.username,
            l.expires_at
                .as_deref()
                .map(|t| format!(" (token valid until {t})"))
                .unwrap_or_default(),
            endpoint
                .as_deref()
                .map(|e| format!(" through {e}"))
                .unwrap_or_default()
        ));
    }
    result
        .outputs
        .insert(0, ("registry".into(), logins[0].registry.clone()));
    result
        .env
        .push(("DOCKER_CONFIG".into(), dir.display().to_string()));
    result.say(format!(
        "the following steps use the docker configuration in {} (DOCKER_CONFIG); the password is not set as an output",
        dir.display()
    ))
}

fn oci(input: &BuiltinInput, root: &Path, config: &RegistryConfig) -> BuiltinResult {
    let d = match destination(root, config, None) {
        Ok(d) => d,
        Err(e) => return BuiltinResult::fail(format!("slipway.toml: {e}")),
    };
    let mut result = BuiltinResult::ok();
    result.outputs.push(("registry".into(), d.registry.clone()));
    match (&config.username_env, &d.credentials) {
        (Some(_), Some(creds)) => {
            let dir = match docker_config(input) {
                Ok(dir) => dir,
                Err(e) => return BuiltinResult::fail(e),
            };
            if let Err(e) = auth::write_docker_login(&dir, &d.registry, creds) {
                return BuiltinResult::fail(format!("{}: {e}", dir.display()));
            }
            result
                .env
                .push(("DOCKER_CONFIG".into(), dir.display().to_string()));
            result = result.say(format!("logged in to {} as {}", d.registry, creds.username));
        }
        _ => {
            result = result.say(format!(
            "{}: no credentials in slipway.toml's [registry]; steps use the docker CLI's own login",
            d.registry
        ))
        }
    }
    ignored_inputs(input, result)
}
