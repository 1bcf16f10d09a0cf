//! Container images: the spec's tags, builds through the Docker Engine API,
//! pushes over the OCI distribution API, and the local registry slipway runs
//! by default.

pub mod config;
pub mod local;
pub mod tag;
pub mod time;

pub use config::{RegistryConfig, RegistryKind};
pub use local::LocalRegistry;
pub use tag::{image_tags, ImageTags, TagError};
pub use time::UnixTime;
