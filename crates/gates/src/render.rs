//! Text for the terminal and markdown for pull-request comments and job
//! summaries, from the views of [`crate::view`].

use std::fmt::Write;

use crate::coverage::{Counter, Format};
use crate::junit::Outcome;
use crate::view::{FileView, ReportView, TestsView, TrendView};

/// Markdown tables list at most this many files; the rest are counted.
const MARKDOWN_FILES: usize = 25;

type Column = (&'static str, fn(&FileView) -> Option<Counter>);

/// The counter columns, named as the producing tool names them.
fn columns(view: &ReportView) -> Vec<Column> {
    let t = &view.total;
    let mut cols: Vec<Column> = Vec::new();
    match view.format {
        Format::Cobertura => cols.push(("Stmts", |f| Some(f.lines))),
        Format::Go => cols.push(("Statements", |f| f.statements)),
        Format::Lcov => cols.push(("Lines", |f| Some(f.lines))),
        Format::Istanbul | Format::IstanbulSummary => {
            if t.statements.is_some() {
                cols.push(("Statements", |f| f.statements));
            }
        }
    }
    if t.branches.is_some() {
        cols.push(("Branches", |f| f.branches));
    }
    if t.functions.is_some() {
        cols.push(("Functions", |f| f.functions));
    }
    if matches!(view.format, Format::Istanbul | Format::IstanbulSummary) {
        cols.push(("Lines", |f| Some(f.lines)));
    }
    cols
}

fn frac(c: Option<Counter>) -> String {
    c.map(|c| format!("{}/{}", c.covered, c.total))
        .unwrap_or_else(|| "-".into())
}

fn signed(change: f64) -> String {
    if change > 0.0 {
        format!("+{change:.2}")
    } else if change < 0.0 {
        format!("{change:.2}")
    } else {
        "±0.00".into()
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn describe_basis(view: &ReportView) -> &'static str {
    match view.format {
        Format::Cobertura if view.total.branches.is_some() => "of statements and branches",
        Format::Cobertura => "of statements",
        Format::Go => "of statements",
        _ => "of lines",
    }
}

fn title(view: &ReportView) -> String {
    match &view.flag {
        Some(flag) => format!("Coverage ({flag})"),
        None => "Coverage".to_string(),
    }
}

/// Rows of cells, the first column left-aligned and the others right,
/// except the last when it holds text (`last_is_text`): that one is
/// left-aligned and not padded.
fn table(rows: &[Vec<String>], last_is_text: bool) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; n];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else if i == n - 1 && last_is_text {
                line.push_str("  ");
                line.push_str(cell);
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn report_text(view: &ReportView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {:.2}% {} ({})",
        title(view),
        view.total.percent,
        describe_basis(view),
        view.format.name()
    );
    let cols = columns(view);
    let has_missing = view.files.iter().any(|f| f.missing.is_some());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["File".to_string()];
    header.extend(cols.iter().map(|c| c.0.to_string()));
    header.extend(["Cover".to_string(), "Missed".to_string()]);
    if has_missing {
        header.push("Missing".into());
    }
    rows.push(header);
    for f in &view.files {
        let mut row = vec![f.path.clone()];
        row.extend(cols.iter().map(|c| frac(c.1(f))));
        row.push(format!("{:.2}%", f.percent));
        row.push(f.missed.to_string());
        if has_missing {
            row.push(f.missing.clone().unwrap_or_default());
        }
        rows.push(row);
    }
    let total = FileView {
        path: "TOTAL".into(),
        percent: view.total.percent,
        lines: view.total.lines,
        branches: view.total.branches,
        functions: view.total.functions,
        statements: view.total.statements,
        missed: view.files.iter().map(|f| f.missed).sum(),
        missing: None,
    };
    let mut row = vec![total.path.clone()];
    row.extend(cols.iter().map(|c| frac(c.1(&total))));
    row.push(format!("{:.2}%", total.percent));
    row.push(total.missed.to_string());
    if has_missing {
        row.push(String::new());
    }
    rows.push(row);
    out.push_str(&table(&rows, has_missing));

    if let Some(base) = &view.base {
        let _ = writeln!(
            out,
            "\nAgainst {} at {} ({}): {:.2}% -> {:.2}% ({})",
            base.branch,
            short_sha(&base.commit),
            short_time_of(&base.recorded_at),
            base.percent,
            view.total.percent,
            signed(base.change)
        );
        let rows: Vec<Vec<String>> = base
            .files
            .iter()
            .map(|f| {
                let (from, to) = (pct_or(f.base, "new"), pct_or(f.head, "gone"));
                vec![
                    format!("  {}", f.path),
                    from,
                    "->".into(),
                    to,
                    f.change.map(signed).unwrap_or_default(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            out.push_str(&table(&rows, true));
        }
    } else if view.patch.is_some() {
        out.push_str(
            "\nNo report recorded for the base branch yet: nothing to compare the total with.\n",
        );
    }

    if let Some(patch) = &view.patch {
        match patch.percent {
            None => {
                let _ = writeln!(
                    out,
                    "\nPatch coverage: no coverable line changed since {}",
                    short_sha(&patch.base_commit)
                );
            }
            Some(p) => {
                let _ = writeln!(
                    out,
                    "\nPatch coverage: {p:.2}% ({} of {} covered since {})",
                    patch.lines.covered,
                    plural(patch.lines.total, "changed line", "changed lines"),
                    short_sha(&patch.base_commit)
                );
                let rows: Vec<Vec<String>> = patch
                    .files
                    .iter()
                    .filter(|f| !f.missed_lines.is_empty() || !f.partial_lines.is_empty())
                    .map(|f| {
                        let mut what = Vec::new();
                        if !f.missed_lines.is_empty() {
                            what.push(format!("missed {}", list(&f.missed_lines)));
                        }
                        if !f.partial_lines.is_empty() {
                            what.push(format!("partial {}", list(&f.partial_lines)));
                        }
                        vec![format!("  {}", f.path), what.join("; ")]
                    })
                    .collect();
                if !rows.is_empty() {
                    out.push_str(&table(&rows, true));
                }
            }
        }
    }
    if let Some(gate) = &view.gate {
        let _ = writeln!(out, "\n{}", gate.message);
    }
    out
}

fn pct_or(p: Option<f64>, missing: &str) -> String {
    p.map(|p| format!("{p:.2}%"))
        .unwrap_or_else(|| missing.to_string())
}

fn list(lines: &[u32]) -> String {
    lines
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_sha(sha: &str) -> &str {
    if sha.len() >= 40 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
        &sha[..7]
    } else {
        sha
    }
}

fn short_time_of(rfc3339: &str) -> String {
    // 2026-11-23T10:33:41Z -> 2026-11-23 10:33
    rfc3339
        .get(..16)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| rfc3339.to_string())
}

/// Text safe in a markdown table cell: no column breaks, no line breaks,
/// and no `<...>` that GitHub would take for HTML and hide.
fn md_cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

pub fn report_markdown(view: &ReportView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {}: **{:.2}%** {}\n",
        title(view),
        view.total.percent,
        describe_basis(view)
    );
    let mut facts: Vec<String> = Vec::new();
    let cols = columns(view);
    let total_counts: Vec<String> = cols
        .iter()
        .filter_map(|c| {
            let t = FileView {
                path: String::new(),
                percent: 0.0,
                lines: view.total.lines,
                branches: view.total.branches,
                functions: view.total.functions,
                statements: view.total.statements,
                missed: 0,
                missing: None,
            };
            c.1(&t).map(|v| format!("{} {}/{}", c.0, v.covered, v.total))
        })
        .collect();
    facts.push(total_counts.join(" · "));
    if let Some(base) = &view.base {
        facts.push(format!(
            "**{}** against `{}` ({:.2}% at `{}`)",
            signed(base.change),
            md_cell(&base.branch),
            base.percent,
            short_sha(&base.commit)
        ));
    }
    if let Some(patch) = &view.patch {
        match patch.percent {
            Some(p) => facts.push(format!(
                "patch **{p:.2}%** ({} of {})",
                patch.lines.covered,
                plural(patch.lines.total, "changed line", "changed lines")
            )),
            None => facts.push("patch: no coverable line changed".into()),
        }
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));

    let changes = view.base.as_ref().map(|b| &b.files);
    let change_of = |path: &str| -> Option<String> {
        changes?
            .iter()
            .find(|c| c.path == path)
            .map(|c| match c.change {
                Some(d) => signed(d),
                None if c.base.is_none() => "new".into(),
                None => "gone".into(),
            })
    };
    let shown: Vec<&FileView> = view
        .files
        .iter()
        .filter(|f| f.missed > 0 || change_of(&f.path).is_some())
        .collect();
    if !shown.is_empty() {
        let mut header = vec!["File".to_string()];
        header.extend(cols.iter().map(|c| c.0.to_string()));
        header.push("Cover".into());
        if view.base.is_some() {
            header.push("Δ".into());
        }
        header.push("Missing".into());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let aligns: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 || h == "Missing" {
                    ":--"
                } else {
                    "--:"
                }
            })
            .collect();
        let _ = writeln!(out, "|{}|", aligns.join("|"));
        for f in shown.iter().take(MARKDOWN_FILES) {
            let mut row = vec![format!("`{}`", md_cell(&f.path))];
            row.extend(cols.iter().map(|c| frac(c.1(f))));
            row.push(format!("{:.2}%", f.percent));
            if view.base.is_some() {
                row.push(change_of(&f.path).unwrap_or_default());
            }
            row.push(md_cell(f.missing.as_deref().unwrap_or("")));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let mut notes = Vec::new();
        if shown.len() > MARKDOWN_FILES {
            notes.push(format!(
                "{} more files with missed lines or changes",
                shown.len() - MARKDOWN_FILES
            ));
        }
        let hidden = view.files.len() - shown.len();
        if hidden > 0 {
            notes.push(format!(
                "{} fully covered and unchanged",
                plural(hidden as u64, "file", "files")
            ));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "\n_{} not shown._", notes.join("; "));
        }
    } else {
        let _ = writeln!(
            out,
            "Every line of the {} is covered.",
            plural(view.files.len() as u64, "file", "files")
        );
    }
    if let Some(patch) = &view.patch {
        let missed: Vec<_> = patch
            .files
            .iter()
            .filter(|f| !f.missed_lines.is_empty() || !f.partial_lines.is_empty())
            .collect();
        if !missed.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>Changed lines not covered</summary>\n"
            );
            let _ = writeln!(
                out,
                "| File | Patch | Missed | Partial |\n|:--|--:|:--|:--|"
            );
            for f in missed {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    md_cell(&f.path),
                    f.percent.map(|p| format!("{p:.2}%")).unwrap_or_default(),
                    list(&f.missed_lines),
                    list(&f.partial_lines)
                );
            }
            let _ = writeln!(out, "\n</details>");
        }
    }
    if let Some(gate) = &view.gate {
        let _ = writeln!(
            out,
            "\n{} {}",
            if gate.passed { "✅" } else { "❌" },
            gate.message
        );
    }
    out
}

