//! A quick pass over the source before pest sees it. It finds what pest would
//! report badly (an unterminated string, a stray character) and enforces the
//! limits pest must not meet unbounded: the policy's size, its items, the
//! length of its strings and the nesting pest recurses through, so no input
//! can overflow the stack.

use crate::diag::{Diagnostic, Span, floor_char_boundary};
use crate::limits::{MAX_ITEMS, MAX_NESTING, MAX_POLICY_BYTES, MAX_STRING_BYTES};

/// The words that open an item. Outside braces and brackets each one starts
/// an item (they are reserved, so nothing else can be spelt so there, except
/// a field after a `.`).
pub(super) const ITEM_WORDS: [&str; 8] = ["policy", "set", "let", "values", "flag", "rule", "shipping", "refund"];

/// Whether a problem of [`prescan`] stops all reading: a policy too large, or
/// with too many items. Others are at a place, and reading goes on after it.
pub(super) fn is_fatal(problem: &Diagnostic) -> bool {
    problem.code == "too-large" && !problem.message.starts_with("this string")
}

/// Returns the first problem that makes the text unparseable, if any.
pub fn prescan(src: &str) -> Option<Diagnostic> {
    if src.len() > MAX_POLICY_BYTES {
        let at = floor_char_boundary(src, MAX_POLICY_BYTES);
        return Some(
            Diagnostic::error(
                "too-large",
                Span::new(at, at + 1),
                format!(
                    "the policy is {} bytes, more than the {MAX_POLICY_BYTES} a policy may hold",
                    src.len()
                ),
            )
            .with_hint("this is where the limit falls; split the policy, or move data out of it"),
        );
    }
    let bytes = src.as_bytes();
    if let Some(problem) = control_character(bytes) {
        return Some(problem);
    }
    let mut depth = 0usize;
    let mut braces = 0usize;
    let mut items = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => match string_end(bytes, i) {
                Ok(end) => {
                    i = end;
                    continue;
                }
                Err(d) => return Some(d),
            },
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &src[start..i];
                match word {
                    "if" => depth += 1,
                    "else" => depth = depth.saturating_sub(1),
                    _ if braces == 0 && depth == 0 && ITEM_WORDS.contains(&word) && !after_dot(bytes, start) => {
                        items += 1;
                        if items > MAX_ITEMS {
                            return Some(
                                Diagnostic::error(
                                    "too-large",
                                    Span::new(start, i),
                                    format!("this item is one more than the {MAX_ITEMS} a policy may hold"),
                                )
                                .with_hint("split the policy; a set can hold many values in one item"),
                            );
                        }
                    }
                    _ => {}
                }
                if depth > MAX_NESTING {
                    return Some(too_deep(start, i));
                }
                continue;
            }
            _ if b >= 0x80 => {
                let c = src[i..].chars().next().unwrap_or('\u{FFFD}');
                if c == '\u{FEFF}' {
                    i += c.len_utf8();
                    continue;
                }
                let shown = if is_invisible(c) {
                    format!("U+{:04X}", c as u32)
                } else {
                    format!("`{c}`")
                };
                return Some(
                    Diagnostic::error(
                        "syntax",
                        Span::new(i, i + c.len_utf8()),
                        format!("the character {shown} can only appear in a string or a comment"),
                    )
                    .with_hint("names are ASCII letters, digits and `_`; put other text in \"quotes\""),
                );
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some(too_deep(i, i + 1));
        }
        i += 1;
    }
    None
}

/// The first control character anywhere, strings and comments included: a
/// NUL, a carriage return that does not end a line, or any other but tab.
fn control_character(bytes: &[u8]) -> Option<Diagnostic> {
    let (i, b) = bytes.iter().enumerate().find(|&(i, &b)| match b {
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        b'\t' | b'\n' => false,
        _ => b < 0x20 || b == 0x7F,
    })?;
    let span = Span::new(i, i + 1);
    Some(match *b {
        0 => Diagnostic::error("syntax", span, "a NUL byte in the policy").with_hint("policies are plain UTF-8 text"),
        b'\r' => Diagnostic::error("syntax", span, "a carriage return that does not end a line")
            .with_hint("save the policy with LF or CRLF line endings"),
        b => Diagnostic::error("syntax", span, format!("the control character U+{b:04X} in the policy")).with_hint(
            format!("policies are plain UTF-8 text; in a string, write it as `\\u{{{b:X}}}`"),
        ),
    })
}

/// Characters that show as nothing, or as a space: named by code point.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}')
}

/// Whether the word at `start` is a field (`item.attrs.rule`).
fn after_dot(bytes: &[u8], start: usize) -> bool {
    start > 0 && bytes[start - 1] == b'.'
}

fn too_deep(start: usize, end: usize) -> Diagnostic {
    Diagnostic::error(
        "too-deep",
        Span::new(start, end),
        format!("expressions nest deeper than {MAX_NESTING} levels"),
    )
    .with_hint("name the inner parts with `let`")
}

