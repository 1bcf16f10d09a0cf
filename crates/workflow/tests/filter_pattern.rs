#[path = "../src/filter_pattern.rs"]
mod filter_pattern;

use filter_pattern::{
    ignored, included, last_match, paths_ignore_match, paths_match, FilterPattern, PatternError,
};

fn pat(source: &str) -> FilterPattern {
    FilterPattern::parse(source).unwrap_or_else(|e| panic!("`{source}` should parse: {e:?}"))
}

fn list(sources: &[&str]) -> Vec<FilterPattern> {
    sources.iter().map(|s| pat(s)).collect()
}

fn files(names: &[&str]) -> Vec<String> {
    names.iter().map(ToString::to_string).collect()
}

/// (pattern, subjects it matches, subjects it does not match)
const SINGLE: &[(&str, &[&str], &[&str])] = &[
    // Branches and tags, from GitHub's cheat sheet.
    (
        "feature/*",
        &["feature/my-branch", "feature/your-branch", "feature/"],
        &[
            "feature/your/branch",
            "feature",
            "features/x",
            "x/feature/y",
        ],
    ),
    (
        "feature/**",
        &[
            "feature/my-branch",
            "feature/your/branch",
            "feature/beta-a/my-branch",
            "feature/your-branch",
            "feature/mona/the/octocat",
        ],
        &["feature", "features/x", "my/feature/x"],
    ),
    ("main", &["main"], &["main2", "xmain", "Main", "main/x", ""]),
    (
        "releases/mona-the-octocat",
        &["releases/mona-the-octocat"],
        &["releases/mona-the-octocat2", "releases/mona"],
    ),
    (
        "*",
        &["main", "releases", "v2.0", "README.md", "server.rb", ""],
        &["releases/mona-the-octocat", "docs/x", "/x", "x/"],
    ),
    (
        "**",
        &["main", "releases/mona-the-octocat", "all/the/files.md", ""],
        &[],
    ),
    (
        "*feature",
        &["mona-feature", "feature", "ver-10-feature"],
        &["feature-x", "mona/feature", "feat"],
    ),
    (
        "v2*",
        &["v2", "v2.0", "v2.9", "v2-beta"],
        &["v1", "v2/x", "xv2", "V2"],
    ),
    (
        "v[12].[0-9]+.[0-9]+",
        &["v1.10.1", "v2.0.0", "v1.0.123"],
        &["v3.0.0", "v1.0", "v1x10x1", "v1.a.1", "v1..1", "v12.0.0"],
    ),
    // Paths, from GitHub's cheat sheet.
    (
        "*.jsx?",
        &["page.js", "page.jsx"],
        &["page.jsxx", "page.j", "src/page.js", "page.ts"],
    ),
    ("*.js", &["app.js", "index.js"], &["js/index.js", "app.jsx"]),
    (
        "**.js",
        &["app.js", "index.js", "js/index.js", "src/js/app.js"],
        &["app.jsx", "js/index.ts"],
    ),
    (
        "docs/*",
        &["docs/README.md", "docs/file.txt"],
        &[
            "docs/mona/octocat.txt",
            "README.md",
            "docs",
            "src/docs/a.md",
        ],
    ),
    (
        "docs/**",
        &["docs/README.md", "docs/mona/octocat.txt", "docs/a/b/c/d"],
        &["docs", "README.md", "src/docs/a.md", "docsx/a"],
    ),
    (
        "docs/**/*.md",
        &[
            "docs/README.md",
            "docs/mona/hello-world.md",
            "docs/a/markdown/file.md",
        ],
        &["docs/README.txt", "README.md", "src/docs/a.md", "docs/a/md"],
    ),
    (
        "**/docs/**",
        &[
            "docs/hello.md",
            "/docs/hello.md",
            "dir/docs/my-file.txt",
            "space/docs/plan/space.doc",
        ],
        &["docs", "mydocs/x", "docsx/a", "a/docs"],
    ),
    (
        "**/README.md",
        &["README.md", "js/README.md", "docs/a/b/README.md"],
        &["README.mdx", "js/NOT-README.md", "READMExmd"],
    ),
    (
        "**/*src/**",
        &["a/src/app.js", "my-src/code/js/app.js", "src/x"],
        &["src", "a/src", "a/srcx/b"],
    ),
    (
        "**/*-post.md",
        &["my-post.md", "path/their-post.md", "a/b/-post.md"],
        &["post.md", "my-post.mdx", "path/my-post/x.md"],
    ),
    (
        "**/migrate-*.sql",
        &[
            "migrate-10909.sql",
            "db/migrate-v1.0.sql",
            "db/sept/migrate-v1.sql",
        ],
        &["migrate.sql", "db/migrate-v1/x.sql", "db/migrate-1.sqlx"],
    ),
    ("*.md", &["README.md", "hello.md"], &["docs/hello.md"]),
    (
        "README*",
        &["README", "README.md", "README.doc"],
        &["docs/README.md"],
    ),
    // `?` and `+` apply to the preceding character or `[...]` only.
    ("ab?c", &["ac", "abc"], &["abbc", "a?c", "bc"]),
    ("ab+c", &["abc", "abbbc"], &["ac", "ab+c"]),
    ("a[xy]+b", &["axb", "axyyxb"], &["ab", "azb"]),
    ("a[xy]?b", &["ab", "axb", "ayb"], &["axyb"]),
    ("/?x", &["x", "/x"], &["//x"]),
    // Brackets.
    ("[CB]at", &["Cat", "Bat"], &["cat", "at", "CBat"]),
    ("[1-2]00", &["100", "200"], &["300", "00"]),
    ("[0-9a-z]", &["0", "9", "a", "z"], &["A", "-", "", "ab"]),
    ("[a-]", &["a", "-"], &["b"]),
    ("[-a]", &["a", "-"], &["b"]),
    ("[\\]\\-]", &["]", "-"], &["\\", "a"]),
    ("[.*?+]", &[".", "*", "?", "+"], &["a", ".*"]),
    ("[^a]", &["^", "a"], &["b"]),
    ("[a&&b]", &["a", "&", "b"], &["c"]),
    ("[ä-ö]", &["ä", "ö", "ë"], &["a", "ü"]),
    // Escapes.
    ("\\*", &["*"], &["a", ""]),
    ("a\\*b", &["a*b"], &["ab", "axb"]),
    ("\\[x]", &["[x]"], &["x"]),
    ("\\?a", &["?a"], &["a"]),
    ("a\\?", &["a?"], &["a"]),
    ("\\+", &["+"], &[""]),
    ("a\\\\b", &["a\\b"], &["ab", "a\\\\b"]),
    ("\\!main", &["!main"], &["main"]),
    ("\\a", &["a"], &["\\a"]),
    ("a\\++", &["a+", "a+++"], &["a"]),
    // Everything else is a literal.
    (".(){}|^$", &[".(){}|^$"], &["x(){}|^$", "", "."]),
    ("a.b", &["a.b"], &["axb"]),
    ("a!b", &["a!b"], &["ab"]),
    ("]", &["]"], &[""]),
    ("#~-&", &["#~-&"], &[""]),
    // Wildcards and unicode.
    ("*", &["ünïcödé", "日本"], &["ü/ö"]),
    ("日*", &["日本", "日"], &["本"]),
    ("é+", &["é", "ééé"], &["", "e"]),
    // `**` in the middle of a segment does not make the `/` optional.
    ("a**/b", &["a/b", "ax/b", "a/x/b"], &["ab", "axb"]),
    ("a/**/b", &["a/b", "a/x/b", "a/x/y/b"], &["ab", "a/xb"]),
    ("**/**/x", &["x", "a/x", "a/b/x"], &["ax"]),
    ("***", &["", "a", "a/b"], &[]),
    ("**/+x", &["/x", "a//x"], &["x", "ax"]),
    // Newlines are just characters.
    ("a*b", &["a\nb"], &["a/b"]),
    ("**", &["a\n/b"], &[]),
];

