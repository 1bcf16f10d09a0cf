//! The example repository's four test jobs, run for real: ruff, mypy,
//! pytest and coverage; Go's vet, gofmt and tests; the front end's ESLint,
//! tsc and node tests. `scripts/install/example.sh` installs the tools.

mod support;

use support::{example_repo, Slipway};

#[test]
fn the_examples_test_jobs_pass() {
    let out = Slipway::new()
        .args(["run", "--format", "json", "--jobs", "2", "-C"])
        .args([example_repo()])
        .args([
            "--job",
            "test-svc-portal",
            "--job",
            "test-svc-smarttab",
            "--job",
            "test-mpac-pgw",
            "--job",
            "test-frontend",
        ])
        .run();
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let jobs: Vec<(&str, &str)> = summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["id"].as_str().unwrap(), j["conclusion"].as_str().unwrap()))
        .collect();
    assert_eq!(
        jobs,
        vec![
            ("test-svc-portal", "success"),
            ("test-svc-smarttab", "success"),
            ("test-mpac-pgw", "success"),
            ("test-frontend", "success")
        ]
    );
    // The coverage steps ran for real and printed their totals.
    assert!(
        out.stderr.contains("TOTAL"),
        "coverage.py's report is missing:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("total:"),
        "go tool cover's total is missing:\n{}",
        out.stderr
    );
    // Each "Upload coverage report" step recorded its flag, gated at the
    // example's 80% (slipway.toml).
    for flag in ["svc-portal", "svc-smarttab", "mpac-pgw", "frontend"] {
        let trend = Slipway::new()
            .args([
                "coverage", "trend", "--flag", flag, "--format", "json", "-C",
            ])
            .args([example_repo()])
            .run();
        let trend: serde_json::Value = serde_json::from_str(&trend.stdout)
            .unwrap_or_else(|e| panic!("{flag}: {e}: {}{}", trend.stdout, trend.stderr));
        let last = trend["points"]
            .as_array()
            .and_then(|p| p.last())
            .unwrap_or_else(|| panic!("{flag} not recorded: {trend}"));
        assert!(last["percent"].as_f64().unwrap() >= 80.0, "{flag}: {last}");
    }
    assert!(
        out.stderr.contains("coverage `frontend` recorded"),
        "the upload step did not record:\n{}",
        out.stderr
    );
}
