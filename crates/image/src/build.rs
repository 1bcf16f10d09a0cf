//! `docker build` through the Engine API (the classic builder, which every
//! engine has): the context streamed as a tar, the engine's messages turned
//! into events (steps, output, cache hits), and a failure explained with
//! the instruction that failed, its Dockerfile line and its output.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde::Deserialize;

use crate::context::{self, ContextError, ContextSummary};
use crate::docker::{encode_query, Docker, DockerError};
use crate::dockerfile::Dockerfile;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub context: PathBuf,
    /// Default: `Dockerfile` in the context.
    pub dockerfile: Option<PathBuf>,
    /// Names the image gets (`repo:tag`, `registry/repo:tag`).
    pub references: Vec<String>,
    pub build_args: Vec<(String, String)>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub no_cache: bool,
}

/// What a build reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// The context is on its way (sent when the engine has read it all).
    Context(ContextSummary),
    Step {
        n: usize,
        total: usize,
        instruction: String,
        /// Dockerfile line, when the step could be matched to one.
        line: Option<usize>,
    },
    /// A line the engine printed (the step's own output, `---> ...`).
    Output(String),
    /// The current step came from the layer cache.
    Cached(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `sha256:...`
    pub image_id: String,
    pub steps: usize,
    pub cached_steps: usize,
    pub context: ContextSummary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub n: usize,
    pub total: usize,
    pub instruction: String,
    /// `path/to/Dockerfile`
    pub dockerfile: String,
    pub line: Option<usize>,
    /// What the step printed before it failed.
    pub output: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Bad input: a missing context or Dockerfile, a syntax error, an
    /// unknown target. Exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The build ran and failed. Exit code 1.
    #[error("{}", failure_message(.step.as_ref(), .message, .hint.as_deref()))]
    Failed {
        step: Option<FailedStep>,
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Docker(#[from] DockerError),
}

impl BuildError {
    pub fn is_usage(&self) -> bool {
        matches!(self, BuildError::Usage(_))
    }
}

fn failure_message(step: Option<&FailedStep>, message: &str, hint: Option<&str>) -> String {
    let mut out = String::new();
    match step {
        Some(s) => {
            out.push_str(&format!("the build failed at step {}/{}", s.n, s.total));
            if let Some(line) = s.line {
                out.push_str(&format!(", {}:{line}", s.dockerfile));
            }
            out.push_str(&format!(": {}\n", s.instruction));
            for l in &s.output {
                out.push_str(&format!("  | {l}\n"));
            }
            out.push_str(message);
        }
        None => out.push_str(&format!("the build failed: {message}")),
    }
    if let Some(h) = hint {
        out.push_str(&format!("\n{h}"));
    }
    out
}

/// The engine's JSON messages, the fields a build uses.
#[derive(Debug, Deserialize)]
struct Message {
    stream: Option<String>,
    status: Option<String>,
    error: Option<String>,
    aux: Option<Aux>,
}

#[derive(Debug, Deserialize)]
struct Aux {
    #[serde(rename = "ID")]
    id: Option<String>,
}

/// Checks the input, then builds. `on_event` sees progress as it happens.
pub async fn build(
    docker: &Docker,
    options: &BuildOptions,
    mut on_event: impl FnMut(BuildEvent),
) -> Result<Built, BuildError> {
    let ctx_dir = &options.context;
    if !ctx_dir.exists() {
        return Err(BuildError::Usage(format!(
            "context `{}` does not exist",
            ctx_dir.display()
        )));
    }
    if !ctx_dir.is_dir() {
        return Err(BuildError::Usage(format!(
            "context `{}` is not a folder",
            ctx_dir.display()
        )));
    }
    let ctx_dir = std::fs::canonicalize(ctx_dir)
        .map_err(|e| BuildError::Usage(format!("context `{}`: {e}", options.context.display())))?;
    let dockerfile_path = match &options.dockerfile {
        Some(f) => {
            if !f.is_file() {
                return Err(BuildError::Usage(format!(
                    "-f {}: no such file",
                    f.display()
                )));
            }
            std::fs::canonicalize(f)
                .map_err(|e| BuildError::Usage(format!("-f {}: {e}", f.display())))?
        }
        None => {
            let f = ctx_dir.join("Dockerfile");
            if !f.is_file() {
                return Err(BuildError::Usage(format!(
                    "no Dockerfile in `{}` (name one with -f)",
                    options.context.display()
                )));
            }
            f
        }
    };
    let shown_dockerfile = display_path(options.dockerfile.as_deref(), &options.context);
    let text = std::fs::read_to_string(&dockerfile_path)
        .map_err(|e| BuildError::Usage(format!("{shown_dockerfile}: {e}")))?;
    let parsed = Dockerfile::parse(&text);
    if parsed.instructions.is_empty() {
        return Err(BuildError::Usage(format!(
            "{shown_dockerfile}: no instructions (a Dockerfile starts with FROM)"
        )));
    }
    if let Some(t) = &options.target {
        let stages = parsed.stages();
        if !stages.iter().any(|s| s.eq_ignore_ascii_case(t)) {
            return Err(BuildError::Usage(format!(
                "--target `{t}`: {shown_dockerfile} has no stage named so{}",
                if stages.is_empty() {
                    String::from(" (it names no stages: `FROM image AS name`)")
                } else {
                    format!(" (stages: {})", stages.join(", "))
                }
            )));
        }
    }

    let ctx = context::start(&ctx_dir, &dockerfile_path).map_err(|e| match e {
        ContextError::Ignore(e) => BuildError::Usage(format!("{}/{e}", options.context.display())),
        e => BuildError::Usage(format!("reading the context: {e}")),
    })?;
    let query = query(options, &ctx.dockerfile);
    let context::Context {
        stream,
        dockerfile: _,
        done,
    } = ctx;
    let messages = match docker.build(&query, stream).await {
        Ok(m) => m,
        Err(DockerError::Api { status, message }) => {
            return Err(classify_refusal(
                status,
                &message,
                &shown_dockerfile,
                options,
            ))
        }
        Err(e) => return Err(e.into()),
    };
    // The context is fully read once the engine answers.
    let summary = match done.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(BuildError::Usage(format!("reading the context: {e}"))),
        Err(_) => ContextSummary::default(),
    };
    on_event(BuildEvent::Context(summary));

    let mut state = Progress::new(&parsed, shown_dockerfile.clone());
    let mut pending = Vec::<u8>::new();
    let mut image_id: Option<String> = None;
    let mut failure: Option<String> = None;
    futures_util::pin_mut!(messages);
    while let Some(chunk) = messages.next().await {
        let chunk = chunk?;
        pending.extend_from_slice(&chunk);
        while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let Ok(msg) = serde_json::from_slice::<Message>(line) else {
                continue;
            };
            if let Some(text) = msg.stream.as_deref().or(msg.status.as_deref()) {
                state.text(text, &mut on_event);
            }
            if let Some(id) = msg.aux.and_then(|a| a.id) {
                image_id = Some(id);
            }
            if let Some(e) = msg.error {
                failure = Some(e);
            }
        }
    }
    state.flush(&mut on_event);
    if let Some(message) = failure {
        let hint = base_image_hint(&state, &parsed, &message);
        return Err(BuildError::Failed {
            step: state.failed_step(),
            message: message.trim().to_string(),
            hint,
        });
    }
    let image_id = match image_id {
        Some(id) => id,
        // Older engines print only `Successfully built <short id>`.
        None => match &state.built_short_id {
            Some(short) => docker
                .inspect_image(short)
                .await?
                .map(|i| i.id)
                .unwrap_or_else(|| short.clone()),
            None => {
                return Err(BuildError::Failed {
                    step: None,
                    message: "the engine ended the build without naming an image".into(),
                    hint: None,
                })
            }
        },
    };
    Ok(Built {
        image_id,
        steps: state.total,
        cached_steps: state.cached,
        context: summary,
    })
}

