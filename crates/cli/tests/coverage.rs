//! `slipway coverage`: totals equal to what the producing tools print (the
//! real tools, run here on small projects), the gate on both sides of the
//! threshold, reports against a base branch with patch coverage, the
//! history, and bad input.
//!
//! coverage.py, pytest, Go and Node.js must be installed
//! (`scripts/install/gates.sh`); a missing tool fails the test.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use slipway_gates::percent::{Percent, Rule};
use support::{Run, Slipway};

fn fixtures() -> PathBuf {
    support::manifest_dir().join("tests/fixtures/coverage")
}

/// A copy of a fixture folder in a fresh temporary folder (not a git
/// repository, so nothing is recorded in this repository's history).
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(name), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn slipway(dir: &Path, args: &[&str]) -> Run {
    Slipway::new().dir(dir).args(args).run()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", run.stdout, run.stderr))
}

/// Run a tool; a tool that is missing or fails fails the test with what it
/// printed.
fn tool(dir: &Path, program: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = Command::new(program).args(args).current_dir(dir).envs(envs.iter().copied()).output().unwrap_or_else(|e| {
        panic!("`{program}` cannot run ({e}): install the test tools with scripts/install/gates.sh")
    });
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\n{}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn counter(v: &Value) -> (u64, u64) {
    (v["covered"].as_u64().unwrap(), v["total"].as_u64().unwrap())
}

/// The percent slipway's counters give, printed with a tool's rule.
fn printed(v: &Value, rule: Rule, decimals: usize) -> String {
    let (c, t) = counter(v);
    Percent::of(c, t, rule).display(decimals)
}

// ---------------------------------------------------------------------------
// coverage.py

const PY_APP: &[(&str, &str)] = &[
    ("app/__init__.py", ""),
    (
        "app/orders.py",
        r#"from app.tax import tax


def receipt(items, inclusive=False):
    total = 0
    for price, category in items:
        total += price + tax(price, category, inclusive)
    if total > 10000:
        return {"total": total, "approval": True}
    return {"total": total}


def split(total, people):
    if people <= 0:
        raise ValueError("nobody to split with")
    share, rest = divmod(total, people)
    shares = [share] * people
    i = 0
    while rest:
        shares[i] += 1
        rest -= 1
        i += 1
    return shares


def refund(order):  # pragma: no cover
    return -order["total"]
"#,
    ),
    (
        "app/tax.py",
        r#"STANDARD = 10
REDUCED = 8


def rate(category):
    if category == "food":
        return REDUCED
    elif category == "book":
        return REDUCED
    return STANDARD


def tax(amount, category, inclusive=False):
    r = rate(category)
    if inclusive:
        return amount - amount * 100 // (100 + r)
    try:
        return amount * r // 100
    except TypeError:
        return 0
"#,
    ),
    (
        "app/unused.py",
        r#"def never():
    return [n for n in range(3) if n % 2]
"#,
    ),
    (
        "tests/test_orders.py",
        r#"from app.orders import receipt, split


def test_receipt():
    assert receipt([(1000, "food"), (500, "toys")]) == {"total": 1630}


def test_split():
    assert split(10, 3) == [4, 3, 3]
"#,
    ),
];

struct PyRun {
    dir: tempfile::TempDir,
    /// `coverage report`'s TOTAL figure with 0 and 2 decimals.
    total_0: String,
    total_2: String,
}

fn coverage_py(branch: bool) -> PyRun {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), PY_APP);
    let mut run = vec!["-m", "coverage", "run", "--source=app"];
    if branch {
        run.push("--branch");
    }
    run.extend(["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
    tool(dir.path(), "python3", &run, &[]);
    tool(
        dir.path(),
        "python3",
        &["-m", "coverage", "xml", "-o", "coverage.xml"],
        &[],
    );
    let total = |precision: &str| -> String {
        let out = tool(
            dir.path(),
            "python3",
            &["-m", "coverage", "report", precision],
            &[],
        );
        let line = out
            .lines()
            .find(|l| l.starts_with("TOTAL"))
            .unwrap_or_else(|| panic!("no TOTAL in:\n{out}"));
        line.split_whitespace()
            .last()
            .unwrap()
            .trim_end_matches('%')
            .to_string()
    };
    PyRun {
        total_0: total("--precision=0"),
        total_2: total("--precision=2"),
        dir,
    }
}

fn check_coverage_py(branch: bool) {
    let py = coverage_py(branch);
    let run = slipway(
        py.dir.path(),
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--format",
            "json",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    let total = &v["total"];
    assert_eq!(
        format!("{:.2}", total["percent"].as_f64().unwrap()),
        py.total_2,
        "slipway against `coverage report --precision=2`"
    );
    // The same counters, printed as coverage.py prints by default.
    let (lc, lt) = counter(&total["lines"]);
    let (bc, bt) = if branch {
        counter(&total["branches"])
    } else {
        (0, 0)
    };
    assert_eq!(
        Percent::of(lc + bc, lt + bt, Rule::CoveragePy).display(0),
        py.total_0
    );
    assert_eq!(total["basis"], "lines+branches");
    assert_eq!(total["branches"].is_null(), !branch);
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "app/unused.py"));

    // The gate agrees with coverage.py's own --fail-under when the
    // threshold has as many decimals as coverage.py's precision, on both
    // sides of the total.
    let exact: f64 = py.total_2.parse().unwrap();
    for (threshold, precision) in [
        (format!("{:.2}", exact), "2"),
        (format!("{:.2}", exact + 0.01), "2"),
        (format!("{:.0}", exact.floor()), "0"),
        (format!("{:.0}", exact.ceil() + 1.0), "0"),
        (format!("{:.1}", exact), "1"),
    ] {
        let ours = slipway(
            py.dir.path(),
            &[
                "coverage",
                "check",
                "coverage.xml",
                "--fail-under",
                &threshold,
                "--no-record",
            ],
        );
        let theirs = Command::new("python3")
            .args([
                "-m",
                "coverage",
                "report",
                &format!("--precision={precision}"),
                &format!("--fail-under={threshold}"),
            ])
            .current_dir(py.dir.path())
            .output()
            .unwrap();
        let theirs_failed = theirs.status.code() == Some(2);
        assert_eq!(
            ours.code == 1,
            theirs_failed,
            "threshold {threshold}: slipway exit {} ({}), coverage.py exit {:?}",
            ours.code,
            ours.stdout.trim(),
            theirs.status.code()
        );
        assert!(ours.code == 0 || ours.code == 1, "{}", ours.stderr);
    }
}

