//! One step, start to finish: shell, script file, process, output, files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use crate::command::Processor;
use crate::env_file::parse_env_file;
use crate::mask::Masker;
use crate::process::{self, Process};
use crate::shell;

/// What to run for one `run:` step.
#[derive(Clone)]
pub struct StepCommand {
    /// The `run:` text, expressions already substituted.
    pub script: String,
    /// As written in `shell:` / `defaults.run.shell`; `None` is GitHub's
    /// default (bash if present, else sh).
    pub shell: Option<String>,
    pub working_directory: PathBuf,
    /// The complete environment of the process; nothing else is inherited,
    /// except the parent's `PATH` when this has none.
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// Where the script file is written, under one name per kind of
    /// script, so steps running at the same time need different folders
    /// (the engine gives each job its own work folder).
    pub temp_dir: PathBuf,
}

impl std::fmt::Debug for StepCommand {
    // Environment values often hold secrets: show the names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("StepCommand")
            .field("script", &self.script)
            .field("shell", &self.shell)
            .field("working_directory", &self.working_directory)
            .field("env", &names)
            .field("timeout", &self.timeout)
            .field("temp_dir", &self.temp_dir)
            .finish()
    }
}

/// The environment files of one step. `run_step` creates them empty before
/// the process starts, points `GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`,
/// `GITHUB_STEP_SUMMARY` and `GITHUB_STATE` at them, and reads them after
/// the process ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCommands {
    pub output: PathBuf,
    pub env: PathBuf,
    pub path: PathBuf,
    pub summary: PathBuf,
    pub state: PathBuf,
}

