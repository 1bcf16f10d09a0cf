//! Process instances: `sh -c <command>` in a session of its own, so that it
//! outlives a daemon killed with SIGKILL and its whole process group can
//! be signalled; its output appended to a log file the daemon opens and
//! hands over, so it keeps logging after the daemon is gone.
//!
//! A process this daemon started is watched through its `Child`; one a
//! previous daemon started (adopted) through a pidfd, or by polling
//! `/proc` where pidfds are missing.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::process::{Child, Command};

use super::proc_stat;

/// How to start one process instance.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    pub command: String,
    pub dir: PathBuf,
    /// Added to the daemon's own environment.
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// A running instance process, the leader of its own session and group.
#[derive(Debug)]
pub(crate) struct RunningProcess {
    pub pid: u32,
    /// `/proc/PID/stat` field 22.
    pub start_time: i64,
    watch: Watch,
}

#[derive(Debug)]
enum Watch {
    /// Started here: `wait` gives the exit status.
    Child(Child),
    /// Adopted: readable once the process has exited.
    Pidfd(AsyncFd<OwnedFd>),
    /// Adopted, on a kernel without pidfds.
    Poll,
}

/// How an instance's process ended.
pub(crate) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "exited".into(),
    }
}

pub(crate) fn spawn(spec: &ProcessSpec, port: u16, note: &str) -> std::io::Result<RunningProcess> {
    if let Some(dir) = spec.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)?;
    // A line between runs, so a reader of the log sees where each began.
    let _ = writeln!(
        log,
        "--- slipway: {note}: `{}` on port {port}",
        spec.command
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // The instance must survive the daemon: never killed on drop.
        .kill_on_drop(false);
    // SAFETY: setsid is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot run `sh -c {}` in {}: {e}",
                spec.command,
                spec.dir.display()
            ),
        )
    })?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("the instance process has no pid"))?;
    // Read at once: the start time is the fork's, the same before and
    // after sh execs the command.
    let start_time = proc_stat::read(pid).map_or(0, |s| s.start_time);
    Ok(RunningProcess {
        pid,
        start_time,
        watch: Watch::Child(child),
    })
}

impl RunningProcess {
    /// A process a previous daemon started, if it still runs and is the
    /// one recorded.
    pub fn adopt(pid: u32, start_time: i64) -> Option<RunningProcess> {
        if !proc_stat::is_running(pid, start_time) {
            return None;
        }
        let watch = match pidfd(pid) {
            Some(fd) => {
                // The pid could have been reused between the check and
                // the open: the pidfd is only trusted once the start time
                // matches with it held.
                if !proc_stat::is_running(pid, start_time) {
                    return None;
                }
                Watch::Pidfd(fd)
            }
            None => Watch::Poll,
        };
        Some(RunningProcess {
            pid,
            start_time,
            watch,
        })
    }

    /// Waits until the process has exited; says how. Cancel-safe.
    pub async fn exited(&mut self) -> String {
        if let Watch::Child(child) = &mut self.watch {
            return match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => format!("exited (its status could not be read: {e})"),
            };
        }
        if let Watch::Pidfd(fd) = &self.watch {
            // Readable means exited; it is not our child, so its status is
            // its parent's to read.
            if fd.readable().await.is_ok() {
                return "exited".into();
            }
            self.watch = Watch::Poll;
        }
        loop {
            if !proc_stat::is_running(self.pid, self.start_time) {
                return "exited".into();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// SIGTERM to the process group, SIGKILL after `timeout`; then SIGKILL
    /// to whatever of the group is left once the leader is gone.
    pub async fn stop(&mut self, timeout: Duration) {
        signal_group(self.pid, libc::SIGTERM);
        if tokio::time::timeout(timeout, self.exited()).await.is_err() {
            signal_group(self.pid, libc::SIGKILL);
            self.exited().await;
        }
        signal_group(self.pid, libc::SIGKILL);
    }

    /// After the leader exited on its own: the rest of its group goes too,
    /// so a restart finds its port free.
    pub fn kill_leftovers(&self) {
        signal_group(self.pid, libc::SIGKILL);
    }
}

/// Stops a process a previous daemon started that no service wants any
/// more (it is not supervised: only stopped).
pub(crate) async fn stop_recorded(pid: u32, start_time: i64, timeout: Duration) {
    if let Some(mut p) = RunningProcess::adopt(pid, start_time) {
        p.stop(timeout).await;
    }
}

fn signal_group(pgid: u32, signal: i32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid > 1 {
        // SAFETY: killpg only sends a signal; ESRCH (the group is gone) is
        // the state wanted.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

fn pidfd(pid: u32) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the fd was just returned to us and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the OwnedFd is the pidfd and stays open, unchanged, for as
    // long as the AsyncFd owns it.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
}
