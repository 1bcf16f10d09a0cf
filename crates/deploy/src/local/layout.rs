//! Where a fleet keeps things under its cluster's state folder
//! (`<root>/.slipway/clusters/<cluster>`): version checkouts, build
//! markers and logs.
//!
//! ```text
//! versions/<version>/            git worktree of the version's commit
//! versions/<version>.done        the checkout is complete
//! builds/<version>/<service>.done  the service's build of it succeeded
//! logs/<service>/<version>.<slot>.log   an instance's output
//! logs/<service>/<version>.build.log    the build's output
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    state_dir: PathBuf,
}

impl Layout {
    pub fn new(state_dir: &Path) -> Layout {
        Layout {
            state_dir: state_dir.to_path_buf(),
        }
    }

    pub fn versions(&self) -> PathBuf {
        self.state_dir.join("versions")
    }

    pub fn checkout(&self, version: &str) -> PathBuf {
        self.versions().join(file_name(version))
    }

    /// Written once the checkout is complete.
    pub fn checkout_done(&self, version: &str) -> PathBuf {
        self.versions().join(format!("{}.done", file_name(version)))
    }

    pub fn build_marker(&self, service: &str, version: &str) -> PathBuf {
        self.state_dir
            .join("builds")
            .join(file_name(version))
            .join(format!("{}.done", file_name(service)))
    }

    pub fn log_dir(&self, service: &str) -> PathBuf {
        self.state_dir.join("logs").join(file_name(service))
    }

    pub fn instance_log(&self, service: &str, version: &str, slot: u32) -> PathBuf {
        self.log_dir(service)
            .join(format!("{}.{slot}.log", file_name(version)))
    }

    pub fn build_log(&self, service: &str, version: &str) -> PathBuf {
        self.log_dir(service)
            .join(format!("{}.build.log", file_name(version)))
    }
}

/// `s` with every character outside `[a-zA-Z0-9_.-]` made `-`.
pub(crate) fn dashed(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A version or service as one file name. Names that had to change (or
/// that start with a dot, like `..`) get a hash of the original, so
/// `feature/x` and `feature-x` never share a checkout.
pub(crate) fn file_name(s: &str) -> String {
    let d = dashed(s);
    if d == s && !s.is_empty() && !s.starts_with('.') {
        return d;
    }
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{d}-{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_their_folder_and_apart() {
        assert_eq!(
            file_name("main-abc1234-20260101000000"),
            "main-abc1234-20260101000000"
        );
        assert_ne!(file_name("feature/x"), file_name("feature-x"));
        assert!(file_name("feature/x").starts_with("feature-x-"));
        assert!(file_name("..").starts_with("..-"));
        assert!(!file_name("").is_empty());
        assert_eq!(dashed("a b/c:d"), "a-b-c-d");
    }
}