pub fn trend_text(view: &TrendView) -> String {
    let mut out = String::new();
    let what = match (&view.flag, &view.branch) {
        (Some(f), Some(b)) => format!("{f} on {b}"),
        (Some(f), None) => format!("{f}, every branch"),
        (None, Some(b)) => format!("on {b}"),
        (None, None) => "every branch".to_string(),
    };
    if view.points.is_empty() {
        let _ = writeln!(out, "Coverage {what}: no reports recorded yet");
        return out;
    }
    let (first, last) = (view.points.first().unwrap(), view.points.last().unwrap());
    let _ = writeln!(
        out,
        "Coverage {what}: {}, {:.2}% -> {:.2}% ({})",
        plural(view.points.len() as u64, "report", "reports"),
        first.percent,
        last.percent,
        signed(((last.percent - first.percent) * 100.0).round() / 100.0)
    );
    let _ = writeln!(out, "{}", view.sparkline);
    let rows: Vec<Vec<String>> = view
        .points
        .iter()
        .map(|p| {
            vec![
                short_time_of(&p.recorded_at),
                short_sha(&p.commit).to_string(),
                p.branch.clone(),
                format!("{:.2}%", p.percent),
            ]
        })
        .collect();
    out.push_str(&table(&rows, false));
    out
}

