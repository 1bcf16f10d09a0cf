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
    /// Property keys ignore case and the last of repeated keys wins, as in
    /// the runner's dictionary.
    fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// The commands the runner knows; any other name leaves the line as output.
const COMMANDS: [&str; 15] = [
    "add-mask",
    "group",
    "endgroup",
    "error",
    "warning",
    "notice",
    "debug",
    "set-output",
    "save-state",
    "set-env",
    "add-path",
    "stop-commands",
    "echo",
    "add-matcher",
    "remove-matcher",
];

fn is_command(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Parses a line as the runner does: first as `::name props::data`, then,
/// if that yields no command in `known`, as the older `##[name props]data`,
/// which the runner still honours anywhere in a line.
pub(crate) fn parse<'a>(
    line: &'a str,
    known: &dyn Fn(&str) -> bool,
) -> Option<WorkflowCommand<'a>> {
    parse_v2(line)
        .filter(|c| known(c.name))
        .or_else(|| parse_v1(line).filter(|c| known(c.name)))
}

/// `::name key=value,key=value::data`, after leading whitespace; the command
/// ends at the first `::` after the opening one.
fn parse_v2(line: &str) -> Option<WorkflowCommand<'_>> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (name, properties) = split_info(&rest[..end])?;
    Some(WorkflowCommand {
        name,
        properties: split_properties(properties.trim(), ',', Escapes::Property),
        data: unescape(&rest[end + 2..], Escapes::Data),
    })
}

/// `##[name key=value;key=value]data`, found anywhere in the line.
fn parse_v1(line: &str) -> Option<WorkflowCommand<'_>> {
    let rest = &line[line.find("##[")? + 3..];
    let end = rest.find(']')?;
    let (name, properties) = split_info(&rest[..end])?;
    Some(WorkflowCommand {
        name,
        properties: split_properties(properties, ';', Escapes::V1),
        data: unescape(&rest[end + 1..], Escapes::V1),
    })
}

fn split_info(info: &str) -> Option<(&str, &str)> {
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    (!name.is_empty()).then_some((name, properties))
}

/// `key=value` pairs; pairs with an empty side are dropped, as the runner's
/// split with `RemoveEmptyEntries` does.
fn split_properties(text: &str, separator: char, escapes: Escapes) -> Vec<(&str, String)> {
    text.split(separator)
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (!key.is_empty() && !value.is_empty()).then(|| (key, unescape(value, escapes)))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    Data,
    Property,
    V1,
}

