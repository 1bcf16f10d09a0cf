#![no_main]
//! Any text as a workflow file: reading, linting and planning must never
//! panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;
use slipway_workflow::event::Event;
use slipway_workflow::{lint::lint, plan::plan_workflow, read_workflow, SourceFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = SourceFile::new("fuzz.yml", text);
    let outcome = read_workflow(&source);
    for d in &outcome.diagnostics {
        let _ = d.render(Some(&source));
    }
    if let Some(wf) = outcome.workflow {
        let _ = lint(&wf);
        let event = Event::sample_push("refs/heads/main", &["src/main.rs"]);
        let _ = plan_workflow(&wf, &event);
    }
});
