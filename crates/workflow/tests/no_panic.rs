//! The reader, lint and plan on thousands of mangled workflows: none may
//! panic. A stable-toolchain companion to the `workflow_read` fuzz target.

use slipway_workflow::event::Event;
use slipway_workflow::{lint::lint, plan::plan_workflow, read_workflow, SourceFile};

fn seeds() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut files = vec![format!(
        "{root}/examples/mpac-smartpos/.github/workflows/ci-cd.yml"
    )];
    for dir in [
        "crates/cli/tests/fixtures/errors",
        "crates/cli/tests/fixtures/warnings",
    ] {
        let mut found: Vec<String> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap_or_else(|e| panic!("seed folder {dir}: {e}"))
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        found.sort();
        files.extend(found);
    }
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "${{",
    "}}",
    "${{ github.ref == 'x' }}",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "\n",
    "  ",
    "needs: [a]",
    "if: ",
    "*",
    "**",
    "!",
    "&a ",
    "*a",
    "|\n",
    ">-\n",
    "\t",
    "matrix:",
    "include:",
    "fromJSON('[1,2]')",
    "runs-on: x",
    "steps:",
    "uses: a/b@v1",
    "on: push",
    "\u{1F680}",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(5) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())];
                chars.splice(at..at, piece.chars());
            }
            1 if !chars.is_empty() => {
                let end = (at + rng.below(40)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            2 => chars.truncate(at),
            3 if !chars.is_empty() => {
                let i = rng.below(chars.len());
                chars[i] = char::from_u32(rng.below(0x80) as u32).unwrap_or(' ');
            }
            _ => {
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let line = lines[rng.below(lines.len())];
                    chars.splice(at..at, format!("{line}\n").chars());
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mangled_workflows_never_panic() {
    let seeds = seeds();
    assert!(
        seeds.len() >= 10,
        "expected the example and the fixtures as seeds"
    );
    let event = Event::sample_push("refs/heads/main", &["src/main.rs"]);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut valid = 0;
    for i in 0..4000 {
        let text = mutate(&seeds[i % seeds.len()], &mut rng);
        let source = SourceFile::new("m.yml", text.as_str());
        let outcome = read_workflow(&source);
        for d in &outcome.diagnostics {
            let _ = d.render(Some(&source));
        }
        if let Some(wf) = outcome.workflow {
            valid += 1;
            let _ = lint(&wf);
            let _ = plan_workflow(&wf, &event);
        }
    }
    // Mutations must leave some files valid, or plan and lint went untested.
    assert!(valid > 100, "only {valid} mutated files were valid");
}
