//! Hostile input (docs/language.md §9): malformed bytes meet a clear, located error, every
//! limit holds at its value and fails one past it, and judging costs time
//! linear in the policy, the history and the lines.
//!
//! Every file under `tests/hostile/` runs through the library and through the
//! `rpl` binary, under a timeout; the snapshot holds both. A `NAME.json` next
//! to a `NAME.rpl` is judged by it; any other case by the marketplace policy.
//! `rpl` must exit 0, 1 or 2: never a signal, a panic or a hang.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rpl::limits::*;
use stretch::{case_json, header};

#[path = "hostile/stretch.rs"]
mod stretch;

/// Far beyond what any input here needs, even in a debug build.
const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `f` on its own thread; a panic or a hang fails the test by name.
fn guarded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("{what}: the library panicked"),
        Err(_) => panic!("{what}: the library did not finish in {TIMEOUT:?}"),
    }
}

/// Runs `rpl ARGS…` from the crate root and renders its exit status and output.
fn rpl(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rpl: {e}"));
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("rpl {}: did not finish in {TIMEOUT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let code = match status.code() {
        Some(code @ 0..=2) => code,
        Some(code) => panic!("rpl {}: exit status {code}, not 0, 1 or 2", args.join(" ")),
        None => panic!("rpl {}: killed by a signal", args.join(" ")),
    };
    format!(
        "exit: {code}\n--- stdout\n{}\n--- stderr\n{}",
        stdout.join().unwrap(),
        stderr.join().unwrap()
    )
}

/// The path of a test input relative to the crate root, as `rpl` is given it.
fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/")
}

/// Diagnostics one to a line, with their spans as line:column ranges.
fn listed(source: &str, diags: &[rpl::Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let (l0, c0) = rpl::line_col(source, d.span.start as usize);
        let (l1, c1) = rpl::line_col(source, d.span.end as usize);
        let severity = if d.is_error() { "error" } else { "warning" };
        out.push_str(&format!("{severity}[{}] {l0}:{c0}-{l1}:{c1} {}\n", d.code, d.message));
    }
    out
}

/// What the library makes of a policy's bytes.
fn library_policy(bytes: Vec<u8>) -> String {
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => return format!("not UTF-8: {}\n", e.utf8_error()),
    };
    let mut out = match rpl::compile(&source) {
        Ok(c) => format!("compiles\n{}", listed(&source, &c.warnings)),
        Err(diags) => listed(&source, &diags),
    };
    // Whatever parses has a canonical layout that parses again and is a fixed point.
    if let Ok(formatted) = rpl::format_policy(&source) {
        let again = rpl::format_policy(&formatted).unwrap_or_else(|d| panic!("its layout does not parse: {d:?}"));
        assert_eq!(again, formatted, "formatting is not idempotent");
        out.push_str("formats and reparses\n");
    }
    out
}

/// What the library makes of a case's bytes, judged by `policy`.
fn library_case(policy: String, bytes: Vec<u8>) -> String {
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => return format!("not UTF-8: {}\n", e.utf8_error()),
    };
    let case = match rpl::parse_case(&text) {
        Ok(case) => case,
        Err(e) => return format!("input error at `{}`: {}\n", e.path, e.message),
    };
    let compiled = match rpl::compile(&policy) {
        Ok(c) => c,
        Err(diags) => return format!("the policy does not compile:\n{}", listed(&policy, &diags)),
    };
    let explained = compiled.program.judge_explained(&case).map(|(v, _)| v);
    match compiled.program.judge(&case) {
        Ok(v) => {
            assert_eq!(explained.as_ref().ok(), Some(&v), "explaining changes the verdict");
            let mut out = format!("{}, refund {} {}, risk {}\n", v.decision, v.refund, v.currency, v.risk);
            for e in &v.errors {
                let sku = e.sku.as_deref().map(|s| format!(" on {s}")).unwrap_or_default();
                out.push_str(&format!("error in {}{sku}: {}\n", e.construct, e.message));
            }
            out
        }
        Err(e) => format!("input error at `{}`: {}\n", e.path, e.message),
    }
}

