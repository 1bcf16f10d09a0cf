#![no_main]
//! Any bytes as a coverage report and as a JUnit report: detecting the
//! format, parsing, merging, resolving paths, totals and rendering must
//! never panic, whatever the bytes. Errors must carry a position inside
//! the input.

use libfuzzer_sys::fuzz_target;
use slipway_gates::compare::{compare, patch};
use slipway_gates::paths::ListTree;
use slipway_gates::render;
use slipway_gates::unified_diff::changed_lines;
use slipway_gates::view::{ReportView, TestsView};
use slipway_gates::{parse_coverage, read_junit, BytesInput, Input};

fuzz_target!(|data: &[u8]| {
    let input = BytesInput::new("fuzz", data);
    let inputs: [&dyn Input; 1] = [&input];
    match parse_coverage(&inputs) {
        Ok(parsed) => {
            let tree = ListTree {
                files: vec!["a.py".into(), "src/a.js".into(), "a.go".into()],
                modules: vec![(String::new(), "example.com/m".into())],
                texts: vec![("a.go".into(), String::from_utf8_lossy(data).into_owned())],
            };
            let _ = parsed.resolve(&inputs, &[Some(String::new())], &tree, "/repo");
            let parsed = parse_coverage(&inputs).expect("a report parses twice the same way");
            let report = parsed.into_report();
            let _ = report.percent().display(2);
            let meta = slipway_gates::history::ReportMeta {
                repository: "r".into(),
                flag: "f".into(),
                branch: "b".into(),
                commit: "c".into(),
                recorded_at: 0,
            };
            let mut view = ReportView::new(&report, &meta);
            let changed = changed_lines(&String::from_utf8_lossy(data));
            let p = patch(&report, &changed);
            let _ = p.percent.map(|p| p.display(2));
            view.with_base(&meta, &compare(&report, &report));
            let _ = render::report_text(&view);
            let _ = render::report_markdown(&view);
            for f in &report.files {
                let encoded = slipway_gates::history::encode_lines(&f.lines);
                assert_eq!(slipway_gates::history::decode_lines(&encoded).as_deref(), Ok(&f.lines[..]));
            }
        }
        Err(e) => {
            if let Some(line) = e.line {
                let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            }
        }
    }
    if let Ok(report) = read_junit(&inputs) {
        let view = TestsView::new(&report);
        let _ = render::tests_text(&view);
        let _ = render::tests_markdown(&view);
    }
});
