//! From a step's `shell:` to the program, arguments and script file that
//! GitHub would use on Linux.

use std::path::{Path, PathBuf};

/// How to run one script: `program args...`, with `{0}` in the arguments
/// standing for the script file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shell {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The script file's extension, which some interpreters insist on.
    pub extension: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PowerShell,
    Other,
}

impl Shell {
    /// The program and arguments with `{0}` replaced by the script's path
    /// (a custom shell of just `{0}` runs the script itself).
    pub fn command_for(&self, script: &Path) -> (PathBuf, Vec<String>) {
        let script = script.to_string_lossy();
        let program = self.program.to_string_lossy().replace("{0}", &script);
        let args = self
            .args
            .iter()
            .map(|a| a.replace("{0}", &script))
            .collect();
        (PathBuf::from(program), args)
    }

    /// The text written to the script file. GitHub adds nothing for POSIX
    /// shells and Python; for PowerShell it stops on the first error and
    /// passes the last native exit code on, as its runner does.
    pub fn script_contents(&self, script: &str) -> String {
        match self.kind {
            Kind::PowerShell => format!(
                "$ErrorActionPreference = 'stop'\n{script}\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) {{ exit $LASTEXITCODE }}"
            ),
            Kind::Other => script.to_string(),
        }
    }
}