#[test]
fn coverage_py_statements_equal_coverage_report() {
    check_coverage_py(false);
}

#[test]
fn coverage_py_branches_equal_coverage_report() {
    check_coverage_py(true);
}

// ---------------------------------------------------------------------------
// Go

const GO_MODULE: &[(&str, &str)] = &[
    ("go.mod", "module example.com/shop\n\ngo 1.19\n"),
    (
        "cart/cart.go",
        r#"package cart

import "example.com/shop/money"

type Item struct {
	Price, Qty int
}

func Total(items []Item, coupon int) int {
	sum := 0
	for _, it := range items {
		if it.Qty <= 0 {
			continue
		}
		sum += it.Price * it.Qty
	}
	if coupon > 0 {
		sum -= coupon
		if sum < 0 {
			sum = 0
		}
	}
	return sum
}

func Label(items []Item) string {
	return money.Yen(Total(items, 0))
}

func Empty(items []Item) bool { return len(items) == 0 }

// A function literal in a variable: go test -cover counts its blocks,
// go tool cover -func does not (it is no function declaration).
var Discount = func(sum int) int {
	if sum > 10000 {
		return sum / 10
	}
	return 0
}
"#,
    ),
    (
        "cart/cart_test.go",
        r#"package cart

import "testing"

func TestTotal(t *testing.T) {
	if got := Total([]Item{{100, 2}, {50, 0}}, 0); got != 200 {
		t.Fatalf("got %d", got)
	}
}
"#,
    ),
    (
        "money/money.go",
        r#"package money

import "strconv"

func Yen(n int) string {
	if n < 0 {
		return "-" + Yen(-n)
	}
	s := strconv.Itoa(n)
	out := ""
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(c)
	}
	return "¥" + out
}

func Round(n, step int) int {
	if step == 0 {
		return n
	}
	return (n + step/2) / step * step
}
"#,
    ),
    (
        "money/money_test.go",
        r#"package money

import "testing"

func TestYen(t *testing.T) {
	if Yen(1234567) != "¥1,234,567" {
		t.Fatal(Yen(1234567))
	}
}
"#,
    ),
];

const GO_ENV: &[(&str, &str)] = &[
    ("GOFLAGS", "-mod=mod"),
    ("GOPROXY", "off"),
    ("GOTOOLCHAIN", "local"),
    ("GOWORK", "off"),
];

