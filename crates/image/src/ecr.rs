//! Logging in to Amazon ECR: `GetAuthorizationToken` answers, per
//! registry, a base64 `AWS:<password>` good for twelve hours and the
//! registry's endpoint. What docker needs from it is a user name, a
//! password and a host.
//!
//! Credentials and region come from the caller (a workflow step's
//! environment, where `configure-aws-credentials` put them); the endpoint
//! can be overridden for local mocks such as moto's server. Built with the
//! `ecr` feature; without it, `login` says how to get it.

use base64::Engine;

#[derive(Debug, Clone, Default)]
pub struct EcrRequest {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// The ECR API endpoint (`http://127.0.0.1:5100` for a mock).
    pub endpoint: Option<String>,
    /// Registry (account) ids; empty for the caller's own.
    pub registry_ids: Vec<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct EcrLogin {
    /// host, e.g. `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com`
    pub registry: String,
    pub username: String,
    pub password: String,
    /// RFC 3339, when the answer says.
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for EcrLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcrLogin({} as {}, ***)", self.registry, self.username)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    #[error("this slipway was built without ECR support: build it with `--features ecr` (cargo build -p slipway-cli --features ecr)")]
    NotBuilt,
    #[error("ECR GetAuthorizationToken{}: {message}", endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default())]
    Call {
        endpoint: Option<String>,
        message: String,
    },
    #[error("ECR answered an authorization token that is not base64 `user:password`")]
    BadToken,
}

/// `https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com` -> the host.
pub fn endpoint_host(proxy_endpoint: &str) -> String {
    let s = proxy_endpoint
        .strip_prefix("https://")
        .or_else(|| proxy_endpoint.strip_prefix("http://"))
        .unwrap_or(proxy_endpoint);
    s.trim_end_matches('/').to_string()
}

/// `AWS:password` from the base64 token.
pub fn decode_token(token: &str) -> Result<(String, String), EcrError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| EcrError::BadToken)?;
    let text = String::from_utf8(raw).map_err(|_| EcrError::BadToken)?;
    let (u, p) = text.split_once(':').ok_or(EcrError::BadToken)?;
    Ok((u.to_string(), p.to_string()))
}

/// The output names the action gives a registry's login:
/// `docker_username_123456789012_dkr_ecr_us_east_1_amazonaws_com`.
pub fn output_suffix(registry: &str) -> String {
    registry
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(feature = "ecr")]
pub async fn login(req: &EcrRequest) -> Result<Vec<EcrLogin>, EcrError> {
    use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
    let creds = Credentials::new(
        &req.access_key_id,
        &req.secret_access_key,
        req.session_token.clone(),
        None,
        "slipway",
    );
    let mut config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(req.region.clone()))
        .credentials_provider(creds);
    if let Some(e) = &req.endpoint {
        config = config.endpoint_url(e);
    }
    let client = aws_sdk_ecr::Client::from_conf(config.build());
    // One token opens every registry the caller may use, so registry ids
    // only name hosts (asking for them is deprecated).
    let answer = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| EcrError::Call {
            endpoint: req.endpoint.clone(),
            message: describe(&e),
        })?;
    let mut logins = Vec::new();
    if let Some(data) = answer.authorization_data().first() {
        let token = data.authorization_token().ok_or(EcrError::BadToken)?;
        let (username, password) = decode_token(token)?;
        let registry = data
            .proxy_endpoint()
            .map(endpoint_host)
            .ok_or(EcrError::BadToken)?;
        let expires_at = data.expires_at().and_then(|t| {
            t.fmt(aws_sdk_ecr::primitives::DateTimeFormat::DateTime)
                .ok()
        });
        if req.registry_ids.is_empty() {
            logins.push(EcrLogin {
                registry,
                username,
                password,
                expires_at,
            });
        } else {
            for id in &req.registry_ids {
                logins.push(EcrLogin {
                    registry: format!("{id}.dkr.ecr.{}.amazonaws.com", req.region),
                    username: username.clone(),
                    password: password.clone(),
                    expires_at: expires_at.clone(),
                });
            }
        }
    }
    Ok(logins)
}

#[cfg(feature = "ecr")]
fn describe<E: std::error::Error + 'static>(e: &aws_sdk_ecr::error::SdkError<E>) -> String {
    use aws_sdk_ecr::error::DisplayErrorContext;
    DisplayErrorContext(e).to_string()
}

#[cfg(not(feature = "ecr"))]
pub async fn login(_req: &EcrRequest) -> Result<Vec<EcrLogin>, EcrError> {
    Err(EcrError::NotBuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hosts_and_output_names() {
        assert_eq!(
            decode_token("QVdTOnNlY3JldA==").unwrap(),
            ("AWS".to_string(), "secret".to_string())
        );
        assert!(decode_token("bm9jb2xvbg==").is_err());
        assert_eq!(
            endpoint_host("https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"),
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(
            output_suffix("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            "123456789012_dkr_ecr_us_east_1_amazonaws_com"
        );
    }
}