/// Resolves `shell` as written (`None` for GitHub's default) against the
/// step's `PATH`. The error is the message for `FailedToStart`.
pub(crate) fn resolve(shell: Option<&str>, path_var: &str) -> Result<Shell, String> {
    let find = |name: &str| find_on_path(name, path_var);
    let builtin = |program: PathBuf, args: &[&str], extension, kind| Shell {
        program,
        args: args.iter().map(|a| a.to_string()).collect(),
        extension,
        kind,
    };
    let bash = |program| {
        builtin(
            program,
            &["--noprofile", "--norc", "-eo", "pipefail", "{0}"],
            ".sh",
            Kind::Other,
        )
    };
    let sh = |program| builtin(program, &["-e", "{0}"], ".sh", Kind::Other);
    let not_found = |name: &str| format!("shell `{name}` was not found on PATH");

    match shell.map(str::trim) {
        // GitHub's default is bash without pipefail or --noprofile: the
        // runner treats it as `sh` and only swaps the program for bash.
        None | Some("") => find("bash")
            .or_else(|| find("sh"))
            .map(sh)
            .ok_or_else(|| not_found("sh")),
        Some("bash") => find("bash").map(bash).ok_or_else(|| not_found("bash")),
        Some("sh") => find("sh").map(sh).ok_or_else(|| not_found("sh")),
        Some("python") => find("python")
            .or_else(|| find("python3"))
            .map(|p| builtin(p, &["{0}"], ".py", Kind::Other))
            .ok_or_else(|| not_found("python")),
        Some(name @ ("pwsh" | "powershell")) => find("pwsh")
            .map(|p| builtin(p, &["-command", ". '{0}'"], ".ps1", Kind::PowerShell))
            .ok_or_else(|| not_found(name)),
        Some("cmd") => Err("shell `cmd` is only available on Windows runners".to_string()),
        Some(custom) => {
            if !custom.contains("{0}") {
                return Err(format!("custom shell `{custom}` must contain {{0}}"));
            }
            let mut words = split_words(custom).into_iter();
            let name = words.next().unwrap_or_default();
            let program = if name.contains('/') || name.contains("{0}") {
                PathBuf::from(name.as_str())
            } else {
                find(&name).ok_or_else(|| not_found(&name))?
            };
            let base = Path::new(&name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (extension, kind) = match base.as_str() {
                "bash" | "sh" => (".sh", Kind::Other),
                "pwsh" | "powershell" => (".ps1", Kind::PowerShell),
                "python" | "python3" => (".py", Kind::Other),
                _ => ("", Kind::Other),
            };
            Ok(Shell {
                program,
                args: words.collect(),
                extension,
                kind,
            })
        }
    }
}

/// The first executable file called `name` in `path_var`.
pub(crate) fn find_on_path(name: &str, path_var: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Splits a custom shell line into words. Whitespace separates words;
/// single or double quotes group, so `bash -c "source {0}"` works as it
/// does on GitHub's runner.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A PATH with fake executables, so tests do not depend on the host.
    fn fake_path(names: &[&str]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let p = dir.path().join(name);
            std::fs::write(&p, "").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = dir.path().to_string_lossy().into_owned();
        (dir, path)
    }

    fn program_name(s: &Shell) -> String {
        s.program
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn default_is_bash_when_present_else_sh_both_with_errexit_only() {
        let (_d, path) = fake_path(&["bash", "sh"]);
        let s = resolve(None, &path).unwrap();
        assert_eq!(program_name(&s), "bash");
        assert_eq!(s.args, ["-e", "{0}"]);
        assert_eq!(s.extension, ".sh");
        let s = resolve(Some("bash"), &path).unwrap();
        assert_eq!(s.args, ["--noprofile", "--norc", "-eo", "pipefail", "{0}"]);

        let (_d, path) = fake_path(&["sh"]);
        let s = resolve(None, &path).unwrap();
        assert_eq!(program_name(&s), "sh");
        assert_eq!(s.args, ["-e", "{0}"]);
    }

    #[test]
    fn named_shells() {
        let (_d, path) = fake_path(&["bash", "sh", "python3", "pwsh"]);
        assert_eq!(resolve(Some("sh"), &path).unwrap().args, ["-e", "{0}"]);
        let py = resolve(Some("python"), &path).unwrap();
        assert_eq!(program_name(&py), "python3");
        assert_eq!(
            (py.args.as_slice(), py.extension),
            (&["{0}".to_string()][..], ".py")
        );
        let ps = resolve(Some("powershell"), &path).unwrap();
        assert_eq!(program_name(&ps), "pwsh");
        assert_eq!(ps.args, ["-command", ". '{0}'"]);
        assert_eq!(ps.extension, ".ps1");
    }

    #[test]
    fn python_is_preferred_over_python3() {
        let (_d, path) = fake_path(&["python", "python3"]);
        assert_eq!(
            program_name(&resolve(Some("python"), &path).unwrap()),
            "python"
        );
    }

    #[test]
    fn missing_shells_and_cmd_are_errors() {
        let (_d, path) = fake_path(&[]);
        assert_eq!(
            resolve(Some("bash"), &path).unwrap_err(),
            "shell `bash` was not found on PATH"
        );
        assert!(resolve(None, &path).is_err());
        assert!(resolve(Some("cmd"), &path).unwrap_err().contains("Windows"));
    }

    #[test]
    fn custom_shells() {
        let (_d, path) = fake_path(&["perl", "bash"]);
        let s = resolve(Some("perl -w {0}"), &path).unwrap();
        assert_eq!(program_name(&s), "perl");
        assert_eq!(s.args, ["-w", "{0}"]);
        assert_eq!(s.extension, "");
        assert_eq!(s.command_for(Path::new("/t/x")).1, ["-w", "/t/x"]);

        let s = resolve(Some("bash -c \"source {0}\""), &path).unwrap();
        assert_eq!(s.args, ["-c", "source {0}"]);
        assert_eq!(s.extension, ".sh");

        let s = resolve(Some("/opt/tool --file={0}"), &path).unwrap();
        assert_eq!(s.program, PathBuf::from("/opt/tool"));
        assert_eq!(s.command_for(Path::new("/t/x")).1, ["--file=/t/x"]);

        let s = resolve(Some("{0}"), &path).unwrap();
        assert_eq!(
            s.command_for(Path::new("/t/x")),
            (PathBuf::from("/t/x"), vec![])
        );
    }

    #[test]
    fn custom_shell_without_placeholder() {
        let (_d, path) = fake_path(&["perl"]);
        assert_eq!(
            resolve(Some("perl -w"), &path).unwrap_err(),
            "custom shell `perl -w` must contain {0}"
        );
        assert!(resolve(Some("nope {0}"), &path).is_err());
    }

    #[test]
    fn powershell_scripts_stop_on_errors() {
        let (_d, path) = fake_path(&["pwsh"]);
        let s = resolve(Some("pwsh"), &path).unwrap();
        let text = s.script_contents("Write-Output hi");
        assert!(text.starts_with("$ErrorActionPreference = 'stop'\nWrite-Output hi\n"));
        assert!(text.ends_with("{ exit $LASTEXITCODE }"));
        let (_d, path) = fake_path(&["bash"]);
        assert_eq!(resolve(None, &path).unwrap().script_contents("x"), "x");
    }

    #[test]
    fn split_words_handles_quotes_and_blanks() {
        assert_eq!(split_words("  a  'b c' \"\" d"), ["a", "b c", "", "d"]);
        assert_eq!(split_words(""), Vec::<String>::new());
        assert_eq!(split_words("unterminated 'x y"), ["unterminated", "x y"]);
    }
}
