//! The reference, `docs/language.md`, held to the code it describes.
//!
//! - Every ```` ```rpl ```` block is a whole policy that checks clean: no
//!   errors, no warnings. A failure names the block's line in the Markdown
//!   file, and the diagnostics are rendered with the file's own line numbers.
//! - Every ```` ```json ```` block is JSON (one value, or JSON Lines). A whole
//!   case (top-level `order` and `return`) must be accepted by
//!   `rpl::data::parse_case` and judged by every shipped policy of its
//!   currency; a verdict must read back as `rpl::Verdict`; an event stream must
//!   replay through a backtest with no bad line.
//! - The sections code comments cite (`## 1.` to `## 11.`) exist, once each.
//!
//! README.md's ```` ```rpl ```` blocks are held to the same rule. Fragments
//! belong in ```` ```text ```` or ```` ```rpl-fragment ```` blocks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

/// A fenced code block of a Markdown file.
struct Block {
    /// What follows the opening fence: `rpl`, `json`, `text`, …
    tag: String,
    /// The 1-based line of the opening fence.
    line: usize,
    text: String,
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The fenced blocks of `md`. A fence is a line that starts (after indentation)
/// with three or more backticks; it is closed by a line of at least as many
/// backticks and nothing else.
fn blocks(file: &str, md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in md.lines().enumerate() {
        let trimmed = line.trim();
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        match open.take() {
            None if ticks >= 3 => {
                let tag = trimmed[ticks..].trim().to_string();
                let block = Block {
                    tag,
                    line: i + 1,
                    text: String::new(),
                };
                open = Some((block, ticks));
            }
            None => {}
            Some((block, fence)) if ticks >= fence && ticks == trimmed.len() => out.push(block),
            Some((mut block, fence)) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some((block, fence));
            }
        }
    }
    if let Some((block, _)) = open {
        panic!("{file}:{}: a ``` block is never closed", block.line);
    }
    out
}

/// The block's text with as many blank lines before it as its fence is deep
/// in the file, so that diagnostics point at the file's own lines.
fn in_place(block: &Block) -> String {
    format!("{}{}", "\n".repeat(block.line), block.text)
}

/// Checks every ```rpl block of `file`; returns how many were checked.
fn check_policies(file: &str, md: &str, problems: &mut Vec<String>) -> usize {
    let mut checked = 0;
    for block in blocks(file, md).iter().filter(|b| b.tag == "rpl") {
        checked += 1;
        let source = in_place(block);
        let diagnostics = match rpl::compile(&source) {
            Ok(compiled) => compiled.warnings,
            Err(diagnostics) => diagnostics,
        };
        if !diagnostics.is_empty() {
            problems.push(format!(
                "{file}:{}: this ```rpl block must be a whole policy that checks clean \
                 (use ```text or ```rpl-fragment for anything else):\n{}",
                block.line,
                rpl::render_diagnostics(file, &source, &diagnostics)
            ));
        }
    }
    checked
}

/// The shipped policies, by currency.
fn shipped_policies() -> BTreeMap<String, Vec<(String, rpl::Program)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut by_currency: BTreeMap<String, Vec<(String, rpl::Program)>> = BTreeMap::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rpl"))
        .collect();
    paths.sort();
    for path in paths {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let program = match rpl::compile(&source) {
            Ok(c) => c.program,
            Err(d) => panic!("{}", rpl::render_diagnostics(&name, &source, &d)),
        };
        by_currency
            .entry(program.currency().to_string())
            .or_default()
            .push((name, program));
    }
    by_currency
}

/// What the ```json blocks held, for the counts the test insists on.
#[derive(Default)]
struct JsonSeen {
    cases: usize,
    verdicts: usize,
    streams: usize,
}