/// `go tool cover -func`'s total line, e.g. "55.6".
fn go_total(dir: &Path, profile: &str) -> String {
    let out = tool(
        dir,
        "go",
        &["tool", "cover", &format!("-func={profile}")],
        GO_ENV,
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("total:"))
        .unwrap_or_else(|| panic!("no total in:\n{out}"));
    line.split_whitespace()
        .last()
        .unwrap()
        .trim_end_matches('%')
        .to_string()
}

#[test]
fn go_totals_equal_go_tool_cover() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), GO_MODULE);
    let profiles: &[(&str, &[&str])] = &[
        ("set.out", &["test", "-coverprofile=set.out", "./..."]),
        (
            "count.out",
            &[
                "test",
                "-covermode=count",
                "-coverpkg=./...",
                "-coverprofile=count.out",
                "./...",
            ],
        ),
        (
            "atomic.out",
            &[
                "test",
                "-covermode=atomic",
                "-coverpkg=./...",
                "-coverprofile=atomic.out",
                "./...",
            ],
        ),
    ];
    for (profile, args) in profiles {
        tool(dir.path(), "go", args, GO_ENV);
        let theirs = go_total(dir.path(), profile);
        let run = slipway(
            dir.path(),
            &[
                "coverage",
                "report",
                profile,
                "--format",
                "json",
                "--no-record",
            ],
        );
        assert_eq!(run.code, 0, "{profile}: {}", run.stderr);
        let v = json(&run);
        assert_eq!(
            printed(&v["total"]["statements"], Rule::Go, 1),
            theirs,
            "{profile}: slipway against `go tool cover -func`"
        );
        assert_eq!(v["total"]["basis"], "statements");
        let paths: Vec<&str> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths.len(), 2, "{profile}: {paths:?}");
        assert!(
            paths.contains(&"cart/cart.go") && paths.contains(&"money/money.go"),
            "{paths:?}"
        );
        // The gate on both sides of Go's figure.
        let below: f64 = theirs.parse::<f64>().unwrap() + 0.1;
        let run = slipway(
            dir.path(),
            &[
                "coverage",
                "check",
                profile,
                "--fail-under",
                &format!("{below:.1}"),
                "--no-record",
            ],
        );
        assert_eq!(run.code, 1, "{}", run.stdout);
        let run = slipway(
            dir.path(),
            &[
                "coverage",
                "check",
                profile,
                "--fail-under",
                &theirs,
                "--no-record",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stdout);
    }
    // -coverpkg repeats every block once per test binary.
    let count = std::fs::read_to_string(dir.path().join("count.out")).unwrap();
    let blocks: Vec<&str> = count
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    let distinct: std::collections::HashSet<&str> = blocks.iter().copied().collect();
    assert!(
        blocks.len() > distinct.len(),
        "no repeated blocks in:\n{count}"
    );
}

// ---------------------------------------------------------------------------
// Node.js's test runner (lcov)

#[test]
fn lcov_totals_equal_node_test_runner_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("package.json", "{\"type\": \"module\"}\n"),
            (
                "src/cart.js",
                r#"export function total(items, discount) {
  let sum = 0;
  for (const item of items) {
    if (item.qty <= 0) continue;
    sum += item.price * item.qty;
  }
  if (discount) {
    sum = Math.max(0, sum - discount);
  }
  return sum;
}

export function label(n) {
  return n > 1 ? `${n} items` : 'one item';
}

export const unused = () => {
  return 42;
};

