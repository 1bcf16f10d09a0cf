//! `.dockerignore`, read as Docker reads it (moby's patternmatcher): one
//! pattern per line, `#` comments, `!` for exceptions, the last matching
//! pattern wins, and a pattern that matches a folder matches everything in
//! it. Patterns are Go's `filepath.Match` (`*`, `?`, `[...]`, `\` escapes)
//! plus `**` for any number of folders.

use regex::Regex;

#[derive(Debug)]
struct Pattern {
    regex: Regex,
    exception: bool,
}

#[derive(Debug, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(".dockerignore:{line}: `{pattern}`: {message}")]
pub struct IgnoreError {
    pub line: usize,
    pub pattern: String,
    pub message: String,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let exception = p.starts_with('!');
            if exception {
                p = p[1..].trim();
                if p.is_empty() {
                    return Err(IgnoreError {
                        line: i + 1,
                        pattern: raw.to_string(),
                        message: "`!` needs a pattern after it".into(),
                    });
                }
            }
            let cleaned = clean(p);
            if cleaned == "." {
                // `.` or `/` would ignore the whole context; Docker drops it.
                continue;
            }
            let regex = Regex::new(&to_regex(&cleaned)).map_err(|e| IgnoreError {
                line: i + 1,
                pattern: raw.to_string(),
                message: format!("not a valid pattern ({e})"),
            })?;
            patterns.push(Pattern { regex, exception });
        }
        Ok(DockerIgnore { patterns })
    }

    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for p in &self.patterns {
            let mut matched = p.regex.is_match(path);
            if !matched {
                // A pattern matching a parent folder matches what is inside.
                for i in 1..parents.len() {
                    let parent = parents[..i].join("/");
                    if p.regex.is_match(&parent) {
                        matched = true;
                        break;
                    }
                }
            }
            if matched {
                excluded = !p.exception;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean` on a `/` path, without the leading `/`.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn to_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                }
                if i + 1 >= chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => {
                if let Some(next) = chars.get(i + 1) {
                    re.push_str(&regex::escape(&next.to_string()));
                    i += 1;
                } else {
                    re.push_str("\\\\");
                }
            }
            '[' | ']' => re.push(c),
            // Inside a class `^` and `-` keep their meaning; Go writes
            // negation as `[^...]` too.
            '^' | '-' => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn docker_semantics() {
        let d = ignore(
            "# comment\n.venv\n**/__pycache__\n*.egg-info\ntests\ncoverage.*\n!coverage.keep\n/dist/\n",
        );
        for path in [
            ".venv",
            ".venv/bin/python",
            "app/__pycache__/x.pyc",
            "__pycache__/y.pyc",
            "svc.egg-info/PKG-INFO",
            "tests/unit/test_a.py",
            "coverage.xml",
            "dist/app.js",
        ] {
            assert!(d.excludes(path), "{path}");
        }
        for path in [
            "app/main.py",
            "coverage.keep",
            "app/tests/x.py",
            "pyproject.toml",
            "src/dist/x",
        ] {
            assert!(!d.excludes(path), "{path}");
        }
    }

    #[test]
    fn last_match_wins_and_star_stays_in_a_folder() {
        let d = ignore("*.md\n!README.md\nREADME.md\n");
        assert!(d.excludes("README.md"));
        let d = ignore("docs/*\n!docs/keep.md\n");
        assert!(d.excludes("docs/a.md"));
        assert!(!d.excludes("docs/keep.md"));
        assert!(d.has_exceptions());
        let d = ignore("*.go\n");
        assert!(d.excludes("main.go"));
        assert!(!d.excludes("cmd/main.go"));
        let d = ignore("**/*.go\n");
        assert!(d.excludes("cmd/main.go"));
        assert!(d.excludes("main.go"));
        let d = ignore("a?c\n[xy]z\n");
        assert!(d.excludes("abc") && d.excludes("xz") && !d.excludes("a/c"));
    }

    #[test]
    fn odd_lines() {
        let d = ignore("  \n.\n/\n./a/../b\n\\#literal\n");
        assert!(d.excludes("b"));
        assert!(d.excludes("#literal"));
        assert!(!d.excludes("a"));
        let err = DockerIgnore::parse("ok\n!\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(DockerIgnore::parse("[z-a]\n").is_err());
    }
}
