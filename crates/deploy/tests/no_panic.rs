//! The deploy sections of `slipway.toml` on thousands of mangled files:
//! reading must never panic, every error must name the file (and a line
//! and column inside the text when it gives one), and a config that reads
//! must answer for its clusters, services, settings and ports without
//! panicking. A stable-toolchain companion to the `deploy_config` fuzz
//! target, from the same seeds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use slipway_deploy::config::DeployConfig;
use slipway_deploy::duration;
use slipway_deploy::settings::Step;

fn seeds() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut files: Vec<String> = std::fs::read_dir(format!("{root}/fuzz/seeds/deploy_config"))
        .unwrap_or_else(|e| panic!("seed folder: {e}"))
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    files.push(format!("{root}/examples/mpac-smartpos/slipway.toml"));
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

/// What the file's reader and a read config must survive; whether it read.
fn check(text: &str) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        match DeployConfig::parse(text, Path::new("/repo"), "slipway.toml") {
            Ok(config) => {
                let _ = config.cluster(None);
                for name in config.clusters.keys() {
                    let c = config.cluster(Some(name)).expect("a listed cluster");
                    let _ = config.services_of(c, None);
                    let names = config.cluster_service_names(c);
                    let _ = config.services_of(c, Some(&names));
                    let _ = config.settings(c);
                    for s in config.services.values() {
                        let _ = c.port(s);
                    }
                }
                let _ = config.cluster(Some("no-such-cluster"));
                true
            }
            Err(e) => {
                let shown = e.to_string();
                assert_eq!(e.file, "slipway.toml", "{shown}");
                assert!(shown.starts_with("slipway.toml"), "{shown}");
                if let Some((line, col)) = e.at {
                    let lines = text.matches('\n').count() + 1;
                    assert!(
                        (1..=lines).contains(&line) && col >= 1,
                        "{shown}: outside the text's {lines} lines"
                    );
                }
                false
            }
        }
    }));
    match outcome {
        Ok(read) => read,
        Err(_) => panic!("DeployConfig::parse panicked (message above) on:\n{text:?}"),
    }
}

fn check_value(text: &str) {
    let outcome = catch_unwind(|| {
        if let Ok(steps) = Step::parse_list(text) {
            let _ = Step::list_to_string(&steps);
        }
        if let Ok(d) = duration::parse(text) {
            let _ = duration::format(d);
        }
    });
    if outcome.is_err() {
        panic!("Step::parse_list or duration::parse panicked on {text:?}");
    }
}

/// Values that are not what a key expects, or are at its edges.
const ODD: &[&str] = &[
    "0",
    "-1",
    "1",
    "65535",
    "65536",
    "-65536",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1e308",
    "-1e308",
    "5e-324",
    "-0.0",
    "nan",
    "-inf",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"\"",
    "\" \"",
    "\"-0\"",
    "\"-0.0\"",
    "\"nan\"",
    "\"inf\"",
    "\"1e400\"",
    "\"9223372036854775807\"",
    "\"99999999999999999999d\"",
    "\"604800\"",
    "\"604800.0000001\"",
    "\"7d\"",
    "\"1h-5m\"",
    "\"1..5s\"",
    "\".s\"",
    "\"0.0000000001ms\"",
    "\"5:1m,100:-1s\"",
    "\"100:0s\"",
    "\"4294967296:1m,100:1m\"",
    "\",,\"",
    "\":\"",
    "\"é🚀\"",
    "\"/\u{0}\"",
    "\"{registry}\"",
    "\"{registry}/a:b\"",
    "\"[::1]:0\"",
    "\"127.0.0.1:99999\"",
    "\"::\"",
    "'''\nmulti\n'''",
];

const PIECES: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "\n",
    " ",
    ",",
    ".",
    "{",
    "}",
    "#",
    "\\",
    "\\u",
    "-",
    "é",
    "🚀",
    "\u{0}",
    "\r",
    "\t",
    "[services.x]\n",
    "[clusters.y]\n",
    "[deploy]\n",
    "port = 1\n",
    "command = \"c\"\n",
    "port-offset = 70000\n",
    "services = []\n",
    "runtime = \"docker\"\n",
    "image = \"{registry}/x\"\n",
];

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

