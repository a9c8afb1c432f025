//! CLI snapshots: real runs of the `rpl` binary, from the crate root (so paths
//! print as `policies/…`), with `NO_COLOR=1`. Each snapshot holds the exit
//! status, standard output and standard error of one run.
//!
//! Inputs made for these tests live in `tests/cli/`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `rpl ARGS…` (feeding `stdin`, if any) and renders what happened.
fn run(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rpl: {e}"));
    if let Some(input) = stdin {
        // Dropping the pipe at the end of this block closes rpl's standard input.
        let Some(mut pipe) = child.stdin.take() else {
            panic!("standard input is not piped");
        };
        pipe.write_all(input)
            .unwrap_or_else(|e| panic!("cannot write to rpl's standard input: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("rpl did not run to the end: {e}"));
    let code = out
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
    format!(
        "exit: {code}\n--- stdout\n{}\n--- stderr\n{}",
        relative_paths(&String::from_utf8_lossy(&out.stdout)),
        relative_paths(&String::from_utf8_lossy(&out.stderr)),
    )
}

/// Nothing should print an absolute path, but if something does, it must not
/// make the snapshot depend on where the crate is checked out.
fn relative_paths(text: &str) -> String {
    let root = root().to_string_lossy();
    text.replace(&format!("{root}/"), "").replace(&*root, ".")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Snapshots one run under `name`, described by its command line.
fn snapshot(name: &str, args: &[&str], stdin: Option<&[u8]>) {
    let output = run(args, stdin);
    let mut description = format!("rpl {}", args.join(" "));
    if stdin.is_some() {
        description.push_str(" (with standard input)");
    }
    insta::with_settings!({ description => description, omit_expression => true }, {
        insta::assert_snapshot!(name, output);
    });
}

// -- check -------------------------------------------------------------------

#[test]
fn check_shipped_policies_are_clean() {
    let mut policies: Vec<String> = std::fs::read_dir(root().join("policies"))
        .expect("policies/ exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.ends_with(".rpl").then(|| format!("policies/{name}"))
        })
        .collect();
    policies.sort();
    assert!(!policies.is_empty(), "no policies shipped");
    let mut args = vec!["check"];
    args.extend(policies.iter().map(String::as_str));
    snapshot("check_shipped_policies", &args, None);
}

#[test]
fn check_reports_every_problem() {
    snapshot(
        "check_err_many_problems",
        &["check", "tests/cli/err_many_problems.rpl"],
        None,
    );
}

#[test]
fn check_error_format_json() {
    snapshot(
        "check_err_many_problems_json",
        &["check", "--error-format", "json", "tests/cli/err_many_problems.rpl"],
        None,
    );
}

#[test]
fn check_several_files_one_bad() {
    snapshot(
        "check_several_files_one_bad",
        &[
            "check",
            "policies/marketplace.rpl",
            "tests/cli/err_many_problems.rpl",
            "tests/cli/warnings.rpl",
        ],
        None,
    );
}

#[test]
fn check_warnings_pass() {
    snapshot("check_warnings", &["check", "tests/cli/warnings.rpl"], None);
}

#[test]
fn check_deny_warnings_fails() {
    snapshot(
        "check_warnings_denied",
        &["check", "--deny-warnings", "tests/cli/warnings.rpl"],
        None,
    );
}

#[test]
fn check_missing_file() {
    snapshot("check_missing_file", &["check", "policies/does_not_exist.rpl"], None);
}

#[test]
fn check_not_utf8() {
    snapshot("check_not_utf8", &["check", "tests/cli/err_not_utf8.rpl"], None);
}

// -- judge -------------------------------------------------------------------

#[test]
fn judge_pretty() {
    snapshot(
        "judge_pretty",
        &[
            "judge",
            "policies/marketplace.rpl",
            "examples/marketplace/day7_changed_mind_approved.json",
        ],
        None,
    );
}

#[test]
fn judge_compact() {
    snapshot(
        "judge_compact",
        &[
            "judge",
            "--compact",
            "policies/electronics.rpl",
            "examples/electronics/partial_activated_phone_and_case.json",
        ],
        None,
    );
}

#[test]
fn judge_explain() {
    snapshot(
        "judge_explain",
        &[
            "judge",
            "--explain",
            "policies/risk.rpl",
            "examples/risk/serial_returner_review.json",
        ],
        None,
    );
}

#[test]
fn judge_stdin_dash() {
    let case = read("examples/fashion/worn_dress_restocking_fee.json");
    snapshot(
        "judge_stdin_dash",
        &["judge", "--compact", "policies/fashion.rpl", "-"],
        Some(&case),
    );
}

#[test]
fn judge_stdin_by_default() {
    let case = read("examples/fashion/worn_dress_restocking_fee.json");
    snapshot(
        "judge_stdin_by_default",
        &["judge", "--compact", "policies/fashion.rpl"],
        Some(&case),
    );
}

#[test]
fn judge_json_lines_with_bad_lines() {
    snapshot(
        "judge_json_lines_bad_lines",
        &["judge", "policies/marketplace.rpl", "tests/cli/cases.jsonl"],
        None,
    );
}

/// `--threads` shares each batch of lines among threads: the output is the
/// same, line for line and in order, bad lines at their places, whatever the
/// number — over several batches of a file (and the first verdict of a pipe
/// still comes before the input ends: `judge_streams_json_lines`).
#[test]
fn judge_threads_keep_the_output() {
    let cases = String::from_utf8(read("tests/cli/cases.jsonl")).unwrap();
    let lines: Vec<&str> = cases.lines().collect();
    let mut text = String::new();
    for i in 0..6_000 {
        text.push_str(lines[i % lines.len()]);
        text.push('\n');
        if i % 1_000 == 7 {
            text.push_str("{\"order\": \"not an order\"}\n\n");
        }
    }
    let dir = std::env::temp_dir().join(format!("rpl-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many.jsonl");
    std::fs::write(&path, &text).unwrap();
    let path = path.to_string_lossy().into_owned();
    let judge = |threads: &str| {
        Command::new(env!("CARGO_BIN_EXE_rpl"))
            .args(["judge", "policies/marketplace.rpl", &path, "--threads", threads])
            .current_dir(root())
            .output()
            .unwrap()
    };
    let one = judge("1");
    let verdicts = String::from_utf8(one.stdout.clone()).unwrap();
    let out: Vec<&str> = verdicts.lines().collect();
    assert_eq!(out.len(), 6_006);
    assert!(out[8].starts_with("{\"line\":9,\"error\""), "{}", out[8]);
    for threads in ["2", "3"] {
        let many = judge(threads);
        assert_eq!(many.status.code(), one.status.code());
        assert!(many.stdout == one.stdout, "--threads {threads} changed the output");
        assert_eq!(many.stderr, one.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// JSON Lines are judged as they arrive: verdicts come out while the input is
/// still open, so memory does not grow with the input. (Were the whole input
/// read first, the first verdict would wait for the end of input, which this
/// test never sends until it has read them.)
#[test]
fn judge_streams_json_lines() {
    use std::io::{BufRead as _, BufReader};
    let case = String::from_utf8(read("examples/marketplace/day7_changed_mind_approved.json")).unwrap();
    let line = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&case).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(["judge", "policies/marketplace.rpl", "-"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sent, got) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for verdict in BufReader::new(stdout).lines() {
            if sent.send(verdict.unwrap()).is_err() {
                return;
            }
        }
    });
    // Enough lines to fill any output buffer (a verdict is ~500 bytes).
    let lines = 2_000;
    for _ in 0..lines {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let first = got
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("no verdict while the input is still open: the input is read whole before judging");
    assert!(first.contains("\"decision\":\"approve\""), "{first}");
    drop(stdin);
    let rest = got.iter().count();
    assert_eq!(rest + 1, lines);
    assert!(child.wait().unwrap().success());
}

#[test]
fn judge_invalid_case() {
    snapshot(
        "judge_invalid_case",
        &["judge", "policies/marketplace.rpl", "tests/cli/invalid_case.json"],
        None,
    );
}

#[test]
fn judge_currency_mismatch() {
    snapshot(
        "judge_currency_mismatch",
        &["judge", "policies/marketplace.rpl", "tests/cli/usd_case.json"],
        None,
    );
}

#[test]
fn judge_missing_case_file() {
    snapshot(
        "judge_missing_case_file",
        &[
            "judge",
            "policies/marketplace.rpl",
            "examples/marketplace/does_not_exist.json",
        ],
        None,
    );
}

#[test]
fn judge_bad_policy() {
    snapshot(
        "judge_bad_policy",
        &[
            "judge",
            "tests/cli/err_many_problems.rpl",
            "examples/marketplace/day7_changed_mind_approved.json",
        ],
        None,
    );
}

#[test]
fn judge_not_utf8_policy() {
    snapshot(
        "judge_not_utf8_policy",
        &[
            "judge",
            "tests/cli/err_not_utf8.rpl",
            "examples/marketplace/day7_changed_mind_approved.json",
        ],
        None,
    );
}

#[test]
fn judge_truncated_pretty_case() {
    // A pretty-printed case cut short is one broken document, not JSON Lines.
    let full = read("examples/marketplace/day7_changed_mind_approved.json");
    let cut = &full[..full.len() / 2];
    snapshot(
        "judge_truncated_pretty_case",
        &["judge", "policies/marketplace.rpl", "-"],
        Some(cut),
    );
}

#[test]
fn judge_empty_input() {
    snapshot(
        "judge_empty_input",
        &["judge", "policies/marketplace.rpl", "-"],
        Some(b"\n  \n"),
    );
}

// -- backtest ----------------------------------------------------------------

#[test]
fn backtest_summary() {
    snapshot(
        "backtest_summary",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/stream.jsonl",
            "--threads",
            "2",
        ],
        None,
    );
}

#[test]
fn backtest_json_and_compare() {
    snapshot(
        "backtest_json_and_compare",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/stream.jsonl",
            "--compare",
            "tests/backtest/stricter.rpl",
            "--json",
        ],
        None,
    );
}

#[test]
fn backtest_compare_for_people() {
    snapshot(
        "backtest_compare_for_people",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/stream.jsonl",
            "--compare",
            "tests/backtest/stricter.rpl",
        ],
        None,
    );
}

#[test]
fn backtest_stops_at_a_bad_line() {
    snapshot(
        "backtest_stops_at_a_bad_line",
        &["backtest", "policies/risk.rpl", "tests/backtest/bad.jsonl"],
        None,
    );
}

#[test]
fn backtest_skips_and_lists_bad_lines() {
    snapshot(
        "backtest_skips_and_lists_bad_lines",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/bad.jsonl",
            "--skip-invalid",
        ],
        None,
    );
}

/// A temporary file's path, removed when dropped.
struct Temp(std::path::PathBuf);

impl Temp {
    fn new(name: &str) -> Temp {
        Temp(std::env::temp_dir().join(format!("rpl-cli-{}-{name}", std::process::id())))
    }

    fn arg(&self) -> String {
        self.0.to_string_lossy().to_string()
    }

    fn read(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn records(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `--out` writes one record per return, in stream order, in the shape the
/// bindings and the service read: these keys, in this order.
#[test]
fn backtest_from_stdin_writes_records() {
    let out = Temp::new("records.jsonl");
    let input = read("tests/backtest/stream.jsonl");
    let run_output = run(
        &["backtest", "policies/risk.rpl", "-", "--out", &out.arg()],
        Some(&input),
    );
    assert!(run_output.starts_with("exit: 0"), "{run_output}");
    let text = out.read();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 25, "one record per return");
    for line in &lines {
        assert!(
            line.starts_with(r#"{"line":"#) && line.contains(r#","verdict":{"return_id":"#),
            "{line}"
        );
    }
    for r in records(&text) {
        let keys: Vec<&str> = r
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["customer_id", "label", "line", "order_id", "return_id", "verdict"]
        );
        assert_eq!(r["return_id"], r["verdict"]["return_id"]);
    }
    insta::assert_snapshot!("backtest_records_head", lines[..3].join("\n"));
}

/// With `--compare`, each record carries the other policy's verdict too.
#[test]
fn backtest_out_with_compare_writes_both_verdicts() {
    let out = Temp::new("compare.jsonl");
    let run_output = run(
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/stream.jsonl",
            "--compare",
            "tests/backtest/risk_block_at_60.rpl",
            "--out",
            &out.arg(),
        ],
        None,
    );
    assert!(run_output.starts_with("exit: 0"), "{run_output}");
    let all = records(&out.read());
    assert_eq!(all.len(), 25);
    let changed: Vec<&str> = all
        .iter()
        .filter(|r| r["verdict"]["decision"] != r["compare"]["decision"])
        .map(|r| r["return_id"].as_str().unwrap_or_default())
        .collect();
    // As the summary's "first changes" says (docs/language.md §11.11).
    assert_eq!(changed, ["R-7"]);
    for r in &all {
        assert_eq!(r["compare"]["return_id"], r["return_id"]);
        assert_eq!(
            r["compare"]["policy"]["title"],
            "Platform refund-abuse screen, blocking at 60"
        );
        assert!(r["label"] == "abuse" || r["label"] == "ok");
        assert_eq!(r["customer_id"].as_str().map(|c| c.starts_with("C-")), Some(true));
    }
}

/// Point-in-time truth: the records of a stream where orders ship and
/// arrive by updates. R-1 and R-2 claim "not received" while the parcel is
/// on its way (R-1's order was exported late, carrying a delivery still in
/// its future), R-3 at the very instant the delivery is reported: none of
/// them is "signed for". R-4 and R-5 come after delivery. R-6's order was
/// cancelled, which the summary counts.
#[test]
fn backtest_point_in_time() {
    snapshot(
        "backtest_point_in_time",
        &["backtest", "policies/risk.rpl", "tests/backtest/updates.jsonl"],
        None,
    );
    let out = Temp::new("updates.jsonl");
    let run_output = run(
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/updates.jsonl",
            "--out",
            &out.arg(),
        ],
        None,
    );
    assert!(run_output.starts_with("exit: 0"), "{run_output}");
    let signed: Vec<(String, bool)> = records(&out.read())
        .iter()
        .map(|r| {
            let flags = r["verdict"]["flags"].as_array().cloned().unwrap_or_default();
            let signed = flags.iter().any(|f| f["name"] == "not_received_but_signed");
            (r["return_id"].as_str().unwrap_or_default().to_string(), signed)
        })
        .collect();
    let expected = [
        ("R-1", false),
        ("R-2", false),
        ("R-3", false),
        ("R-4", true),
        ("R-5", true),
        ("R-6", false),
    ];
    assert_eq!(signed, expected.map(|(r, s)| (r.to_string(), s)));
}

#[test]
fn backtest_lists_bad_events() {
    snapshot(
        "backtest_lists_bad_events",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/bad_events.jsonl",
            "--skip-invalid",
        ],
        None,
    );
}

/// `--case` prints the case rebuilt for a return: the order as known before
/// the request (shipped, not yet delivered), the history, the profile.
#[test]
fn backtest_case_in_transit() {
    snapshot(
        "backtest_case_in_transit",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/updates.jsonl",
            "--case",
            "R-2",
        ],
        None,
    );
}