/// Reverses GitHub's escaping: `%25 %0D %0A` in data, plus `%3A %2C` in
/// properties; the old syntax uses `%25 %0D %0A %3B %5D`. One pass, so
/// `%250A` stays the literal text `%0A`.
fn unescape(text: &str, escapes: Escapes) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let decoded = match (tail.get(1..3), escapes) {
            (Some("25"), _) => Some('%'),
            (Some("0D"), _) => Some('\r'),
            (Some("0A"), _) => Some('\n'),
            (Some("3A"), Escapes::Property) => Some(':'),
            (Some("2C"), Escapes::Property) => Some(','),
            (Some("3B"), Escapes::V1) => Some(';'),
            (Some("5D"), Escapes::V1) => Some(']'),
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
        if let Some(token) = &self.stop_token {
            // While stopped, only the token is a command; the runner echoes it.
            let resumes = |name: &str| !token.is_empty() && name.eq_ignore_ascii_case(token);
            if parse(line, &resumes).is_some() {
                self.stop_token = None;
            }
            return print(sink);
        }
        let Some(command) = parse(line, &is_command) else {
            return print(sink);
        };
        match command.name.to_ascii_lowercase().as_str() {
            "add-mask" => {
                if command.data.trim().is_empty() {
                    self.warn(sink, masker, "can't add a secret mask for an empty string");
                } else {
                    masker.add(&command.data);
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
            // Shown, like the line that resumes; an empty token never
            // resumes, as on GitHub.
            "stop-commands" => {
                self.stop_token = Some(command.data);
                print(sink);
            }
            // Echoing commands back is a display preference slipway does not
            // offer, but a wrong value still fails the step as on GitHub.
            "echo" => {
                let value = command.data.trim();
                if !value.eq_ignore_ascii_case("on") && !value.eq_ignore_ascii_case("off") {
                    self.fail(line, "the value must be `on` or `off`", masker, sink);
                }
            }
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
        // The runner's repairs: a lone end stands for the start, and a
        // column means nothing without a line.
        let line = number("line").or_else(|| number("endLine"));
        let column = line.and(number("col").or_else(|| number("endColumn")));
        let annotation = Annotation {
            level,
            message: masker.mask(&command.data),
            file: command.property("file").map(|f| masker.mask(f)),
            line,
            column,
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

    fn parse_known(line: &str) -> Option<WorkflowCommand<'_>> {
        parse(line, &is_command)
    }

    #[test]
    fn parses_name_properties_and_data() {
        let c = parse_known("::error file=app.js,line=10,col=15::Something failed").unwrap();
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
        let c = parse_known("  ::endgroup::").unwrap();
        assert_eq!((c.name, c.data.as_str()), ("endgroup", ""));
        let c = parse_known("::warning  title=t ::w").unwrap();
        assert_eq!(c.property("TITLE"), Some("t"));
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
            "::unknown::x",
            "##[unknown]x",
            "##[error no bracket",
        ] {
            assert_eq!(parse_known(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_old_syntax_is_honoured_anywhere_in_a_line() {
        let c = parse_known("prefix ##[set-output name=a%3Bb;other=x]v%5D%3B%0A").unwrap();
        assert_eq!(c.name, "set-output");
        assert_eq!(
            c.properties,
            [("name", "a;b".to_string()), ("other", "x".into())]
        );
        assert_eq!(c.data, "v];\n");
        // An unknown new-style name falls back to the old syntax.
        assert_eq!(parse_known("::nope:: ##[group]g").unwrap().name, "group");
    }

    #[test]
    fn data_ends_at_the_first_separator_only() {
        let c = parse_known("::notice title=a::b::c").unwrap();
        assert_eq!(c.data, "b::c");
    }

    #[test]
    fn empty_property_sides_are_dropped() {
        let c = parse_known("::set-output name=,=x,,flag,k==v::d").unwrap();
        assert_eq!(c.properties, [("k", "=v".to_string())]);
    }

    #[test]
    fn unescaping() {
        let c = parse_known("::error title=a%3Ab%2Cc%25%0A::100%25%0Aline%0D%3A%2C%250A%").unwrap();
        assert_eq!(c.property("title"), Some("a:b,c%\n"));
        // `%3A` and `%2C` are only escapes in properties.
        assert_eq!(c.data, "100%\nline\r%3A%2C%0A%");
        assert_eq!(unescape("%é%0", Escapes::Data), "%é%0");
    }

    #[test]
    fn plain_lines_and_unknown_commands_are_printed() {
        let (_, events, _) = run(&["hello", "::unknown::x"]);
        assert_eq!(events, [line("hello"), line("::unknown::x")]);
        let (_, events, _) = run(&["::error"]);
        assert_eq!(events, [line("::error")]);
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
            "::warning file=src/a.rs,line=3,col=7,endLine=4,Title=T pw::bad pw",
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
    fn annotation_positions_are_repaired_as_on_github() {
        let (p, _, _) = run(&[
            "::error endLine=5,endColumn=2::a",
            "::error col=4::b",
            "::error line=x,col=1::c",
        ]);
        let positions: Vec<_> = p.annotations.iter().map(|a| (a.line, a.column)).collect();
        assert_eq!(positions, [(Some(5), Some(2)), (None, None), (None, None)]);
    }

    #[test]
    fn stop_commands_until_the_token() {
        let (p, events, masker) = run(&[
            "::stop-commands::tok123",
            "::add-mask::nope",
            "::error::not an annotation",
            "::TOK123::",
            "::error::real",
        ]);
        assert_eq!(masker.mask("nope"), "nope");
        assert_eq!(
            events[..4],
            [
                line("::stop-commands::tok123"),
                line("::add-mask::nope"),
                line("::error::not an annotation"),
                line("::TOK123::")
            ]
        );
        assert_eq!(p.annotations, [annotation(AnnotationLevel::Error, "real")]);
    }

    #[test]
    fn an_empty_stop_token_never_resumes() {
        let (p, events, _) = run(&["::stop-commands::", "::::", "::error::x"]);
        assert!(p.annotations.is_empty());
        assert_eq!(events.len(), 3);
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
