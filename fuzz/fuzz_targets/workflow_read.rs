#![no_main]
//! Any text as a workflow file: reading, linting and planning must never
//! panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;
use slipway_workflow::event::{Event, RepoInfo};
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
        let event = Event {
            name: "push".into(),
            action: None,
            git_ref: "refs/heads/main".into(),
            sha: "0".repeat(40),
            base_ref: None,
            head_ref: None,
            changed_files: Some(vec!["src/main.rs".into()]),
            inputs: Vec::new(),
            payload: serde_json::json!({}),
            actor: "fuzz".into(),
            repo: RepoInfo {
                full_name: "o/r".into(),
                default_branch: "main".into(),
                workspace: "/w".into(),
                server_url: "https://github.com".into(),
            },
            run_id: 1,
            run_number: 1,
        };
        let _ = plan_workflow(&wf, &event);
    }
});