#[test]
fn backtest_case_of_an_unknown_return() {
    snapshot(
        "backtest_case_of_an_unknown_return",
        &[
            "backtest",
            "policies/risk.rpl",
            "tests/backtest/updates.jsonl",
            "--case",
            "R-404",
        ],
        None,
    );
}

/// `rpl backtest … --case R > case.json && rpl judge POLICY case.json`
/// gives the verdict the backtest gave, for every return of the two test
/// streams, and `--explain` judges it too.
#[test]
fn backtest_case_is_judged_as_the_backtest_judged_it() {
    for stream in ["tests/backtest/updates.jsonl", "tests/backtest/stream.jsonl"] {
        let out = Temp::new("judged.jsonl");
        let run_output = run(&["backtest", "policies/risk.rpl", stream, "--out", &out.arg()], None);
        assert!(run_output.starts_with("exit: 0"), "{run_output}");
        for record in records(&out.read()) {
            let id = record["return_id"].as_str().unwrap_or_default();
            let case = Temp::new("case.json");
            let printed = Command::new(env!("CARGO_BIN_EXE_rpl"))
                .args(["backtest", "policies/risk.rpl", stream, "--case", id])
                .current_dir(root())
                .output()
                .unwrap_or_else(|e| panic!("cannot start rpl: {e}"));
            assert!(
                printed.status.success(),
                "{id}: {}",
                String::from_utf8_lossy(&printed.stderr)
            );
            std::fs::write(&case.0, &printed.stdout).unwrap_or_else(|e| panic!("{e}"));
            let judged = run(&["judge", "policies/risk.rpl", &case.arg()], None);
            let verdict = judged
                .strip_prefix("exit: 0\n--- stdout\n")
                .and_then(|rest| rest.split("\n--- stderr").next())
                .unwrap_or_else(|| panic!("{id}: {judged}"));
            let verdict: serde_json::Value = serde_json::from_str(verdict).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(verdict, record["verdict"], "{stream}: {id}");
            let explained = run(&["judge", "policies/risk.rpl", &case.arg(), "--explain"], None);
            let decision = record["verdict"]["decision"].as_str().unwrap_or_default();
            assert!(
                explained.starts_with("exit: 0") && explained.contains(decision),
                "{id}: {explained}"
            );
        }
    }
}

// -- help --------------------------------------------------------------------

#[test]
fn help() {
    snapshot("help", &["--help"], None);
}

/// Each shipped policy declares the words its data uses: a case with a word
/// outside them is refused at its JSON path, with the word it was probably
/// meant to be.
#[test]
fn judge_words_outside_the_vocabulary() {
    for (name, policy, case) in [
        ("judge_typo_reason", "marketplace", "typo_reason"),
        ("judge_typo_category", "fashion", "typo_category"),
        ("judge_typo_condition", "electronics", "typo_condition"),
        ("judge_typo_history_reason", "risk", "typo_history_reason"),
    ] {
        snapshot(
            name,
            &[
                "judge",
                &format!("policies/{policy}.rpl"),
                &format!("tests/cli/{case}.json"),
            ],
            None,
        );
    }
}
