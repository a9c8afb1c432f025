//! Going on after a syntax error: one error per item, never one that only
//! follows from another.
//!
//! pest reads a policy in one pass and stops at its first error. To find the
//! errors of later items, the text is cut at the start of every item and each
//! piece after the broken one is read again on its own, by the same pre-scan,
//! reader and pest as a whole file. So pest stays the arbiter of what is an
//! error, and every error reported is the first of its item; the rest of a
//! broken item is skipped, which is where errors that follow from one mistake
//! would come from.
//!
//! Where items start: a line whose first word is an item's keyword (`policy`,
//! `set`, `let`, `values`, `flag`, `rule`, `shipping`, `refund` — but not
//! `refund within` or `refund at`, a refund limit's clause), outside
//! strings and comments. Those words are reserved, strings end with their
//! line and a field cannot stand after a line break, so in a policy that reads
//! each such line starts an item, and reading the pieces one by one gives what
//! reading the whole gives. In a broken policy one case is doubtful: an item
//! word on a line inside an unclosed bracket. It starts an item unless the
//! text up to the next such line closes the bracket (a `let` written inside a
//! rule whose `}` follows), in which case it belongs to the item around it.

use super::{parser, prescan, reader};
use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_ITEMS;

/// Every syntax error of `src`, one per item, given its first (`first`, what
/// reading the whole text found) and whether pest found it (then the items
/// before it read, and are not read again).
pub(super) fn all_errors(src: &str, first: parser::Failure, by_pest: bool) -> Vec<Diagnostic> {
    let starts = item_starts(src);
    let at = first.diag.span.start as usize;
    // The broken item: the last to start before the error. An error at an
    // item's very start means the item before it is unfinished.
    let k = starts.partition_point(|&s| s < at);
    let item = |i: usize| {
        let start = if i == 0 { 0 } else { starts[i - 1] };
        let end = starts.get(i).copied().unwrap_or(src.len());
        (start, end)
    };
    // Piece 0 is whatever comes before the first item; piece i > 0 is the
    // item at starts[i - 1]. The broken one is piece k.
    let pieces = starts.len() + 1;
    let lines = Lines::of(src);
    let mut errors = Vec::new();
    for i in (if by_pest { k } else { 0 })..pieces.min(MAX_ITEMS + 1) {
        let (start, end) = item(i);
        let failure = if i == k {
            Some(first.clone())
        } else {
            read_piece(src, start, end)
        };
        errors.extend(failure.map(|f| unclosed(src, &lines, start, end, f)));
    }
    if pieces > MAX_ITEMS + 1 {
        let (start, _) = item(MAX_ITEMS + 1);
        errors.push(
            Diagnostic::error(
                "too-large",
                Span::new(start, start + 1),
                format!("this item is one more than the {MAX_ITEMS} a policy may hold"),
            )
            .with_hint("split the policy; a set can hold many values in one item"),
        );
    }
    errors.sort_by_key(|d| d.span.start);
    errors
}

/// What reading `src[start..end]` as a policy of its own finds wrong, if
/// anything, with positions in `src`.
fn read_piece(src: &str, start: usize, end: usize) -> Option<parser::Failure> {
    let piece = src.get(start..end)?;
    if piece.trim().is_empty() {
        return None;
    }
    if let Some(problem) = prescan::prescan(piece) {
        return Some(parser::Failure {
            diag: shifted(problem, start),
            wants_brace: false,
        });
    }
    if reader::parse_policy(piece).is_some() {
        return None;
    }
    parser::parse_range(src, start, end).err()
}

fn shifted(mut d: Diagnostic, by: usize) -> Diagnostic {
    d.span = Span::new(d.span.start as usize + by, d.span.end as usize + by);
    d
}