pub fn trend_markdown(view: &TrendView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Coverage trend{}\n",
        view.flag
            .as_ref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    );
    if view.points.is_empty() {
        let _ = writeln!(out, "No reports recorded yet.");
        return out;
    }
    let _ = writeln!(out, "`{}`\n", view.sparkline);
    let _ = writeln!(
        out,
        "| Recorded | Commit | Branch | Coverage |\n|:--|:--|:--|--:|"
    );
    for p in &view.points {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {:.2}% |",
            short_time_of(&p.recorded_at),
            short_sha(&p.commit),
            md_cell(&p.branch),
            p.percent
        );
    }
    out
}

fn counts_line(view: &TestsView) -> String {
    let c = &view.counts;
    let mut parts = vec![
        format!("{} passed", c.passed),
        format!("{} failed", c.failed),
    ];
    if c.errored > 0 {
        parts.push(format!("{} errored", c.errored));
    }
    parts.push(format!("{} skipped", c.skipped));
    let mut line = format!(
        "{}: {}",
        plural(c.tests as u64, "test", "tests"),
        parts.join(", ")
    );
    if c.flaky > 0 {
        let _ = write!(line, " ({} flaky)", c.flaky);
    }
    line
}

/// The line that says why a test failed: the message, unless it is a
/// placeholder ("Failed", "Build error" from go-junit-report) and the text
/// says more.
fn failure_summary<'a>(message: Option<&'a str>, details: &'a str) -> &'a str {
    let message = message.map(first_line).unwrap_or("");
    let placeholder = ["", "failed", "failure", "error", "build error", "skipped"]
        .contains(&message.to_lowercase().as_str());
    if !placeholder {
        return message;
    }
    details
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or(message)
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn location_text(l: &Option<crate::junit::Location>) -> String {
    match l {
        Some(l) => match l.line {
            Some(n) => format!("{}:{n}", l.file),
            None => l.file.clone(),
        },
        None => String::new(),
    }
}

pub fn tests_text(view: &TestsView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} in {:.2}s", counts_line(view), view.counts.time);
    if !view.failures.is_empty() {
        let _ = writeln!(out, "\nFailures:");
        for f in &view.failures {
            let tag = if f.outcome == Outcome::Errored {
                "ERROR"
            } else {
                "FAILED"
            };
            let at = location_text(&f.location);
            let _ = writeln!(
                out,
                "  {tag} {}{}",
                f.name,
                if at.is_empty() {
                    String::new()
                } else {
                    format!("  {at}")
                }
            );
            let message = failure_summary(f.message.as_deref(), &f.details);
            if !message.is_empty() {
                let _ = writeln!(out, "    {message}");
            }
        }
    }
    if !view.flaky_tests.is_empty() {
        let _ = writeln!(out, "\nFlaky (failed, then passed on a rerun):");
        for f in &view.flaky_tests {
            let why = f
                .failed_runs
                .first()
                .map(|r| failure_summary(r.message.as_deref(), &r.details))
                .unwrap_or("");
            let _ = writeln!(
                out,
                "  {}  {} failed: {why}",
                f.name,
                plural(f.failed_runs.len() as u64, "run", "runs")
            );
        }
    }
    if !view.slowest.is_empty() {
        let _ = writeln!(out, "\nSlowest:");
        let rows: Vec<Vec<String>> = view
            .slowest
            .iter()
            .map(|s| vec![format!("  {:.3}s", s.time), s.name.clone()])
            .collect();
        out.push_str(&table(&rows, true));
    }
    out
}

