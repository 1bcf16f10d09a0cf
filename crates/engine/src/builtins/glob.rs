//! File patterns as `@actions/glob` reads them for `upload-artifact` and
//! `cache`: one pattern per line, `*` and `?` within a path segment, `**`
//! any number of segments, `[...]` one character of a set, a leading `!`
//! excludes, `~` is the home folder. A pattern matching a folder matches
//! everything under it. Later lines win over earlier ones.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub negate: bool,
    /// Segments of the absolute pattern, without the root.
    segments: Vec<String>,
    /// `dir/`: only what is under the folder.
    trailing_separator: bool,
}

fn has_magic(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Pattern {
    /// One line, relative to `base` unless absolute or starting with `~`.
    pub(crate) fn parse(line: &str, base: &Path, home: &Path) -> Option<Pattern> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (negate, text) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, line),
        };
        let trailing_separator = text.ends_with('/') && text.len() > 1;
        let path = if text == "~" {
            home.to_path_buf()
        } else if let Some(rest) = text.strip_prefix("~/") {
            home.join(rest)
        } else {
            base.join(text)
        };
        let segments = normalize(&path)
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        Some(Pattern {
            negate,
            segments,
            trailing_separator,
        })
    }

    /// The folder to walk: the segments before the first one with a wildcard.
    pub(crate) fn search_path(&self) -> PathBuf {
        let mut p = PathBuf::from("/");
        for s in self.segments.iter().take_while(|s| !has_magic(s)) {
            p.push(s);
        }
        p
    }

    /// Whether `path` (absolute, normalized) or a folder above it matches.
    pub(crate) fn matches(&self, path: &Path) -> bool {
        let names: Vec<String> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        // The item or a folder above it; only folders above for `dir/`.
        let last = if self.trailing_separator {
            names.len().saturating_sub(1)
        } else {
            names.len()
        };
        (1..=last).any(|k| match_segments(&segments, &names[..k]))
    }
}

fn match_segments(pattern: &[&str], names: &[&str]) -> bool {
    match pattern.split_first() {
        None => names.is_empty(),
        Some((&"**", rest)) => (0..=names.len()).any(|i| match_segments(rest, &names[i..])),
        Some((seg, rest)) => {
            !names.is_empty() && segment_matches(seg, names[0]) && match_segments(rest, &names[1..])
        }
    }
}

/// One segment: `*` any run of characters, `?` one, `[abc]`/`[a-z]`/`[!a]` a set.
pub(crate) fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let mut set = &p[1..close];
                let negated = matches!(set.first(), Some('!') | Some('^'));
                if negated {
                    set = &set[1..];
                }
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != negated && go(&p[close + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// Included when the last pattern matching says so.
pub(crate) fn included(patterns: &[Pattern], path: &Path) -> bool {
    let mut result = false;
    for p in patterns {
        if p.negate {
            if result && p.matches(path) {
                result = false;
            }
        } else if !result && p.matches(path) {
            result = true;
        }
    }
    result
}

/// The include patterns' search paths, without those under another one.
pub(crate) fn search_paths(patterns: &[Pattern]) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = patterns
        .iter()
        .filter(|p| !p.negate)
        .map(Pattern::search_path)
        .collect();
    all.sort_by_key(|p| p.components().count());
    let mut kept: Vec<PathBuf> = Vec::new();
    for p in all {
        if !kept.iter().any(|k| p.starts_with(k)) {
            kept.push(p);
        }
    }
    kept
}

/// What a set of pattern lines finds.
pub(crate) struct Found {
    /// Files (links to files included), sorted, without duplicates.
    pub files: Vec<PathBuf>,
    pub search_paths: Vec<PathBuf>,
}

/// Walks the search paths. Hidden items (a name starting with `.`) are
/// left out unless `include_hidden`; folders in `skip` are not entered.
pub(crate) fn find(patterns: &[Pattern], include_hidden: bool, skip: &[PathBuf]) -> Found {
    let search = search_paths(patterns);
    let mut files = Vec::new();
    let mut seen_dirs = std::collections::HashSet::new();
    for root in &search {
        let mut stack = vec![root.clone()];
        while let Some(item) = stack.pop() {
            let hidden = item
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden && !include_hidden {
                continue;
            }
            if &item != root && skip.iter().any(|s| s == &item) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&item) else {
                continue;
            };
            if meta.is_dir() {
                let real = std::fs::canonicalize(&item).unwrap_or_else(|_| item.clone());
                if !seen_dirs.insert(real) {
                    continue;
                }
                if let Ok(entries) = std::fs::read_dir(&item) {
                    let mut children: Vec<PathBuf> =
                        entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                    children.sort();
                    stack.extend(children.into_iter().rev());
                }
            } else if included(patterns, &item) {
                files.push(item);
            }
        }
    }
    files.sort();
    files.dedup();
    Found {
        files,
        search_paths: search,
    }
}

/// The deepest folder holding all of `paths`.
pub(crate) fn common_ancestor(paths: &[PathBuf]) -> PathBuf {
    let mut iter = paths.iter();
    let Some(first) = iter.next() else {
        return PathBuf::from("/");
    };
    let mut common: Vec<Component> = first.components().collect();
    for p in iter {
        let n = common
            .iter()
            .zip(p.components())
            .take_while(|(a, b)| *a == b)
            .count();
        common.truncate(n);
    }
    common.iter().collect()
}

