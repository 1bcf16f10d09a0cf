//! The spec's image tags: `{branch}-{short-sha}-{timestamp}` and
//! `{branch}-latest`, always valid tags whatever the branch is called.
//!
//! A tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the OCI distribution
//! spec). The branch is the only part that can break that, so it is the part
//! that is cleaned and, when too long, shortened; the sha and the time are
//! kept whole so that the tag still says which commit and build it is.

use serde::Serialize;

use crate::time::UnixTime;

/// Longest tag a registry accepts.
pub const MAX_TAG_LEN: usize = 128;
/// Characters of the commit sha kept in a tag.
pub const SHORT_SHA_LEN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageTags {
    /// `{branch}-{short-sha}-{timestamp}`
    pub tag: String,
    /// `{branch}-latest`
    pub latest: String,
    /// The branch as given (without `refs/heads/`).
    pub branch: String,
    /// The branch as the tag writes it.
    pub branch_part: String,
    /// True when the branch was shortened to fit.
    pub truncated: bool,
    pub sha: String,
    pub short_sha: String,
    /// UTC, `%Y%m%d%H%M%S`.
    pub timestamp: String,
    /// The same instant, RFC 3339.
    pub time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("--branch `{0}`: no character of it can start an image tag (tags need a letter, digit or `_`)")]
    EmptyBranch(String),
    #[error("--sha `{0}`: expected a commit id of at least {SHORT_SHA_LEN} hexadecimal digits")]
    BadSha(String),
}

/// The tags for a build of `sha` on `branch` at `time`.
pub fn image_tags(branch: &str, sha: &str, time: UnixTime) -> Result<ImageTags, TagError> {
    let branch = strip_ref(branch);
    let short_sha = short_sha(sha)?;
    let timestamp = time.compact();
    let cleaned = clean_branch(branch);
    if cleaned.is_empty() {
        return Err(TagError::EmptyBranch(branch.to_string()));
    }
    // `-{sha}-{time}` and `-latest` are fixed; the branch gets the rest.
    let room = MAX_TAG_LEN - (1 + SHORT_SHA_LEN + 1 + timestamp.len());
    let branch_part = truncate(&cleaned, room);
    let latest_part = truncate(&cleaned, MAX_TAG_LEN - "-latest".len());
    Ok(ImageTags {
        tag: format!("{branch_part}-{short_sha}-{timestamp}"),
        latest: format!("{latest_part}-latest"),
        truncated: branch_part.len() < cleaned.len(),
        branch: branch.to_string(),
        branch_part: branch_part.to_string(),
        sha: sha.to_ascii_lowercase(),
        short_sha,
        timestamp,
        time: time.rfc3339(),
    })
}

/// `refs/heads/feature/x` -> `feature/x`; `refs/tags/v1` -> `v1`.
pub fn strip_ref(branch: &str) -> &str {
    branch
        .strip_prefix("refs/heads/")
        .or_else(|| branch.strip_prefix("refs/tags/"))
        .unwrap_or(branch)
}

fn short_sha(sha: &str) -> Result<String, TagError> {
    if sha.len() < SHORT_SHA_LEN || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TagError::BadSha(sha.to_string()));
    }
    Ok(sha[..SHORT_SHA_LEN].to_ascii_lowercase())
}

/// Every character outside `[A-Za-z0-9_.-]` (`/` included) becomes `-`,
/// one for one as the spec's `sed 's/\//-/g'` does for slashes; then leading
/// `.` and `-` go, since a tag cannot start with them.
pub fn clean_branch(branch: &str) -> String {
    let mapped: String = branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_start_matches(['.', '-']).to_string()
}

/// The cleaned branch is ASCII, so bytes are characters.
fn truncate(s: &str, max: usize) -> &str {
    &s[..s.len().min(max)]
}