fn query(options: &BuildOptions, dockerfile: &str) -> String {
    let mut q = vec![
        "version=1".to_string(),
        "rm=1".into(),
        "forcerm=1".into(),
        format!("dockerfile={}", encode_query(dockerfile)),
    ];
    for r in &options.references {
        q.push(format!("t={}", encode_query(r)));
    }
    if !options.build_args.is_empty() {
        let map: serde_json::Map<String, serde_json::Value> = options
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        q.push(format!(
            "buildargs={}",
            encode_query(&serde_json::Value::Object(map).to_string())
        ));
    }
    if !options.labels.is_empty() {
        let map: serde_json::Map<String, serde_json::Value> = options
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        q.push(format!(
            "labels={}",
            encode_query(&serde_json::Value::Object(map).to_string())
        ));
    }
    if let Some(t) = &options.target {
        q.push(format!("target={}", encode_query(t)));
    }
    if options.no_cache {
        q.push("nocache=1".into());
    }
    q.join("&")
}

/// The engine refused the build before running it (HTTP 4xx/5xx): a
/// Dockerfile it cannot parse, a target it cannot find.
fn classify_refusal(
    status: u16,
    message: &str,
    dockerfile: &str,
    options: &BuildOptions,
) -> BuildError {
    let lower = message.to_ascii_lowercase();
    if let Some(at) = lower.find("parse error line ") {
        let rest = &message[at + "parse error line ".len()..];
        if let Some((line, what)) = rest.split_once(':') {
            if line.trim().parse::<usize>().is_ok() {
                return BuildError::Usage(format!("{dockerfile}:{}: {}", line.trim(), what.trim()));
            }
        }
    }
    if lower.contains("parse error") || lower.contains("unknown instruction") {
        return BuildError::Usage(format!("{dockerfile}: {message}"));
    }
    if lower.contains("failed to reach build target") {
        let t = options.target.as_deref().unwrap_or("");
        return BuildError::Usage(format!("--target `{t}`: {message}"));
    }
    if lower.contains("cannot locate specified dockerfile") {
        return BuildError::Usage(format!("{dockerfile}: {message}"));
    }
    if (400..500).contains(&status) {
        return BuildError::Usage(format!("the engine refused the build: {message}"));
    }
    BuildError::Docker(DockerError::Api {
        status,
        message: message.to_string(),
    })
}

