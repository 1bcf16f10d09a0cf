//! How a deploy goes: traffic steps, analysis thresholds and timeouts.
//! Built-in defaults (the spec's figures) < `[deploy]` < `[clusters.NAME.deploy]`
//! < command-line flags.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration;

/// One blue-green traffic step: this share of traffic to green, held for
/// `bake` under analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub percent: u32,
    #[serde(with = "millis")]
    pub bake: Duration,
}

impl Step {
    /// `5:15m,50:30m,100:60m`: percents rising, ending at 100.
    pub fn parse_list(text: &str) -> Result<Vec<Step>, String> {
        let mut steps: Vec<Step> = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let bad = || format!("`{part}` is not percent:duration, e.g. 5:15m");
            let (percent, bake) = part.split_once(':').ok_or_else(bad)?;
            let percent: u32 = percent.trim().parse().map_err(|_| bad())?;
            if !(1..=100).contains(&percent) {
                return Err(format!(
                    "`{part}`: {percent}% is not a share of traffic from 1 to 100"
                ));
            }
            let bake = duration::parse(bake).map_err(|m| format!("`{part}`: {m}"))?;
            if let Some(last) = steps.last() {
                if percent <= last.percent {
                    return Err(format!(
                        "`{part}`: steps must rise ({percent}% comes after {}%)",
                        last.percent
                    ));
                }
            }
            steps.push(Step { percent, bake });
        }
        match steps.last() {
            Some(last) if last.percent == 100 => Ok(steps),
            Some(last) => Err(format!(
                "the last step gives green {}%: end with 100, e.g. {text},100:5m",
                last.percent
            )),
            None => Err("no steps: write e.g. 5:15m,50:30m,100:60m".into()),
        }
    }

    pub fn list_to_string(steps: &[Step]) -> String {
        steps
            .iter()
            .map(|s| format!("{}:{}", s.percent, duration::format(s.bake)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What to do with a step whose bake never had enough traffic to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inconclusive {
    /// Roll back: an unjudged version is not taken for a healthy one.
    Fail,
    /// Go on, saying so.
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub steps: Vec<Step>,
    #[serde(with = "millis")]
    pub interval: Duration,
    /// The window each analysis reads; `None`: the interval.
    #[serde(with = "opt_millis")]
    pub window: Option<Duration>,
    /// Percent of failed requests (5xx and router errors).
    pub max_error_rate: f64,
    pub max_p95_ms: f64,
    pub min_requests: u64,
    /// Breaches in a row that roll back.
    pub failure_limit: u32,
    pub inconclusive: Inconclusive,
    #[serde(with = "millis")]
    pub keep_previous: Duration,
    #[serde(with = "millis")]
    pub start_timeout: Duration,
    #[serde(with = "millis")]
    pub stable_timeout: Duration,
}

impl Default for Settings {
    /// The spec's pipeline: 5% -> 50% -> 100% over 15, 30 and 60 minutes,
    /// error rate over 0.5% or p95 over 1000 ms rolls back; rolling
    /// deploys wait 15 minutes to be stable.
    fn default() -> Self {
        Settings {
            steps: vec![
                Step {
                    percent: 5,
                    bake: Duration::from_secs(15 * 60),
                },
                Step {
                    percent: 50,
                    bake: Duration::from_secs(30 * 60),
                },
                Step {
                    percent: 100,
                    bake: Duration::from_secs(60 * 60),
                },
            ],
            interval: Duration::from_secs(10),
            window: None,
            max_error_rate: 0.5,
            max_p95_ms: 1000.0,
            min_requests: 20,
            failure_limit: 1,
            inconclusive: Inconclusive::Fail,
            keep_previous: Duration::from_secs(3600),
            start_timeout: Duration::from_secs(5 * 60),
            stable_timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl Settings {
    pub fn window(&self) -> Duration {
        self.window.unwrap_or(self.interval)
    }

    pub fn apply(&mut self, p: &SettingsPatch) {
        if let Some(v) = &p.steps {
            self.steps = v.clone();
        }
        macro_rules! take {
            ($($f:ident),*) => {$(
                if let Some(v) = p.$f { self.$f = v; }
            )*};
        }
        take!(
            interval,
            max_error_rate,
            max_p95_ms,
            min_requests,
            failure_limit,
            inconclusive,
            keep_previous,
            start_timeout,
            stable_timeout
        );
        if p.window.is_some() {
            self.window = p.window;
        }
    }
}

/// Settings given in one place, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsPatch {
    pub steps: Option<Vec<Step>>,
    #[serde(with = "opt_millis", default)]
    pub interval: Option<Duration>,
    #[serde(with = "opt_millis", default)]
    pub window: Option<Duration>,
    pub max_error_rate: Option<f64>,
    pub max_p95_ms: Option<f64>,
    pub min_requests: Option<u64>,
    pub failure_limit: Option<u32>,
    pub inconclusive: Option<Inconclusive>,
    #[serde(with = "opt_millis", default)]
    pub keep_previous: Option<Duration>,
    #[serde(with = "opt_millis", default)]
    pub start_timeout: Option<Duration>,
    #[serde(with = "opt_millis", default)]
    pub stable_timeout: Option<Duration>,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_and_write_back() {
        let steps = Step::parse_list("5:15m,50:30m,100:60m").unwrap();
        assert_eq!(steps, Settings::default().steps);
        assert_eq!(Step::list_to_string(&steps), "5:15m,50:30m,100:1h");
        let quick = Step::parse_list("5:2s, 50:2s, 100:5s").unwrap();
        assert_eq!(quick[2].bake, Duration::from_secs(5));
    }

    #[test]
    fn bad_steps_say_why() {
        let e = |t: &str| Step::parse_list(t).unwrap_err();
        assert_eq!(e("5:1m,50"), "`50` is not percent:duration, e.g. 5:15m");
        assert_eq!(
            e("0:1m,100:1m"),
            "`0:1m`: 0% is not a share of traffic from 1 to 100"
        );
        assert_eq!(
            e("50:1m,5:1m,100:1m"),
            "`5:1m`: steps must rise (5% comes after 50%)"
        );
        assert_eq!(
            e("5:1m,50:1m"),
            "the last step gives green 50%: end with 100, e.g. 5:1m,50:1m,100:5m"
        );
        assert_eq!(
            e("5:soon,100:1m"),
            "`5:soon`: `soon` is not a duration: write e.g. 500ms, 10s, 15m, 2h or 1h30m"
        );
    }

    #[test]
    fn patches_apply_in_order() {
        let mut s = Settings::default();
        s.apply(&SettingsPatch {
            interval: Some(Duration::from_secs(1)),
            ..Default::default()
        });
        s.apply(&SettingsPatch {
            max_p95_ms: Some(250.0),
            ..Default::default()
        });
        assert_eq!(s.interval, Duration::from_secs(1));
        assert_eq!(s.window(), Duration::from_secs(1));
        assert_eq!(s.max_p95_ms, 250.0);
        assert_eq!(s.max_error_rate, 0.5);
    }
}
