//! Container images: the spec's tags, builds through the Docker Engine API,
//! pushes over the OCI distribution API, and the local registry slipway runs
//! by default.

pub mod tag;
pub mod time;

pub use tag::{image_tags, ImageTags, TagError};
pub use time::UnixTime;