impl FileCommands {
    /// Names for step `step_index` inside `dir`, distinct from every other
    /// step's.
    pub fn in_dir(dir: &Path, step_index: usize) -> FileCommands {
        let file = |kind: &str| dir.join(format!("step{step_index}_{kind}"));
        FileCommands {
            output: file("output"),
            env: file("env"),
            path: file("path"),
            summary: file("summary.md"),
            state: file("state"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    Exited(i32),
    /// Killed by this signal, not by slipway.
    Signaled(i32),
    TimedOut,
    Cancelled,
    /// The step never ran: unknown shell, missing working directory,
    /// unwritable script file, ... The text says which.
    FailedToStart(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub reason: ExitReason,
    /// `GITHUB_OUTPUT` and the deprecated `::set-output::`; one entry per
    /// name, the later value winning (the file over the command).
    pub outputs: Vec<(String, String)>,
    /// `GITHUB_ENV`, one entry per name, later wins.
    pub env: Vec<(String, String)>,
    /// `GITHUB_PATH` lines in file order; the caller prepends them to
    /// `PATH`, the last line first, as GitHub does.
    pub path: Vec<String>,
    /// `GITHUB_STATE` and `::save-state::`, one entry per name, later wins.
    pub state: Vec<(String, String)>,
    /// `GITHUB_STEP_SUMMARY` contents (markdown).
    pub summary: String,
    /// Errors, warnings and notices, masked; debug messages are not here.
    pub annotations: Vec<Annotation>,
    pub duration: Duration,
}

impl StepOutcome {
    pub fn success(&self) -> bool {
        self.reason == ExitReason::Exited(0)
    }

    fn failed_to_start(message: String, duration: Duration) -> StepOutcome {
        StepOutcome {
            reason: ExitReason::FailedToStart(message),
            outputs: Vec::new(),
            env: Vec::new(),
            path: Vec::new(),
            state: Vec::new(),
            summary: String::new(),
            annotations: Vec::new(),
            duration,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: AnnotationLevel,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
    Debug,
}

/// What the step printed, already masked, line by line as it streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    Line {
        text: String,
        stderr: bool,
    },
    GroupStart(String),
    GroupEnd,
    /// Includes `Debug` messages, which GitHub shows only in debug mode.
    Annotation(Annotation),
    /// slipway's own warnings about the step, such as deprecated commands.
    Warning(String),
}

/// Receives a step's log as it happens. Called from the task running the
/// step, in output order; a slow sink slows the step's output down rather
/// than buffering without bound.
pub trait LogSink: Send {
    fn event(&mut self, event: LogEvent);
}

/// Collects events, for tests and for callers that want the whole log.
impl LogSink for Vec<LogEvent> {
    fn event(&mut self, event: LogEvent) {
        self.push(event);
    }
}

/// After a timeout or cancel, how long the group has between SIGTERM and
/// SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// After the script exits, how long to wait for output still held by
/// processes it left running, and the most any output can extend that.
const DRAIN_IDLE: Duration = Duration::from_millis(200);
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// Runs one step's script and reports what happened. Never panics on any
/// input: every failure is an `ExitReason`.
pub async fn run_step(
    cmd: StepCommand,
    files: &FileCommands,
    masker: &Masker,
    sink: &mut dyn LogSink,
    cancel: CancellationToken,
) -> StepOutcome {
    let started = Instant::now();
    let Started {
        script_path,
        mut process,
        allow_unsecure,
    } = match prepare(&cmd, files) {
        Ok(ready) => ready,
        Err(message) => return StepOutcome::failed_to_start(message, started.elapsed()),
    };
    let mut commands = Processor::new(allow_unsecure);
    let reason = supervise(&mut process, &cmd, &mut commands, masker, sink, &cancel).await;
    drop(process);
    // The script may hold secrets substituted into it: blank it out.
    let _ = blank(&script_path);

    let mut outcome = collect(reason, commands, files, masker, sink);
    outcome.duration = started.elapsed();
    outcome
}

struct Started {
    script_path: PathBuf,
    process: Process,
    allow_unsecure: bool,
}

/// Everything before the process runs: the files, the environment, the
/// shell, the script file, the spawn.
fn prepare(cmd: &StepCommand, files: &FileCommands) -> Result<Started, String> {
    for file in [
        &files.output,
        &files.env,
        &files.path,
        &files.summary,
        &files.state,
    ] {
        empty_file(file).map_err(|e| format!("cannot create `{}`: {e}", file.display()))?;
    }

    let mut env: Vec<(String, String)> = cmd
        .env
        .iter()
        .filter(|(k, _)| !FILE_VARIABLES.contains(&k.as_str()))
        .cloned()
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        if let Ok(path) = std::env::var("PATH") {
            env.push(("PATH".into(), path));
        }
    }
    for (name, file) in FILE_VARIABLES.iter().zip([
        &files.output,
        &files.env,
        &files.path,
        &files.summary,
        &files.state,
    ]) {
        env.push((name.to_string(), file.to_string_lossy().into_owned()));
    }
    // The last PATH wins in the child's environment, so resolve with it too.
    let path_var = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let shell = shell::resolve(cmd.shell.as_deref(), path_var)?;

    if !cmd.working_directory.is_dir() {
        return Err(format!(
            "working directory `{}` does not exist",
            cmd.working_directory.display()
        ));
    }
    let script_path = write_script(
        &cmd.temp_dir,
        shell.extension,
        &shell.script_contents(&cmd.script),
    )?;
    let (program, args) = shell.command_for(&script_path);
    match process::spawn(&program, &args, &cmd.working_directory, &env) {
        Ok(process) => Ok(Started {
            script_path,
            process,
            // As on GitHub, this re-enables `::set-env` and `::add-path`.
            allow_unsecure: env
                .iter()
                .any(|(k, v)| k == "ACTIONS_ALLOW_UNSECURE_COMMANDS" && v == "true"),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&script_path);
            Err(format!("cannot start `{}`: {e}", program.display()))
        }
    }
}

const FILE_VARIABLES: [&str; 5] = [
    "GITHUB_OUTPUT",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_STATE",
];

fn write_script(dir: &Path, extension: &str, contents: &str) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    // Steps of a job run one at a time in the job's own temp folder, so one
    // name per kind of script serves them all. Reusing the file (blanked
    // after each step) spares the filesystem a new inode per step, which
    // costs more than a short step takes.
    let name = format!("step-script{extension}");
    let path = dir.join(name);
    // Owner-only and executable: the script may hold secrets, and a custom
    // shell of just `{0}` runs the file itself.
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o700)
            .open(&path)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
            open()
        }
        other => other,
    };
    // Written over the blanked text, then cut to length: see `empty_file`.
    file.and_then(|mut f| {
        f.write_all(contents.as_bytes())?;
        f.set_len(contents.len() as u64)
    })
    .map_err(|e| format!("cannot write the script to `{}`: {e}", path.display()))?;
    Ok(path)
}

