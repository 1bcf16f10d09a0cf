//! The host process of one step: its own process group, output read line by
//! line, and signals to the whole group.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A line longer than this is passed on in pieces, so a program that writes
/// megabytes without a newline cannot exhaust memory.
const MAX_LINE: u64 = 1 << 20;

/// Lines in flight between the readers and the step; when the consumer is
/// slow the readers wait, and so, through the pipe, does the process.
const CHANNEL: usize = 1024;

pub(crate) struct OutputLine {
    pub text: String,
    pub stderr: bool,
}

pub(crate) struct Process {
    pub child: Child,
    pub lines: mpsc::Receiver<OutputLine>,
    pub group: Group,
    readers: [JoinHandle<()>; 2],
}

impl Process {
    /// Stops reading output, for when someone outside the group (a daemon
    /// the script left behind) keeps the pipes open.
    pub fn stop_reading(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop_reading();
    }
}

/// Starts `program args` in `dir` with exactly `env`, as the leader of a new
/// process group, with stdin closed and stdout and stderr piped.
pub(crate) fn spawn(
    program: &Path,
    args: &[String],
    dir: &Path,
    env: &[(String, String)],
) -> std::io::Result<Process> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    // With process_group(0) the group id is the leader's pid.
    let group = Group {
        id: child.id().and_then(|id| i32::try_from(id).ok()),
    };
    let (tx, lines) = mpsc::channel(CHANNEL);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(std::io::Error::other("the process has no output pipes"));
    };
    let readers = [
        tokio::spawn(read_lines(stdout, false, tx.clone())),
        tokio::spawn(read_lines(stderr, true, tx)),
    ];
    Ok(Process {
        child,
        lines,
        group,
        readers,
    })
}

async fn read_lines(stream: impl AsyncRead + Unpin, stderr: bool, tx: mpsc::Sender<OutputLine>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                if tx.send(OutputLine { text, stderr }).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The step's process group. Dropping it while `armed` kills the group, so
/// a step whose future is dropped (its job aborted) leaves nothing running.
pub(crate) struct Group {
    id: Option<i32>,
}

impl Group {
    pub fn signal(&self, signal: i32) {
        if let Some(id) = self.id.filter(|id| *id > 1) {
            // SAFETY: killpg only sends a signal; an error (the group is
            // already gone) is exactly the state we want.
            unsafe {
                libc::killpg(id, signal);
            }
        }
    }

    /// The step ended normally: background processes it started stay, as
    /// on GitHub, where a later step may use a server an earlier one began.
    pub fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}
