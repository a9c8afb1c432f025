//! The hand-written reader held to pest: every text it accepts must read to
//! pest's tree exactly, spans included.

use std::path::{Path, PathBuf};

use super::*;
use crate::support::rng::Rng;
use crate::syntax::{parser, prescan};

/// Reads `src` both ways. Panics when the fast reader accepts a text pest
/// refuses, or builds a different tree (spans included, as `Debug` shows
/// them); returns whether the fast reader took it.
fn agree(src: &str) -> bool {
    if prescan::prescan(src).is_some() {
        return false;
    }
    let Some(fast) = parse_policy(src) else {
        return false;
    };
    match crate::support::with_stack(|| parser::parse_policy(src)) {
        Some(Ok(tree)) => assert_eq!(format!("{fast:?}"), format!("{tree:?}"), "the trees differ for:\n{src}"),
        other => panic!("the fast reader accepted what pest does not ({other:?}):\n{src}"),
    }
    true
}

fn rpl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            rpl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rpl") {
            out.push(path);
        }
    }
}

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["policies", "tests", "examples"] {
        rpl_files(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

#[test]
fn shipped_policies_are_read_fast_and_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rpl_files(&root.join("policies"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(agree(&src), "{} is left to pest", f.display());
    }
}

#[test]
fn every_test_policy_is_read_alike() {
    let seeds = seeds();
    let taken = seeds.iter().filter(|s| agree(s)).count();
    assert!(taken > seeds.len() / 3, "only {taken} of {} taken", seeds.len());
}

#[test]
fn tricky_texts_are_read_alike_or_left_to_pest() {
    let head = "policy \"P\" { currency \"CNY\" default review }\n";
    let bodies = [
        "let a = b.c.d is present is missing",
        "let a = not x in y",
        "let a = x not in y",
        "let a = x not # c\n in y",
        "let a = x not inx",
        "let a = - - 5 - -5",
        "let a = if a then b else if c then d else e + 1",
        "let a = 30 days + 1\tweek - 5 minutes",
        "let a = 30days",
        "let a = 30 daysx",
        "let a = 30\ndays",
        "let a = 1.5 + 2.5% * 3% of 7 / 1.",
        "let a = 1.5.5",
        "let a = f (x, y) + g() + h.i (j)",
        "let a = f(x,)",
        "let a = [1, 2,] + [] + [3]",
        "let a = [,]",
        "let a = count(returns in last 30 days where type == \"x\")",
        "let a = sum (returns.amount in last 2 weeks)",
        "let a = count(returns.amount.x)",
        "let a = count(x, y)",
        "let a = count + sum",
        "let a = count(returns in x)",
        "let a = \"a\\\"b\\\\c\\n\\t\\u{4E2D}\" == \"\\u{D800}\"",
        "let a = \"\\u{1234567}\"",
        "let a = \"\\x\"",
        "let a = x = y",
        "let a = x == y == z",
        "let a = true and false or notes",
        "let a = true(1)",
        "let a = b.in.is",
        "let a = b.",
        "let a = 99999999999999999999",
        "let a = 0.00000000000000000000000000001",
        "let a = 1000000 weeks",
        "flag f { when a score -5 note \"n\" }",
        "flag f { score 40when a }",
        "flag f { score - 5 }",
        "flag f { when a when b }",
        "flag f { score 99999999999999999999 }",
        "rule r { when a unless b deny \"x\" review approve \"y\" deduct 5% of item.amount as \"fee\" }",
        "rule r { when a when b }",
        "rule r { deduct 5 \"x\" }",
        "rule r { approve \"x\"\"y\" }",
        "shipping { merchant when a buyer otherwise when when x }",
        "refund { item.amount * 0.5 when a item.amount otherwise }",
        "refund { 5 when c - otherwise }",
        "set s = [\"a\", \"b\"] # trailing\n# more\n",
        "let a = (((((1)))))",
        "let policy = 1",
        "values return.reason = [\"a\", \"b\"] + s",
        "values item . category = []",
        "values item.attrs.x = [\"a\",]",
        "values = [\"a\"]",
        "values values.x = [\"a\"]",
        "values return.reason [\"a\"]",
        "let values = 1",
        "let é = 1",
    ];
    for body in bodies {
        agree(&format!("{head}{body}\n"));
        agree(&format!("\u{FEFF}{head}{body}"));
        agree(&format!("{head}\u{FEFF}{body}"));
    }
    for w in KEYWORDS.iter().chain(&["currency", "count", "days", "notes", "_x1"]) {
        agree(&format!("{head}let {w} = {w}\nlet x = a.{w}"));
    }
}

const FRAGMENTS: &[&str] = &[
    " ",
    "\n",
    "# c\n",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "-",
    "%",
    "5",
    "0.5",
    "\"",
    "\"s\"",
    "not ",
    " not in ",
    "in ",
    "is ",
    " missing",
    "if a then b else ",
    "then",
    "else",
    "count(",
    "sum(",
    " days",
    "\t",
    "==",
    "=",
    "<",
    "<=",
    "!",
    "and ",
    "or ",
    "of ",
    "when ",
    "unless ",
    "otherwise",
    "approve",
    "deny \"x\"",
    "as \"l\"",
    "score 5",
    "note \"n\"",
    "x",
    "_",
    "a.b",
    ".c",
    "\\u{41}",
    "\\",
    "\\n",
    "rule r { approve }",
    "let z = 1\n",
    "true",
    "false",
    "where type == \"x\"",
    " last 7 days",
    "\u{FEFF}",
    "é",
    "1 week",
    "99999999999999999999",
    "set",
    "policy",
    "values item.category = ",
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    let boundary = |rng: &mut Rng| {
        let mut i = rng.index(src.len() + 1);
        while !src.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let at = boundary(rng);
    match rng.index(3) {
        0 => {
            let mut end = (at + 1 + rng.index(8)).min(src.len());
            while !src.is_char_boundary(end) {
                end += 1;
            }
            format!("{}{}", &src[..at], &src[end..])
        }
        1 => format!("{}{}{}", &src[..at], FRAGMENTS[rng.index(FRAGMENTS.len())], &src[at..]),
        _ => {
            let from = boundary(rng);
            let mut to = (from + rng.index(40)).min(src.len());
            while !src.is_char_boundary(to) {
                to += 1;
            }
            format!("{}{}{}", &src[..at], &src[from..to], &src[at..])
        }
    }
}

/// Mutants of every test policy: near misses of valid text are where a
/// hand-written reader and a grammar part ways. `RPL_FAST_MUTANTS` sets
/// how many per policy (default 24).
#[test]
fn mutants_are_read_alike_or_left_to_pest() {
    let per_seed = std::env::var("RPL_FAST_MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut rng = Rng::new(0x5eed, 0);
    let (mut taken, mut total) = (0, 0);
    for seed in seeds() {
        for _ in 0..per_seed {
            // One or two changes: more leave almost nothing readable.
            let mut mutant = mutate(&seed, &mut rng);
            if rng.index(3) == 0 {
                mutant = mutate(&mutant, &mut rng);
            }
            total += 1;
            taken += usize::from(agree(&mutant));
        }
    }
    eprintln!("{taken} of {total} mutants read by the fast reader");
}

/// Every file of a directory (the fuzz corpus), read both ways:
/// `RPL_DIFF_CORPUS=fuzz/corpus/parse cargo test --release --lib fast -- --ignored`.
#[test]
#[ignore = "needs RPL_DIFF_CORPUS"]
fn corpus_is_read_alike() {
    let Some(dir) = std::env::var_os("RPL_DIFF_CORPUS") else {
        return;
    };
    let mut taken = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            total += 1;
            taken += usize::from(agree(&text));
        }
    }
    eprintln!("{taken} of {total} read by the fast reader");
}

#[test]
fn nesting_past_the_bound_is_left_to_pest() {
    let nested = |n: usize| format!("let a = {}1{}", "(".repeat(n), ")".repeat(n));
    assert!(agree(&nested(MAX_DEPTH - 1)));
    assert!(parse_policy(&nested(MAX_DEPTH)).is_none());
    let prefixed = |n: usize| format!("let a = {}1", "- ".repeat(n));
    assert!(agree(&prefixed(MAX_PREFIXES)));
    assert!(parse_policy(&prefixed(MAX_PREFIXES + 1)).is_none());
}

/// The reader runs on the caller's thread: at its deepest it must fit in
/// a stack far smaller than any thread's (even unoptimised).
#[test]
fn the_deepest_read_fits_a_small_stack() {
    let n = MAX_DEPTH - 1;
    let deepest = format!(
        "let a = {}{}1{}",
        "f(count(r where [if ".repeat(n / 4),
        "- not ".repeat(MAX_PREFIXES / 2),
        " then 1 else 2]))".repeat(n / 4)
    );
    let read = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || parse_policy(&deepest).is_some())
        .map(|t| t.join().ok());
    assert_eq!(read.ok().flatten(), Some(true));
}
