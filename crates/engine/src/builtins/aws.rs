//! `aws-actions/configure-aws-credentials`: what the following steps need
//! to talk to AWS, as environment variables: the region, and keys given
//! as inputs (from secrets, so already masked). A role to assume names an
//! account, given as the `aws-account-id` output; nothing is asked of AWS
//! here, so the role itself is not assumed and the step says so.

use super::{BuiltinInput, BuiltinResult};

pub(super) fn configure_credentials(input: &BuiltinInput) -> BuiltinResult {
    let Some(region) = input.input("aws-region") else {
        return BuiltinResult::fail("input `aws-region` is required (e.g. `eu-west-1`)");
    };
    let mut result = BuiltinResult::ok();
    for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        result.env.push((name.into(), region.into()));
    }
    let keys = [
        ("aws-access-key-id", "AWS_ACCESS_KEY_ID"),
        ("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"),
        ("aws-session-token", "AWS_SESSION_TOKEN"),
    ];
    for (input_name, var) in keys {
        if let Some(value) = input.input(input_name) {
            result.env.push((var.into(), value.into()));
        }
    }
    let mut said = format!("region {region}");
    if input.input("aws-access-key-id").is_some() {
        said.push_str(", access keys from the inputs");
    }
    result = result.say(said);
    if let Some(role) = input.input("role-to-assume") {
        // arn:aws:iam::123456789012:role/Name
        if let Some(account) = role.split(':').nth(4).filter(|a| !a.is_empty()) {
            result
                .outputs
                .push(("aws-account-id".into(), account.into()));
        }
        result = result.say(format!(
            "role {role} is not assumed: slipway asks nothing of AWS here; steps get the region{}",
            if input.input("aws-access-key-id").is_some() {
                " and the keys given"
            } else {
                ""
            }
        ));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(with: &[(&str, &str)]) -> BuiltinInput {
        BuiltinInput {
            with: with
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            workspace: ".".into(),
            temp: ".".into(),
            run_dir: ".".into(),
            env: Vec::new(),
            sha: "0".repeat(40),
            branch: "main".into(),
            repository: "o/r".into(),
            slipway: None,
        }
    }

    #[test]
    fn region_keys_and_the_roles_account() {
        let r = configure_credentials(&input(&[
            ("aws-region", "eu-west-1"),
            (
                "role-to-assume",
                "arn:aws:iam::123456789012:role/GithubActionsRole",
            ),
        ]));
        assert!(r.ok);
        assert_eq!(
            r.env,
            [
                ("AWS_REGION".to_string(), "eu-west-1".to_string()),
                ("AWS_DEFAULT_REGION".into(), "eu-west-1".into())
            ]
        );
        assert_eq!(
            r.outputs,
            [("aws-account-id".to_string(), "123456789012".to_string())]
        );
        assert!(r.lines.iter().any(|(_, l)| l.contains("is not assumed")));
        let r = configure_credentials(&input(&[("aws-access-key-id", "AKIA")]));
        assert!(!r.ok);
    }
}
