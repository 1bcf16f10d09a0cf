//! `slipway tests report`: JUnit XML from pytest (also produced for real
//! here), go-junit-report, Vitest and Maven Surefire.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use support::{Run, Slipway};

fn junit(name: &str) -> String {
    format!("tests/fixtures/coverage/junit/{name}")
}

fn report(files: &[&str], format: &str) -> Run {
    let mut args = vec![
        "tests".to_string(),
        "report".to_string(),
        "--format".to_string(),
        format.to_string(),
    ];
    args.extend(files.iter().map(|f| junit(f)));
    Slipway::new().args(args).run()
}

fn report_json(files: &[&str]) -> (i32, Value) {
    let run = report(files, "json");
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, v)
}

fn counts(v: &Value) -> Value {
    json!({
        "tests": v["tests"], "passed": v["passed"], "failed": v["failed"],
        "errored": v["errored"], "skipped": v["skipped"], "flaky": v["flaky"],
    })
}

#[test]
fn pytest() {
    let (code, v) = report_json(&["pytest.xml"]);
    assert_eq!(code, 1);
    assert_eq!(
        counts(&v),
        json!({"tests": 6, "passed": 2, "failed": 1, "errored": 1, "skipped": 2, "flaky": 0})
    );
    let f = &v["failures"][0];
    assert_eq!(
        f["name"],
        "tests.test_receipts::test_total_with_standard_rate"
    );
    assert_eq!(f["outcome"], "failed");
    assert_eq!(
        f["message"],
        "assert 1100 == 1080\n +  where 1100 = receipt([(1000, 'toys')])"
    );
    assert_eq!(
        f["location"],
        json!({"file": "tests/test_receipts.py", "line": 14})
    );
    let e = &v["failures"][1];
    assert_eq!(e["outcome"], "errored");
    assert_eq!(
        e["location"],
        json!({"file": "tests/conftest.py", "line": 8})
    );
    assert_eq!(
        v["slowest"][0],
        json!({"name": "tests.test_receipts::test_monthly_report", "suite": "pytest", "classname": "tests.test_receipts", "time": 0.38})
    );
}

#[test]
fn go_junit_report() {
    let (code, v) = report_json(&["go-junit-report.xml"]);
    assert_eq!(code, 1);
    assert_eq!(
        counts(&v),
        json!({"tests": 5, "passed": 2, "failed": 1, "errored": 1, "skipped": 1, "flaky": 0})
    );
    assert_eq!(
        v["failures"][0]["location"],
        json!({"file": "tab_test.go", "line": 42})
    );
    assert_eq!(
        v["failures"][0]["details"],
        "tab_test.go:42: total = 1150, want 1100"
    );
    assert_eq!(
        v["failures"][1]["name"],
        "github.com/mpac/svc-smarttab/store::[build failed]"
    );
    assert_eq!(
        v["failures"][1]["location"],
        json!({"file": "store/store.go", "line": 14})
    );
    assert_eq!(
        v["failures"][1]["suite"],
        "github.com/mpac/svc-smarttab/store"
    );
}

#[test]
fn vitest() {
    let (code, v) = report_json(&["vitest.xml"]);
    assert_eq!(code, 1);
    assert_eq!(
        counts(&v),
        json!({"tests": 4, "passed": 2, "failed": 1, "errored": 0, "skipped": 1, "flaky": 0})
    );
    let f = &v["failures"][0];
    assert_eq!(f["name"], "src/cart.test.ts::cart > applies a coupon");
    assert_eq!(f["type"], "AssertionError");
    assert_eq!(
        f["location"],
        json!({"file": "src/cart.test.ts", "line": 18})
    );
}

#[test]
fn surefire_flaky_and_reruns() {
    let (code, v) = report_json(&[
        "TEST-com.mpac.pgw.AuthorizerTest.xml",
        "TEST-com.mpac.pgw.LuhnTest.xml",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        counts(&v),
        json!({"tests": 6, "passed": 5, "failed": 1, "errored": 0, "skipped": 0, "flaky": 1})
    );
    // Failed on the first run and on both reruns: a failure, not flaky.
    assert_eq!(
        v["failures"][0]["name"],
        "com.mpac.pgw.AuthorizerTest::rejectsUnknownBrand"
    );
    assert_eq!(
        v["failures"][0]["location"],
        json!({"file": "AuthorizerTest.java", "line": 71})
    );
    // Failed, then passed on a rerun: flaky.
    assert_eq!(
        v["flaky_tests"][0]["name"],
        "com.mpac.pgw.AuthorizerTest::declinesExpiredCard"
    );
    assert_eq!(
        v["flaky_tests"][0]["failed_runs"][0]["message"],
        "expected: <DECLINED> but was: <TIMEOUT>"
    );
    assert!(v["flaky_tests"][0]["failed_runs"][0]["details"]
        .as_str()
        .unwrap()
        .contains("AuthorizerTest.java:57"));
    assert_eq!(v["slowest"].as_array().unwrap().len(), 6);
    assert_eq!(v["time"], 1.225);
}

#[test]
fn all_passing_exits_0() {
    let run = report(&["TEST-com.mpac.pgw.LuhnTest.xml"], "text");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().next(),
        Some("2 tests: 2 passed, 0 failed, 0 skipped in 0.02s")
    );
}