/// Whether `tag` is a valid tag by the distribution spec.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "A1B2C3D4E5F60718293a4b5c6d7e8f9012345678";
    const T: UnixTime = UnixTime(1_769_596_245); // 2026-01-28T10:30:45Z

    fn tags(branch: &str) -> ImageTags {
        image_tags(branch, SHA, T).unwrap()
    }

    #[test]
    fn the_specs_example() {
        let t = image_tags("main", "a1b2c3d", T).unwrap();
        assert_eq!(t.tag, "main-a1b2c3d-20260128103045");
        assert_eq!(t.latest, "main-latest");
        assert!(!t.truncated);
    }

    #[test]
    fn odd_branch_names() {
        let cases = [
            ("develop", "develop"),
            ("refs/heads/feature/login", "feature-login"),
            ("feature/JIRA-12_fix.v2", "feature-JIRA-12_fix.v2"),
            ("user@host:topic", "user-host-topic"),
            ("fix/ünïcödé-名前", "fix--n-c-d----"),
            ("release/2026.01", "release-2026.01"),
            ("-dash-first", "dash-first"),
            (".hidden/../x", "hidden-..-x"),
            ("//a", "a"),
            ("_under", "_under"),
            ("with space\tand\nnewline", "with-space-and-newline"),
            (
                "dependabot/npm_and_yarn/lodash-4.17.21",
                "dependabot-npm_and_yarn-lodash-4.17.21",
            ),
        ];
        for (branch, part) in cases {
            let t = tags(branch);
            assert_eq!(t.branch_part, part, "{branch}");
            assert_eq!(t.tag, format!("{part}-a1b2c3d-20260128103045"));
            assert_eq!(t.latest, format!("{part}-latest"));
            assert!(is_valid_tag(&t.tag), "{}", t.tag);
            assert!(is_valid_tag(&t.latest), "{}", t.latest);
        }
    }

    #[test]
    fn long_branches_lose_their_end_never_the_sha_or_time() {
        let branch = format!("feature/{}", "x".repeat(300));
        let t = tags(&branch);
        assert_eq!(t.tag.len(), MAX_TAG_LEN);
        assert!(t.tag.ends_with("-a1b2c3d-20260128103045"));
        assert!(t.tag.starts_with("feature-xxx"));
        assert!(t.truncated);
        assert_eq!(t.latest.len(), MAX_TAG_LEN);
        assert!(t.latest.ends_with("-latest"));
        assert!(is_valid_tag(&t.tag) && is_valid_tag(&t.latest));

        // 105 characters is exactly the room the branch has.
        let fits = "b".repeat(105);
        let t = tags(&fits);
        assert_eq!(t.tag.len(), MAX_TAG_LEN);
        assert!(!t.truncated);
        assert!(tags(&"b".repeat(106)).truncated);

        // Multi-byte characters count as one `-` each, so the cut is on
        // the cleaned name and never splits a character.
        let t = tags(&"aé".repeat(200));
        assert!(t.tag.len() <= MAX_TAG_LEN);
    }

    #[test]
    fn branches_with_nothing_usable_and_bad_shas() {
        for branch in ["", "/", "---", "...", "/-./"] {
            assert_eq!(
                image_tags(branch, SHA, T),
                Err(TagError::EmptyBranch(branch.to_string()))
            );
        }
        for sha in ["", "a1b2c3", "zzzzzzz", "a1b2c3d-"] {
            assert_eq!(
                image_tags("main", sha, T),
                Err(TagError::BadSha(sha.to_string()))
            );
        }
        let t = image_tags("main", SHA, T).unwrap();
        assert_eq!(t.sha, SHA.to_ascii_lowercase());
    }

    #[test]
    fn valid_tags() {
        assert!(is_valid_tag("v1.0"));
        assert!(is_valid_tag("_x"));
        assert!(!is_valid_tag(".x"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag("a/b"));
        assert!(!is_valid_tag(&"a".repeat(129)));
        assert!(is_valid_tag(&"a".repeat(128)));
    }
}
