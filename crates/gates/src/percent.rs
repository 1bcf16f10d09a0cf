//! Percentages the way each producing tool computes and prints them.
//!
//! Each tool divides in floating point and prints the resulting double with
//! a fixed number of decimals. The floating-point value is reproduced here
//! with the same operations in the same order, and printing a double with
//! `{:.N}` in Rust rounds its exact binary value half to even, which is what
//! Python's `%.Nf`/`round`, Go's `%.Nf` and JavaScript's `toFixed` do on
//! every value they can meet (exact decimal ties at one or two decimals do
//! not exist in binary).

use serde::Serialize;

/// How a tool turns covered/total into the figure it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// coverage.py: `100.0 * covered / total`, 100 when there is nothing to
    /// cover; printed rounded, except that a value above 0 never prints as
    /// 0 and a value below 100 never prints as 100.
    CoveragePy,
    /// Go's `go tool cover -func`: `100.0 * covered / total`, 0 when there
    /// is nothing to cover; printed rounded.
    Go,
    /// Node.js's test runner: `covered / total * 100`, 100 when there is
    /// nothing to cover; printed rounded.
    Node,
    /// Istanbul: `floor(100000 * covered / total / 10) / 100`, truncated to
    /// two decimals, 100 when there is nothing to cover.
    Istanbul,
}

/// A percentage as a tool computed it, with the rule it prints by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent {
    pub value: f64,
    pub rule: Rule,
}

impl Percent {
    pub fn of(covered: u64, total: u64, rule: Rule) -> Percent {
        let (c, t) = (covered as f64, total as f64);
        let value = match rule {
            Rule::CoveragePy => {
                if total == 0 {
                    100.0
                } else {
                    (100.0 * c) / t
                }
            }
            Rule::Go => (100.0 * c) / t.max(1.0),
            Rule::Node => {
                if total == 0 {
                    100.0
                } else {
                    (c / t) * 100.0
                }
            }
            Rule::Istanbul => {
                if total == 0 {
                    100.0
                } else {
                    ((1000.0 * 100.0 * c) / t / 10.0).floor() / 100.0
                }
            }
        };
        Percent { value, rule }
    }

    /// The figure as the tool prints it with `decimals` decimals (no `%`).
    pub fn display(&self, decimals: usize) -> String {
        match self.rule {
            Rule::CoveragePy => {
                let near0 = 1.0 / 10f64.powi(decimals as i32);
                let near100 = 100.0 - near0;
                let v = if 0.0 < self.value && self.value < near0 {
                    near0
                } else if near100 < self.value && self.value < 100.0 {
                    near100
                } else {
                    self.value
                };
                format!("{v:.decimals$}")
            }
            _ => format!("{:.decimals$}", self.value),
        }
    }

    /// The figure with two decimals, as a number (for JSON).
    pub fn two_decimals(&self) -> f64 {
        self.display(2).parse().unwrap_or(self.value)
    }
}

/// `round(value, decimals)` as Python computes it: the double nearest to
/// the value correctly rounded (half to even) to `decimals` decimals.
pub fn python_round(value: f64, decimals: usize) -> f64 {
    format!("{value:.decimals$}").parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_py_never_prints_0_or_100_for_partial_coverage() {
        assert_eq!(Percent::of(9999, 10000, Rule::CoveragePy).display(0), "99");
        assert_eq!(
            Percent::of(99999, 100000, Rule::CoveragePy).display(2),
            "99.99"
        );
        assert_eq!(Percent::of(1, 100000, Rule::CoveragePy).display(2), "0.01");
        assert_eq!(Percent::of(0, 3, Rule::CoveragePy).display(2), "0.00");
        assert_eq!(Percent::of(0, 0, Rule::CoveragePy).display(0), "100");
        // Half to even on the exact double: 62.5 -> 62, 87.5 -> 88.
        assert_eq!(Percent::of(5, 8, Rule::CoveragePy).display(0), "62");
        assert_eq!(Percent::of(7, 8, Rule::CoveragePy).display(0), "88");
        assert_eq!(Percent::of(17, 27, Rule::CoveragePy).display(2), "62.96");
    }

    #[test]
    fn go_rounds_and_may_print_100_for_partial() {
        assert_eq!(Percent::of(4, 9, Rule::Go).display(1), "44.4");
        assert_eq!(Percent::of(5, 9, Rule::Go).display(1), "55.6");
        assert_eq!(Percent::of(9996, 10000, Rule::Go).display(1), "100.0");
        assert_eq!(Percent::of(0, 0, Rule::Go).display(1), "0.0");
    }

    #[test]
    fn istanbul_truncates() {
        assert_eq!(Percent::of(2, 3, Rule::Istanbul).display(2), "66.66");
        assert_eq!(Percent::of(1, 3, Rule::Istanbul).display(2), "33.33");
        assert_eq!(Percent::of(9999, 10000, Rule::Istanbul).display(2), "99.99");
        assert_eq!(
            Percent::of(99999, 100000, Rule::Istanbul).display(2),
            "99.99"
        );
        assert_eq!(Percent::of(29, 100, Rule::Istanbul).display(2), "29.00");
        assert_eq!(Percent::of(0, 0, Rule::Istanbul).display(2), "100.00");
        assert_eq!(Percent::of(2, 3, Rule::Istanbul).two_decimals(), 66.66);
    }

    #[test]
    fn node_rounds_to_two_decimals() {
        assert_eq!(Percent::of(25, 28, Rule::Node).display(2), "89.29");
        assert_eq!(Percent::of(2, 3, Rule::Node).display(2), "66.67");
    }

    #[test]
    fn python_round_is_half_even_on_the_double() {
        assert_eq!(python_round(79.5, 0), 80.0);
        assert_eq!(python_round(78.5, 0), 78.0);
        assert_eq!(python_round(79.49, 0), 79.0);
        // 2.675 is 2.67499999... as a double.
        assert_eq!(python_round(2.675, 2), 2.67);
    }
}
