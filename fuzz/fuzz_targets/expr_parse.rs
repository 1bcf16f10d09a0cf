#![no_main]
//! Any text as an expression and as a template: parsing, evaluating (fully
//! and partly) and reading references must never panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;
use slipway_expr::{parse, parse_template, MapContexts};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = MapContexts::default();
    if let Ok(expr) = parse(text) {
        let _ = expr.eval(&ctx);
        let _ = expr.eval_partial(&ctx);
        for reference in expr.references() {
            // A reference path is itself an expression.
            assert!(
                parse(&reference.path).is_ok(),
                "unparsable path {:?}",
                reference.path
            );
        }
        let _ = expr.functions();
    }
    if let Ok(template) = parse_template(text) {
        let _ = template.eval(&ctx);
    }
});