fn snapshot(name: &str, description: String, library: String, binary: String) {
    let output = format!("--- library\n{library}--- {description}\n{binary}");
    insta::with_settings!({ description => description, omit_expression => true }, {
        insta::assert_snapshot!(name, output);
    });
}

#[test]
fn hostile_policies() {
    insta::glob!("hostile/*.rpl", |path| {
        let file = relative(path);
        let bytes = std::fs::read(path).unwrap();
        let library = guarded(&file, move || library_policy(bytes));
        snapshot("policy", format!("rpl check {file}"), library, rpl(&["check", &file]));
    });
}

#[test]
fn hostile_cases() {
    insta::glob!("hostile/*.json", |path| {
        let file = relative(path);
        let own = path.with_extension("rpl");
        let policy_path = if own.exists() {
            own
        } else {
            root().join("policies/marketplace.rpl")
        };
        let policy_file = relative(&policy_path);
        let policy = std::fs::read_to_string(&policy_path).unwrap();
        let bytes = std::fs::read(path).unwrap();
        let library = guarded(&file, move || library_case(policy, bytes));
        let args = ["judge", &policy_file, &file, "--compact"];
        snapshot("case", format!("rpl {}", args.join(" ")), library, rpl(&args));
    });
}

// -- text at the edges ------------------------------------------------------

#[test]
fn byte_order_mark_and_crlf_change_nothing() {
    let plain = std::fs::read_to_string(root().join("policies/marketplace.rpl")).unwrap();
    let windows = format!("\u{FEFF}{}", plain.replace('\n', "\r\n"));
    let expected = rpl::format_policy(&plain).unwrap();
    assert_eq!(
        rpl::format_policy(&windows).unwrap(),
        expected,
        "fmt writes the same canonical text"
    );
    let a = rpl::compile(&plain).unwrap().warnings;
    let b = rpl::compile(&windows).unwrap().warnings;
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(
            rpl::line_col(&plain, a.span.start as usize),
            rpl::line_col(&windows, b.span.start as usize),
            "{}",
            a.message
        );
    }
    // An error on the first line, behind the mark, is at the column an editor shows.
    let source = "\u{FEFF}policy \"P\" { currency \"CNY\" } lett x = 1\r\n";
    let d = rpl::compile(source).unwrap_err();
    assert_eq!(rpl::line_col(source, d[0].span.start as usize), (1, 31));
    assert!(rpl::render_diagnostics("p.rpl", source, &d).contains("p.rpl:1:31"));
}

// -- limits: at the limit and one past it -----------------------------------

fn first_error(source: &str) -> Option<(&'static str, String)> {
    let diags = rpl::compile(source).err()?;
    diags.into_iter().find(|d| d.is_error()).map(|d| (d.code, d.message))
}

/// Policy size and item count at the limit are in the pre-scan's unit tests:
/// a debug build takes seconds to parse 16 MiB.
#[test]
fn policy_size_past_the_limit() {
    let past = format!("{}{}", header(), " ".repeat(MAX_POLICY_BYTES + 1 - header().len()));
    let (code, message) = first_error(&past).unwrap();
    assert_eq!(code, "too-large");
    assert!(message.contains(&MAX_POLICY_BYTES.to_string()), "{message}");

    let items = format!("{}{}", header(), "set s = []\n".repeat(MAX_ITEMS));
    let (code, message) = first_error(&items).unwrap();
    assert_eq!((code, message.contains(&MAX_ITEMS.to_string())), ("too-large", true));

    // rpl stops reading a policy at the limit.
    let file = std::env::temp_dir().join(format!("rpl-hostile-{}.rpl", std::process::id()));
    std::fs::write(&file, past.as_bytes()).unwrap();
    let out = rpl(&["check", &file.to_string_lossy()]);
    std::fs::remove_file(&file).unwrap();
    assert!(out.starts_with("exit: 2"), "{out}");
    assert!(
        out.contains(&format!("more than the {MAX_POLICY_BYTES} bytes a policy may hold")),
        "{out}"
    );
}

