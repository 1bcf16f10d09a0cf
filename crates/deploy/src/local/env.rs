//! The variables a service's build and its instances see besides the
//! daemon's own: the service's `env`, then slipway's.

use crate::config::ServiceConfig;

/// `service.env`, then `SLIPWAY_SERVICE`, `SLIPWAY_VERSION` and
/// `SLIPWAY_CLUSTER` (later entries win).
pub(crate) fn service_env(
    service: &ServiceConfig,
    version: &str,
    cluster: &str,
) -> Vec<(String, String)> {
    let mut env = service.env.clone();
    env.push(("SLIPWAY_SERVICE".into(), service.name.clone()));
    env.push(("SLIPWAY_VERSION".into(), version.into()));
    env.push(("SLIPWAY_CLUSTER".into(), cluster.into()));
    env
}
