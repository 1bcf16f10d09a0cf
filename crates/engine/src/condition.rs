//! `if:` at run time, with GitHub's implicit `success()`.

use slipway_expr::{Contexts, Value};
use slipway_workflow::workflow::{Condition, ConditionForm};

/// Whether a job or step with this condition runs. Without a status
/// function the condition means `success() && (condition)`; no condition
/// means `success()`.
pub(crate) fn holds(
    condition: Option<&Condition>,
    ctx: &dyn Contexts,
    success: bool,
) -> Result<bool, String> {
    let Some(condition) = condition else {
        return Ok(success);
    };
    match &condition.form {
        // A string with `${{ }}` inside: non-empty, so true when it runs.
        ConditionForm::Template(template) => {
            if !success {
                return Ok(false);
            }
            Ok(template.eval(ctx).map_err(|e| e.message)?.is_truthy())
        }
        ConditionForm::Expression(expr) => {
            if !success && !expr.uses_status_function() {
                return Ok(false);
            }
            let value: Value = expr.eval(ctx).map_err(|e| e.message)?;
            Ok(value.is_truthy())
        }
    }
}