/// Create the file, or empty it if it holds anything. An empty file is
/// left alone: truncating a file to nothing makes ext4 write out its
/// pending blocks when it is closed, which costs more than a short step.
fn empty_file(path: &Path) -> std::io::Result<()> {
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            open()?
        }
        other => other?,
    };
    if file.metadata()?.len() > 0 {
        file.set_len(0)?;
    }
    Ok(())
}

/// Overwrite a file's bytes with spaces, keeping its length (see
/// `empty_file` for why not truncate): nothing of its text remains.
fn blank(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len() as usize;
    let spaces = [b' '; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(spaces.len());
        file.write_all(&spaces[..n])?;
        left -= n;
    }
    Ok(())
}

/// Streams output through the workflow-command processor until the script
/// has exited and its output is drained, enforcing the timeout and cancel.
async fn supervise(
    process: &mut Process,
    cmd: &StepCommand,
    commands: &mut Processor,
    masker: &Masker,
    sink: &mut dyn LogSink,
    cancel: &CancellationToken,
) -> ExitReason {
    use tokio::time::Instant;
    // A disabled select branch still builds its future, so give the
    // optional instants a value that never comes.
    let never = Instant::now() + Duration::from_secs(60 * 60 * 24 * 365);
    let deadline = cmd.timeout.map(|t| Instant::now() + t);
    let mut stopping: Option<(ExitReason, Instant)> = None;
    let mut killed = false;
    let mut exited: Option<(ExitReason, Instant)> = None;
    let mut drain_until = never;
    let mut output_open = true;

    while output_open || exited.is_none() {
        tokio::select! {
            line = process.lines.recv(), if output_open => match line {
                Some(line) => {
                    commands.line(&line.text, line.stderr, masker, sink);
                    if let (Some((_, at)), None) = (&exited, &stopping) {
                        drain_until = (Instant::now() + DRAIN_IDLE).min(*at + DRAIN_MAX);
                    }
                }
                None => output_open = false,
            },
            status = process.child.wait(), if exited.is_none() => {
                let reason = match status {
                    Ok(status) => exit_reason(status),
                    Err(e) => ExitReason::FailedToStart(format!("cannot wait for the process: {e}")),
                };
                let now = Instant::now();
                exited = Some((reason, now));
                drain_until = match &stopping {
                    // Whatever the group still runs gets the rest of its grace.
                    Some((_, kill_at)) if !killed => *kill_at,
                    _ => now + DRAIN_IDLE,
                };
                if stopping.is_none() {
                    process.group.disarm();
                }
            },
            _ = sleep_until(deadline.unwrap_or(never)), if stopping.is_none() && exited.is_none() => {
                process.group.signal(libc::SIGTERM);
                stopping = Some((ExitReason::TimedOut, Instant::now() + KILL_GRACE));
            },
            _ = cancel.cancelled(), if stopping.is_none() && exited.is_none() => {
                process.group.signal(libc::SIGTERM);
                stopping = Some((ExitReason::Cancelled, Instant::now() + KILL_GRACE));
            },
            _ = sleep_until(stopping.as_ref().map_or(never, |(_, at)| *at)), if stopping.is_some() && !killed && exited.is_none() => {
                process.group.signal(libc::SIGKILL);
                killed = true;
            },
            _ = sleep_until(drain_until), if exited.is_some() => break,
        }
    }

    // Lines already read are still owed to the sink.
    process.stop_reading();
    while let Ok(line) = process.lines.try_recv() {
        commands.line(&line.text, line.stderr, masker, sink);
    }
    match stopping {
        Some((reason, _)) => {
            // Nothing the step started may outlive a timeout or cancel.
            process.group.signal(libc::SIGKILL);
            process.group.disarm();
            reason
        }
        None => exited.map_or(ExitReason::Cancelled, |(reason, _)| reason),
    }
}

fn exit_reason(status: std::process::ExitStatus) -> ExitReason {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitReason::Exited(code),
        (None, Some(signal)) => ExitReason::Signaled(signal),
        (None, None) => ExitReason::Exited(1),
    }
}

