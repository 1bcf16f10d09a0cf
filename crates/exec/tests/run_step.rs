//! `run_step` with real processes.

use std::path::Path;
use std::time::{Duration, Instant};

use slipway_exec::{
    run_step, Annotation, AnnotationLevel, ExitReason, FileCommands, LogEvent, LogSink, Masker,
    StepCommand, StepOutcome,
};
use tokio_util::sync::CancellationToken;

struct Step {
    dir: tempfile::TempDir,
    cmd: StepCommand,
    masker: Masker,
}

/// A step in a fresh directory with only `PATH` in its environment.
fn step(script: &str) -> Step {
    let dir = tempfile::tempdir().unwrap();
    let cmd = StepCommand {
        script: script.to_string(),
        shell: None,
        working_directory: dir.path().to_path_buf(),
        env: vec![("PATH".into(), std::env::var("PATH").unwrap())],
        timeout: None,
        temp_dir: dir.path().join("tmp"),
    };
    Step {
        dir,
        cmd,
        masker: Masker::new(),
    }
}

impl Step {
    fn shell(mut self, shell: &str) -> Step {
        self.cmd.shell = Some(shell.to_string());
        self
    }

    fn files(&self) -> FileCommands {
        FileCommands::in_dir(&self.dir.path().join("files"), 0)
    }

    async fn run(&self) -> (StepOutcome, Vec<LogEvent>) {
        self.run_with(CancellationToken::new()).await
    }

    async fn run_with(&self, cancel: CancellationToken) -> (StepOutcome, Vec<LogEvent>) {
        let mut events = Vec::new();
        let outcome = run_step(
            self.cmd.clone(),
            &self.files(),
            &self.masker,
            &mut events,
            cancel,
        )
        .await;
        (outcome, events)
    }
}

