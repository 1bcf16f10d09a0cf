//! `slipway/deploy@v1`: a deploy from a workflow, without shell scripts.
//! The step runs `slipway deploy STRATEGY ...` as a `run` step would run
//! it, so its progress streams into the job's log as it happens, and the
//! job's timeout and cancellation reach it (cancelling rolls it back).
//!
//! ```yaml
//! - uses: slipway/deploy@v1
//!   with:
//!     strategy: blue-green          # or rolling
//!     cluster: mpac-prod
//!     services: svc-portal,svc-smarttab,mpac-pgw
//!     image-tag: ${{ needs.build-and-push.outputs.image-tag }}
//!     steps: 5:15m,50:30m,100:60m   # and any other flag of slipway deploy
//! ```

use std::path::Path;

pub const SLUG: &str = "slipway/deploy";

/// Inputs and the flags they become.
const FLAGS: &[(&str, &str)] = &[
    ("cluster", "--cluster"),
    ("services", "--services"),
    ("image-tag", "--image-tag"),
    ("steps", "--steps"),
    ("interval", "--interval"),
    ("window", "--window"),
    ("max-error-rate", "--max-error-rate"),
    ("max-p95-ms", "--max-p95-ms"),
    ("min-requests", "--min-requests"),
    ("failure-limit", "--failure-limit"),
    ("inconclusive", "--inconclusive"),
    ("keep-previous", "--keep-previous"),
    ("start-timeout", "--start-timeout"),
    ("timeout", "--timeout"),
];

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The step's script, or why the inputs cannot make one.
pub fn script(with: &[(String, String)], slipway: Option<&Path>) -> Result<String, String> {
    let input = |name: &str| {
        with.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    for (k, _) in with {
        if k != "strategy" && !FLAGS.iter().any(|(name, _)| name == k) {
            let known: Vec<&str> = std::iter::once("strategy")
                .chain(FLAGS.iter().map(|(n, _)| *n))
                .collect();
            return Err(format!(
                "`{k}` is not an input of {SLUG}@v1; it takes {}",
                known.join(", ")
            ));
        }
    }
    let strategy = input("strategy").unwrap_or("blue-green");
    if !matches!(strategy, "blue-green" | "rolling") {
        return Err(format!(
            "input `strategy`: `{strategy}` is not a strategy: use blue-green or rolling"
        ));
    }
    if input("image-tag").is_none() {
        return Err(
            "input `image-tag` is empty: give the version to deploy, e.g. ${{ needs.build-and-push.outputs.image-tag }}"
                .into(),
        );
    }
    let program = slipway.map_or_else(|| "slipway".to_string(), |p| p.display().to_string());
    let mut words = vec![quote(&program), "deploy".into(), quote(strategy)];
    for (name, flag) in FLAGS {
        if let Some(v) = input(name) {
            words.push((*flag).to_string());
            words.push(quote(v));
        }
    }
    Ok(format!("exec {}\n", words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn inputs_become_flags_quoted_for_the_shell() {
        let s = script(
            &with(&[
                ("strategy", "rolling"),
                ("cluster", "mpac-staging"),
                ("services", "svc-portal,svc-smarttab"),
                ("image-tag", "develop-abc1234-20260101000000"),
                ("steps", ""),
                ("max-error-rate", "0.5"),
            ]),
            Some(Path::new("/opt/it's/slipway")),
        )
        .unwrap();
        assert_eq!(
            s,
            "exec '/opt/it'\\''s/slipway' deploy 'rolling' --cluster 'mpac-staging' --services 'svc-portal,svc-smarttab' --image-tag 'develop-abc1234-20260101000000' --max-error-rate '0.5'\n"
        );
    }

    #[test]
    fn bad_inputs_say_what_to_do() {
        assert_eq!(
            script(&with(&[("image-tag", " ")]), None).unwrap_err(),
            "input `image-tag` is empty: give the version to deploy, e.g. ${{ needs.build-and-push.outputs.image-tag }}"
        );
        assert_eq!(
            script(&with(&[("image-tag", "v1"), ("strategy", "canary")]), None).unwrap_err(),
            "input `strategy`: `canary` is not a strategy: use blue-green or rolling"
        );
        assert!(
            script(&with(&[("image-tag", "v1"), ("imagetag", "v1")]), None)
                .unwrap_err()
                .starts_with(
                    "`imagetag` is not an input of slipway/deploy@v1; it takes strategy, cluster"
                )
        );
    }
}
