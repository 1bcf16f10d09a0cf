//! `--fail-under`: the minimum a total must reach.
//!
//! As coverage.py does, the total is rounded before it is compared, here to
//! the threshold's own number of decimals: with `80`, 79.5 rounds to 80 and
//! passes while 79.49 fails; with `80.0`, 79.95 passes and 79.94 fails.
//! Rounding is half to even on the total as a double (Python's `round`).
//! A threshold of 100 asks for everything: nothing is rounded up to it.

use std::fmt;

use crate::percent::{python_round, Percent};

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub decimals: usize,
    /// As the user wrote it, for messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold `{text}`: {why}")]
pub struct ThresholdError {
    pub text: String,
    pub why: &'static str,
}

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let t = text.trim().trim_end_matches('%');
        let err = |why| ThresholdError {
            text: text.to_string(),
            why,
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(err("expected a number from 0 to 100, such as 80 or 80.5"));
        }
        if t.ends_with('.') {
            return Err(err("expected digits after the decimal point"));
        }
        let value: f64 = t
            .parse()
            .map_err(|_| err("expected a number from 0 to 100, such as 80 or 80.5"))?;
        if !(0.0..=100.0).contains(&value) {
            return Err(err("must be from 0 to 100"));
        }
        Ok(Threshold {
            value,
            decimals: frac.len(),
            text: t.to_string(),
        })
    }

    /// Whether the total falls short.
    pub fn fails(&self, total: &Percent) -> bool {
        if self.value == 100.0 {
            return total.value != 100.0;
        }
        python_round(total.value, self.decimals) < self.value
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The verdict of a gate, and the line that says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub message: String,
}

/// `coverage 78.42% (svc-portal) is below 80%`, or `... meets 80%`.
pub fn check(total: &Percent, threshold: &Threshold, flag: Option<&str>) -> Verdict {
    let passed = !threshold.fails(total);
    let flag = flag.map(|f| format!(" ({f})")).unwrap_or_default();
    let shown = total.display(2);
    let message = if passed {
        format!("coverage {shown}%{flag} meets {threshold}%")
    } else {
        format!("coverage {shown}%{flag} is below {threshold}%")
    };
    Verdict { passed, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::Rule;

    fn pct(value: f64) -> Percent {
        Percent {
            value,
            rule: Rule::CoveragePy,
        }
    }

    #[test]
    fn parse_keeps_decimals() {
        assert_eq!(Threshold::parse("80").unwrap().decimals, 0);
        assert_eq!(Threshold::parse("80.0").unwrap().decimals, 1);
        assert_eq!(Threshold::parse("72.25%").unwrap().decimals, 2);
        for bad in ["", "x", "80.", "-1", "101", "1e2", ".5", "8 0"] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounding_to_the_thresholds_decimals() {
        let t = Threshold::parse("80").unwrap();
        assert!(!t.fails(&pct(79.5)));
        assert!(t.fails(&pct(79.49)));
        assert!(!t.fails(&pct(80.0)));
        let t = Threshold::parse("80.0").unwrap();
        assert!(t.fails(&pct(79.94)));
        assert!(!t.fails(&pct(79.95)));
        // 78.5 rounds half to even: 78.
        assert!(Threshold::parse("79").unwrap().fails(&pct(78.5)));
        assert!(!Threshold::parse("79").unwrap().fails(&pct(79.5)));
    }

    #[test]
    fn one_hundred_means_everything() {
        let t = Threshold::parse("100").unwrap();
        assert!(t.fails(&pct(99.9999)));
        assert!(!t.fails(&pct(100.0)));
    }

    #[test]
    fn messages() {
        let v = check(
            &Percent::of(7842, 10000, Rule::CoveragePy),
            &Threshold::parse("80").unwrap(),
            Some("svc-portal"),
        );
        assert_eq!(
            v,
            Verdict {
                passed: false,
                message: "coverage 78.42% (svc-portal) is below 80%".into()
            }
        );
        let v = check(
            &Percent::of(85, 100, Rule::Go),
            &Threshold::parse("80").unwrap(),
            None,
        );
        assert_eq!(v.message, "coverage 85.00% meets 80%");
    }
}
