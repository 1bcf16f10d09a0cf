//! From the paths a report names to files of the repository.
//!
//! Tools write paths their own way: coverage.py relative to a `<source>`
//! folder, Go as import paths (`example.com/shop/a/a.go`), lcov and
//! Istanbul often absolute, and a report made on another machine (a CI
//! runner) has that machine's absolute paths. Tried in order:
//!
//! 1. a Go import path under the module of a `go.mod` in the report's
//!    folder or one above it;
//! 2. an absolute path under the repository root;
//! 3. the path joined to each Cobertura `<source>`;
//! 4. the path relative to the report's folder, then to the root;
//! 5. the repository file that shares the longest run of trailing path
//!    components with it (only when exactly one file does).

use std::cell::OnceCell;
use std::collections::HashMap;

/// The repository, as path resolution sees it. Paths are relative to the
/// repository root and `/`-separated.
pub trait SourceTree {
    /// Whether `path` is a file.
    fn is_file(&self, path: &str) -> bool;
    /// The module path `dir/go.mod` declares (`dir` is "" for the root).
    fn go_module(&self, dir: &str) -> Option<String>;
    /// Every file of the repository. Called at most once, and only when a
    /// path is not found otherwise.
    fn list_files(&self) -> Vec<String>;
    /// The text of a file (Go sources, to find their functions); None when
    /// it cannot be read.
    fn read_file(&self, path: &str) -> Option<String>;
}

/// Where one report sits, for resolving the paths it names.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// The report's folder relative to the root ("" for the root), or None
    /// when the report is outside the repository.
    pub report_dir: Option<String>,
    /// Cobertura `<source>` folders, as written.
    pub sources: Vec<String>,
}

/// Why a path did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    NotFound,
    /// Several files end the same way; they are listed.
    Ambiguous(Vec<String>),
}

pub struct PathResolver<'t> {
    tree: &'t dyn SourceTree,
    /// The repository root, absolute, `/`-separated, without a trailing `/`.
    root: String,
    by_name: OnceCell<HashMap<String, Vec<String>>>,
    modules: HashMap<String, Option<String>>,
}

impl<'t> PathResolver<'t> {
    pub fn new(tree: &'t dyn SourceTree, root: &str) -> PathResolver<'t> {
        PathResolver {
            tree,
            root: normalize(root).trim_end_matches('/').to_string(),
            by_name: OnceCell::new(),
            modules: HashMap::new(),
        }
    }

    pub fn resolve(&mut self, raw: &str, ctx: &ReportContext) -> Result<String, Unresolved> {
        let path = normalize(raw);
        // Go's import paths, and `_/abs/path` for packages outside a module.
        if let Some(abs) = path.strip_prefix("_/") {
            if let Some(found) = self.under_root(&format!("/{abs}")) {
                return Ok(found);
            }
        }
        if let Some(dir) = &ctx.report_dir {
            let mut d = dir.clone();
            loop {
                if let Some(module) = self.module(&d) {
                    if let Some(rest) = path.strip_prefix(&format!("{module}/")) {
                        let candidate = join(&d, rest);
                        if self.tree.is_file(&candidate) {
                            return Ok(candidate);
                        }
                    }
                }
                if d.is_empty() {
                    break;
                }
                d = parent(&d);
            }
        }
        if path.starts_with('/') {
            if let Some(found) = self.under_root(&path) {
                return Ok(found);
            }
        } else {
            for source in &ctx.sources {
                let source = normalize(source);
                let joined = if source.starts_with('/') {
                    self.under_root(&format!("{}/{path}", source.trim_end_matches('/')))
                } else {
                    let base = ctx.report_dir.as_deref().unwrap_or("");
                    Some(clean(&join(&join(base, &source), &path)))
                };
                if let Some(candidate) = joined {
                    if self.tree.is_file(&candidate) {
                        return Ok(candidate);
                    }
                }
            }
            // Relative to the report's folder, then to each folder above it,
            // nearest first: tools often write `coverage/lcov.info` with
            // paths relative to the project folder holding `coverage/`.
            if let Some(dir) = &ctx.report_dir {
                let mut d = dir.clone();
                while !d.is_empty() {
                    let candidate = clean(&join(&d, &path));
                    if self.tree.is_file(&candidate) {
                        return Ok(candidate);
                    }
                    d = parent(&d);
                }
            }
            let candidate = clean(&path);
            if self.tree.is_file(&candidate) {
                return Ok(candidate);
            }
        }
        self.by_suffix(&path)
    }

    fn module(&mut self, dir: &str) -> Option<String> {
        if !self.modules.contains_key(dir) {
            let m = self.tree.go_module(dir);
            self.modules.insert(dir.to_string(), m);
        }
        self.modules[dir].clone()
    }

    fn under_root(&self, abs: &str) -> Option<String> {
        let abs = clean(abs);
        let rel = abs.strip_prefix(&self.root)?.strip_prefix('/')?;
        self.tree.is_file(rel).then(|| rel.to_string())
    }

    fn by_suffix(&self, path: &str) -> Result<String, Unresolved> {
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let Some(name) = parts.last() else {
            return Err(Unresolved::NotFound);
        };
        let index = self.by_name.get_or_init(|| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for f in self.tree.list_files() {
                let name = f.rsplit('/').next().unwrap_or(&f).to_string();
                map.entry(name).or_default().push(f);
            }
            map
        });
        let Some(candidates) = index.get(*name) else {
            return Err(Unresolved::NotFound);
        };
        let score = |c: &str| {
            c.rsplit('/')
                .zip(parts.iter().rev())
                .take_while(|(a, b)| a == *b)
                .count()
        };
        let best = candidates.iter().map(|c| score(c)).max().unwrap_or(0);
        let winners: Vec<&String> = candidates.iter().filter(|c| score(c) == best).collect();
        match winners.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Unresolved::NotFound),
            many => {
                let mut list: Vec<String> = many.iter().map(|s| s.to_string()).collect();
                list.sort();
                Err(Unresolved::Ambiguous(list))
            }
        }
    }
}