/// Reads the environment files and merges them with what the workflow
/// commands collected. A malformed file fails the step, as on GitHub.
fn collect(
    mut reason: ExitReason,
    commands: Processor,
    files: &FileCommands,
    masker: &Masker,
    sink: &mut dyn LogSink,
) -> StepOutcome {
    let mut annotations = commands.annotations;
    let mut failed = commands.failed;
    let mut read_pairs = |kind: &str, file: &Path| -> Vec<(String, String)> {
        match parse_env_file(&read(file)) {
            Ok(pairs) => pairs,
            Err(e) => {
                let annotation = Annotation {
                    level: AnnotationLevel::Error,
                    message: masker.mask(&format!(
                        "unable to process file command `{kind}` successfully: {e} of `{}`",
                        file.display()
                    )),
                    file: Some(file.to_string_lossy().into_owned()),
                    line: u32::try_from(e.line()).ok(),
                    column: None,
                    title: None,
                };
                sink.event(LogEvent::Annotation(annotation.clone()));
                annotations.push(annotation);
                failed = true;
                Vec::new()
            }
        }
    };
    let file_outputs = read_pairs("output", &files.output);
    let file_env = read_pairs("env", &files.env);
    let file_state = read_pairs("state", &files.state);

    let mut path = commands.path;
    path.extend(
        read(&files.path)
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_string),
    );
    let summary = read_summary(&files.summary, masker, sink, &mut annotations);
    if failed && reason == ExitReason::Exited(0) {
        reason = ExitReason::Exited(1);
    }
    StepOutcome {
        reason,
        outputs: later_wins(commands.outputs.into_iter().chain(file_outputs)),
        env: later_wins(commands.env.into_iter().chain(file_env)),
        path,
        state: later_wins(commands.state.into_iter().chain(file_state)),
        summary,
        annotations,
        duration: Duration::ZERO,
    }
}

/// GitHub's limit on one step's summary.
const SUMMARY_LIMIT: usize = 128 * 1024;

/// The step summary, masked line by line as GitHub does before uploading
/// it. Too large a summary is dropped with an error that does not fail the
/// step, as on GitHub.
fn read_summary(
    file: &Path,
    masker: &Masker,
    sink: &mut dyn LogSink,
    annotations: &mut Vec<Annotation>,
) -> String {
    let text = read(file);
    if text.len() > SUMMARY_LIMIT {
        let annotation = Annotation {
            level: AnnotationLevel::Error,
            message: format!(
                "$GITHUB_STEP_SUMMARY supports content up to a size of {}k, got {}k",
                SUMMARY_LIMIT / 1024,
                text.len() / 1024
            ),
            file: None,
            line: None,
            column: None,
            title: None,
        };
        sink.event(LogEvent::Annotation(annotation.clone()));
        annotations.push(annotation);
        return String::new();
    }
    text.split_inclusive('\n')
        .map(|line| masker.mask(line))
        .collect()
}

/// A file the script may have deleted or filled with any bytes.
fn read(file: &Path) -> String {
    std::fs::read(file)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// One entry per name, in order of first appearance, with the last value.
fn later_wins(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => merged.push((name, value)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_wins_keeps_first_position() {
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            later_wins([p("a", "1"), p("b", "2"), p("a", "3")]),
            [p("a", "3"), p("b", "2")]
        );
    }

    #[test]
    fn file_names_are_distinct_per_step() {
        let a = FileCommands::in_dir(Path::new("/t"), 0);
        let b = FileCommands::in_dir(Path::new("/t"), 1);
        let all = [&a.output, &a.env, &a.path, &a.summary, &a.state, &b.output];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(a.output, Path::new("/t/step0_output"));
    }

    #[test]
    fn command_debug_hides_env_values() {
        let cmd = StepCommand {
            script: "true".into(),
            shell: None,
            working_directory: ".".into(),
            env: vec![("TOKEN".into(), "s3cret".into())],
            timeout: None,
            temp_dir: "/tmp".into(),
        };
        let text = format!("{cmd:?}");
        assert!(text.contains("TOKEN") && !text.contains("s3cret"));
    }
}