export class Till {
  constructor() { this.open = false; }
  toggle() { this.open = !this.open; return this.open; }
  close() { this.open = false; }
}
"#,
            ),
            (
                "test/cart.test.js",
                r#"import { test } from 'node:test';
import assert from 'node:assert';
import { total, label, Till } from '../src/cart.js';

test('total', () => {
  assert.strictEqual(total([{ price: 2, qty: 3 }, { price: 9, qty: 0 }]), 6);
});
test('label', () => {
  assert.strictEqual(label(1), 'one item');
  assert.strictEqual(new Till().toggle(), true);
});
"#,
            ),
        ],
    );
    let out = tool(
        dir.path(),
        "node",
        &[
            "--test",
            "--experimental-test-coverage",
            "--test-reporter=lcov",
            "--test-reporter-destination=lcov.info",
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            "test/",
        ],
        &[],
    );
    // ℹ all files         |  89.29 |    75.00 |   80.00 |
    let line = out
        .lines()
        .find(|l| l.contains("all files"))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    let (lines, branches, functions) = (cells[1], cells[2], cells[3]);

    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "report",
            "lcov.info",
            "--format",
            "json",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    let total = &v["total"];
    assert_eq!(
        format!("{:.2}", total["percent"].as_f64().unwrap()),
        lines,
        "line % against node's summary"
    );
    assert_eq!(printed(&total["lines"], Rule::Node, 2), lines);
    assert_eq!(
        printed(&total["branches"], Rule::Node, 2),
        branches,
        "branch %"
    );
    assert_eq!(
        printed(&total["functions"], Rule::Node, 2),
        functions,
        "funcs %"
    );
    // Per file too.
    for file in v["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let row = out
            .lines()
            .find(|l| l.contains(&format!(" {path} ")))
            .unwrap_or_else(|| panic!("{path} not in:\n{out}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            format!("{:.2}", file["percent"].as_f64().unwrap()),
            cells[1],
            "{path}"
        );
        assert_eq!(
            printed(&file["branches"], Rule::Node, 2),
            cells[2],
            "{path}"
        );
        assert_eq!(
            printed(&file["functions"], Rule::Node, 2),
            cells[3],
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------
// Istanbul (hand-made reports: there is no Istanbul offline)

#[test]
fn istanbul_truncates_to_two_decimals() {
    let dir = fixture("web");
    let final_ = json(&slipway(
        dir.path(),
        &[
            "coverage",
            "report",
            "coverage/coverage-final.json",
            "--format",
            "json",
            "--no-record",
        ],
    ));
    let summary_text =
        std::fs::read_to_string(dir.path().join("coverage/coverage-summary.json")).unwrap();
    let istanbul: Value = serde_json::from_str(&summary_text).unwrap();
    // What Istanbul printed (its json-summary's pct), against slipway's
    // figures from coverage-final.json: 77.77, not 77.78; 66.66, not 66.67.
    let t = &final_["total"];
    assert_eq!(t["percent"], 77.77);
    assert_eq!(t["basis"], "lines");
    for metric in ["lines", "statements", "functions", "branches"] {
        assert_eq!(
            printed(&t[metric], Rule::Istanbul, 2),
            format!("{:.2}", istanbul["total"][metric]["pct"].as_f64().unwrap()),
            "total {metric}"
        );
        assert_eq!(
            counter(&t[metric]),
            counter(&istanbul["total"][metric]),
            "total {metric}"
        );
    }
    for file in final_["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let (key, theirs) = istanbul
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with(path))
            .unwrap();
        for metric in ["lines", "statements", "functions", "branches"] {
            assert_eq!(
                printed(&file[metric], Rule::Istanbul, 2),
                format!("{:.2}", theirs[metric]["pct"].as_f64().unwrap()),
                "{key} {metric}"
            );
        }
    }
    // The summary alone gives the same totals (and no line data).
    let summary = json(&slipway(
        dir.path(),
        &[
            "coverage",
            "report",
            "coverage/coverage-summary.json",
            "--format",
            "json",
            "--no-record",
        ],
    ));
    assert_eq!(summary["total"], final_["total"]);
    assert_eq!(summary["format"], "istanbul-summary");
    assert!(summary["files"][0]["missing"].is_null());
    // The paths were written on a CI runner; they resolve by suffix.
    assert_eq!(summary["files"][0]["path"], "src/cart.js");
}

#[test]
fn istanbul_gate_compares_the_truncated_figure() {
    let dir = fixture("web");
    // Istanbul's 77.77 (the exact 77.777... truncated) rounds to 78 and to
    // 77.8, so both pass; it fails 77.78, which the exact value would pass.
    for (threshold, code) in [("78", 0), ("77.8", 0), ("77.78", 1), ("77.77", 0)] {
        let run = slipway(
            dir.path(),
            &[
                "coverage",
                "check",
                "coverage/coverage-final.json",
                "--fail-under",
                threshold,
                "--no-record",
            ],
        );
        assert_eq!(run.code, code, "{threshold}: {}{}", run.stdout, run.stderr);
    }
}

// ---------------------------------------------------------------------------
// The gate, the report and its renderings (fixtures from the real tools)

#[test]
fn check_message_is_exact() {
    let dir = fixture("portal");
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--fail-under",
            "80",
            "--flag",
            "svc-portal",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "coverage 77.78% (svc-portal) is below 80%\n");
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--fail-under",
            "77.8",
            "--no-record",
        ],
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "coverage 77.78% meets 77.8%\n")
    );
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--fail-under",
            "78",
            "--flag",
            "svc-portal",
            "--no-record",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0);
    let v = json(&run);
    assert_eq!(v["message"], "coverage 77.78% (svc-portal) meets 78%");
    assert_eq!(
        (
            v["percent"].as_f64(),
            v["threshold"].as_f64(),
            v["passed"].as_bool()
        ),
        (Some(77.78), Some(78.0), Some(true))
    );
}

