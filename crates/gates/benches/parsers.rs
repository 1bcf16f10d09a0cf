//! Coverage parsers on big generated reports, each beside a baseline in
//! the same run: reading the same file through the same 64 KiB buffer and
//! counting its lines (the floor any streaming parser pays).
//!
//! - Cobertura XML in coverage.py's layout, 10 MB and 100 MB;
//! - Go coverprofiles of 100,000 and 1,000,000 lines: every block
//!   distinct, and the `-coverpkg=./...` shape (the same 20,000 blocks once
//!   per test binary: 5 binaries, then 50).
//!
//! Each is parsed twice: keeping line data (`Detail::Lines`, what
//! `coverage report` and recording need) and totals only
//! (`Detail::Totals`, what `coverage check --no-record` needs). Totals
//! only is then measured again with the paths resolved, as `coverage
//! check` does (the report is read a second time for its paths; every
//! path is taken to be a file, no Go source is read). Two sizes show
//! whether memory grows with the input.
//!
//! Reported: throughput (MB/s, 10^6 bytes), the parser's peak heap (a
//! counting allocator: the most bytes allocated at once while parsing,
//! including the report it returns) and the process's peak resident memory
//! (VmHWM, reset before each run).
//!
//! Run: `cargo bench -p slipway-gates --bench parsers`
//! (`-- --quick`: a tenth of each size: 1 and 10 MB, 10,000 and 100,000
//! lines, 2,000 distinct blocks in the `-coverpkg` shape)

// `is_multiple_of` is newer than the workspace's rust-version.
#![allow(clippy::manual_is_multiple_of)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use slipway_gates::paths::SourceTree;
use slipway_gates::{parse_coverage_with, Detail, FileInput, Input};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// VmHWM in bytes, after resetting it to the current resident size.
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn hwm() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Measure {
    seconds: f64,
    heap_peak: usize,
    rss_peak: Option<usize>,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Measure) {
    reset_hwm();
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    let heap_peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (
        out,
        Measure {
            seconds,
            heap_peak,
            rss_peak: hwm(),
        },
    )
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn row(what: &str, size: u64, m: &Measure) {
    let rss = m
        .rss_peak
        .map(|r| format!("{:>8.1} MB", mb(r)))
        .unwrap_or_else(|| "       -".into());
    println!(
        "  {what:<34} {:>7.3} s {:>8.1} MB/s   heap peak {:>8.2} MB   RSS peak {rss}",
        m.seconds,
        mb(size as usize) / m.seconds,
        mb(m.heap_peak)
    );
}

/// The baseline: read every byte through the same buffer, count lines.
fn line_count(path: &Path) -> usize {
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(path).unwrap());
    let mut lines = 0;
    loop {
        let buf = reader.fill_buf().unwrap();
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count();
        let n = buf.len();
        reader.consume(n);
    }
    lines
}