#[test]
fn strings_at_and_past_the_limit() {
    let policy = |n: usize| format!("{}rule r {{ deny \"{}\" }}\n", header(), "x".repeat(n));
    assert_eq!(first_error(&policy(MAX_STRING_BYTES)), None);
    assert_eq!(first_error(&policy(MAX_STRING_BYTES + 1)).unwrap().0, "too-large");
}

#[test]
fn nesting_at_and_past_the_limit() {
    let parens = |n: usize| {
        format!(
            "{}rule r {{ when {}item.amount{} > 1 approve }}\n",
            header(),
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    // The tree counts each bracket, the comparison and its operand: 254
    // brackets make 256 levels.
    assert_eq!(first_error(&parens(MAX_NESTING - 2)), None);
    assert_eq!(first_error(&parens(MAX_NESTING - 1)).unwrap().0, "too-deep");

    // Through lets: `let l1 = l0 + 1` is two levels (the let, the sum) for
    // whatever reads it, so 128 such lets make 256.
    let lets = |n: usize| {
        let mut src = header() + "let l0 = item.amount\n";
        for i in 1..n {
            src.push_str(&format!("let l{i} = l{} + 1\n", i - 1));
        }
        src + &format!("rule r {{ when l{} > 1 approve }}\n", n - 1)
    };
    assert_eq!(first_error(&lets(MAX_NESTING / 2)), None);
    assert_eq!(first_error(&lets(MAX_NESTING / 2 + 1)).unwrap().0, "too-deep");
}

#[test]
fn durations_at_and_past_the_limit() {
    let days = MAX_DURATION_SECONDS / 86_400;
    let policy = |d: i64| {
        format!(
            "{}rule r {{ when now - order.placed_at < {d} days approve }}\n",
            header()
        )
    };
    assert_eq!(first_error(&policy(days)), None);
    let (code, message) = first_error(&policy(days + 1)).unwrap();
    assert_eq!((code, message.as_str()), ("syntax", "this duration is too long"));
}

fn case_error(text: &str) -> Option<(String, String)> {
    rpl::parse_case(text).err().map(|e| (e.path, e.message))
}

#[test]
fn case_size_at_and_past_the_limit() {
    let text = case_json(1, 0, "0");
    let at = format!("{text}{}", " ".repeat(MAX_CASE_BYTES - text.len()));
    assert_eq!(case_error(&at), None);
    let (path, message) = case_error(&format!("{at} ")).unwrap();
    assert_eq!(path, "");
    assert!(message.contains(&MAX_CASE_BYTES.to_string()), "{message}");
}

#[test]
fn json_depth_at_and_past_the_limit() {
    // The case, its order and the order's attrs are three levels; `extra` adds the rest.
    let nested = |n: usize| case_json(1, 0, &format!("{}{}", "[".repeat(n - 3), "]".repeat(n - 3)));
    // At the limit the nesting is read, and refused only for what it is: not a scalar.
    let (path, message) = case_error(&nested(MAX_JSON_DEPTH)).unwrap();
    assert_eq!(
        (path.as_str(), message.as_str()),
        (
            "order.attrs.extra",
            "expected a scalar (string, number, boolean or null), found an array"
        )
    );
    let (path, message) = case_error(&nested(MAX_JSON_DEPTH + 1)).unwrap();
    // The array that would open one level too many is inside the innermost one.
    assert_eq!(path, format!("order.attrs.extra{}", "[0]".repeat(MAX_JSON_DEPTH - 3)));
    assert!(
        message.starts_with(&format!(
            "arrays and objects nest deeper than {MAX_JSON_DEPTH} levels at line 2 column "
        )),
        "{message}"
    );
    // Far past serde_json's own limit, still our error, and no stack overflow.
    let (_, message) = case_error(&nested(100_000)).unwrap();
    assert!(message.contains("nest deeper"), "{message}");
    // Brackets inside strings are text.
    assert_eq!(case_error(&case_json(1, 0, &format!("\"{}\"", "[".repeat(1000)))), None);
}

#[test]
fn lines_at_and_past_the_limit() {
    assert_eq!(case_error(&case_json(MAX_LINES, 0, "0")), None);
    let (path, message) = case_error(&case_json(MAX_LINES + 1, 0, "0")).unwrap();
    assert_eq!(path, format!("order.items[{MAX_LINES}]"));
    assert_eq!(
        message,
        format!("{} items, more than the {MAX_LINES} a case may hold", MAX_LINES + 1)
    );
}

#[test]
fn history_at_and_past_the_limit() {
    assert_eq!(case_error(&case_json(1, MAX_HISTORY, "0")), None);
    let (path, message) = case_error(&case_json(1, MAX_HISTORY + 1, "0")).unwrap();
    assert_eq!(path, format!("history.orders[{MAX_HISTORY}]"));
    assert!(message.contains("past orders"), "{message}");
}

// -- evaluation is bounded --------------------------------------------------

/// Evaluation steps (nodes evaluated, history events visited) of one verdict.
fn steps(policy: &rpl::Compiled, case: &rpl::Case, explain: bool) -> u64 {
    let before = rpl::internals::steps();
    if explain {
        policy.program.judge_explained(case).unwrap();
    } else {
        policy.program.judge(case).unwrap();
    }
    rpl::internals::steps() - before
}

/// Asserts `cost` is affine in its argument at `n`, `2n` and `10n`, and
/// grows with it: the step from n to 10n is nine times the step from n to 2n.
fn assert_linear(what: &str, n: usize, cost: impl Fn(usize) -> u64) {
    let (a, b, c) = (cost(n), cost(2 * n), cost(10 * n));
    assert!(b > a, "{what}: {a} steps at {n}, {b} at {}", 2 * n);
    assert_eq!(
        c - a,
        9 * (b - a),
        "{what}: {a}, {b}, {c} steps at {n}, {}, {}",
        2 * n,
        10 * n
    );
}

fn rules(n: usize) -> rpl::Compiled {
    rpl::compile(&stretch::rules_policy(n)).unwrap()
}

#[test]
fn judging_is_linear_in_the_rules() {
    let case = rpl::parse_case(&case_json(1, 100, "0")).unwrap();
    assert_linear("rules", 1_000, |n| steps(&rules(n), &case, false));
}

#[test]
fn judging_is_linear_in_the_history_and_the_lines() {
    let policy = rpl::compile(&stretch::history_policy()).unwrap();
    let judged = |lines: usize, history: usize| {
        let case = rpl::parse_case(&case_json(lines, history, "0")).unwrap();
        let plain = steps(&policy, &case, false);
        assert_eq!(steps(&policy, &case, true), plain, "explaining costs the same steps");
        plain
    };
    assert_linear("history", 1_000, |h| judged(1, h));
    assert_linear("lines", 50, |l| judged(l, 100));
}

#[test]
fn shared_lets_and_aggregates_are_computed_once() {
    // A thousand rules reading one aggregate over a thousand events: the
    // events are walked once per request, not once per rule.
    let case = rpl::parse_case(&case_json(1, 1_000, "0")).unwrap();
    let policy = rules(1_000);
    let cost = steps(&policy, &case, false);
    assert!(cost < 20 * (1_000 + 1_000), "{cost} steps");
}

/// Recovery reads each item once: twenty thousand broken items (an unclosed
/// `{` each, named with the line and column of what follows it) are reported
/// in seconds, every one of them. Quadratic work would take many minutes.
#[test]
fn many_syntax_errors_are_reported_in_linear_time() {
    let n = 20_000;
    let mut source = header();
    for i in 0..n {
        source.push_str(&format!("rule r{i} {{\n  when return.reason == \"x\"\n  approve\n"));
    }
    let started = Instant::now();
    let diags = guarded("many broken items", move || {
        rpl::compile(&source).err().unwrap_or_default()
    });
    let took = started.elapsed();
    assert_eq!(diags.len(), n);
    assert!(
        diags
            .iter()
            .all(|d| d.hint.as_deref() == Some("this `{` is never closed"))
    );
    assert!(took < Duration::from_secs(30), "{n} broken items took {took:?}");
}