/// The folder upload-artifact keeps paths relative to: the common ancestor
/// of the search paths, or the folder of the one file a literal path names.
pub(crate) fn upload_root(found: &Found) -> PathBuf {
    if found.search_paths.len() > 1 {
        return common_ancestor(&found.search_paths);
    }
    let Some(search) = found.search_paths.first() else {
        return PathBuf::from("/");
    };
    if found.files.len() == 1 && &found.files[0] == search {
        return search.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    search.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(line: &str) -> Pattern {
        Pattern::parse(line, Path::new("/w"), Path::new("/home/u")).unwrap()
    }

    #[test]
    fn segments_match_stars_question_marks_and_sets() {
        assert!(segment_matches("*.txt", "a.txt"));
        assert!(segment_matches("*.txt", ".txt"));
        assert!(!segment_matches("*.txt", "a.txt.gz"));
        assert!(segment_matches("file?.log", "file1.log"));
        assert!(!segment_matches("file?.log", "file.log"));
        assert!(segment_matches("[ab]*", "beta"));
        assert!(segment_matches("[a-c]x", "bx"));
        assert!(!segment_matches("[!a-c]x", "bx"));
        assert!(segment_matches("a\\*", "a*"));
        assert!(!segment_matches("a\\*", "ab"));
    }

    #[test]
    fn globstar_spans_folders_and_folders_match_their_contents() {
        assert!(pat("dist/**/*.js").matches(Path::new("/w/dist/a.js")));
        assert!(pat("dist/**/*.js").matches(Path::new("/w/dist/x/y/a.js")));
        assert!(!pat("dist/**/*.js").matches(Path::new("/w/dist/a.css")));
        assert!(!pat("dist/*.js").matches(Path::new("/w/dist/x/a.js")));
        assert!(pat("dist").matches(Path::new("/w/dist/x/a.js")));
        assert!(pat("dist/").matches(Path::new("/w/dist/a")));
        assert!(!pat("dist/").matches(Path::new("/w/dist")));
        assert!(pat("**/*.log").matches(Path::new("/w/a.log")));
        assert!(pat("./out/../dist").matches(Path::new("/w/dist/a")));
        assert!(pat("~/.cache/pip").matches(Path::new("/home/u/.cache/pip/x")));
        assert!(pat("/abs/file").matches(Path::new("/abs/file")));
        assert!(!pat("dist").matches(Path::new("/w/distro")));
    }

    #[test]
    fn later_lines_win_and_search_paths_stop_at_wildcards() {
        let ps = vec![pat("out/**"), pat("!out/**/*.tmp"), pat("out/keep.tmp")];
        assert!(included(&ps, Path::new("/w/out/a/b.txt")));
        assert!(!included(&ps, Path::new("/w/out/a/b.tmp")));
        assert!(included(&ps, Path::new("/w/out/keep.tmp")));
        assert!(!included(&ps, Path::new("/w/other")));
        assert_eq!(pat("out/*/x/**").search_path(), PathBuf::from("/w/out"));
        assert_eq!(pat("**/*.js").search_path(), PathBuf::from("/w"));
        let sp = search_paths(&[pat("a/b"), pat("a"), pat("c/*.txt"), pat("!d")]);
        assert_eq!(sp, vec![PathBuf::from("/w/a"), PathBuf::from("/w/c")]);
    }

    #[test]
    fn common_ancestor_and_upload_root() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(common_ancestor(&[p("/w/a/b/x"), p("/w/a/c/y")]), p("/w/a"));
        assert_eq!(common_ancestor(&[p("/w/a/x")]), p("/w/a/x"));
        assert_eq!(common_ancestor(&[p("/w/ab"), p("/w/ac")]), p("/w"));
        assert_eq!(common_ancestor(&[p("/x"), p("/y")]), p("/"));
        let found = |files: &[&str], search: &[&str]| Found {
            files: files.iter().map(|f| p(f)).collect(),
            search_paths: search.iter().map(|f| p(f)).collect(),
        };
        // One literal file: its folder.
        assert_eq!(upload_root(&found(&["/w/a/x"], &["/w/a/x"])), p("/w/a"));
        // A folder or a glob: the folder walked.
        assert_eq!(
            upload_root(&found(&["/w/d/s/x", "/w/d/s/y"], &["/w/d"])),
            p("/w/d")
        );
        // Several lines: their common ancestor.
        assert_eq!(
            upload_root(&found(&["/w/a/b/x", "/w/a/c/y"], &["/w/a/b/x", "/w/a/c"])),
            p("/w/a")
        );
    }

    #[test]
    fn finds_files_skipping_hidden_ones_and_excluded_folders() {
        let dir = std::env::temp_dir().join(format!("slipway-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "a/x.txt",
            "a/.h",
            "a/.hd/y.txt",
            "a/sub/z.txt",
            "a/skip/q.txt",
        ] {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, f).unwrap();
        }
        let ps = vec![Pattern::parse("a", &dir, &dir).unwrap()];
        let rel = |found: Found| -> Vec<String> {
            found
                .files
                .iter()
                .map(|f| f.strip_prefix(&dir).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            rel(find(&ps, false, &[dir.join("a/skip")])),
            vec!["a/sub/z.txt", "a/x.txt"]
        );
        assert_eq!(
            rel(find(&ps, true, &[])),
            vec![
                "a/.h",
                "a/.hd/y.txt",
                "a/skip/q.txt",
                "a/sub/z.txt",
                "a/x.txt"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
