//! Finding, reading and checking a repository's workflow files.

use std::path::{Path, PathBuf};

use slipway_workflow::diagnostic::Diagnostic;
use slipway_workflow::{read_workflow, SourceFile, Workflow};

use crate::UsageError;

pub struct Loaded {
    pub sources: Vec<SourceFile>,
    /// The files that had no errors.
    pub workflows: Vec<Workflow>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Every diagnostic with its source line and caret.
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        diagnostics
            .iter()
            .map(|d| d.render(self.sources.iter().find(|s| s.path == d.file)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `.github/workflows/*.yml|yaml` under `dir`, sorted; or the given files.
fn discover(dir: &Path, files: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    if !files.is_empty() {
        return Ok(files
            .iter()
            .map(|f| {
                let path = if f.is_absolute() || f.exists() {
                    f.clone()
                } else {
                    dir.join(f)
                };
                (path, f.display().to_string())
            })
            .collect());
    }
    let folder = dir.join(".github/workflows");
    let entries = std::fs::read_dir(&folder).map_err(|e| {
        UsageError(format!(
            "cannot read {}: {e}; run slipway in a repository with workflows, or point -C at one",
            folder.display()
        ))
    })?;
    let mut found: Vec<(PathBuf, String)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .map(|p| {
            let shown = format!(
                ".github/workflows/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            );
            (p, shown)
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(UsageError(format!(
            "no workflow files (*.yml, *.yaml) in {}",
            folder.display()
        ))
        .into());
    }
    Ok(found)
}

pub fn load(dir: &Path, files: &[PathBuf]) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded {
        sources: Vec::new(),
        workflows: Vec::new(),
        diagnostics: Vec::new(),
    };
    for (path, shown) in discover(dir, files)? {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
        let source = SourceFile::new(shown, text);
        let outcome = read_workflow(&source);
        loaded.diagnostics.extend(outcome.diagnostics);
        if let Some(wf) = outcome.workflow {
            loaded.workflows.push(wf);
        }
        loaded.sources.push(source);
    }
    Ok(loaded)
}
