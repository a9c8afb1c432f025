//! Any bytes -> parse -> check, and every diagnostic rendered both ways.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let diags = match rpl::compile(source) {
        Ok(compiled) => compiled.warnings,
        Err(diags) => diags,
    };
    rpl::render_diagnostics("fuzz.rpl", source, &diags);
    rpl::render_diagnostics_json("fuzz.rpl", source, &diags);
});