fn base_image_hint(state: &Progress, parsed: &Dockerfile, message: &str) -> Option<String> {
    let step = state.step?;
    let instruction = parsed.step(step)?;
    if instruction.keyword != "FROM" {
        return None;
    }
    let lower = message.to_ascii_lowercase();
    let pull = lower.contains("pull access denied")
        || lower.contains("registry-1.docker.io")
        || lower.contains("no such host")
        || lower.contains("not found")
        || lower.contains("dial tcp");
    pull.then(|| {
        let image = instruction
            .text
            .split_whitespace()
            .skip(1)
            .find(|w| !w.starts_with("--"))
            .unwrap_or("");
        format!("hint: the base image `{image}` is not on this machine and could not be pulled; build it locally first (`docker images` lists what is here)")
    })
}

/// Turns the engine's text into lines and steps.
struct Progress<'a> {
    parsed: &'a Dockerfile,
    dockerfile: String,
    line: String,
    step: Option<usize>,
    total: usize,
    cached: usize,
    step_text: String,
    step_output: Vec<String>,
    built_short_id: Option<String>,
}

impl<'a> Progress<'a> {
    fn new(parsed: &'a Dockerfile, dockerfile: String) -> Self {
        Progress {
            parsed,
            dockerfile,
            line: String::new(),
            step: None,
            total: 0,
            cached: 0,
            step_text: String::new(),
            step_output: Vec::new(),
            built_short_id: None,
        }
    }

    fn text(&mut self, text: &str, on_event: &mut impl FnMut(BuildEvent)) {
        for c in text.chars() {
            if c == '\n' {
                let line = std::mem::take(&mut self.line);
                self.complete(line, on_event);
            } else if c != '\r' {
                self.line.push(c);
            }
        }
    }

