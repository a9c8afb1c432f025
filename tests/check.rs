//! Checker snapshots, one per file under `tests/check/`: every error and
//! warning the checker reports, rendered as `rpl check` prints them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn check() {
    insta::glob!("check/*.rpl", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let shown = format!("check/{name}");
        let (ok, diags) = match rpl::compile(&source) {
            Ok(c) => (true, c.warnings),
            Err(d) => (false, d),
        };
        if name.starts_with("err_") {
            assert!(!ok, "{name} should fail the check");
        } else {
            assert!(
                ok,
                "{name} should pass the check:\n{}",
                rpl::render_diagnostics(&shown, &source, &diags)
            );
        }
        let output = rpl::render_diagnostics(&shown, &source, &diags);
        insta::with_settings!({ description => source.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(output);
        });
    });
}
