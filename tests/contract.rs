//! The data contract (docs/language.md §4.12), case by case: each file in
//! `tests/contract/` is one real-world mistake (a typo'd key, a value outside
//! a closed set, a price finer than the currency, times out of order, a case
//! that knows the future) or one case that looks odd but is fine (a parcel
//! still in transit, cash on delivery). Each is judged by the real binary
//! against the marketplace policy, and the whole run — exit status, output,
//! errors — is a snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn judge(file: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(["judge", "policies/marketplace.rpl", file, "--compact"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn each_mistake_is_named_where_it_is() {
    insta::glob!("contract/*.json", |path| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let output = judge(&file);
        // A case the contract accepts is judged; every other one is refused
        // with exit 2 and the JSON path of the mistake, before any judging.
        let fine = file.contains("fine_case") || file.contains("cash_on_delivery");
        assert_eq!(output.starts_with("exit: 0"), fine, "{file}:\n{output}");
        insta::with_settings!({ description => format!("rpl judge policies/marketplace.rpl {file} --compact"), omit_expression => true }, {
            insta::assert_snapshot!("judge", output);
        });
    });
}
