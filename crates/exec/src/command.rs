//! Workflow commands (`::name key=value,key=value::message`) in a step's
//! output, and what each one does.

use crate::mask::Masker;
use crate::step::{Annotation, AnnotationLevel, LogEvent, LogSink};

/// One parsed workflow command, properties and data already unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkflowCommand<'a> {
    pub name: &'a str,
    pub properties: Vec<(&'a str, String)>,
    pub data: String,
}

impl WorkflowCommand<'_> {
    fn property(&self, key: &str) -> Option<&str> {
        // The last of repeated keys wins, as in the runner's dictionary.
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a line as the runner does: leading whitespace allowed, the
/// command ends at the first `::` after the opening one, properties are
/// comma-separated `key=value` pairs (pairs with an empty side are dropped).
pub(crate) fn parse(line: &str) -> Option<WorkflowCommand<'_>> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    if name.is_empty() {
        return None;
    }
    let properties = properties
        .split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (!key.is_empty() && !value.is_empty()).then(|| (key, unescape(value, true)))
        })
        .collect();
    Some(WorkflowCommand {
        name,
        properties,
        data: unescape(data, false),
    })
}

/// Reverses GitHub's escaping: `%25 %0D %0A` everywhere, and `%3A %2C` in
/// property values. One pass, so `%250A` stays the literal text `%0A`.
fn unescape(text: &str, property: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let decoded = match tail.get(1..3) {
            Some("25") => Some('%'),
            Some("0D") => Some('\r'),
            Some("0A") => Some('\n'),
            Some("3A") if property => Some(':'),
            Some("2C") if property => Some(','),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[3..];
            }
            None => {
                out.push('%');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The workflow-command state of one step: what the commands collected, and
/// whether `::stop-commands::` is in force.
#[derive(Debug, Default)]
pub(crate) struct Processor {
    stop_token: Option<String>,
    /// `ACTIONS_ALLOW_UNSECURE_COMMANDS=true` re-enables `set-env` and
    /// `add-path`, as on GitHub.
    allow_unsecure: bool,
    warned: Vec<&'static str>,
    pub outputs: Vec<(String, String)>,
    pub state: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub path: Vec<String>,
    pub annotations: Vec<Annotation>,
    /// A command could not be processed; GitHub fails the step for that.
    pub failed: bool,
}

impl Processor {
    pub fn new(allow_unsecure: bool) -> Processor {
        Processor {
            allow_unsecure,
            ..Processor::default()
        }
    }

    /// Handles one output line: runs it if it is a command, otherwise sends
    /// it on, masked.
    pub fn line(&mut self, line: &str, stderr: bool, masker: &Masker, sink: &mut dyn LogSink) {
        let print = |sink: &mut dyn LogSink| {
            sink.event(LogEvent::Line {
                text: masker.mask(line),
                stderr,
            })
        };
        let Some(command) = parse(line) else {
            return print(sink);
        };
        if let Some(token) = &self.stop_token {
            if command.name == token {
                self.stop_token = None;
            } else {
                print(sink);
            }
            return;
        }
        match command.name.to_ascii_lowercase().as_str() {
            "add-mask" => {
                if command.data.trim().is_empty() {
                    self.warn(sink, masker, "can't add a secret mask for an empty string");
                } else {
                    masker.add(command.data.trim());
                }
            }
            "group" => sink.event(LogEvent::GroupStart(masker.mask(&command.data))),
            "endgroup" => sink.event(LogEvent::GroupEnd),
            "error" => self.annotate(AnnotationLevel::Error, &command, masker, sink),
            "warning" => self.annotate(AnnotationLevel::Warning, &command, masker, sink),
            "notice" => self.annotate(AnnotationLevel::Notice, &command, masker, sink),
            "debug" => self.annotate(AnnotationLevel::Debug, &command, masker, sink),
            "set-output" => {
                self.warn_once(
                    sink,
                    "set-output",
                    "::set-output is deprecated; write to $GITHUB_OUTPUT",
                );
                match command.property("name") {
                    Some(name) => self.outputs.push((name.to_string(), command.data)),
                    None => self.fail(line, "required property `name` is missing", masker, sink),
                }
            }
            "save-state" => {
                self.warn_once(
                    sink,
                    "save-state",
                    "::save-state is deprecated; write to $GITHUB_STATE",
                );
                match command.property("name") {
                    Some(name) => self.state.push((name.to_string(), command.data)),
                    None => self.fail(line, "required property `name` is missing", masker, sink),
                }
            }
            "set-env" if self.allow_unsecure => match command.property("name") {
                Some(name) => self.env.push((name.to_string(), command.data)),
                None => self.fail(line, "required property `name` is missing", masker, sink),
            },
            "set-env" => self.warn(
                sink,
                masker,
                "::set-env is disabled; write to $GITHUB_ENV (or set ACTIONS_ALLOW_UNSECURE_COMMANDS=true)",
            ),
            "add-path" if self.allow_unsecure => self.path.push(command.data),
            "add-path" => self.warn(
                sink,
                masker,
                "::add-path is disabled; write to $GITHUB_PATH (or set ACTIONS_ALLOW_UNSECURE_COMMANDS=true)",
            ),
            "stop-commands" => {
                if command.data.is_empty() {
                    self.fail(line, "the stop token is empty", masker, sink);
                } else {
                    self.stop_token = Some(command.data);
                }
            }
            // Echoing commands back is a display preference; nothing to do.
            "echo" => {}
            "add-matcher" | "remove-matcher" => self.warn_once(
                sink,
                "matcher",
                "problem matchers are not supported; ::add-matcher and ::remove-matcher are ignored",
            ),
            _ => print(sink),
        }
    }

    fn annotate(
        &mut self,
        level: AnnotationLevel,
        command: &WorkflowCommand<'_>,
        masker: &Masker,
        sink: &mut dyn LogSink,
    ) {
        let number = |key: &str| command.property(key).and_then(|v| v.trim().parse().ok());
        let annotation = Annotation {
            level,
            message: masker.mask(&command.data),
            file: command.property("file").map(|f| masker.mask(f)),
            line: number("line"),
            column: number("col").or_else(|| number("column")),
            title: command.property("title").map(|t| masker.mask(t)),
        };
        // Debug messages are not annotations on GitHub: they go to the log
        // only, where the sink decides whether debug output is shown.
        if level != AnnotationLevel::Debug {
            self.annotations.push(annotation.clone());
        }
        sink.event(LogEvent::Annotation(annotation));
    }

    fn fail(&mut self, line: &str, why: &str, masker: &Masker, sink: &mut dyn LogSink) {
        self.failed = true;
        let annotation = Annotation {
            level: AnnotationLevel::Error,
            message: format!(
                "unable to process command `{}`: {why}",
                masker.mask(line.trim())
            ),
            file: None,
            line: None,
            column: None,
            title: None,
        };
        self.annotations.push(annotation.clone());
        sink.event(LogEvent::Annotation(annotation));
    }

    fn warn(&self, sink: &mut dyn LogSink, masker: &Masker, message: &str) {
        sink.event(LogEvent::Warning(masker.mask(message)));
    }

    fn warn_once(&mut self, sink: &mut dyn LogSink, key: &'static str, message: &str) {
        if !self.warned.contains(&key) {
            self.warned.push(key);
            sink.event(LogEvent::Warning(message.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Processor, Vec<LogEvent>, Masker) {
        run_with(Processor::new(false), lines)
    }

    fn run_with(mut p: Processor, lines: &[&str]) -> (Processor, Vec<LogEvent>, Masker) {
        let masker = Masker::new();
        let mut events = Vec::new();
        for line in lines {
            p.line(line, false, &masker, &mut events);
        }
        (p, events, masker)
    }

    fn line(text: &str) -> LogEvent {
        LogEvent::Line {
            text: text.into(),
            stderr: false,
        }
    }

    fn annotation(level: AnnotationLevel, message: &str) -> Annotation {
        Annotation {
            level,
            message: message.into(),
            file: None,
            line: None,
            column: None,
            title: None,
        }
    }

    #[test]
    fn parses_name_properties_and_data() {
        let c = parse("::error file=app.js,line=10,col=15::Something failed").unwrap();
        assert_eq!(c.name, "error");
        assert_eq!(
            c.properties,
            [
                ("file", "app.js".to_string()),
                ("line", "10".into()),
                ("col", "15".into())
            ]
        );
        assert_eq!(c.data, "Something failed");
        let c = parse("  ::endgroup::").unwrap();
        assert_eq!((c.name, c.data.as_str()), ("endgroup", ""));
    }

    #[test]
    fn not_commands() {
        for text in [
            "",
            "plain",
            ":: x",
            "::::data",
            "::warning no end",
            "x ::error::y",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn data_ends_at_the_first_separator_only() {
        let c = parse("::notice title=a::b::c").unwrap();
        assert_eq!(c.data, "b::c");
    }

    #[test]
    fn empty_property_sides_are_dropped() {
        let c = parse("::set-output name=,=x,,flag,k==v::d").unwrap();
        assert_eq!(c.properties, [("k", "=v".to_string())]);
    }

    #[test]
    fn unescaping() {
        let c = parse("::error title=a%3Ab%2Cc%25%0A::100%25%0Aline%0D%3A%2C%250A%").unwrap();
        assert_eq!(c.property("title"), Some("a:b,c%\n"));
        // `%3A` and `%2C` are only escapes in properties.
        assert_eq!(c.data, "100%\nline\r%3A%2C%0A%");
        assert_eq!(unescape("%é%0", false), "%é%0");
    }

    #[test]
    fn plain_lines_and_unknown_commands_are_printed() {
        let (_, events, _) = run(&["hello", "::unknown::x"]);
        assert_eq!(events, [line("hello"), line("::unknown::x")]);
    }

    #[test]
    fn add_mask_hides_later_lines_and_is_not_echoed() {
        let (_, events, masker) = run(&["before s3cret", "::add-mask::s3cret", "after s3cret"]);
        assert_eq!(events, [line("before s3cret"), line("after ***")]);
        assert_eq!(masker.mask("s3cret"), "***");
    }

    #[test]
    fn add_mask_with_escaped_newlines_masks_each_line() {
        let (_, events, _) = run(&["::add-mask::one1%0Atwo2", "one1 two2"]);
        assert_eq!(events, [line("*** ***")]);
    }

    #[test]
    fn empty_add_mask_warns() {
        let (_, events, _) = run(&["::add-mask::  ", "a b"]);
        assert!(matches!(&events[0], LogEvent::Warning(w) if w.contains("empty")));
        assert_eq!(events[1], line("a b"));
    }

    #[test]
    fn groups() {
        let (_, events, _) = run(&["::group::Build %25", "x", "::endgroup::"]);
        assert_eq!(
            events,
            [
                LogEvent::GroupStart("Build %".into()),
                line("x"),
                LogEvent::GroupEnd
            ]
        );
    }

    #[test]
    fn annotations_are_collected_and_masked() {
        let mut p = Processor::new(false);
        let masker = Masker::new();
        masker.add("pw");
        let mut events = Vec::new();
        p.line(
            "::warning file=src/a.rs,line=3,column=7,endLine=4,title=T pw::bad pw",
            true,
            &masker,
            &mut events,
        );
        p.line("::notice line=x::n", false, &masker, &mut events);
        p.line("::debug::d", false, &masker, &mut events);
        let warning = Annotation {
            level: AnnotationLevel::Warning,
            message: "bad ***".into(),
            file: Some("src/a.rs".into()),
            line: Some(3),
            column: Some(7),
            title: Some("T ***".into()),
        };
        assert_eq!(
            p.annotations,
            [warning.clone(), annotation(AnnotationLevel::Notice, "n")]
        );
        assert_eq!(
            events,
            [
                LogEvent::Annotation(warning),
                LogEvent::Annotation(annotation(AnnotationLevel::Notice, "n")),
                LogEvent::Annotation(annotation(AnnotationLevel::Debug, "d")),
            ]
        );
    }

    #[test]
    fn set_output_and_save_state_work_and_warn_once_each() {
        let (p, events, _) = run(&[
            "::set-output name=a::1",
            "::set-output name=a::2%0A3",
            "::save-state name=s::x",
            "::save-state name=s::y",
        ]);
        assert_eq!(
            p.outputs,
            [
                ("a".to_string(), "1".to_string()),
                ("a".into(), "2\n3".into())
            ]
        );
        assert_eq!(p.state.len(), 2);
        let warnings: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, LogEvent::Warning(_)))
            .collect();
        assert_eq!(
            warnings,
            [
                &LogEvent::Warning("::set-output is deprecated; write to $GITHUB_OUTPUT".into()),
                &LogEvent::Warning("::save-state is deprecated; write to $GITHUB_STATE".into()),
            ]
        );
        assert!(!p.failed);
    }

    #[test]
    fn set_output_without_name_fails_the_step() {
        let (p, _, _) = run(&["::set-output::v"]);
        assert!(p.failed);
        assert_eq!(p.annotations.len(), 1);
        assert!(p.annotations[0].message.contains("`name` is missing"));
    }

    #[test]
    fn set_env_and_add_path_are_disabled() {
        let (p, events, _) = run(&["::set-env name=A::1", "::add-path::/x"]);
        assert!(p.env.is_empty() && p.path.is_empty());
        assert_eq!(events.len(), 2);
        assert!(events
            .iter()
            .all(|e| matches!(e, LogEvent::Warning(w) if w.contains("disabled"))));
    }

    #[test]
    fn set_env_and_add_path_when_unsecure_commands_are_allowed() {
        let (p, events, _) = run_with(
            Processor::new(true),
            &["::set-env name=A::1", "::add-path::/x"],
        );
        assert_eq!(p.env, [("A".to_string(), "1".to_string())]);
        assert_eq!(p.path, ["/x"]);
        assert!(events.is_empty());
    }

    #[test]
    fn stop_commands_until_the_token() {
        let (p, events, masker) = run(&[
            "::stop-commands::tok123",
            "::add-mask::nope",
            "::error::not an annotation",
            "::tok123::",
            "::error::real",
        ]);
        assert_eq!(masker.mask("nope"), "nope");
        assert_eq!(
            events[..2],
            [line("::add-mask::nope"), line("::error::not an annotation")]
        );
        assert_eq!(p.annotations, [annotation(AnnotationLevel::Error, "real")]);
    }

    #[test]
    fn echo_and_matchers_are_not_printed() {
        let (_, events, _) = run(&[
            "::echo::on",
            "::add-matcher::m.json",
            "::remove-matcher owner=x::",
        ]);
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], LogEvent::Warning(w) if w.contains("matchers")));
    }

    #[test]
    fn command_names_ignore_case() {
        let (_, events, _) = run(&["::GROUP::g"]);
        assert_eq!(events, [LogEvent::GroupStart("g".into())]);
    }
}