    fn flush(&mut self, on_event: &mut impl FnMut(BuildEvent)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.complete(line, on_event);
        }
    }

    fn complete(&mut self, line: String, on_event: &mut impl FnMut(BuildEvent)) {
        if let Some(rest) = line.strip_prefix("Step ") {
            if let Some((counts, instruction)) = rest.split_once(" : ") {
                if let Some((n, total)) = counts.split_once('/') {
                    if let (Ok(n), Ok(total)) = (n.parse(), total.parse()) {
                        self.step = Some(n);
                        self.total = total;
                        self.step_text = instruction.to_string();
                        self.step_output.clear();
                        on_event(BuildEvent::Step {
                            n,
                            total,
                            instruction: instruction.to_string(),
                            line: self.parsed.step(n).map(|i| i.line),
                        });
                        return;
                    }
                }
            }
        }
        let trimmed = line.trim();
        if trimmed == "---> Using cache" {
            self.cached += 1;
            if let Some(n) = self.step {
                on_event(BuildEvent::Cached(n));
            }
        } else if let Some(id) = trimmed.strip_prefix("Successfully built ") {
            self.built_short_id = Some(id.trim().to_string());
        } else if !trimmed.starts_with("---> ")
            && !trimmed.starts_with("Removing intermediate container")
            && trimmed != "--->"
        {
            self.step_output.push(line.clone());
        }
        on_event(BuildEvent::Output(line));
    }

    fn failed_step(&self) -> Option<FailedStep> {
        let n = self.step?;
        Some(FailedStep {
            n,
            total: self.total,
            instruction: self.step_text.clone(),
            dockerfile: self.dockerfile.clone(),
            line: self.parsed.step(n).map(|i| i.line),
            output: self.step_output.clone(),
        })
    }
}

/// The Dockerfile as the user named it, for messages.
fn display_path(dockerfile: Option<&Path>, context: &Path) -> String {
    match dockerfile {
        Some(f) => f.display().to_string(),
        None => context.join("Dockerfile").display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_cache_hits_and_keeps_step_output() {
        let parsed = Dockerfile::parse("FROM scratch\nCOPY a /a\nRUN x\n");
        let mut p = Progress::new(&parsed, "Dockerfile".into());
        let mut events = Vec::new();
        for t in [
            "Step 1/3 : FROM scratch",
            "\n",
            " ---> \n",
            "Step 2/3 : COPY a /a",
            "\n",
            " ---> Using cache\n",
            " ---> 1234\n",
            "Step 3/3 : RUN x",
            "\n",
            " ---> Running in abc\n",
            "out 1\nout",
            " 2\n",
        ] {
            p.text(t, &mut |e| events.push(e));
        }
        assert_eq!(p.cached, 1);
        assert_eq!(p.total, 3);
        let f = p.failed_step().unwrap();
        assert_eq!((f.n, f.line, f.instruction.as_str()), (3, Some(3), "RUN x"));
        assert_eq!(f.output, ["out 1", "out 2"]);
        assert!(events.contains(&BuildEvent::Cached(2)));
        assert!(events.contains(&BuildEvent::Step {
            n: 2,
            total: 3,
            instruction: "COPY a /a".into(),
            line: Some(2)
        }));
    }

    #[test]
    fn refusals_name_the_file_line_or_flag() {
        let o = BuildOptions {
            target: Some("nope".into()),
            ..Default::default()
        };
        let e = classify_refusal(
            400,
            "dockerfile parse error line 2: unknown instruction: FORM",
            "ctx/Dockerfile",
            &o,
        );
        assert_eq!(e.to_string(), "ctx/Dockerfile:2: unknown instruction: FORM");
        let e = classify_refusal(
            500,
            "failed to reach build target nope in Dockerfile",
            "D",
            &o,
        );
        assert!(e.is_usage() && e.to_string().starts_with("--target `nope`"));
    }
}
