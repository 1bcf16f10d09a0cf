//! `codecov/codecov-action`: there is no hosted service to upload to; the
//! reports named in `files` are kept with the run under their flag.
//! (Totals, the gate and trends are `slipway coverage`.)

use super::{BuiltinInput, BuiltinResult};

pub(super) fn run(input: &BuiltinInput) -> BuiltinResult {
    let files: Vec<&str> = input
        .input("files")
        .or(input.input("file"))
        .map(|f| {
            f.split([',', '\n'])
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let flag = input.input("flags").unwrap_or("default");
    let fail_on_error = input.input("fail_ci_if_error") == Some("true");
    let base = input
        .workspace
        .join(input.input("directory").unwrap_or("."));
    let keep = input
        .run_dir
        .join("coverage")
        .join(flag.replace(['/', ','], "_"));
    let mut result = BuiltinResult::ok();
    if files.is_empty() {
        return BuiltinResult::fail("no coverage report given: set `files`");
    }
    for file in files {
        let path = base.join(file);
        let name = std::path::Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let copied =
            std::fs::create_dir_all(&keep).and_then(|_| std::fs::copy(&path, keep.join(&name)));
        match copied {
            Ok(_) => {
                result = result.say(format!(
                    "coverage report {file} kept with the run under flag `{flag}`"
                ))
            }
            Err(e) if fail_on_error => {
                return BuiltinResult::fail(format!("coverage report {file}: {e}"))
            }
            Err(e) => result.lines.push((
                slipway_model::LogLevel::Warning,
                format!("coverage report {file}: {e} (ignored: fail_ci_if_error is false)"),
            )),
        }
    }
    result
}