#[test]
fn single_patterns() {
    let mut failures = Vec::new();
    for (source, yes, no) in SINGLE {
        let p = pat(source);
        assert!(!p.is_negated(), "{source}");
        assert_eq!(p.source(), *source);
        for subject in *yes {
            if !p.matches(subject) {
                failures.push(format!("`{source}` should match {subject:?}"));
            }
        }
        for subject in *no {
            if p.matches(subject) {
                failures.push(format!("`{source}` should not match {subject:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn negation_is_parsed_but_not_applied_by_matches() {
    let p = pat("!README.md");
    assert!(p.is_negated());
    assert_eq!(p.source(), "!README.md");
    assert_eq!(p.to_string(), "!README.md");
    assert!(p.matches("README.md"));
    assert!(!p.matches("!README.md"));

    // Only the first `!` negates.
    let p = pat("!!x");
    assert!(p.is_negated());
    assert!(p.matches("!x"));
    assert!(!p.matches("x"));

    // An escaped `!` is a literal.
    let p = pat("\\!x");
    assert!(!p.is_negated());
    assert!(p.matches("!x"));

    // `!` followed by a wildcard.
    let p = pat("!**");
    assert!(p.is_negated());
    assert!(p.matches("a/b"));

    let p = pat("!**/README.md");
    assert!(p.matches("README.md"));
    assert!(p.matches("a/README.md"));
}

#[test]
fn patterns_compare_and_parse_from_str() {
    assert_eq!(pat("a*"), "a*".parse::<FilterPattern>().unwrap());
    assert_ne!(pat("a*"), pat("!a*"));
    assert!("".parse::<FilterPattern>().is_err());
}

#[test]
fn included_uses_the_last_matching_pattern() {
    // From GitHub's docs: the last matching pattern decides.
    let md = list(&["*.md", "!README.md"]);
    assert!(included(&md, "hello.md"));
    assert!(!included(&md, "README.md"));
    assert!(!included(&md, "docs/hello.md"));
    assert!(!included(&md, "main.rs"));

    let md = list(&["*.md", "!README.md", "README*"]);
    assert!(included(&md, "hello.md"));
    assert!(included(&md, "README.md"));
    assert!(included(&md, "README.doc"));
    assert!(!included(&md, "docs/README.md"));

    let releases = list(&["releases/**", "!releases/**-alpha"]);
    assert!(included(&releases, "releases/10"));
    assert!(included(&releases, "releases/beta/mona"));
    assert!(!included(&releases, "releases/10-alpha"));
    assert!(!included(&releases, "releases/beta/3-alpha"));
    assert!(!included(&releases, "main"));

    // Order matters: a negation before the positive pattern has no effect
    // on what the positive pattern includes.
    let reversed = list(&["!releases/**-alpha", "releases/**"]);
    assert!(included(&reversed, "releases/10-alpha"));

    // Only negations: nothing is included.
    let only_not = list(&["!main"]);
    assert!(!included(&only_not, "main"));
    assert!(!included(&only_not, "dev"));

    // An empty list includes nothing.
    assert!(!included(&[], "main"));

    assert_eq!(
        last_match(&md, "README.md").map(FilterPattern::source),
        Some("README*")
    );
    assert_eq!(last_match(&md, "x.rs").map(FilterPattern::source), None);
}

#[test]
fn ignored_lists() {
    let ig = list(&["docs/**", "*.md"]);
    assert!(ignored(&ig, "docs/a.txt"));
    assert!(ignored(&ig, "README.md"));
    assert!(!ignored(&ig, "src/main.rs"));
    assert!(!ignored(&ig, "src/notes.md"));

    // A later `!` match takes a subject back out of the ignore list...
    let ig = list(&["docs/**", "!docs/api/**"]);
    assert!(ignored(&ig, "docs/guide.md"));
    assert!(!ignored(&ig, "docs/api/index.md"));
    assert!(!ignored(&ig, "src/lib.rs"));

    // ...and a later positive match ignores it again.
    let ig = list(&["docs/**", "!docs/api/**", "**/*.png"]);
    assert!(ignored(&ig, "docs/api/logo.png"));
    assert!(!ignored(&ig, "docs/api/index.md"));

    // A `!` before the positive pattern changes nothing.
    let ig = list(&["!docs/api/**", "docs/**"]);
    assert!(ignored(&ig, "docs/api/index.md"));

    let branches = list(&["mona/octocat", "releases/**-alpha"]);
    assert!(ignored(&branches, "mona/octocat"));
    assert!(ignored(&branches, "releases/beta/3-alpha"));
    assert!(!ignored(&branches, "releases/10"));

    assert!(!ignored(&[], "anything"));
}

#[test]
fn paths_need_one_included_file() {
    let p = list(&["**.js"]);
    assert_eq!(
        paths_match(&p, &files(&["README.md", "src/app.js", "lib/x.js"])),
        Some("src/app.js".to_string())
    );
    assert_eq!(paths_match(&p, &files(&["README.md", "x.ts"])), None);
    assert_eq!(paths_match(&p, &[]), None);

    let p = list(&["sub-project/**", "!sub-project/docs/**"]);
    assert_eq!(
        paths_match(
            &p,
            &files(&["sub-project/docs/a.md", "sub-project/src/b.rs"])
        ),
        Some("sub-project/src/b.rs".to_string())
    );
    assert_eq!(
        paths_match(&p, &files(&["sub-project/docs/a.md", "other/c.rs"])),
        None
    );

    let p = list(&["*.md", "!README.md", "README*"]);
    assert_eq!(
        paths_match(&p, &files(&["docs/x.md", "README.md"])),
        Some("README.md".to_string())
    );
}

#[test]
fn paths_ignore_needs_every_file_ignored() {
    let p = list(&["docs/**", "**.md"]);
    assert_eq!(
        paths_ignore_match(&p, &files(&["docs/a.txt", "notes.md"])),
        None
    );
    assert_eq!(
        paths_ignore_match(&p, &files(&["docs/a.txt", "src/main.rs", "x.md", "y.rs"])),
        Some("src/main.rs".to_string())
    );
    // No changed files: nothing is left that is not ignored.
    assert_eq!(paths_ignore_match(&p, &[]), None);
    // No patterns: nothing is ignored.
    assert_eq!(
        paths_ignore_match(&[], &files(&["a"])),
        Some("a".to_string())
    );

    let p = list(&["docs/**", "!docs/api/**"]);
    assert_eq!(
        paths_ignore_match(&p, &files(&["docs/guide.md", "docs/api/v1.md"])),
        Some("docs/api/v1.md".to_string())
    );
    assert_eq!(paths_ignore_match(&p, &files(&["docs/guide.md"])), None);
}

fn err(source: &str) -> PatternError {
    match FilterPattern::parse(source) {
        Ok(_) => panic!("`{source}` should not parse"),
        Err(e) => e,
    }
}

#[test]
fn errors_point_at_the_offending_character() {
    // (pattern, column, words the message must contain)
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty pattern"),
        ("!", 0, "only `!`"),
        ("[", 0, "unclosed `[`"),
        ("ab[cd", 2, "unclosed `[`"),
        ("!a[", 2, "unclosed `[`"),
        ("[a-", 0, "unclosed `[`"),
        ("[a\\", 0, "unclosed `[`"),
        ("[a\\]", 0, "unclosed `[`"),
        ("é[x", 1, "unclosed `[`"),
        ("[]", 0, "empty `[]`"),
        ("x[]", 1, "empty `[]`"),
        ("!x[]y", 2, "empty `[]`"),
        ("[z-a]", 1, "reversed"),
        ("v[0-9a-Z]", 5, "reversed"),
        ("[ab9-0]", 3, "reversed"),
        ("\\", 0, "trailing `\\`"),
        ("abc\\", 3, "trailing `\\`"),
        ("ü\\", 1, "trailing `\\`"),
        ("a\\\\\\", 3, "trailing `\\`"),
        ("+foo", 0, "no preceding character"),
        ("?foo", 0, "no preceding character"),
        ("!+foo", 1, "no preceding character"),
        ("!?", 1, "no preceding character"),
        ("*+", 1, "cannot follow `*`"),
        ("a*?", 2, "cannot follow `*`"),
        ("**?", 2, "cannot follow `**`"),
        ("x**+", 3, "cannot follow `**`"),
        ("a??", 2, "cannot follow `?`"),
        ("a+?", 2, "cannot follow `+`"),
        ("a++", 2, "cannot follow `+`"),
    ];
    let mut failures = Vec::new();
    for (source, column, words) in cases {
        let e = err(source);
        if e.column != *column || !e.message.contains(words) {
            failures.push(format!(
                "`{source}`: expected column {column} with {words:?}, got {e:?}"
            ));
        }
        let first = e.message.chars().next().unwrap();
        if first.is_uppercase() {
            failures.push(format!("`{source}`: message should be lowercase: {e:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_messages_say_what_to_do() {
    assert_eq!(
        err("ab[cd").message,
        "unclosed `[` in pattern; close it with `]` or escape it as `\\[`"
    );
    assert!(err("+foo").message.contains("escape it as `\\+`"));
    assert!(err("a\\").message.contains("`\\\\`"));
    assert!(err("[z-a]").message.contains("as `a-z`"));
    assert!(err("[9-0]").message.contains("as `0-9`"));
    assert!(err("[a-Z]").message.contains("as `a-zA-Z`"));
    assert!(err("[c-X]").message.contains("as `c-zA-X`"));
    assert!(err("[]").message.contains("escape it as `\\[]`"));
    assert_eq!(
        err("x[").to_string(),
        format!("{} (at character 2)", err("x[").message)
    );
}

#[test]
fn odd_input_never_panics() {
    let alphabet = [
        '*', '?', '+', '[', ']', '\\', '!', '-', '/', 'a', 'z', 'é', '.',
    ];
    // Every string of up to three characters from the alphabet.
    let mut count = 0;
    let mut current = vec![String::new()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for prefix in &current {
            for c in alphabet {
                let mut s = prefix.clone();
                s.push(c);
                if let Ok(p) = FilterPattern::parse(&s) {
                    let _ = p.matches(&s);
                    let _ = p.matches("a/z");
                }
                count += 1;
                next.push(s);
            }
        }
        current = next;
    }
    assert_eq!(count, 13 + 13 * 13 + 13 * 13 * 13);

    // Errors always point inside the pattern.
    for s in ["[", "a[", "\\", "x\\", "+", "[]", "[b-a]", "!"] {
        let e = err(s);
        assert!(e.column < s.chars().count().max(1), "{s}: {e:?}");
    }

    // Very long patterns either compile or fail cleanly.
    let long = "a*".repeat(1_000);
    let p = FilterPattern::parse(&long).unwrap();
    assert!(p.matches(&"a".repeat(1_000)));
    assert!(!p.matches(&"a".repeat(999)));
    let huge = "*a".repeat(10_000);
    if let Err(e) = FilterPattern::parse(&huge) {
        assert!(e.message.contains("too large"), "{e:?}");
        assert_eq!(e.column, 0);
    }
}