/// The text with the value of its `line`-th line (a `key = value` line)
/// replaced.
fn with_value(text: &str, line: usize, value: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let (key, _) = lines.get(line)?.split_once(" = ")?;
    let mut out = lines.clone();
    let replaced = format!("{key} = {value}");
    out[line] = &replaced;
    Some(out.join("\n"))
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())];
                bytes.splice(at..at, piece.bytes());
            }
            1 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 if at < bytes.len() => bytes[at] = rng.below(0x80) as u8,
            3 => {
                let lines: Vec<&str> = text.lines().collect();
                let line = lines[rng.below(lines.len())];
                bytes.splice(at..at, format!("{line}\n").bytes());
            }
            _ => {
                let value = ODD[rng.below(ODD.len())];
                let line = rng.below(text.lines().count());
                if let Some(t) = with_value(&String::from_utf8_lossy(&bytes), line, value) {
                    bytes = t.into_bytes();
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn seeds_read_as_expected() {
    let seeds = seeds();
    assert!(seeds.len() >= 5, "expected the fuzz seeds and the example");
    let read = seeds.iter().filter(|s| check(s)).count();
    // The valid seeds, the example among them; the almost-valid ones fail.
    assert!(
        read >= 4 && read < seeds.len(),
        "{read} of {} seeds read",
        seeds.len()
    );
}

/// Inputs the mangling may not reach: offsets at the ends of i64, with
/// the service inside the cluster (checked when read) and outside it
/// (asked for its port all the same), and offsets that land on port 0.
#[test]
fn edge_cases_never_panic() {
    let service = "[services.a]\nport = 8002\ncommand = \"x\"\n[clusters.c]\n";
    for offset in [
        "9223372036854775807",
        "-9223372036854775808",
        "-8002",
        "57534",
        "57533",
    ] {
        for members in [
            "",
            "services = []\n",
            "services = [\"a\"]\n",
            "ports = { a = 1 }\n",
        ] {
            check(&format!("{service}port-offset = {offset}\n{members}"));
        }
    }
    for text in [
        "",
        "\u{feff}",
        "[services.\"\"]\nport = 1\ncommand = \"x\"\n",
        "[services.\"\u{e9}\"]\nport = 1\ncommand = \"x\"\n",
        "[clusters.\"\u{1F680}\"]\n",
        "[deploy]\nsteps = \"\u{1F680}:1m,100:1m\"\n",
        "[deploy]\ninterval = \"1\u{1F680}\"\n",
        "[deploy]\ninterval = -0.0\n",
        "[deploy]\nkeep-previous = -0.0\n",
        "[deploy]\nkeep-previous = 604800.0000000001\n",
        "x = \"\u{e9}",
        "\u{e9} = 1",
        "[\u{e9}",
    ] {
        check(text);
        check_value(text);
    }
}

#[test]
fn truncated_files_never_panic() {
    let mut inputs = 0;
    for seed in seeds() {
        for end in (0..=seed.len()).filter(|&i| seed.is_char_boundary(i)) {
            check(&seed[..end]);
            inputs += 1;
        }
    }
    assert!(inputs > 1000, "{inputs}");
}

#[test]
fn byte_deletions_and_duplications_never_panic() {
    let mut inputs = 0;
    // Every third byte (a different third in each seed): each position
    // costs a parse, and the neighbours' are much alike.
    for (n, seed) in seeds().iter().enumerate() {
        let bytes = seed.as_bytes();
        for i in (n % 3..bytes.len()).step_by(3) {
            let mut deleted = bytes.to_vec();
            deleted.remove(i);
            let mut doubled = bytes.to_vec();
            doubled.insert(i, bytes[i]);
            for t in [deleted, doubled] {
                if let Ok(t) = String::from_utf8(t) {
                    check(&t);
                    inputs += 1;
                }
            }
        }
    }
    assert!(inputs > 2500, "{inputs}");
}

#[test]
fn odd_values_never_panic() {
    let mut inputs = 0;
    let mut read = 0;
    for seed in seeds() {
        for line in 0..seed.split('\n').count() {
            // A third of the values on each line, a different third on the
            // next: every value meets every kind of key across the seeds.
            for value in ODD.iter().skip(line % 3).step_by(3) {
                if let Some(t) = with_value(&seed, line, value) {
                    read += usize::from(check(&t));
                    inputs += 1;
                }
            }
        }
    }
    for value in ODD {
        check_value(value);
        check_value(value.trim_matches('"'));
    }
    assert!(inputs > 1500, "{inputs}");
    assert!(read > 100, "only {read} of {inputs} read");
}

#[test]
fn random_mangling_never_panics() {
    let seeds = seeds();
    let mut rng = Rng(0x5EED_DE91_0C0F_1600);
    let mut read = 0;
    for i in 0..4000 {
        let text = mutate(&seeds[i % seeds.len()], &mut rng);
        read += usize::from(check(&text));
        for line in text.lines().filter_map(|l| l.split_once(" = ")) {
            check_value(line.1.trim_matches('"'));
        }
    }
    // Mutations must leave some files valid, or what a read config
    // answers went untested.
    assert!(read > 100, "only {read} mangled files read");
}
