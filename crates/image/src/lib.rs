//! Container images: the spec's tags, builds through the Docker Engine API,
//! pushes over the OCI distribution API, and the local registry slipway runs
//! by default.

pub mod auth;
pub mod build;
pub mod compress;
pub mod config;
pub mod context;
pub mod destination;
pub mod distribution;
pub mod docker;
pub mod dockerfile;
pub mod dockerignore;
pub mod ecr;
pub mod local;
pub mod push;
pub mod reference;
pub mod tag;
pub mod time;

pub use build::{build, BuildError, BuildEvent, BuildOptions, Built};
pub use config::{RegistryConfig, RegistryKind};
pub use docker::{Docker, DockerError};
pub use local::LocalRegistry;
pub use push::{push, PushError, PushEvent, PushOptions, Pushed};
pub use reference::Reference;
pub use tag::{image_tags, ImageTags, TagError};
pub use time::UnixTime;

/// `sha256:<hex>` of some bytes: blob and manifest digests.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}
