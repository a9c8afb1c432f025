//! A quick pass over the source before pest sees it. It finds what pest would
//! report badly (an unterminated string, a stray character) and bounds the
//! nesting pest must recurse through, so no input can overflow the stack.

use crate::diag::{Diagnostic, Span};

/// Deepest nesting of brackets and `if … then … else` the parser accepts (SPEC §9).
pub const MAX_NESTING: usize = 256;

/// Returns the first problem that makes the text unparseable, if any.
pub fn prescan(src: &str) -> Option<Diagnostic> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
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
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                match &src[start..i] {
                    "if" => depth += 1,
                    "else" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                if depth > MAX_NESTING {
                    return Some(too_deep(start, i));
                }
                continue;
            }
            0 => {
                return Some(
                    Diagnostic::error("syntax", Span::new(i, i + 1), "a NUL byte in the policy")
                        .with_hint("policies are plain UTF-8 text"),
                );
            }
            _ if b >= 0x80 => {
                let c = src[i..].chars().next().unwrap_or('\u{FFFD}');
                if c == '\u{FEFF}' {
                    i += c.len_utf8();
                    continue;
                }
                return Some(
                    Diagnostic::error(
                        "syntax",
                        Span::new(i, i + c.len_utf8()),
                        format!("the character `{c}` can only appear in a string or a comment"),
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
    fn strings_and_comments_hide_brackets() {
        assert!(prescan("# ((((\nlet x = \"((((\"").is_none());
        assert!(prescan("let x = \"open").is_some());
        assert!(prescan("let é = 1").is_some());
        assert!(prescan("let x = \"é\" # é").is_none());
    }
}