/// The printed lines, stdout and stderr alike.
fn lines(events: &[LogEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Line { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Whether a process whose command line contains `marker` is alive.
fn alive(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .unwrap()
        .status
        .success()
}

/// Whether such a process is still alive after a moment for killed
/// processes to disappear.
fn survives(marker: &str) -> bool {
    for _ in 0..40 {
        if !alive(marker) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[tokio::test]
async fn exit_codes() {
    let (outcome, _) = step("true").run().await;
    assert!(outcome.success());
    assert_eq!(outcome.reason, ExitReason::Exited(0));

    let (outcome, _) = step("exit 3").run().await;
    assert_eq!(outcome.reason, ExitReason::Exited(3));
    assert!(!outcome.success());

    let (outcome, _) = step("kill -9 $$").run().await;
    assert_eq!(outcome.reason, ExitReason::Signaled(9));
}

#[tokio::test]
async fn default_shell_is_bash_with_errexit_only() {
    let (outcome, events) = step("echo \"$BASH_VERSION\" | cut -c1\nfalse\necho after")
        .run()
        .await;
    assert_eq!(outcome.reason, ExitReason::Exited(1));
    assert_eq!(lines(&events).len(), 1);
    assert_ne!(lines(&events)[0], "");

    // As on GitHub, pipefail comes only with an explicit `shell: bash`.
    let (outcome, events) = step("false | true\necho after").run().await;
    assert!(outcome.success());
    assert_eq!(lines(&events), ["after"]);
}

#[tokio::test]
async fn explicit_bash_adds_pipefail() {
    let (outcome, events) = step("false | true\necho after").shell("bash").run().await;
    assert_eq!(outcome.reason, ExitReason::Exited(1));
    assert!(lines(&events).is_empty());

    let (outcome, events) = step("echo \"$0\"\nshopt -qo pipefail && echo pipefail")
        .shell("bash")
        .run()
        .await;
    assert!(outcome.success());
    assert!(lines(&events)[0].ends_with(".sh"));
    assert_eq!(lines(&events)[1], "pipefail");
}

#[tokio::test]
async fn sh_has_errexit_but_not_bash() {
    let (outcome, events) = step("echo \"${BASH_VERSION:-no bash}\"\nfalse\necho after")
        .shell("sh")
        .run()
        .await;
    assert_eq!(outcome.reason, ExitReason::Exited(1));
    assert_eq!(lines(&events), ["no bash"]);
}

#[tokio::test]
async fn python() {
    let (outcome, events) =
        step("import sys\nprint('py', sys.version_info[0])\nprint(__file__[-3:])\nsys.exit(4)")
            .shell("python")
            .run()
            .await;
    assert_eq!(outcome.reason, ExitReason::Exited(4));
    assert_eq!(lines(&events), ["py 3", ".py"]);
}

#[tokio::test]
async fn custom_shells_run_as_written() {
    // `bash {0}` has no -e: the script goes on after a failure.
    let (outcome, events) = step("false\necho after").shell("bash {0}").run().await;
    assert!(outcome.success());
    assert_eq!(lines(&events), ["after"]);

    let (outcome, events) = step("print \"perl $ARGV[0]\\n\";")
        .shell("perl {0} arg")
        .run()
        .await;
    assert!(outcome.success());
    assert_eq!(lines(&events), ["perl arg"]);
}

#[tokio::test]
async fn shells_that_cannot_start() {
    let (outcome, _) = step("x").shell("perl -w").run().await;
    assert_eq!(
        outcome.reason,
        ExitReason::FailedToStart("custom shell `perl -w` must contain {0}".into())
    );
    let (outcome, _) = step("dir").shell("cmd").run().await;
    assert!(matches!(outcome.reason, ExitReason::FailedToStart(m) if m.contains("Windows")));
    let (outcome, _) = step("x").shell("no-such-shell-here {0}").run().await;
    assert!(matches!(outcome.reason, ExitReason::FailedToStart(m) if m.contains("not found")));
}

#[tokio::test]
async fn working_directory() {
    let mut s = step("pwd");
    let sub = s.dir.path().join("sub dir");
    std::fs::create_dir(&sub).unwrap();
    s.cmd.working_directory = sub.clone();
    let (outcome, events) = s.run().await;
    assert!(outcome.success());
    assert_eq!(
        Path::new(lines(&events)[0]).canonicalize().unwrap(),
        sub.canonicalize().unwrap()
    );

    s.cmd.working_directory = s.dir.path().join("missing");
    let (outcome, _) = s.run().await;
    assert!(matches!(outcome.reason, ExitReason::FailedToStart(m) if m.contains("does not exist")));
}

#[tokio::test]
async fn environment_is_exactly_what_is_given() {
    let mut s = step("echo \"$FOO\" \"${HOME-unset}\"\nwc -l </dev/null");
    s.cmd.env = vec![("FOO".into(), "bar baz".into())];
    // No PATH given: the parent's is used, so `wc` is found.
    let (outcome, events) = s.run().await;
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(lines(&events), ["bar baz unset", "0"]);
}

#[tokio::test]
async fn stdin_is_closed_and_stderr_is_flagged() {
    let (outcome, events) = step("cat\necho out\necho err >&2\nprintf 'no newline'")
        .run()
        .await;
    assert!(outcome.success());
    let mut stderr: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Line { text, stderr } => Some((text.as_str(), *stderr)),
            _ => None,
        })
        .collect();
    stderr.sort();
    assert_eq!(
        stderr,
        [("err", true), ("no newline", false), ("out", false)]
    );
}

#[tokio::test]
async fn environment_files() {
    let script = r##"
echo "greeting=hello" >> "$GITHUB_OUTPUT"
{ echo "json<<EOF"; echo "{"; echo '  "a": 1'; echo "}"; echo "EOF"; } >> "$GITHUB_OUTPUT"
echo "MODE=fast" >> "$GITHUB_ENV"
echo "MODE=slow" >> "$GITHUB_ENV"
echo "/opt/one/bin" >> "$GITHUB_PATH"
echo "/opt/two/bin" >> "$GITHUB_PATH"
echo "# Done" >> "$GITHUB_STEP_SUMMARY"
echo "pid=42" >> "$GITHUB_STATE"
"##;
    let (outcome, events) = step(script).run().await;
    assert!(outcome.success(), "{outcome:?} {events:?}");
    assert_eq!(
        outcome.outputs,
        pairs(&[("greeting", "hello"), ("json", "{\n  \"a\": 1\n}")])
    );
    assert_eq!(outcome.env, pairs(&[("MODE", "slow")]));
    assert_eq!(outcome.path, ["/opt/one/bin", "/opt/two/bin"]);
    assert_eq!(outcome.summary, "# Done\n");
    assert_eq!(outcome.state, pairs(&[("pid", "42")]));
}

#[tokio::test]
async fn environment_files_start_empty_and_override_the_callers_names() {
    let mut s = step("echo \"$GITHUB_OUTPUT\"\ncat \"$GITHUB_OUTPUT\"");
    std::fs::create_dir_all(s.dir.path().join("files")).unwrap();
    std::fs::write(s.files().output, "stale=1\n").unwrap();
    s.cmd
        .env
        .push(("GITHUB_OUTPUT".into(), "/elsewhere".into()));
    let (outcome, events) = s.run().await;
    assert!(outcome.success());
    assert_eq!(lines(&events), [s.files().output.to_str().unwrap()]);
    assert!(outcome.outputs.is_empty());
}

#[tokio::test]
async fn the_summary_is_masked_and_limited() {
    let s = step("echo \"token supersecret\" >> \"$GITHUB_STEP_SUMMARY\"\nprintf 'no newline' >> \"$GITHUB_STEP_SUMMARY\"");
    s.masker.add("supersecret");
    let (outcome, _) = s.run().await;
    assert_eq!(outcome.summary, "token ***\nno newline");

    let (outcome, _) = step("head -c 200000 /dev/zero | tr '\\0' x >> \"$GITHUB_STEP_SUMMARY\"")
        .run()
        .await;
    assert!(
        outcome.success(),
        "too large a summary does not fail the step"
    );
    assert_eq!(outcome.summary, "");
    assert!(outcome.annotations[0].message.contains("128k"));
}

#[tokio::test]
async fn environment_files_are_read_after_a_failure() {
    let (outcome, _) = step("echo \"x=1\" >> \"$GITHUB_OUTPUT\"\nexit 5")
        .run()
        .await;
    assert_eq!(outcome.reason, ExitReason::Exited(5));
    assert_eq!(outcome.outputs, pairs(&[("x", "1")]));
}

#[tokio::test]
async fn a_malformed_environment_file_fails_the_step() {
    let s = step("echo ok=1 >> \"$GITHUB_ENV\"\necho 'not an entry' >> \"$GITHUB_ENV\"");
    let (outcome, events) = s.run().await;
    assert_eq!(outcome.reason, ExitReason::Exited(1));
    let error = &outcome.annotations[0];
    assert_eq!(error.level, AnnotationLevel::Error);
    assert_eq!(error.line, Some(2));
    assert_eq!(error.file.as_deref(), s.files().env.to_str());
    assert!(error.message.contains("`env`"), "{}", error.message);
    assert!(events.contains(&LogEvent::Annotation(error.clone())));

    let (outcome, _) = step("echo 'v<<EOF' >> \"$GITHUB_OUTPUT\"\necho x >> \"$GITHUB_OUTPUT\"")
        .run()
        .await;
    assert_eq!(outcome.reason, ExitReason::Exited(1));
    assert!(outcome.annotations[0].message.contains("EOF"));
}

#[tokio::test]
async fn set_output_is_honoured_with_one_warning_and_the_file_wins() {
    let script = "echo '::set-output name=a::1'\necho '::set-output name=b::2'\necho a=3 >> \"$GITHUB_OUTPUT\"";
    let (outcome, events) = step(script).run().await;
    assert!(outcome.success());
    assert_eq!(outcome.outputs, pairs(&[("a", "3"), ("b", "2")]));
    assert!(lines(&events).is_empty());
    let warnings = events
        .iter()
        .filter(|e| matches!(e, LogEvent::Warning(w) if w.contains("set-output")))
        .count();
    assert_eq!(warnings, 1);
}

#[tokio::test]
async fn secrets_are_masked() {
    let s = step("echo \"token: supersecret\"\necho '::add-mask::l8r-value'\necho \"then l8r-value and supersecret\" >&2\necho '::error title=supersecret::bad supersecret'");
    s.masker.add("supersecret");
    let (outcome, events) = s.run().await;
    assert!(outcome.success());
    assert_eq!(lines(&events), ["token: ***", "then *** and ***"]);
    assert_eq!(outcome.annotations[0].message, "bad ***");
    assert_eq!(outcome.annotations[0].title.as_deref(), Some("***"));
    // The run's masker learned the new secret for later steps.
    assert_eq!(s.masker.mask("l8r-value"), "***");
}

#[tokio::test]
async fn commands_work_on_stderr_and_in_the_old_syntax() {
    let (outcome, events) = step("echo '::error::on stderr' >&2\necho 'x ##[warning]old'")
        .run()
        .await;
    assert!(outcome.success());
    assert!(lines(&events).is_empty());
    // Two pipes: their relative order is not defined.
    let mut found: Vec<_> = outcome
        .annotations
        .iter()
        .map(|a| (a.message.as_str(), format!("{:?}", a.level)))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("old", "Warning".to_string()),
            ("on stderr", "Error".into())
        ]
    );
}

#[tokio::test]
async fn groups_and_annotations_in_order() {
    let script = "echo '::group::Build'\necho inside\necho '::warning file=a.rs,line=3,col=2::careful'\necho '::endgroup::'\necho '::debug::details'";
    let (outcome, events) = step(script).run().await;
    assert!(outcome.success());
    let warning = Annotation {
        level: AnnotationLevel::Warning,
        message: "careful".into(),
        file: Some("a.rs".into()),
        line: Some(3),
        column: Some(2),
        title: None,
    };
    assert_eq!(
        events,
        [
            LogEvent::GroupStart("Build".into()),
            LogEvent::Line {
                text: "inside".into(),
                stderr: false
            },
            LogEvent::Annotation(warning.clone()),
            LogEvent::GroupEnd,
            LogEvent::Annotation(Annotation {
                level: AnnotationLevel::Debug,
                message: "details".into(),
                file: None,
                line: None,
                column: None,
                title: None,
            }),
        ]
    );
    assert_eq!(outcome.annotations, [warning]);
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let mut s = step("sleep 1000.4242 &\nsleep 1000.4243");
    s.cmd.timeout = Some(Duration::from_millis(300));
    let (outcome, _) = s.run().await;
    assert_eq!(outcome.reason, ExitReason::TimedOut);
    assert!(!survives("sleep 1000.424"));
}

#[tokio::test]
async fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
    let mut s = step("trap '' TERM\nsleep 1000.6161 &\nsleep 1000.6162");
    s.cmd.timeout = Some(Duration::from_millis(200));
    let (outcome, _) = s.run().await;
    assert_eq!(outcome.reason, ExitReason::TimedOut);
    assert!(outcome.duration >= Duration::from_secs(2));
    assert!(!survives("sleep 1000.616"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_the_whole_group() {
    let s = step("echo started\nsleep 1000.5151 &\nsleep 1000.5152");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let (outcome, events) = s.run_with(cancel).await;
    assert_eq!(outcome.reason, ExitReason::Cancelled);
    assert_eq!(lines(&events), ["started"]);
    assert!(!survives("sleep 1000.515"));
}

#[tokio::test]
async fn dropping_the_step_kills_the_group() {
    let s = step("sleep 1000.7171 &\nsleep 1000.7172");
    let run = s.run();
    assert!(tokio::time::timeout(Duration::from_millis(300), run)
        .await
        .is_err());
    assert!(!survives("sleep 1000.717"));
}

#[tokio::test]
async fn background_processes_outlive_a_successful_step() {
    // It keeps the output pipes open; the step must still end.
    let (outcome, _) = step("sleep 2.8383 &\necho done").run().await;
    assert!(outcome.success());
    assert!(outcome.duration < Duration::from_secs(2));
    assert!(alive("sleep 2.8383"));
}

/// Records when each line arrived.
struct Timed(Vec<(String, Instant)>);

impl LogSink for Timed {
    fn event(&mut self, event: LogEvent) {
        if let LogEvent::Line { text, .. } = event {
            self.0.push((text, Instant::now()));
        }
    }
}

#[tokio::test]
async fn output_streams_while_the_step_runs() {
    let s = step("echo first\nsleep 1\necho second");
    let mut sink = Timed(Vec::new());
    let outcome = run_step(
        s.cmd.clone(),
        &s.files(),
        &s.masker,
        &mut sink,
        CancellationToken::new(),
    )
    .await;
    let ended = Instant::now();
    assert!(outcome.success());
    let [(first, first_at), (second, second_at)] = &sink.0[..] else {
        panic!("{:?}", sink.0);
    };
    assert_eq!((first.as_str(), second.as_str()), ("first", "second"));
    // "first" arrived before the sleep, not with the rest at the end.
    assert!(*second_at - *first_at >= Duration::from_millis(500));
    assert!(*first_at + Duration::from_millis(500) <= ended);
}

/// The script may hold substituted secrets: nothing of it outlives the
/// step. (The file itself is kept, blanked, for the job's next step: a new
/// file per step costs more than a short step takes.)
#[tokio::test]
async fn the_script_is_emptied_afterwards() {
    let s = step("echo \"$0\"  # s3cr3t");
    let (_, events) = s.run().await;
    let script = lines(&events)[0].to_string();
    assert!(script.starts_with(s.cmd.temp_dir.to_str().unwrap()));
    let left = std::fs::read_to_string(&script).unwrap();
    assert!(
        left.bytes().all(|b| b == b' '),
        "the script still holds {left:?}"
    );
}