/// A small deterministic generator, so every run parses the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// coverage.py's Cobertura layout, to about `target` bytes.
fn cobertura(path: &Path, target: u64) -> u64 {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut rng = Rng(0x5eed);
    writeln!(w, "<?xml version=\"1.0\" ?>").unwrap();
    writeln!(w, "<coverage version=\"7.17.3\" timestamp=\"1795431358708\" lines-valid=\"0\" lines-covered=\"0\" line-rate=\"0\" branches-valid=\"0\" branches-covered=\"0\" branch-rate=\"0\" complexity=\"0\">").unwrap();
    writeln!(w, "\t<!-- Generated by coverage.py: https://coverage.readthedocs.io/en/7.17.3 -->\n\t<sources>\n\t\t<source>/home/runner/work/big/big</source>\n\t</sources>\n\t<packages>").unwrap();
    let mut written: u64 = 400;
    let mut file = 0;
    while written < target {
        writeln!(w, "\t\t<package name=\"pkg{file}\" line-rate=\"0.8\" branch-rate=\"0.7\" complexity=\"0\">\n\t\t\t<classes>").unwrap();
        for _ in 0..20 {
            let header = format!(
                "\t\t\t\t<class name=\"mod{file}.py\" filename=\"pkg{}/mod{file}.py\" complexity=\"0\" line-rate=\"0.8\" branch-rate=\"0.7\">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n",
                file / 20
            );
            w.write_all(header.as_bytes()).unwrap();
            written += header.len() as u64;
            let mut line = 0;
            for _ in 0..400 {
                line += 1 + rng.next() % 3;
                let hits = if rng.next() % 5 == 0 {
                    0
                } else {
                    1 + rng.next() % 40
                };
                let text = if rng.next() % 8 == 0 {
                    let taken = if hits == 0 { 0 } else { 1 + rng.next() % 2 };
                    let missing = if taken < 2 {
                        format!(" missing-branches=\"{}\"", line + 2)
                    } else {
                        String::new()
                    };
                    format!(
                        "\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hits}\" branch=\"true\" condition-coverage=\"{}% ({taken}/2)\"{missing}/>\n",
                        taken * 50
                    )
                } else {
                    format!("\t\t\t\t\t\t<line number=\"{line}\" hits=\"{hits}\"/>\n")
                };
                w.write_all(text.as_bytes()).unwrap();
                written += text.len() as u64;
            }
            let footer = "\t\t\t\t\t</lines>\n\t\t\t\t</class>\n";
            w.write_all(footer.as_bytes()).unwrap();
            written += footer.len() as u64;
            file += 1;
        }
        writeln!(w, "\t\t\t</classes>\n\t\t</package>").unwrap();
    }
    writeln!(w, "\t</packages>\n</coverage>").unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// A Go coverprofile of `distinct` blocks written once per test binary:
/// `binaries` > 1 repeats them, as `-coverpkg=./...` does.
fn coverprofile(path: &Path, distinct: usize, binaries: usize) -> u64 {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    writeln!(w, "mode: atomic").unwrap();
    let mut counts = Rng(0xbeef);
    for b in 0..binaries {
        // The same blocks in every binary: positions restart the sequence.
        let mut rng = Rng(0xc0ffee);
        let mut line = 1;
        for i in 0..distinct {
            let file = i / 200;
            if i % 200 == 0 {
                line = 1;
            }
            let start = line;
            let end = start + rng.next() % 6;
            line = end + 1;
            // In each binary only the tests of one package run.
            let count = if binaries == 1 || (file + b) % binaries == 0 {
                counts.next() % 7
            } else {
                0
            };
            writeln!(
                w,
                "github.com/mpac/big/pkg{}/file{file}.go:{start}.{},{end}.{} {} {count}",
                file / 25,
                2 + rng.next() % 20,
                2 + rng.next() % 40,
                1 + rng.next() % 4
            )
            .unwrap();
        }
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn parse(path: &Path, detail: Detail) -> slipway_gates::CoverageReport {
    let input = FileInput::new(path);
    let inputs: [&dyn Input; 1] = [&input];
    parse_coverage_with(&inputs, detail)
        .expect("the generated report parses")
        .into_report()
}

/// A repository where every path is a file, with no Go module.
struct EveryPath;

impl SourceTree for EveryPath {
    fn is_file(&self, _: &str) -> bool {
        true
    }

    fn go_module(&self, _: &str) -> Option<String> {
        None
    }

    fn list_files(&self) -> Vec<String> {
        Vec::new()
    }

    fn read_file(&self, _: &str) -> Option<String> {
        None
    }
}

/// Totals only, paths resolved, as `coverage check` reads.
fn check(path: &Path) -> slipway_gates::CoverageReport {
    let input = FileInput::new(path);
    let inputs: [&dyn Input; 1] = [&input];
    parse_coverage_with(&inputs, Detail::Totals)
        .expect("the generated report parses")
        .resolve(&inputs, &[Some(String::new())], &EveryPath, "/")
        .expect("every path resolves")
}

fn run(title: &str, path: &Path, size: u64) {
    println!("{title}: {:.1} MB", mb(size as usize));
    let (lines, m) = measure(|| line_count(path));
    row(&format!("baseline: line count ({lines} lines)"), size, &m);
    let (full, m) = measure(|| parse(path, Detail::Lines));
    row("parse, totals and line data", size, &m);
    let line_records: usize = full.files.iter().map(|f| f.lines.len()).sum();
    println!(
        "  -> {} files, {} line records, total {}% ({})",
        full.files.len(),
        line_records,
        full.percent().display(2),
        full.format.name()
    );
    let (full_total, full_percent) = (full.total, full.percent());
    drop(full);
    let (totals, m) = measure(|| parse(path, Detail::Totals));
    row("parse, totals only", size, &m);
    assert_eq!(totals.total, full_total, "totals only counts as line data");
    assert_eq!(totals.percent(), full_percent);
    drop(totals);
    let (checked, m) = measure(|| check(path));
    row("totals only, paths resolved", size, &m);
    assert_eq!(checked.total, full_total, "resolving keeps the totals");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = tempfile::tempdir().unwrap();
    let cob = dir.path().join("coverage.xml");
    // A tenth of each size in the quick pass.
    let scale = if quick { 10 } else { 1 };
    for target in [10_000_000, 100_000_000] {
        let size = cobertura(&cob, target / scale);
        run("Cobertura (coverage.py layout)", &cob, size);
    }
    let profile = dir.path().join("coverage.out");
    for lines in [100_000, 1_000_000] {
        let lines = lines / scale as usize;
        let size = coverprofile(&profile, lines, 1);
        run(
            &format!("Go coverprofile, {lines} lines, all blocks distinct"),
            &profile,
            size,
        );
    }
    let distinct = 20_000 / scale as usize;
    for binaries in [5, 50] {
        let size = coverprofile(&profile, distinct, binaries);
        run(
            &format!(
                "Go coverprofile, {} lines, -coverpkg shape ({distinct} blocks, {binaries} binaries)",
                distinct * binaries
            ),
            &profile,
            size,
        );
    }
}