#[test]
fn check_reads_the_threshold_from_slipway_toml() {
    let dir = fixture("portal");
    write(
        dir.path(),
        &[(
            "slipway.toml",
            "[coverage]\nfail-under = 80\n\n[coverage.flags.svc-portal]\nfail-under = 77.5\n",
        )],
    );
    let run = slipway(
        dir.path(),
        &["coverage", "check", "coverage.xml", "--no-record"],
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (1, "coverage 77.78% is below 80%\n")
    );
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--flag",
            "svc-portal",
            "--no-record",
        ],
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "coverage 77.78% (svc-portal) meets 77.5%\n")
    );
    std::fs::remove_file(dir.path().join("slipway.toml")).unwrap();
    let run = slipway(
        dir.path(),
        &["coverage", "check", "coverage.xml", "--no-record"],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: no threshold: pass --fail-under PERCENT or set fail-under in the [coverage] section of slipway.toml\n");
}

#[test]
fn report_json_shape() {
    let dir = fixture("portal");
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--flag",
            "svc-portal",
            "--format",
            "json",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "flag",
            "total",
            "files",
            "base",
            "patch",
            "format",
            "repository",
            "branch",
            "commit",
            "gate"
        ]
    );
    assert_eq!(
        v["total"],
        serde_json::json!({"percent": 77.78, "basis": "lines+branches", "lines": {"covered": 16, "total": 19}, "branches": {"covered": 5, "total": 8}, "functions": null, "statements": null})
    );
    assert_eq!(v["flag"], "svc-portal");
    assert_eq!(v["files"][0]["path"], "app/tax.py");
    assert_eq!(v["files"][0]["missing"], "8, 14");
    assert_eq!(v["base"], Value::Null);
    assert_eq!(v["patch"], Value::Null);
}

#[test]
fn report_text_and_markdown() {
    for (name, report) in [
        ("portal", "coverage.xml"),
        ("shop", "coverage.out"),
        ("cart", "lcov.info"),
        ("web", "coverage/coverage-final.json"),
    ] {
        let dir = fixture(name);
        let text = slipway(
            dir.path(),
            &["coverage", "report", report, "--flag", name, "--no-record"],
        );
        assert_eq!(text.code, 0, "{}", text.stderr);
        insta::assert_snapshot!(format!("report_text_{name}"), text.stdout);
        let md = slipway(
            dir.path(),
            &[
                "coverage",
                "report",
                report,
                "--flag",
                name,
                "--no-record",
                "--format",
                "markdown",
                "--fail-under",
                "80",
            ],
        );
        insta::assert_snapshot!(format!("report_markdown_{name}"), md.stdout);
    }
}

// ---------------------------------------------------------------------------
// History, base comparison and patch coverage, in a real git repository

fn git(dir: &Path, args: &[&str]) -> String {
    tool(
        dir,
        "git",
        args,
        &[
            ("GIT_AUTHOR_NAME", "T"),
            ("GIT_AUTHOR_EMAIL", "t@example.com"),
            ("GIT_COMMITTER_NAME", "T"),
            ("GIT_COMMITTER_EMAIL", "t@example.com"),
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ],
    )
}

/// A coverage.py-style report of `app/calc.py`, lines as (number, hits).
fn cobertura(lines: &[(u32, u32)]) -> String {
    let body: String = lines
        .iter()
        .map(|(n, h)| format!("\t\t\t\t\t\t<line number=\"{n}\" hits=\"{h}\"/>\n"))
        .collect();
    let covered = lines.iter().filter(|l| l.1 > 0).count();
    format!(
        "<?xml version=\"1.0\" ?>\n<coverage version=\"7.17.3\" lines-valid=\"{}\" lines-covered=\"{covered}\" line-rate=\"0\" branches-valid=\"0\" branches-covered=\"0\" branch-rate=\"0\" complexity=\"0\">\n\t<sources>\n\t\t<source>/ci/work</source>\n\t</sources>\n\t<packages>\n\t\t<package name=\"app\">\n\t\t\t<classes>\n\t\t\t\t<class name=\"calc.py\" filename=\"app/calc.py\">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n{body}\t\t\t\t\t</lines>\n\t\t\t\t</class>\n\t\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n",
        lines.len()
    )
}

