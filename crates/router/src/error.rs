//! What can go wrong when the router is driven: every message names what is
//! at fault and reads after "failed to …".

use std::net::SocketAddr;
use std::time::Duration;

/// An error of the router's control side (the data path answers clients
/// with 502/503/504 and counts, it never returns these).
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// A name, weight, address or document that cannot be used.
    #[error("{0}")]
    Invalid(String),

    #[error("unknown service `{service}`{}", known_list(.known))]
    UnknownService { service: String, known: Vec<String> },

    #[error("unknown version `{version}` of service `{service}`{}", known_list(.known))]
    UnknownVersion {
        service: String,
        version: String,
        known: Vec<String>,
    },

    #[error("service `{0}` is already running; stop it first or choose another name")]
    ServiceExists(String),

    #[error(
        "port {port} on {ip} for {what} is already in use: stop what listens there (`ss -ltnp 'sport = :{port}'` shows it) or choose another port",
        port = .addr.port(),
        ip = .addr.ip()
    )]
    PortInUse { what: String, addr: SocketAddr },

    #[error("cannot listen on {addr} for {what}: {source}")]
    Listen {
        what: String,
        addr: SocketAddr,
        source: std::io::Error,
    },

    #[error("the admin server must listen on a loopback address (127.0.0.1 or ::1), not {0}: it can change where traffic goes")]
    AdminNotLoopback(SocketAddr),

    #[error("version `{version}` of service `{service}` still has weight {weight}: set it to 0 or remove it before waiting for it to drain")]
    StillRouted {
        service: String,
        version: String,
        weight: u32,
    },

    #[error("version `{version}` of service `{service}` still had {in_flight} request(s) in flight after {waited:?}")]
    DrainTimeout {
        service: String,
        version: String,
        in_flight: u64,
        waited: Duration,
    },
}

impl RouterError {
    /// A stable name for the kind of error, used in the admin API's JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            RouterError::Invalid(_) => "invalid",
            RouterError::UnknownService { .. } => "unknown_service",
            RouterError::UnknownVersion { .. } => "unknown_version",
            RouterError::ServiceExists(_) => "service_exists",
            RouterError::PortInUse { .. } => "port_in_use",
            RouterError::Listen { .. } => "listen",
            RouterError::AdminNotLoopback(_) => "admin_not_loopback",
            RouterError::StillRouted { .. } => "still_routed",
            RouterError::DrainTimeout { .. } => "drain_timeout",
        }
    }

    pub(crate) fn listen(what: impl Into<String>, addr: SocketAddr, err: std::io::Error) -> Self {
        let what = what.into();
        if err.kind() == std::io::ErrorKind::AddrInUse {
            RouterError::PortInUse { what, addr }
        } else {
            RouterError::Listen {
                what,
                addr,
                source: err,
            }
        }
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (there are none)".to_string()
    } else {
        let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        format!(" (known: {})", names.join(", "))
    }
}
