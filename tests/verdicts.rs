//! Verdict snapshots driven by folders: every case is judged through the
//! library, and both the verdict (JSON) and its explanation (text) are kept.
//!
//! - `examples/<policy>/*.json` are judged by `policies/<policy>.rpl`;
//! - `tests/verdicts/<topic>/*.json` by the `policy.rpl` next to them: small
//!   policies that pin docs/language.md §6 and §7 (rounding, floors, decisions, defaults,
//!   fail safe).

use std::path::{Path, PathBuf};

/// The crate root, so that descriptions name files as `examples/…`.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn relative(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let root = root().canonicalize().unwrap_or_else(|_| root().to_path_buf());
    let rel = path.strip_prefix(&root).unwrap_or(&path);
    rel.to_string_lossy().replace('\\', "/")
}

/// Judges `case` with `policy` and snapshots the verdict and the explanation
/// as `<name>_verdict` and `<name>_explain` (glob! adds the case's path).
fn snapshot_case(name: &str, policy: &Path, case: &Path) {
    let source = std::fs::read_to_string(policy).unwrap_or_else(|e| panic!("cannot read {}: {e}", policy.display()));
    let compiled = rpl::compile(&source).unwrap_or_else(|diags| {
        let rendered = rpl::render_diagnostics(&relative(policy), &source, &diags);
        panic!("{} does not check:\n{rendered}", policy.display())
    });
    let text = std::fs::read_to_string(case).unwrap_or_else(|e| panic!("cannot read {}: {e}", case.display()));
    let case_data = rpl::parse_case(&text).unwrap_or_else(|e| panic!("{} is not a valid case: {e}", case.display()));
    let program = &compiled.program;
    let verdict = program
        .judge(&case_data)
        .unwrap_or_else(|e| panic!("{} cannot be judged: {e}", case.display()));
    let (explained, explanation) = program
        .judge_explained(&case_data)
        .unwrap_or_else(|e| panic!("{} cannot be judged: {e}", case.display()));
    assert_eq!(
        verdict,
        explained,
        "explaining must not change the verdict of {}",
        case.display()
    );
    let explain = rpl::render_explanation(&explained, &explanation);

    let description = format!("{} judged by {}", relative(case), relative(policy));
    insta::with_settings!({ description => description, omit_expression => true }, {
        insta::assert_json_snapshot!(format!("{name}_verdict"), verdict);
        insta::assert_snapshot!(format!("{name}_explain"), explain);
    });
}

/// The shipped examples: the folder name is the policy's name.
#[test]
fn examples() {
    insta::glob!("../examples", "*/*.json", |case| {
        let folder = case
            .parent()
            .and_then(Path::file_name)
            .and_then(|f| f.to_str())
            .unwrap_or_else(|| panic!("{} has no folder", case.display()));
        let policy: PathBuf = root().join("policies").join(format!("{folder}.rpl"));
        snapshot_case("examples", &policy, case);
    });
}

/// Small policy + case pairs for the finer points of docs/language.md §6 and §7.
#[test]
fn semantics() {
    insta::glob!("verdicts", "*/*.json", |case| {
        let policy = case.with_file_name("policy.rpl");
        snapshot_case("semantics", &policy, case);
    });
}