#[test]
fn text_and_markdown() {
    for (name, files) in [
        ("pytest", &["pytest.xml"][..]),
        ("go", &["go-junit-report.xml"][..]),
        ("vitest", &["vitest.xml"][..]),
        (
            "surefire",
            &[
                "TEST-com.mpac.pgw.AuthorizerTest.xml",
                "TEST-com.mpac.pgw.LuhnTest.xml",
            ][..],
        ),
    ] {
        insta::assert_snapshot!(format!("tests_text_{name}"), report(files, "text").stdout);
        insta::assert_snapshot!(
            format!("tests_markdown_{name}"),
            report(files, "markdown").stdout
        );
    }
}

#[test]
fn pytest_junitxml_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tests")).unwrap();
    std::fs::write(
        d.join("tests/test_money.py"),
        "import pytest\n\n\ndef test_adds():\n    assert 1 + 1 == 2\n\n\ndef test_rounds():\n    assert round(2.675, 2) == 2.68\n\n\n@pytest.mark.skip(reason=\"later\")\ndef test_later():\n    pass\n\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError(\"no database\")\n\n\ndef test_db(broken):\n    pass\n",
    )
    .unwrap();
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--junitxml=junit.xml",
        ])
        .current_dir(d)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 cannot run ({e}): install the test tools with scripts/install/gates.sh")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        d.join("junit.xml").is_file(),
        "pytest wrote no junit.xml (is pytest installed? scripts/install/gates.sh):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "1 failed, 1 passed, 1 skipped, 1 error in 0.03s"
    let summary = stdout.lines().last().unwrap().to_string();
    let counts = summary.trim_matches(|c| c == '=' || c == ' ');
    let counts = counts.split(" in ").next().unwrap();
    let count = |what: &str| -> u64 {
        counts
            .split(", ")
            .find_map(|p| p.strip_suffix(what)?.trim().parse().ok())
            .unwrap_or(0)
    };
    let run = Slipway::new()
        .dir(d)
        .args(["tests", "report", "junit.xml", "--format", "json"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["failed"].as_u64(), Some(count("failed")), "{summary}");
    assert_eq!(v["passed"].as_u64(), Some(count("passed")), "{summary}");
    assert_eq!(v["skipped"].as_u64(), Some(count("skipped")), "{summary}");
    assert_eq!(v["errored"].as_u64(), Some(count("error")), "{summary}");
    assert_eq!(
        (v["failed"].as_u64(), v["errored"].as_u64()),
        (Some(1), Some(1))
    );
    let f = &v["failures"][0];
    assert_eq!(f["name"], "tests.test_money::test_rounds");
    assert_eq!(
        f["location"],
        json!({"file": "tests/test_money.py", "line": 9})
    );
}

#[test]
fn bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d: &Path = dir.path();
    let cases: &[(&str, &str, &str)] = &[
        ("cut.xml", "<testsuites>\n  <testsuite name=\"a\">\n    <testcase name=\"x\">", "error: cut.xml:3:5: unexpected end of file: <testcase> is not closed (is the report truncated?)\n"),
        ("coverage.xml", "<coverage><packages/></coverage>", "error: coverage.xml: this is a Cobertura coverage report, not a JUnit test report (see `slipway coverage report`)\n"),
        ("lcov.info", "TN:\nSF:a.js\nend_of_record\n", "error: lcov.info: this is a coverage report, not a JUnit test report (see `slipway coverage report`)\n"),
        ("log.txt", "=== RUN TestX\n--- PASS: TestX\n", "error: log.txt:1:1: unknown format: expected JUnit XML\n"),
        ("empty.xml", "", "error: empty.xml: empty file\n"),
        ("time.xml", "<testsuite>\n<testcase name=\"a\" time=\"fast\"/>\n</testsuite>", "error: time.xml:2:1: testcase time `fast` is not a number of seconds\n"),
    ];
    for (file, text, expected) in cases {
        std::fs::write(d.join(file), text).unwrap();
        let run = Slipway::new().dir(d).args(["tests", "report", file]).run();
        assert_eq!((run.code, run.stderr.as_str()), (2, *expected), "{file}");
    }
    let run = Slipway::new()
        .dir(d)
        .args(["tests", "report", "missing.xml"])
        .run();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: missing.xml: cannot read: No such file or directory (os error 2)\n"
        )
    );
}
