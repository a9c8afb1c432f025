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

/// A misspelt word in each shipped policy fails the check: against the
/// words the policy declares, or against a closed set.
#[test]
fn shipped_policies_refuse_a_misspelt_word() {
    let typos = [
        (
            "marketplace",
            "return.reason == \"not_received\"",
            "return.reason == \"not_recieved\"",
        ),
        (
            "marketplace",
            "item.condition == \"unknown\"",
            "item.condition == \"unkown\"",
        ),
        ("fashion", "item.condition == \"used\"", "item.condition == \"uesd\""),
        (
            "electronics",
            "return.reason == \"changed_mind\"",
            "return.reason == \"changed_mnd\"",
        ),
        (
            "risk",
            "return.type == \"refund_only\"\n        and",
            "return.type == \"refund-only\"\n        and",
        ),
        (
            "risk",
            "return.reason == \"not_received\"",
            "return.reason == \"not_recieved\"",
        ),
    ];
    let mut out = String::new();
    for (policy, right, wrong) in typos {
        let path = format!("policies/{policy}.rpl");
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(rpl::compile(&source).is_ok(), "{path} must check as shipped");
        assert!(source.contains(right), "{path} no longer holds `{right}`");
        let broken = source.replacen(right, wrong, 1);
        let diags = rpl::compile(&broken).err().unwrap_or_default();
        assert!(
            diags.iter().any(|d| d.code == "unknown-value"),
            "{path} with `{wrong}` still checks"
        );
        out.push_str(&rpl::render_diagnostics(&path, &broken, &diags));
    }
    insta::assert_snapshot!(out);
}
