//! Registry credentials, found where docker users keep them: given
//! explicitly, from variables, or from the docker CLI's `config.json`
//! (`auths`, `credHelpers`, `credsStore`) in `$DOCKER_CONFIG` or
//! `~/.docker`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// The docker CLI's configuration folder.
pub fn docker_config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker"))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Credentials for `registry` (host[:port]) from the docker config in
/// `dir`, if it has any.
pub fn from_docker_config(dir: &Path, registry: &str) -> Result<Option<Credentials>, String> {
    let file = dir.join("config.json");
    let text = match std::fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let config: ConfigFile =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some(helper) = config.cred_helpers.get(registry) {
        return helper_get(helper, registry);
    }
    for (key, entry) in &config.auths {
        if auth_key_host(key) != registry {
            continue;
        }
        if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| format!("{}: auths.{key}.auth: {e}", file.display()))?;
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            let (u, p) = decoded.split_once(':').ok_or_else(|| {
                format!("{}: auths.{key}.auth is not user:password", file.display())
            })?;
            return Ok(Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok(Some(Credentials {
                username: u.clone(),
                password: p.clone(),
            }));
        }
    }
    if let Some(store) = &config.creds_store {
        return helper_get(store, registry);
    }
    Ok(None)
}

/// `https://host:port/v1/` -> `host:port`, as the docker CLI matches keys.
fn auth_key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

/// `docker-credential-<helper> get`, the credential helper protocol.
fn helper_get(helper: &str, registry: &str) -> Result<Option<Credentials>, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Err(format!("credential helper `{program}`: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("credential helper `{program}`: {e}"))?;
    if !out.status.success() {
        // Helpers say "credentials not found" with a failure.
        return Ok(None);
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let a: Answer = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("credential helper `{program}`: {e}"))?;
    Ok(Some(Credentials {
        username: a.username,
        password: a.secret,
    }))
}

/// Writes `auths.<registry>` into the docker config in `dir` (what
/// `docker login` does), keeping what else the file holds. Mode 0600.
pub fn write_docker_login(dir: &Path, registry: &str, creds: &Credentials) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let file = dir.join("config.json");
    let mut value: serde_json::Value = match std::fs::read(&file) {
        Ok(t) => serde_json::from_slice(&t).unwrap_or_else(|_| serde_json::json!({})),
        Err(_) => serde_json::json!({}),
    };
    if !value.is_object() {
        value = serde_json::json!({});
    }
    let auths = value
        .as_object_mut()
        .expect("an object")
        .entry("auths")
        .or_insert_with(|| serde_json::json!({}));
    if !auths.is_object() {
        *auths = serde_json::json!({});
    }
    let raw = format!("{}:{}", creds.username, creds.password);
    auths.as_object_mut().expect("an object").insert(
        registry.to_string(),
        serde_json::json!({ "auth": base64::engine::general_purpose::STANDARD.encode(raw) }),
    );
    let text = serde_json::to_vec_pretty(&value).expect("json serializes");
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&text)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_docker_login_writes() {
        let dir = tempfile::tempdir().unwrap();
        let c = Credentials {
            username: "AWS".into(),
            password: "p:a:ss".into(),
        };
        write_docker_login(dir.path(), "127.0.0.1:5000", &c).unwrap();
        write_docker_login(dir.path(), "other:5000", &c).unwrap();
        assert_eq!(
            from_docker_config(dir.path(), "127.0.0.1:5000").unwrap(),
            Some(c.clone())
        );
        assert_eq!(from_docker_config(dir.path(), "nowhere").unwrap(), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Keys written with a scheme and path match too.
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://ghcr.io/v1/":{"username":"u","password":"p"}}}"#,
        )
        .unwrap();
        assert_eq!(
            from_docker_config(dir.path(), "ghcr.io")
                .unwrap()
                .unwrap()
                .username,
            "u"
        );
        assert_eq!(c.basic_header(), "Basic QVdTOnA6YTpzcw==");
        assert_eq!(format!("{c:?}"), "Credentials(AWS, ***)");
    }
}