fn redact(s: &str) -> String {
    let s = support::redact_shas(s);
    // 2026-11-23 10:33 and 2026-11-23T10:33:41Z
    let mut out = String::new();
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 20)].iter().collect();
        let is_date = rest.len() >= 16
            && rest.chars().take(4).all(|c| c.is_ascii_digit())
            && rest.chars().nth(4) == Some('-')
            && rest.chars().nth(7) == Some('-')
            && matches!(rest.chars().nth(10), Some(' ') | Some('T'))
            && rest.chars().nth(13) == Some(':');
        if is_date {
            let len = if rest.chars().nth(16) == Some(':') {
                20
            } else {
                16
            };
            out.push_str("<time>");
            i += len;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn history_base_and_patch_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    let v1 = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
    write(
        d,
        &[("app/calc.py", v1), (".gitignore", ".slipway/\n*.xml\n")],
    );
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "calc"]);
    write(
        d,
        &[(
            "coverage.xml",
            &cobertura(&[(1, 1), (2, 1), (5, 1), (6, 0)]),
        )],
    );
    let run = slipway(d, &["coverage", "report", "coverage.xml", "--flag", "calc"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(d.join(".slipway/state.db").is_file());

    // A branch changes sub() and adds mul(); its tests miss one new line.
    git(d, &["checkout", "-q", "-b", "feature/mul"]);
    let v2 = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return b - a\n\n\ndef mul(a, b):\n    if a == 0:\n        return 0\n    return a * b\n";
    write(d, &[("app/calc.py", v2)]);
    git(d, &["commit", "-q", "-am", "mul"]);
    write(
        d,
        &[(
            "coverage.xml",
            &cobertura(&[
                (1, 1),
                (2, 1),
                (5, 1),
                (6, 1),
                (9, 1),
                (10, 1),
                (11, 0),
                (12, 1),
            ]),
        )],
    );
    let run = slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--flag",
            "calc",
            "--base",
            "main",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["branch"], "feature/mul");
    assert_eq!(v["total"]["percent"], 87.5);
    let base = &v["base"];
    assert_eq!(base["branch"], "main");
    assert_eq!(base["percent"], 75.0);
    assert_eq!(base["change"], 12.5);
    assert_eq!(
        base["files"],
        serde_json::json!([{"path": "app/calc.py", "base": 75.0, "head": 87.5, "change": 12.5}])
    );
    let patch = &v["patch"];
    // Changed: line 6, and 7-12 (new); coverable among them: 6, 9, 10, 11, 12.
    assert_eq!(
        patch["lines"],
        serde_json::json!({"covered": 4, "total": 5})
    );
    assert_eq!(patch["percent"], 80.0);
    assert_eq!(patch["files"][0]["missed_lines"], serde_json::json!([11]));
    assert_eq!(
        patch["base_commit"].as_str().unwrap(),
        git(d, &["rev-parse", "main"]).trim()
    );

    let text = slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--flag",
            "calc",
            "--base",
            "main",
            "--no-record",
        ],
    );
    insta::assert_snapshot!("report_text_base_and_patch", redact(&text.stdout));
    let md = slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--flag",
            "calc",
            "--base",
            "main",
            "--no-record",
            "--format",
            "markdown",
        ],
    );
    insta::assert_snapshot!("report_markdown_base_and_patch", redact(&md.stdout));

    // Uncommitted work counts as changed too.
    write(
        d,
        &[(
            "app/calc.py",
            &format!("{v2}\n\ndef neg(a):\n    return -a\n"),
        )],
    );
    write(
        d,
        &[(
            "coverage.xml",
            &cobertura(&[
                (1, 1),
                (2, 1),
                (5, 1),
                (6, 1),
                (9, 1),
                (10, 1),
                (11, 0),
                (12, 1),
                (15, 0),
                (16, 0),
            ]),
        )],
    );
    let v = json(&slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--flag",
            "calc",
            "--base",
            "main",
            "--format",
            "json",
            "--no-record",
        ],
    ));
    assert_eq!(
        v["patch"]["lines"],
        serde_json::json!({"covered": 4, "total": 7})
    );

    // The trend: one report on main, one on the branch (--no-record runs
    // are not kept).
    let trend = slipway(d, &["coverage", "trend", "--flag", "calc"]);
    assert_eq!(trend.code, 0, "{}", trend.stderr);
    insta::assert_snapshot!("trend_text", redact(&trend.stdout));
    let t = json(&slipway(
        d,
        &[
            "coverage", "trend", "--flag", "calc", "--branch", "main", "--format", "json",
        ],
    ));
    assert_eq!(t["points"].as_array().unwrap().len(), 1);
    assert_eq!(t["points"][0]["percent"], 75.0);
    assert_eq!(t["sparkline"], "▄");
    let none = slipway(d, &["coverage", "trend", "--flag", "other"]);
    assert_eq!(
        none.stdout,
        "Coverage other, every branch: no reports recorded yet\n"
    );
}