pub fn tests_markdown(view: &TestsView) -> String {
    let mut out = String::new();
    let icon = if view.counts.failed + view.counts.errored > 0 {
        "❌"
    } else {
        "✅"
    };
    let _ = writeln!(
        out,
        "### {icon} {} in {:.2}s\n",
        counts_line(view),
        view.counts.time
    );
    if !view.failures.is_empty() {
        let _ = writeln!(
            out,
            "| Test | Result | Where | Message |\n|:--|:--|:--|:--|"
        );
        for f in &view.failures {
            let message = failure_summary(f.message.as_deref(), &f.details);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                md_cell(&f.name),
                if f.outcome == Outcome::Errored {
                    "errored"
                } else {
                    "failed"
                },
                md_cell(&location_text(&f.location)),
                md_cell(message)
            );
        }
        out.push('\n');
    }
    if !view.flaky_tests.is_empty() {
        let _ = writeln!(
            out,
            "**Flaky** (failed, then passed on a rerun): {}\n",
            view.flaky_tests
                .iter()
                .map(|f| format!("`{}`", md_cell(&f.name)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !view.slowest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Slowest tests</summary>\n\n| Time | Test |\n|--:|:--|"
        );
        for s in &view.slowest {
            let _ = writeln!(out, "| {:.3}s | `{}` |", s.time, md_cell(&s.name));
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
