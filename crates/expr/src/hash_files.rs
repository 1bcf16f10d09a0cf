//! `hashFiles()` as GitHub's runner computes it.
//!
//! Patterns are globs relative to the workspace (`*`, `?`, `[abc]`,
//! `[!abc]`, `**` for any number of directories); a pattern that matches a
//! directory matches every file below it; a pattern starting with `!`
//! excludes, and for each file the last pattern that matches it decides.
//! Matching files are sorted by path; the result is the hex SHA-256 of the
//! concatenated SHA-256 digests of their contents, or the empty string when
//! nothing matches. Files outside the workspace never match.

use std::fs;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hashes files of one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceHasher {
    root: PathBuf,
}

struct Pattern {
    include: bool,
    segments: Vec<String>,
}

impl WorkspaceHasher {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WorkspaceHasher { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The hash of the files the patterns match; `""` when none does.
    pub fn hash(&self, patterns: &[String]) -> Result<String, String> {
        let files = self.matching_files(patterns)?;
        if files.is_empty() {
            return Ok(String::new());
        }
        let mut all = Sha256::new();
        for rel in &files {
            let path = self.root.join(rel);
            let mut file = fs::File::open(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut one = Sha256::new();
            std::io::copy(&mut file, &mut one)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            all.update(one.finalize());
        }
        Ok(hex(&all.finalize()))
    }

    /// The matching files, relative to the root with `/` separators, sorted.
    pub fn matching_files(&self, patterns: &[String]) -> Result<Vec<String>, String> {
        let patterns: Vec<Pattern> = patterns
            .iter()
            .flat_map(|p| p.lines())
            .filter_map(|p| self.pattern(p))
            .collect();
        if !patterns.iter().any(|p| p.include) {
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        walk(&self.root, "", &mut files)
            .map_err(|e| format!("cannot list {}: {e}", self.root.display()))?;
        let mut matched: Vec<String> = files
            .into_iter()
            .filter(|f| selected(&patterns, f))
            .collect();
        matched.sort();
        Ok(matched)
    }

    /// A pattern as segments relative to the root; `None` for blank lines,
    /// comments and patterns outside the workspace.
    fn pattern(&self, raw: &str) -> Option<Pattern> {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            return None;
        }
        let (include, raw) = match raw.strip_prefix('!') {
            Some(rest) => (false, rest.trim_start()),
            None => (true, raw),
        };
        let path = Path::new(raw);
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.root).ok()?.to_path_buf()
        } else {
            path.to_path_buf()
        };
        let mut segments: Vec<String> = Vec::new();
        for c in relative.components() {
            match c {
                Component::Normal(s) => segments.push(s.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    segments.pop()?;
                }
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        if segments.is_empty() {
            segments.push("**".into());
        }
        Some(Pattern { include, segments })
    }
}

/// The last pattern that matches the file or a directory above it decides.
fn selected(patterns: &[Pattern], file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    let mut keep = false;
    for p in patterns {
        let hit = (1..=parts.len()).any(|n| match_segments(&p.segments, &parts[..n]));
        if hit {
            keep = p.include;
        }
    }
    keep
}

/// Regular files below `dir`, as paths relative to the root. Symbolic links
/// to files count; links to directories are not followed (no cycles).
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &rel, out)?;
        } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
            out.push(rel);
        }
    }
    Ok(())
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, path_rest)) => match_glob(first, name) && match_segments(rest, path_rest),
            None => false,
        },
    }
}

/// One path segment against one glob segment: `*`, `?`, `[...]`.
fn match_glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with one backtrack point for `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_class(&p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `[abc]`, `[a-z]`, `[!a]` at `start`: whether `c` is in the class and
/// where the pattern continues; `None` when the bracket is not closed.
fn match_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(p.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "slipway-expr-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn file(&self, rel: &str, content: &str) {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn sha(bytes: &[u8]) -> Vec<u8> {
        Sha256::digest(bytes).to_vec()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs() {
        assert!(match_glob("*.json", "package.json"));
        assert!(match_glob("*", ".hidden"));
        assert!(!match_glob("*.json", "package.jsonx"));
        assert!(match_glob("go.?um", "go.sum"));
        assert!(match_glob("[gh]o.sum", "ho.sum"));
        assert!(!match_glob("[!g]o.sum", "go.sum"));
        assert!(match_glob("a*b*c", "aXXbYYc"));
        assert!(!match_glob("a*b*c", "aXXbYY"));
        assert!(match_segments(
            &strings(&["**", "*.lock"]),
            &["a", "b", "x.lock"]
        ));
        assert!(match_segments(&strings(&["**", "*.lock"]), &["x.lock"]));
    }

    #[test]
    fn hashes_like_the_runner() {
        let ws = Scratch::new("hash");
        ws.file("go.sum", "one");
        ws.file("svc/a/go.sum", "two");
        ws.file("svc/b/go.sum", "three");
        ws.file("svc/b/vendor/go.sum", "vendored");
        ws.file("README.md", "readme");
        let h = WorkspaceHasher::new(&ws.0);

        let files = h
            .matching_files(&strings(&["**/go.sum", "!svc/b/vendor/**"]))
            .unwrap();
        assert_eq!(files, vec!["go.sum", "svc/a/go.sum", "svc/b/go.sum"]);

        let mut all = Vec::new();
        for content in ["one", "two", "three"] {
            all.extend(sha(content.as_bytes()));
        }
        let expected = hex(&sha(&all));
        assert_eq!(
            h.hash(&strings(&["**/go.sum", "!svc/b/vendor/**"]))
                .unwrap(),
            expected
        );
        // Patterns may also come as lines of one string.
        assert_eq!(
            h.hash(&strings(&["**/go.sum\n!svc/b/vendor/**"])).unwrap(),
            expected
        );

        // A directory matches what is below it; a later pattern re-includes.
        let files = h
            .matching_files(&strings(&["svc", "!**/go.sum", "svc/b/vendor/go.sum"]))
            .unwrap();
        assert_eq!(files, vec!["svc/b/vendor/go.sum"]);

        assert_eq!(h.hash(&strings(&["*.nothing"])).unwrap(), "");
        assert_eq!(h.hash(&strings(&["../**"])).unwrap(), "");
        let abs = ws.0.join("README.md").to_string_lossy().into_owned();
        assert_eq!(h.matching_files(&[abs]).unwrap(), vec!["README.md"]);
    }
}
