//! Recovery held to its promise: one error per broken item, none elsewhere.

use super::*;
use crate::diag::line_col;

fn errors(src: &str) -> Vec<(usize, String)> {
    match crate::syntax::parse(src) {
        Ok(_) => Vec::new(),
        Err(ds) => ds
            .iter()
            .map(|d| (line_col(src, d.span.start as usize).0, d.message.clone()))
            .collect(),
    }
}

#[test]
fn lines_agree_with_line_col() {
    let src = "\u{FEFF}ab\n中文x\n\n  y\r\nz";
    let lines = Lines::of(src);
    for at in 0..=src.len() + 2 {
        assert_eq!(lines.line_col(src, at), line_col(src, at), "at {at}");
    }
}

#[test]
fn item_starts_skip_lines_inside_a_closed_block() {
    let src = "rule r {\n  when a\n  let x = 1\n  approve\n}\nlet y = 2\n";
    let starts = item_starts(src);
    assert_eq!(starts, [0, src.find("let y").unwrap_or(0)]);
    let unclosed = "rule r {\n  when a\nlet y = 2\nlet z = (1\nrule q { approve }\n";
    let lines: Vec<usize> = item_starts(unclosed).iter().map(|&s| line_col(unclosed, s).0).collect();
    assert_eq!(lines, [1, 3, 4, 5]);
}

#[test]
fn one_error_per_broken_item() {
    let src = "policy \"P\" { currency \"CNY\" }\n\
               let a = 1 +\n\
               rule r { when a = 1 approve }\n\
               rule fine { approve }\n\
               flag f { score 10.5 }\n";
    let found = errors(src);
    let lines: Vec<usize> = found.iter().map(|e| e.0).collect();
    assert_eq!(lines, [3, 3, 5], "{found:#?}");
}

/// The shipped policies and the test policies that read.
fn policies() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["policies", "tests/check", "tests/parse", "tests/fmt"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "rpl")
                && let Ok(src) = std::fs::read_to_string(&p)
                && crate::syntax::parse(&src).is_ok()
            {
                out.push(src);
            }
        }
    }
    out
}

/// Breaks items of policies that read, a few at a time, in two ways (a
/// stray `@` after the item's keyword; a block's closing `}` removed), and
/// holds recovery to one error per broken item, inside it, and no other.
#[test]
fn every_broken_item_and_only_those_are_reported() {
    let mut checked = 0;
    for src in policies() {
        let Ok(tree) = crate::syntax::parse(&src) else { continue };
        let spans: Vec<(usize, usize)> = tree
            .items
            .iter()
            .map(|i| (i.span().start as usize, i.span().end as usize))
            .collect();
        for stride in [1, 2, 3] {
            for how in ["stray", "unclosed"] {
                let mut broken = src.clone();
                let mut expect = Vec::new();
                // From the last item back, so earlier offsets stay put.
                for (n, &(start, end)) in spans.iter().enumerate().rev() {
                    if n % stride != 0 {
                        continue;
                    }
                    if how == "stray" {
                        let kw = broken[start..].find(' ').map_or(end, |i| start + i);
                        broken.insert_str(kw, " @");
                    } else if broken[..end].ends_with('}') && n + 1 < spans.len() {
                        broken.replace_range(end - 1..end, " ");
                    } else {
                        continue;
                    }
                    expect.push(n);
                }
                if expect.is_empty() {
                    continue;
                }
                expect.reverse();
                let reported = match crate::syntax::parse(&broken) {
                    Ok(_) => panic!("a broken policy read:\n{broken}"),
                    Err(ds) => ds,
                };
                assert_eq!(
                    reported.len(),
                    expect.len(),
                    "{how} every {stride}: {:#?}\n{broken}",
                    reported.iter().map(|d| &d.message).collect::<Vec<_>>()
                );
                let grown = if how == "stray" { 2 } else { 0 };
                for (d, (i, &n)) in reported.iter().zip(expect.iter().enumerate()) {
                    let (start, end) = spans[n];
                    let (start, end) = (start + grown * i, end + grown * (i + 1));
                    let at = d.span.start as usize;
                    assert!(
                        (start..=end).contains(&at),
                        "{how} every {stride}: `{}` at {at} is outside item {n} ({start}..{end})\n{broken}",
                        d.message
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} policies broken");
}
