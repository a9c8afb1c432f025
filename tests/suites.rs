//! Policy test suites: every shipped policy's suite passes (so `cargo test`
//! is also `rpl test policies/`), and `rpl test` itself behaves as docs/language.md §10
//! says — failures side by side, snapshots recorded, changed and stale.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn shipped_policy_suites_pass() {
    let suites = rpl::find_suites(Path::new("policies"));
    let mut policies: Vec<PathBuf> = ["policies", "policies/shops"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rpl"))
        .collect();
    policies.sort();
    for policy in &policies {
        let suite = policy.with_extension("test.toml");
        assert!(
            suites.contains(&suite),
            "{} has no suite at {}",
            policy.display(),
            suite.display()
        );
    }
    let mut report = String::new();
    for suite in &suites {
        let result = rpl::run_suite(suite, false);
        assert!(
            result.cases.len() >= 15,
            "{} has only {} cases",
            suite.display(),
            result.cases.len()
        );
        if result.failed() > 0 {
            report.push_str(&rpl::render_suite(&result));
        }
    }
    assert!(report.is_empty(), "shipped suites fail:\n{report}");
}

fn rpl(args: &[&str], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    format!(
        "$ rpl {}\nexit: {}\n{}{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn failures_are_shown_side_by_side() {
    let output = rpl(&["test", "tests/suite_cli/"], Path::new(env!("CARGO_MANIFEST_DIR")));
    insta::assert_snapshot!(output);
}

/// `expect` on deductions with amounts, line messages and errors, passing and
/// failing; and `--coverage` naming the rules, flags and table rows no case
/// reached, with where they are.
#[test]
fn coverage_and_the_finer_expectations() {
    let output = rpl(
        &["test", "--coverage", "tests/suite_coverage/"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert!(output.contains("never  channel_fee"), "{output}");
    insta::assert_snapshot!(output);
}

/// A copy of `tests/suite_cli` in a fresh temporary folder.
fn scratch_copy() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rpl-suite-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy(Path::new("tests/suite_cli"), &dir);
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn update_records_rewrites_and_removes_snapshots() {
    let dir = scratch_copy();
    let snap_dir = dir.join("failing.test.toml.snap");
    let mut log = String::new();
    // Record: the missing snapshot is written, the stale one removed.
    log += &rpl(&["test", "--update", "failing.test.toml"], &dir);
    assert!(snap_dir.join("a_snapshot_never_recorded.json").exists());
    assert!(!snap_dir.join("removed_case.json").exists());
    // Now the snapshot case passes without --update.
    log += &rpl(&["test", "failing.test.toml"], &dir);
    // A policy change moves the verdict: the snapshot shows the difference.
    let policy = dir.join("policy.rpl");
    let changed =
        std::fs::read_to_string(&policy).unwrap() + "\nrule fee { when true deduct 10% of item.amount as \"Fee\" }\n";
    std::fs::write(&policy, changed).unwrap();
    log += &rpl(&["test", "failing.test.toml"], &dir);
    // Accepting it lists the snapshot that changed.
    log += &rpl(&["test", "--update", "failing.test.toml"], &dir);
    let recorded = std::fs::read_to_string(snap_dir.join("a_snapshot_never_recorded.json")).unwrap();
    assert!(
        recorded.contains("\"refund\": \"179.10\""),
        "the accepted snapshot holds the new refund:\n{recorded}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    insta::assert_snapshot!(log);
}