/// An error at the end of its item where pest wanted a `}`, in an item with
/// a `{` it never closes, is said at that `{`: the place to fix.
fn unclosed(src: &str, lines: &Lines, start: usize, end: usize, f: parser::Failure) -> Diagnostic {
    let at = f.diag.span.start as usize;
    if !f.wants_brace || at < end {
        return f.diag;
    }
    let Some(brace) = open_brace(src, start, at) else {
        return f.diag;
    };
    let place = if at >= src.len() {
        String::new()
    } else {
        let (line, col) = lines.line_col(src, at);
        format!(" at {line}:{col}")
    };
    Diagnostic::error(
        "syntax",
        Span::new(brace, brace + 1),
        format!("unclosed `{{`: {}{place}", f.diag.message),
    )
    .with_hint("this `{` is never closed")
}

/// Where the source's lines start, so that many errors find their line and
/// column without each scanning the text before it.
struct Lines(Vec<usize>);

impl Lines {
    fn of(src: &str) -> Lines {
        let starts = std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts.collect())
    }

    /// What `diag::line_col` says of `at`, in a search and one line's scan.
    fn line_col(&self, src: &str, at: usize) -> (usize, usize) {
        let at = crate::diag::floor_char_boundary(src, at.min(src.len()));
        let line = self.0.partition_point(|&s| s <= at).max(1);
        let start = self.0.get(line - 1).copied().unwrap_or(0);
        let text = src.get(start..at).unwrap_or("");
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        (line, text.chars().count() + 1)
    }
}

/// The first `{` of `src[start..end]` that no `}` there closes.
fn open_brace(src: &str, start: usize, end: usize) -> Option<usize> {
    let mut open = Vec::new();
    for (at, b) in brackets(src, start, end) {
        match b {
            b'{' => open.push(at),
            b'}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.first().copied()
}

/// The brackets of `src[start..end]` outside strings and comments, with
/// their offsets. `start` must not be inside a string or a comment.
fn brackets(src: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
    let bytes = src.as_bytes();
    let end = end.min(bytes.len());
    let mut i = start;
    std::iter::from_fn(move || {
        while i < end {
            let at = i;
            match bytes[i] {
                b'#' => {
                    while i < end && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'"' => {
                    i += 1;
                    while i < end && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                    continue;
                }
                b @ (b'(' | b'[' | b'{' | b')' | b']' | b'}') => {
                    i += 1;
                    return Some((at, b));
                }
                _ => i += 1,
            }
        }
        None
    })
}

/// The offsets of the lines whose first word is an item's keyword, outside
/// strings and comments.
fn item_lines(src: &str) -> Vec<usize> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut first_on_line = true;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                first_on_line = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                first_on_line = false;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // `refund within …` and `refund at once` are clauses (of a rule or
                // the header), not the start of a refund table.
                let clause = &src[start..i] == "refund" && {
                    let rest = src[i..].trim_start_matches([' ', '\t']);
                    ["within", "at"].iter().any(|w| {
                        rest.strip_prefix(w)
                            .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
                    })
                };
                if first_on_line && !clause && prescan::ITEM_WORDS.contains(&&src[start..i]) {
                    out.push(start);
                }
                first_on_line = false;
            }
            0xEF if bytes[i..].starts_with("\u{FEFF}".as_bytes()) => i += 3,
            _ => {
                first_on_line = false;
                i += 1;
            }
        }
    }
    out
}

/// Where items start (see the module's header): the item lines, less those
/// inside a bracket the text up to the next item line closes.
pub(super) fn item_starts(src: &str) -> Vec<usize> {
    let lines = item_lines(src);
    let mut starts = Vec::with_capacity(lines.len());
    let mut depth = 0usize;
    let mut from = 0;
    for (n, &line) in lines.iter().enumerate() {
        for (_, b) in brackets(src, from, line) {
            depth = step(depth, b);
        }
        from = line;
        if depth > 0 {
            let next = lines.get(n + 1).copied().unwrap_or(src.len());
            let mut d = depth;
            let closes = brackets(src, line, next).any(|(_, b)| {
                d = step(d, b);
                d == 0
            });
            if closes {
                continue;
            }
            // The bracket around this line is never closed: a new item starts.
            depth = 0;
        }
        starts.push(line);
    }
    starts
}

fn step(depth: usize, b: u8) -> usize {
    match b {
        b'(' | b'[' | b'{' => depth + 1,
        _ => depth.saturating_sub(1),
    }
}

#[cfg(test)]
mod tests;
