//! Image references: `[registry/]repository[:tag]`, checked by the rules of
//! the distribution spec and docker's reference grammar.

use crate::tag::is_valid_tag;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// host[:port]; None for a name the engine alone knows.
    pub registry: Option<String>,
    pub repository: String,
    pub tag: String,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.registry {
            Some(r) => write!(f, "{r}/{}:{}", self.repository, self.tag),
            None => write!(f, "{}:{}", self.repository, self.tag),
        }
    }
}

/// Whether the first part of a name is a registry host: it has a `.` or a
/// `:`, or is `localhost` (docker's rule).
pub fn is_registry_host(part: &str) -> bool {
    part.contains('.') || part.contains(':') || part == "localhost"
}

/// `registry/repo/name` -> (Some(registry), `repo/name`).
pub fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest)) if is_registry_host(first) => (Some(first), rest),
        _ => (None, name),
    }
}

/// A repository name: lowercase components of `[a-z0-9]` joined by `.`,
/// `_`, `__` or dashes, separated by `/`.
pub fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a repository name cannot be empty".into());
    }
    if name.len() > 255 {
        return Err("a repository name has at most 255 characters".into());
    }
    for component in name.split('/') {
        if component.is_empty() {
            return Err(format!("`{name}` has an empty path component"));
        }
        let b = component.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
            return Err(format!(
                "`{name}`: each part starts and ends with a lowercase letter or digit"
            ));
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if alnum(c) {
                i += 1;
                continue;
            }
            let run_end = b[i..]
                .iter()
                .position(|c| alnum(*c))
                .map_or(b.len(), |p| i + p);
            let sep = &component[i..run_end];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            if !ok {
                return Err(format!(
                    "`{name}`: `{sep}` is not allowed (lowercase letters, digits, and `.`, `_`, `__` or `-` between them)"
                ));
            }
            i = run_end;
        }
    }
    Ok(())
}

impl Reference {
    /// `registry/repo:tag` or `repo:tag`; the tag is required.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let (name, tag) = match text.rfind(':') {
            Some(at) if !text[at + 1..].contains('/') => (&text[..at], &text[at + 1..]),
            _ => return Err(format!("`{text}`: expected NAME:TAG")),
        };
        if !is_valid_tag(tag) {
            return Err(format!("`{text}`: `{tag}` is not a valid tag"));
        }
        let (registry, repository) = split_registry(name);
        check_repository(repository)?;
        Ok(Reference {
            registry: registry.map(str::to_string),
            repository: repository.to_string(),
            tag: tag.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories() {
        for ok in ["mpac-pgw", "a/b", "a.b_c__d---e/f1", "0"] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "Upper", "a//b", "-a", "a-", "a___b", "a..b", "a/b/", "a b",
        ] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/mpac/pgw:develop-1").unwrap();
        assert_eq!(r.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.repository, "mpac/pgw");
        assert_eq!(r.tag, "develop-1");
        assert_eq!(r.to_string(), "127.0.0.1:5000/mpac/pgw:develop-1");
        let r = Reference::parse("mpac/pgw:v1").unwrap();
        assert_eq!(r.registry, None);
        let r = Reference::parse("localhost/x:v1").unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost"));
        assert!(Reference::parse("127.0.0.1:5000/x").is_err());
        assert!(Reference::parse("x:-bad").is_err());
        assert!(Reference::parse("X:v1").is_err());
    }
}