/// The offset just past the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, Diagnostic> {
    let mut i = start + 1;
    while i < bytes.len() {
        if i - (start + 1) > MAX_STRING_BYTES {
            return Err(Diagnostic::error(
                "too-large",
                Span::new(start, start + 1),
                format!("this string is longer than the {MAX_STRING_BYTES} bytes a string may hold"),
            )
            .with_hint("shorten it; a policy's strings are names, messages and notes"));
        }
        match bytes[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i += 2,
            b'\n' => break,
            _ => i += 1,
        }
    }
    Err(
        Diagnostic::error("syntax", Span::new(start, start + 1), "this string is never closed")
            .with_hint("end it with `\"` on the same line"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("let x = {}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(prescan(&ok).is_none());
        let deep = format!("let x = {}1", "(".repeat(MAX_NESTING + 1));
        assert_eq!(prescan(&deep).map(|d| d.code), Some("too-deep"));
        let ifs = "if a then 1 else ".repeat(MAX_NESTING + 1);
        assert!(
            prescan(&format!("let x = {ifs} 0")).is_none(),
            "else-if chains close as they go"
        );
        let nested = format!("let x = {}", "if ".repeat(MAX_NESTING + 1));
        assert_eq!(prescan(&nested).map(|d| d.code), Some("too-deep"));
    }

    #[test]
    fn size_is_bounded() {
        let head = "policy \"P\" { currency \"CNY\" }\n";
        let at = format!("{head}{}", " ".repeat(MAX_POLICY_BYTES - head.len()));
        assert!(prescan(&at).is_none());
        let past = format!("{at} ");
        let d = prescan(&past).map(|d| (d.code, d.span.start as usize));
        assert_eq!(d, Some(("too-large", MAX_POLICY_BYTES)));
        // The limit may fall inside a character; the error is at its start.
        let wide = format!("#{}", "超".repeat(MAX_POLICY_BYTES / 3 + 1));
        let start = prescan(&wide).map_or(0, |d| d.span.start as usize);
        assert!(wide.is_char_boundary(start) && MAX_POLICY_BYTES - start < 3, "{start}");
    }

    #[test]
    fn items_are_bounded() {
        let items = |n: usize| {
            let mut src = String::from("policy \"P\" { currency \"CNY\" }\n");
            for i in 1..n {
                src.push_str(&format!("let x{i} = item.attrs.rule\n"));
            }
            src
        };
        assert!(
            prescan(&items(MAX_ITEMS)).is_none(),
            "a field named like an item word is no item"
        );
        let past = items(MAX_ITEMS + 1);
        let d = prescan(&past).map(|d| (d.code, &past[d.span.range()]));
        assert_eq!(d, Some(("too-large", "let")));
        let (line, _) = crate::diag::line_col(&past, past.rfind("let").unwrap_or(0));
        assert_eq!(line, MAX_ITEMS + 1);
        // Words inside braces and brackets are not items.
        assert!(prescan(&format!("rule r {{ {} }}", "set ".repeat(MAX_ITEMS + 1))).is_none());
    }

    #[test]
    fn strings_are_bounded() {
        let string = |n: usize| format!("let x = \"{}\"", "x".repeat(n));
        assert!(prescan(&string(MAX_STRING_BYTES)).is_none());
        let past = string(MAX_STRING_BYTES + 1);
        assert_eq!(prescan(&past).map(|d| (d.code, d.span.start)), Some(("too-large", 8)));
        // Escapes count as written.
        let escaped = format!("let x = \"{}\"", "\\\"".repeat(MAX_STRING_BYTES / 2 + 1));
        assert_eq!(prescan(&escaped).map(|d| d.code), Some("too-large"));
    }

    #[test]
    fn strings_and_comments_hide_brackets() {
        assert!(prescan("# ((((\nlet x = \"((((\"").is_none());
        assert!(prescan("let x = \"open").is_some());
        assert!(prescan("let é = 1").is_some());
        assert!(prescan("let x = \"é\" # é").is_none());
        let nbsp = prescan("let days\u{A0}= 7").map(|d| d.message);
        assert_eq!(
            nbsp.as_deref(),
            Some("the character U+00A0 can only appear in a string or a comment")
        );
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        let first = |src: &str| prescan(src).map(|d| (d.message, d.span.start));
        assert_eq!(first("let x = \"a\0\""), Some(("a NUL byte in the policy".into(), 10)));
        assert_eq!(
            first("# \u{1b}[31m\n"),
            Some(("the control character U+001B in the policy".into(), 2))
        );
        assert_eq!(
            first("let x = 1\rlet y = 2"),
            Some(("a carriage return that does not end a line".into(), 9))
        );
        assert_eq!(first("let x = 1\r\n\tlet y = 2\r\n"), None);
    }
}