/// Checks every ```json block of `file`.
fn check_json(file: &str, md: &str, problems: &mut Vec<String>) -> JsonSeen {
    let policies = shipped_policies();
    let mut seen = JsonSeen::default();
    for block in blocks(file, md).iter().filter(|b| b.tag == "json") {
        let at = format!("{file}:{}", block.line);
        // One JSON document, or JSON Lines.
        let documents: Vec<&str> = match serde_json::from_str::<serde_json::Value>(&block.text) {
            Ok(_) => vec![block.text.as_str()],
            Err(_) => block.text.lines().filter(|l| !l.trim().is_empty()).collect(),
        };
        let mut events = false;
        for text in documents {
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{at}: this ```json block is not JSON ({e}):\n{text}"));
                    continue;
                }
            };
            let has = |key: &str| value.get(key).is_some();
            if has("order") && has("return") {
                seen.cases += 1;
                check_case(&at, text, &policies, problems);
            } else if has("return_id") && has("lines") {
                seen.verdicts += 1;
                if let Err(e) = serde_json::from_value::<rpl::Verdict>(value.clone()) {
                    problems.push(format!("{at}: this verdict does not read back as one: {e}"));
                }
            } else if has("event") {
                events = true;
            }
        }
        if events {
            seen.streams += 1;
            check_stream(&at, &block.text, &policies, problems);
        }
    }
    seen
}

/// A whole case: accepted, and judged by every shipped policy of its currency.
fn check_case(
    at: &str,
    text: &str,
    policies: &BTreeMap<String, Vec<(String, rpl::Program)>>,
    problems: &mut Vec<String>,
) {
    let case = match rpl::parse_case(text) {
        Ok(case) => case,
        Err(e) => {
            problems.push(format!("{at}: this case is refused: {e}"));
            return;
        }
    };
    let Some(same_currency) = policies.get(&case.order.currency) else {
        problems.push(format!(
            "{at}: no shipped policy is in {}; write example cases in {}",
            case.order.currency,
            policies.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        return;
    };
    for (name, program) in same_currency {
        if let Err(e) = program.judge(&case) {
            problems.push(format!("{at}: policies/{name} refuses this case: {e}"));
        }
    }
}

/// An event stream: replayed by every shipped policy of its orders' currency,
/// with no bad line.
fn check_stream(
    at: &str,
    text: &str,
    policies: &BTreeMap<String, Vec<(String, rpl::Program)>>,
    problems: &mut Vec<String>,
) {
    let currency = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("currency").and_then(|c| c.as_str()).map(str::to_string));
    let Some(same_currency) = currency.as_ref().and_then(|c| policies.get(c)) else {
        problems.push(format!(
            "{at}: this event stream has no order in a shipped policy's currency"
        ));
        return;
    };
    for (name, program) in same_currency {
        let opts = rpl::BacktestOptions::default();
        match rpl::backtest(&[program], text.as_bytes(), None, &opts, |_| {}) {
            Ok(summary) if summary.returns > 0 => {}
            Ok(_) => problems.push(format!("{at}: this event stream has no return")),
            Err(e) => problems.push(format!("{at}: policies/{name} cannot replay this stream: {e}")),
        }
    }
}

#[test]
fn every_rpl_block_is_a_whole_policy_that_checks_clean() {
    let mut problems = Vec::new();
    let docs = check_policies("docs/language.md", &read("docs/language.md"), &mut problems);
    let readme = check_policies("README.md", &read("README.md"), &mut problems);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    // A mistyped fence tag would let the test pass on nothing.
    assert!(docs >= 8, "only {docs} ```rpl blocks in docs/language.md");
    assert!(readme >= 1, "no ```rpl policy in README.md");
}

#[test]
fn every_json_block_is_real() {
    let mut problems = Vec::new();
    let seen = check_json("docs/language.md", &read("docs/language.md"), &mut problems);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(seen.cases >= 3, "only {} whole cases in docs/language.md", seen.cases);
    assert!(seen.verdicts >= 1, "no verdict in docs/language.md");
    assert!(seen.streams >= 1, "no event stream in docs/language.md");
}

#[test]
fn the_cited_sections_exist() {
    let md = read("docs/language.md");
    let numbered: Vec<usize> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|l| l.split_once(". ").and_then(|(n, _)| n.parse().ok()))
        .collect();
    for n in 1..=11 {
        let count = numbered.iter().filter(|&&m| m == n).count();
        assert_eq!(count, 1, "docs/language.md needs exactly one `## {n}. …` heading");
    }
    assert!(
        numbered.windows(2).all(|w| w[0] < w[1]),
        "the `## N.` headings are out of order: {numbered:?}"
    );
}