#[test]
fn base_without_history_still_gives_patch_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, &[("app/calc.py", "def add(a, b):\n    return a + b\n")]);
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "calc"]);
    git(d, &["checkout", "-q", "-b", "next"]);
    write(
        d,
        &[
            ("app/calc.py", "def add(a, b):\n    return b + a\n"),
            ("coverage.xml", &cobertura(&[(1, 1), (2, 0)])),
        ],
    );
    let run = slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "--base",
            "main",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("No report recorded for the base branch yet"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Patch coverage: 0.00% (0 of 1 changed line covered since"),
        "{}",
        run.stdout
    );
}

#[test]
fn outside_git_nothing_is_recorded() {
    let dir = fixture("portal");
    let t = slipway(dir.path(), &["coverage", "trend"]);
    assert_eq!(
        (t.code, t.stdout.as_str()),
        (0, "Coverage every branch: no reports recorded yet\n")
    );
    assert!(
        !dir.path().join(".slipway").exists(),
        "showing the trend created a history"
    );
    let run = slipway(
        dir.path(),
        &["coverage", "check", "coverage.xml", "--fail-under", "50"],
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "note: not recorded in the history: no git commit or branch here (pass --sha and --branch)\n");
    let run = slipway(
        dir.path(),
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--fail-under",
            "50",
            "--branch",
            "main",
            "--sha",
            "abc123",
            "--repository",
            "mpac/smartpos",
        ],
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let t = json(&slipway(
        dir.path(),
        &[
            "coverage",
            "trend",
            "--repository",
            "mpac/smartpos",
            "--format",
            "json",
        ],
    ));
    assert_eq!(t["points"][0]["commit"], "abc123");
    assert_eq!(t["points"][0]["branch"], "main");
}

// ---------------------------------------------------------------------------
// Bad input: exit 2, the file and the position, never a panic

