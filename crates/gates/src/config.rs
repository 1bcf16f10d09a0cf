//! The `[coverage]` section of `slipway.toml`:
//!
//! ```toml
//! [coverage]
//! fail-under = 80
//!
//! [coverage.flags.svc-portal]
//! fail-under = 85.5
//! ```
//!
//! A flag's own `fail-under` wins over the global one. Other keys of the
//! file belong to other sections and are not looked at here.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::threshold::Threshold;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageConfig {
    pub fail_under: Option<Threshold>,
    pub flags: BTreeMap<String, Threshold>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slipway.toml: {0}")]
pub struct ConfigError(pub String);

#[derive(Deserialize)]
struct File {
    coverage: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(rename = "fail-under")]
    fail_under: Option<toml::Value>,
    #[serde(default)]
    flags: BTreeMap<String, FlagSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagSection {
    #[serde(rename = "fail-under")]
    fail_under: Option<toml::Value>,
}

impl CoverageConfig {
    /// Read the `[coverage]` section of a `slipway.toml`'s text.
    pub fn from_toml(text: &str) -> Result<CoverageConfig, ConfigError> {
        let file: File =
            toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim_end().to_string()))?;
        let Some(section) = file.coverage else {
            return Ok(CoverageConfig::default());
        };
        let mut config = CoverageConfig {
            fail_under: section
                .fail_under
                .as_ref()
                .map(|v| threshold(v, "coverage.fail-under"))
                .transpose()?,
            flags: BTreeMap::new(),
        };
        for (flag, s) in section.flags {
            if let Some(v) = &s.fail_under {
                let t = threshold(v, &format!("coverage.flags.{flag}.fail-under"))?;
                config.flags.insert(flag, t);
            }
        }
        Ok(config)
    }

    /// The threshold for a flag: its own, else the global one.
    pub fn fail_under(&self, flag: Option<&str>) -> Option<&Threshold> {
        flag.and_then(|f| self.flags.get(f))
            .or(self.fail_under.as_ref())
    }
}

/// An integer keeps no decimals; a float keeps the decimals it is written
/// with as TOML reads it back (`80.0` and `80` differ only in that the
/// first has one decimal); a string is taken as written.
fn threshold(value: &toml::Value, key: &str) -> Result<Threshold, ConfigError> {
    let text = match value {
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => {
            let s = f.to_string();
            if s.contains('.') {
                s
            } else {
                format!("{s}.0")
            }
        }
        toml::Value::String(s) => s.clone(),
        other => {
            return Err(ConfigError(format!(
                "{key}: expected a number from 0 to 100, found {}",
                other.type_str()
            )))
        }
    };
    Threshold::parse(&text).map_err(|e| ConfigError(format!("{key}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_and_per_flag() {
        let c = CoverageConfig::from_toml(
            "[services.x]\nport = 1\n\n[coverage]\nfail-under = 80\n\n[coverage.flags.svc-portal]\nfail-under = 85.5\n\n[coverage.flags.web]\nfail-under = \"70\"\n",
        )
        .unwrap();
        assert_eq!(c.fail_under(None).unwrap().text, "80");
        assert_eq!(c.fail_under(Some("svc-portal")).unwrap().text, "85.5");
        assert_eq!(c.fail_under(Some("web")).unwrap().value, 70.0);
        assert_eq!(c.fail_under(Some("other")).unwrap().text, "80");
        assert_eq!(
            CoverageConfig::from_toml("[coverage]\nfail-under = 80.0\n")
                .unwrap()
                .fail_under
                .unwrap()
                .decimals,
            1
        );
        assert_eq!(
            CoverageConfig::from_toml("").unwrap(),
            CoverageConfig::default()
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = CoverageConfig::from_toml("[coverage]\nfail-under = 180\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "slipway.toml: coverage.fail-under: invalid threshold `180`: must be from 0 to 100"
        );
        let e = CoverageConfig::from_toml("[coverage]\nfail_under = 80\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `fail_under`"), "{e}");
        let e = CoverageConfig::from_toml("[coverage.flags.web]\nfail-under = true\n").unwrap_err();
        assert_eq!(e.to_string(), "slipway.toml: coverage.flags.web.fail-under: expected a number from 0 to 100, found boolean");
    }
}
