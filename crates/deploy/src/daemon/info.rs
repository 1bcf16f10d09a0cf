//! Where a cluster's daemon keeps its files, and how commands find it:
//! `.slipway/clusters/<name>/` holds `daemon.json` (pid, admin address,
//! the token that guards changes; mode 0600), `daemon.lock` (held while
//! the daemon runs, so there is never a second one), `daemon.log`, and the
//! instances' checkouts and logs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The folder of a cluster's state.
pub fn cluster_dir(root: &Path, cluster: &str) -> PathBuf {
    root.join(".slipway").join("clusters").join(cluster)
}

/// What a running daemon tells the commands that talk to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub cluster: String,
    /// The admin API: `/metrics`, `/api/v1/...`.
    pub admin: SocketAddr,
    /// Sent as `Authorization: Bearer` with every request that changes
    /// something.
    pub token: String,
    pub started_at: i64,
}

impl DaemonInfo {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("daemon.json")
    }

    /// The daemon's record, when there is one (it may be stale: check the
    /// pid and ask the API).
    pub fn read(dir: &Path) -> Option<DaemonInfo> {
        let text = std::fs::read_to_string(Self::path(dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written whole to a temporary file and renamed, readable by its
    /// owner only (the token moves traffic).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join("daemon.json.tmp");
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, Self::path(dir))
    }

    pub fn remove(dir: &Path) {
        let _ = std::fs::remove_file(Self::path(dir));
    }
}

/// Whether a process with this pid exists.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The daemon's lock: held for the daemon's life (the kernel lets go of it
/// when the process ends, however it ends).
pub struct DaemonLock {
    _file: File,
}

impl DaemonLock {
    /// `Ok(None)` when another process holds it.
    pub fn try_take(dir: &Path) -> std::io::Result<Option<DaemonLock>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join("daemon.lock"))?;
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            Ok(Some(DaemonLock { _file: file }))
        } else {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// A token nobody can guess: 32 random bytes from the kernel, as hex.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    let mut f = File::open("/dev/urandom")?;
    std::io::Read::read_exact(&mut f, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_at_a_time_and_a_private_record() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DaemonLock::try_take(dir.path()).unwrap();
        assert!(lock.is_some());
        // flock locks belong to the open file: a second open is refused.
        assert!(DaemonLock::try_take(dir.path()).unwrap().is_none());
        drop(lock);
        assert!(DaemonLock::try_take(dir.path()).unwrap().is_some());

        let info = DaemonInfo {
            pid: std::process::id(),
            cluster: "prod".into(),
            admin: "127.0.0.1:9901".parse().unwrap(),
            token: new_token().unwrap(),
            started_at: 1,
        };
        info.write(dir.path()).unwrap();
        assert_eq!(DaemonInfo::read(dir.path()), Some(info.clone()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(DaemonInfo::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(info.token.len(), 64);
        assert!(alive(info.pid));
    }
}
