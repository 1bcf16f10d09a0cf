use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// The secrets of one run and the matcher that hides them.
///
/// Cloning is cheap and every clone sees secrets added through any other,
/// because `::add-mask::` in one step must hide the value in every later
/// line of every step.
#[derive(Clone, Default)]
pub struct Masker {
    inner: Arc<RwLock<Secrets>>,
}

#[derive(Default)]
struct Secrets {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

const MASK: &str = "***";

impl Masker {
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Registers a secret. A multi-line value is masked line by line, as
    /// GitHub does, because output reaches the log one line at a time.
    /// Empty and whitespace-only lines are skipped: masking them would
    /// replace every blank in the log.
    pub fn add(&self, secret: &str) {
        let mut secrets = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        for line in secret.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || secrets.values.iter().any(|v| v == line) {
                continue;
            }
            secrets.values.push(line.to_string());
            changed = true;
        }
        if changed {
            // Leftmost-longest: when one secret contains another, the whole
            // longer one is hidden rather than leaving its tail visible.
            secrets.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&secrets.values)
                .ok();
        }
    }

    /// Replaces every occurrence of every secret with `***`.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match &secrets.matcher {
            Some(matcher) => matcher.replace_all(text, &vec![MASK; secrets.values.len()]),
            None => text.to_string(),
        }
    }
}

impl std::fmt::Debug for Masker {
    // Never print the values themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.inner.read().map(|s| s.values.len()).unwrap_or(0);
        f.debug_struct("Masker").field("secrets", &count).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_of_every_secret() {
        let m = Masker::new();
        m.add("hunter2");
        m.add("s3cr3t");
        assert_eq!(
            m.mask("hunter2 and s3cr3t, again hunter2"),
            "*** and ***, again ***"
        );
    }

    #[test]
    fn nothing_to_mask_returns_the_text() {
        let m = Masker::new();
        assert_eq!(m.mask("plain"), "plain");
    }

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let m = Masker::new();
        m.add("-----BEGIN KEY-----\r\nabcdef\n\n   \nghijkl\n");
        assert_eq!(m.mask("abcdef"), "***");
        assert_eq!(m.mask("x ghijkl y"), "x *** y");
        assert_eq!(m.mask("-----BEGIN KEY-----"), "***");
        // Blank lines of the secret were not registered.
        assert_eq!(m.mask("a   b"), "a   b");
    }

    #[test]
    fn empty_and_whitespace_secrets_are_ignored() {
        let m = Masker::new();
        m.add("");
        m.add("  \t ");
        assert_eq!(m.mask("a b  c"), "a b  c");
    }

    #[test]
    fn short_secrets_are_masked() {
        let m = Masker::new();
        m.add("x");
        assert_eq!(m.mask("xyx"), "***y***");
    }

    #[test]
    fn the_longer_of_overlapping_secrets_wins() {
        let m = Masker::new();
        m.add("abc");
        m.add("abcdef");
        assert_eq!(m.mask("abcdefg abcx"), "***g ***x");
    }

    #[test]
    fn clones_share_secrets() {
        let m = Masker::new();
        let other = m.clone();
        other.add("token123");
        assert_eq!(m.mask("token123"), "***");
        assert_eq!(format!("{m:?}"), "Masker { secrets: 1 }");
    }

    #[test]
    fn adding_twice_is_harmless() {
        let m = Masker::new();
        m.add("dup");
        m.add("dup");
        assert_eq!(m.mask("dup"), "***");
    }
}
