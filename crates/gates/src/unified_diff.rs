//! The lines a change added or modified, from `git diff -U0` output.

use std::collections::BTreeMap;

/// File (as the diff names it after the change) -> changed line numbers in
/// the new version, ascending.
pub type ChangedLines = BTreeMap<String, Vec<u32>>;

/// Read a unified diff. Deleted files and lines only removed add nothing;
/// a new file has all its lines changed. Lines that are not part of a
/// diff are skipped.
pub fn changed_lines(diff: &str) -> ChangedLines {
    let mut out = ChangedLines::new();
    let mut current: Option<String> = None;
    // Lines left in the current hunk (old side, new side): inside a hunk a
    // line starting `+++ ` is content, not a file header.
    let (mut old_left, mut new_left) = (0u32, 0u32);
    for line in diff.lines() {
        if old_left > 0 || new_left > 0 {
            match line.as_bytes().first() {
                Some(b'+') => new_left = new_left.saturating_sub(1),
                Some(b'-') => old_left = old_left.saturating_sub(1),
                Some(b'\\') => {}
                _ => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
            }
            continue;
        }
        if let Some(target) = line.strip_prefix("+++ ") {
            current = parse_target(target);
        } else if line.starts_with("diff --git ") {
            current = None;
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            let Some(((_, old_count), (start, count))) = parse_hunk(hunk) else {
                continue;
            };
            (old_left, new_left) = (old_count, count);
            if let Some(path) = &current {
                out.entry(path.clone())
                    .or_default()
                    .extend(start..start.saturating_add(count));
            }
        }
    }
    out.retain(|_, lines| {
        lines.sort_unstable();
        lines.dedup();
        !lines.is_empty()
    });
    out
}

/// `b/path`, `"b/with \"quotes\""`, `/dev/null` -> the path, without `b/`.
fn parse_target(target: &str) -> Option<String> {
    let target = target.trim_end_matches('\t');
    if target == "/dev/null" {
        return None;
    }
    let path = if target.starts_with('"') {
        unquote(target)?
    } else {
        target.to_string()
    };
    Some(path.strip_prefix("b/").map(str::to_string).unwrap_or(path))
}

/// git's C-style quoting of unusual paths.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next()? {
            b'n' => bytes.push(b'\n'),
            b't' => bytes.push(b'\t'),
            b'"' => bytes.push(b'"'),
            b'\\' => bytes.push(b'\\'),
            d @ b'0'..=b'7' => {
                let mut v = (d - b'0') as u32;
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&n @ b'0'..=b'7') => {
                            v = v * 8 + (n - b'0') as u32;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(v as u8);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

/// `-12,3 +14,2 @@ fn x()` -> ((12, 3), (14, 2)). A count of 0 adds nothing.
fn parse_hunk(hunk: &str) -> Option<((u32, u32), (u32, u32))> {
    let mut parts = hunk.split_whitespace();
    let old = range(parts.next()?.strip_prefix('-')?)?;
    let new = range(parts.next()?.strip_prefix('+')?)?;
    Some((old, new))
}

fn range(text: &str) -> Option<(u32, u32)> {
    match text.split_once(',') {
        Some((s, c)) => Some((s.parse().ok()?, c.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_modified_new_and_deleted_files() {
        let diff = "\
diff --git a/app/main.py b/app/main.py
index 1111111..2222222 100644
--- a/app/main.py
+++ b/app/main.py
@@ -3 +3 @@ def f():
-    return 1
+    return 2
@@ -10,0 +11,3 @@ def g():
++++ not a header
+    b = 2
+    return a + b
@@ -20,2 +23,0 @@ def h():
-    x
-    y
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+a
+b
diff --git \"a/sp ace\\\"q.py\" \"b/sp ace\\\"q.py\"
--- \"a/sp ace\\\"q.py\"
+++ \"b/sp ace\\\"q.py\"
@@ -1 +1 @@
-x
+y
diff --git a/only-removed.py b/only-removed.py
--- a/only-removed.py
+++ b/only-removed.py
@@ -4 +3,0 @@
-x
";
        let changed = changed_lines(diff);
        assert_eq!(changed["app/main.py"], vec![3, 11, 12, 13]);
        assert_eq!(changed["new.py"], vec![1, 2]);
        assert_eq!(changed["sp ace\"q.py"], vec![1]);
        assert!(!changed.contains_key("gone.py"));
        assert!(!changed.contains_key("only-removed.py"));
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unquote("\"b/caf\\303\\251.py\"").unwrap(), "b/café.py");
    }
}