fn normalize(path: &str) -> String {
    let p = path.trim().replace('\\', "/");
    // Windows drive letters: `C:/x` is absolute.
    if p.len() > 2
        && p.as_bytes()[1] == b':'
        && p.as_bytes()[2] == b'/'
        && p.as_bytes()[0].is_ascii_alphabetic()
    {
        return p[2..].to_string();
    }
    p
}

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{}/{path}", dir.trim_end_matches('/'))
    }
}

fn parent(dir: &str) -> String {
    dir.rsplit_once('/')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

/// Drop `.` and empty components and fold `..`, keeping a leading `/`.
pub fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|p| *p != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// A tree made of a list of files, for tests.
#[derive(Debug, Default, Clone)]
pub struct ListTree {
    pub files: Vec<String>,
    pub modules: Vec<(String, String)>,
    /// (path, text) of the files whose text is asked for.
    pub texts: Vec<(String, String)>,
}

impl SourceTree for ListTree {
    fn is_file(&self, path: &str) -> bool {
        self.files.iter().any(|f| f == path)
    }

    fn go_module(&self, dir: &str) -> Option<String> {
        self.modules
            .iter()
            .find(|(d, _)| d == dir)
            .map(|(_, m)| m.clone())
    }

    fn list_files(&self) -> Vec<String> {
        self.files.clone()
    }

    fn read_file(&self, path: &str) -> Option<String> {
        self.texts
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> ListTree {
        ListTree {
            files: [
                "svc/portal/app/main.py",
                "svc/pgw/main.go",
                "svc/pgw/card/luhn.go",
                "web/src/cart.js",
                "a/util.js",
                "b/util.js",
            ]
            .map(String::from)
            .to_vec(),
            modules: vec![("svc/pgw".into(), "github.com/mpac/pgw".into())],
            texts: vec![],
        }
    }

    #[test]
    fn each_way_a_tool_writes_paths() {
        let t = tree();
        let mut r = PathResolver::new(&t, "/repo/");
        let at = |dir: &str| ReportContext {
            report_dir: Some(dir.into()),
            sources: vec![],
        };
        // Go import paths, from a report in the module's folder or below it.
        assert_eq!(
            r.resolve("github.com/mpac/pgw/card/luhn.go", &at("svc/pgw"))
                .unwrap(),
            "svc/pgw/card/luhn.go"
        );
        assert_eq!(
            r.resolve("github.com/mpac/pgw/main.go", &at("svc/pgw/out"))
                .unwrap(),
            "svc/pgw/main.go"
        );
        // Absolute under the root.
        assert_eq!(
            r.resolve("/repo/web/src/cart.js", &at("")).unwrap(),
            "web/src/cart.js"
        );
        // Cobertura sources.
        let ctx = ReportContext {
            report_dir: Some("svc/portal".into()),
            sources: vec!["/repo/svc/portal".into()],
        };
        assert_eq!(
            r.resolve("app/main.py", &ctx).unwrap(),
            "svc/portal/app/main.py"
        );
        // Relative to the report.
        assert_eq!(
            r.resolve("./src/cart.js", &at("web")).unwrap(),
            "web/src/cart.js"
        );
        assert_eq!(
            r.resolve("../src/cart.js", &at("web/coverage")).unwrap(),
            "web/src/cart.js"
        );
        // From another machine.
        assert_eq!(
            r.resolve(
                "/home/runner/work/smartpos/smartpos/web/src/cart.js",
                &at("")
            )
            .unwrap(),
            "web/src/cart.js"
        );
        assert_eq!(
            r.resolve("C:\\build\\web\\src\\cart.js", &at("")).unwrap(),
            "web/src/cart.js"
        );
        // Not there, or more than one file fits.
        assert_eq!(
            r.resolve("src/gone.js", &at("web")),
            Err(Unresolved::NotFound)
        );
        assert_eq!(
            r.resolve("/elsewhere/util.js", &at("")),
            Err(Unresolved::Ambiguous(vec![
                "a/util.js".into(),
                "b/util.js".into()
            ]))
        );
        assert_eq!(
            r.resolve("/elsewhere/a/util.js", &at("")).unwrap(),
            "a/util.js"
        );
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("a/./b/../c"), "a/c");
        assert_eq!(clean("/x/../../y"), "/y");
        assert_eq!(clean("../a"), "../a");
    }
}