fn bad(dir: &Path, file: &str, text: &[u8]) -> Run {
    std::fs::write(dir.join(file), text).unwrap();
    let run = slipway(dir, &["coverage", "report", file, "--no-record"]);
    assert_eq!(
        run.code, 2,
        "{file}: stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[test]
fn bad_input_names_file_and_position() {
    let dir = fixture("portal");
    let d = dir.path();
    let full = std::fs::read_to_string(d.join("coverage.xml")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.xml", full.as_bytes()[..900].to_vec(), "error: truncated.xml:20:7: unexpected end of file: tag not closed: `>` not found before end of input (is the report truncated?)\n"),
        (
            "mismatched.xml",
            b"<coverage>\n  <packages>\n  </coverage>\n".to_vec(),
            "error: mismatched.xml:3:3: malformed XML: ill-formed document: expected `</packages>`, but `</coverage>` was found\n",
        ),
        ("badline.xml", b"<coverage><packages><package><classes>\n<class filename=\"app/tax.py\"><lines>\n  <line number=\"7\" hits=\"many\"/>\n</lines></class></classes></package></packages></coverage>".to_vec(), "error: badline.xml:3:3: <line> hits `many` is not a count\n"),
        ("html.xml", b"<html><body>502 Bad Gateway</body></html>".to_vec(), "error: html.xml:1:1: unknown XML report: the root element is <html>, not Cobertura's <coverage> or JUnit's <testsuites>\n"),
        ("junit.xml", b"<testsuites><testsuite name=\"x\"/></testsuites>".to_vec(), "error: junit.xml: this is a JUnit test report, not a coverage report (see `slipway tests report`)\n"),
        ("truncated.json", b"{\"a.js\": {\"path\": \"a.js\",\n  \"s\": {\"0\": 1".to_vec(), "error: truncated.json:2:14: unexpected end of file: EOF while parsing an object (is the report truncated?)\n"),
        ("broken.json", b"{\"a.js\": {\"s\": {\"0\": 1,}}}".to_vec(), "error: broken.json:1:24: malformed JSON: trailing comma\n"),
        ("empty.out", b"mode: set\n".to_vec(), "error: empty.out: empty profile: no coverage blocks after the mode line\n"),
        ("blank.out", b"\n\n".to_vec(), "error: blank.out: empty file\n"),
        ("badblock.out", b"mode: set\nexample.com/x/a.go:1.1,2.2 1 1\nexample.com/x/a.go:3.1 1 1\n".to_vec(), "error: badblock.out:3:1: bad position: expected `file.go:line.column,line.column statements count`, found `example.com/x/a.go:3.1 1 1`\n"),
        ("cut.info", b"TN:\nSF:app/tax.py\nDA:1,1\nDA:2,".to_vec(), "error: cut.info:4:1: bad DA record (count): `DA:2,`\n"),
        ("noend.info", b"TN:\nSF:app/tax.py\nDA:1,1\n".to_vec(), "error: noend.info:3:1: unexpected end of file: the record of app/tax.py (from line 2) has no end_of_record (is the file truncated?)\n"),
        ("text.txt", b"Name    Stmts   Miss  Cover\nTOTAL      10      2    80%\n".to_vec(), "error: text.txt:1:1: unknown format: expected Cobertura XML, a Go coverprofile, an lcov tracefile or Istanbul JSON\n"),
        ("binary.bin", vec![0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe], "error: binary.bin:1:1: unknown format: expected Cobertura XML, a Go coverprofile, an lcov tracefile or Istanbul JSON\n"),
        ("missing-source.info", b"TN:\nSF:app/tax.py\nDA:1,1\nend_of_record\nSF:app/gone.py\nDA:1,0\nend_of_record\n".to_vec(), "error: missing-source.info:5:1: source file `app/gone.py` is not in the repository\n"),
        ("missing-source.xml", b"<coverage>\n<packages><package><classes>\n    <class filename=\"lib/gone.py\"><lines/></class>\n</classes></package></packages></coverage>\n".to_vec(), "error: missing-source.xml:3:5: source file `lib/gone.py` is not in the repository\n"),
        ("missing-source.json", b"{\"app/tax.py\": {\"s\": {}},\n \"/ci/app/gone.js\": {\"s\": {\"0\": 1}}}".to_vec(), "error: missing-source.json:2:2: source file `/ci/app/gone.js` is not in the repository\n"),
    ];
    for (file, text, expected) in cases {
        let run = bad(d, file, &text);
        assert_eq!(run.stderr, expected, "{file}");
    }
}

#[test]
fn bad_arguments() {
    let dir = fixture("portal");
    let d = dir.path();
    let run = slipway(d, &["coverage", "report", "nowhere.xml", "--no-record"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: nowhere.xml: cannot read: No such file or directory (os error 2)\n"
        )
    );
    let run = slipway(
        d,
        &[
            "coverage",
            "check",
            "coverage.xml",
            "--fail-under",
            "eighty",
        ],
    );
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: --fail-under: invalid threshold `eighty`: expected a number from 0 to 100, such as 80 or 80.5\n"));
    write(
        d,
        &[("other.info", "TN:\nSF:app/tax.py\nDA:1,1\nend_of_record\n")],
    );
    let run = slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.xml",
            "other.info",
            "--no-record",
        ],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: other.info: is an lcov tracefile, but coverage.xml is a Cobertura XML report: reports of different formats cannot make one report\n");
}

#[test]
fn several_reports_of_one_format_merge() {
    let dir = fixture("shop");
    let d = dir.path();
    // The same profile twice: count mode adds the counts, the total stays.
    let one = json(&slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.out",
            "--format",
            "json",
            "--no-record",
        ],
    ));
    std::fs::copy(d.join("coverage.out"), d.join("again.out")).unwrap();
    let two = json(&slipway(
        d,
        &[
            "coverage",
            "report",
            "coverage.out",
            "again.out",
            "--format",
            "json",
            "--no-record",
        ],
    ));
    assert_eq!(one["total"], two["total"]);
    assert_eq!(
        one["total"]["statements"],
        serde_json::json!({"covered": 5, "total": 9})
    );
}
