//! What a caller asks for (services, versions, weights), checked before
//! anything changes.

use std::net::SocketAddr;
use std::time::Duration;

use http::uri::Authority;
use serde::{Deserialize, Serialize};

use crate::error::RouterError;

/// The largest weight of one version. Weights are relative: 95/5 and
/// 19/1 route alike.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// One version of a service: where it listens and how much traffic it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    /// `blue`, `green`, a tag: letters, digits, `.`, `_`, `-` (64 at most).
    pub name: String,
    pub weight: u32,
    /// `host:port` of each instance; requests go round-robin among them.
    pub upstreams: Vec<String>,
}

impl VersionSpec {
    pub fn new(name: &str, weight: u32, upstreams: &[&str]) -> Self {
        VersionSpec {
            name: name.to_string(),
            weight,
            upstreams: upstreams.iter().map(|u| u.to_string()).collect(),
        }
    }
}

/// A service: one listener, its versions and how long to wait for them.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    /// Port 0 picks a free port; [`crate::Router::start_service`] returns
    /// the address it bound.
    pub listen: SocketAddr,
    pub versions: Vec<VersionSpec>,
    /// Opening a connection to an upstream; past it the client gets 504.
    pub connect_timeout: Duration,
    /// From sending the request to the upstream's response headers; past it
    /// the client gets 504.
    pub response_timeout: Duration,
}

impl ServiceSpec {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

    pub fn new(name: &str, listen: SocketAddr, versions: Vec<VersionSpec>) -> Self {
        ServiceSpec {
            name: name.to_string(),
            listen,
            versions,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
        }
    }
}

/// A checked version.
#[derive(Debug, Clone)]
pub(crate) struct CheckedVersion {
    pub name: String,
    pub weight: u32,
    pub upstreams: Vec<Authority>,
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<(), RouterError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RouterError::Invalid(format!(
            "{what} name `{name}` is not valid: use 1 to 64 letters, digits, `.`, `_` or `-`"
        )))
    }
}

pub(crate) fn check_weight(service: &str, version: &str, weight: u32) -> Result<(), RouterError> {
    if weight > MAX_WEIGHT {
        return Err(RouterError::Invalid(format!(
            "weight {weight} of version `{version}` of service `{service}` is over the maximum of {MAX_WEIGHT}"
        )));
    }
    Ok(())
}

fn check_upstream(service: &str, version: &str, upstream: &str) -> Result<Authority, RouterError> {
    let bad = |why: &str| {
        RouterError::Invalid(format!(
            "upstream `{upstream}` of version `{version}` of service `{service}` {why}: write host:port, e.g. 127.0.0.1:8080"
        ))
    };
    let authority: Authority = upstream.parse().map_err(|_| bad("is not an address"))?;
    if authority.as_str().contains('@') {
        return Err(bad("holds credentials"));
    }
    match authority.port_u16() {
        None => Err(bad("has no port")),
        Some(0) => Err(bad("has port 0")),
        Some(_) => Ok(authority),
    }
}

/// Checks a whole set of versions: names, weights, upstreams, duplicates.
pub(crate) fn check_versions(
    service: &str,
    versions: &[VersionSpec],
) -> Result<Vec<CheckedVersion>, RouterError> {
    let mut checked: Vec<CheckedVersion> = Vec::with_capacity(versions.len());
    for v in versions {
        check_name("version", &v.name)?;
        if checked.iter().any(|c| c.name == v.name) {
            return Err(RouterError::Invalid(format!(
                "version `{}` of service `{service}` is given twice",
                v.name
            )));
        }
        check_weight(service, &v.name, v.weight)?;
        if v.upstreams.is_empty() {
            return Err(RouterError::Invalid(format!(
                "version `{}` of service `{service}` has no upstreams: give at least one host:port",
                v.name
            )));
        }
        let upstreams = v
            .upstreams
            .iter()
            .map(|u| check_upstream(service, &v.name, u))
            .collect::<Result<Vec<_>, _>>()?;
        checked.push(CheckedVersion {
            name: v.name.clone(),
            weight: v.weight,
            upstreams,
        });
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(versions: &[VersionSpec]) -> String {
        check_versions("api", versions).unwrap_err().to_string()
    }

    #[test]
    fn bad_versions_are_named_in_the_error() {
        assert_eq!(
            err(&[VersionSpec::new("blue", 1, &["localhost"])]),
            "upstream `localhost` of version `blue` of service `api` has no port: write host:port, e.g. 127.0.0.1:8080"
        );
        assert_eq!(
            err(&[VersionSpec::new("blue", 1, &["a b:80"])]),
            "upstream `a b:80` of version `blue` of service `api` is not an address: write host:port, e.g. 127.0.0.1:8080"
        );
        assert_eq!(
            err(&[VersionSpec::new("blue", 1, &[])]),
            "version `blue` of service `api` has no upstreams: give at least one host:port"
        );
        assert_eq!(
            err(&[
                VersionSpec::new("blue", 1, &["127.0.0.1:1"]),
                VersionSpec::new("blue", 1, &["127.0.0.1:2"])
            ]),
            "version `blue` of service `api` is given twice"
        );
        assert_eq!(
            err(&[VersionSpec::new("blue/x", 1, &["127.0.0.1:1"])]),
            "version name `blue/x` is not valid: use 1 to 64 letters, digits, `.`, `_` or `-`"
        );
        assert_eq!(
            err(&[VersionSpec::new("blue", MAX_WEIGHT + 1, &["127.0.0.1:1"])]),
            "weight 1000001 of version `blue` of service `api` is over the maximum of 1000000"
        );
    }

    #[test]
    fn good_versions_pass() {
        let v = check_versions(
            "api",
            &[
                VersionSpec::new("blue", 95, &["127.0.0.1:9001", "[::1]:9002"]),
                VersionSpec::new("green-v1.2_3", 5, &["svc.local:80"]),
            ],
        )
        .unwrap();
        assert_eq!(v[0].upstreams[1].as_str(), "[::1]:9002");
        assert_eq!(v[1].weight, 5);
    }
}
