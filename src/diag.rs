//! Diagnostics shared by every phase, and their rendering: rustc-style for people,
//! JSON for tools.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

/// A byte range in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// The first byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    pub(crate) fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The span as a range of byte offsets.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// The policy cannot be used.
    Error,
    /// The policy works, but probably not as meant (`--deny-warnings` fails on it).
    Warning,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, short name of the kind of problem (`unknown-name`, `syntax`, …).
    pub code: &'static str,
    /// What is wrong, in words.
    pub message: String,
    /// Where in the source.
    pub span: Span,
    /// How to fix it, where rpl can tell.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub(crate) fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Whether it is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Line and column (both 1-based, column in characters) of a byte offset.
/// A byte-order mark is not a column: editors do not show it.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = without_bom(&before[line_start..]).chars().count() + 1;
    (line, col)
}

fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders diagnostics the way rustc does:
///
/// ```text
/// error: unknown field `order.deliverd_at`
///   --> policies/marketplace.rpl:14:28
///    |
/// 14 | let days = days_since(order.deliverd_at)
///    |                       ^^^^^^^^^^^^^^^^^ did you mean `order.delivered_at`?
/// ```
pub fn render(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    let places = locate(source, diags.iter().map(|d| d.span.start as usize));
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, file, source, d, places.at(source, d.span.start as usize));
    }
    out
}

/// Where an offset is: its 1-based line and column, and where its line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    line: usize,
    col: usize,
    line_start: usize,
}

/// The places of many offsets, found in one pass over the source: rendering
/// a hundred thousand diagnostics stays linear in the source's size.
struct Places(HashMap<usize, Place>);

impl Places {
    fn at(&self, source: &str, offset: usize) -> Place {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        self.0.get(&offset).copied().unwrap_or_else(|| {
            let (line, col) = line_col(source, offset);
            let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
            Place { line, col, line_start }
        })
    }
}

fn locate(source: &str, offsets: impl Iterator<Item = usize>) -> Places {
    let mut wanted: Vec<usize> = offsets
        .map(|o| floor_char_boundary(source, o.min(source.len())))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut places = HashMap::with_capacity(wanted.len());
    let mut at = Place {
        line: 1,
        col: 1,
        line_start: 0,
    };
    let mut pos = 0;
    for offset in wanted {
        for (i, c) in source[pos..offset].char_indices() {
            if c == '\n' {
                at = Place {
                    line: at.line + 1,
                    col: 1,
                    line_start: pos + i + 1,
                };
            } else if !(c == '\u{FEFF}' && pos + i == at.line_start) {
                at.col += 1;
            }
        }
        pos = offset;
        places.insert(offset, at);
    }
    Places(places)
}

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic, place: Place) {
    let start = floor_char_boundary(source, (d.span.start as usize).min(source.len()));
    let end = floor_char_boundary(source, (d.span.end as usize).clamp(start, source.len()));
    let Place { line, col, line_start } = place;
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{severity}[{}]: {}", d.code, d.message);
    let _ = writeln!(out, "{pad}--> {file}:{line}:{col}");
    let _ = writeln!(out, "{pad} |");
    // Only the characters a window could show are read, however long the line.
    let head = without_bom(&source[line_start..start]);
    let mut chars: Vec<char> = head.chars().rev().take(MAX_SHOWN + 1).collect();
    chars.reverse();
    let lead = chars.len();
    let rest = &source[start..];
    let rest = if start == line_start { without_bom(rest) } else { rest };
    let tail = rest.chars().take_while(|c| *c != '\n').take(MAX_SHOWN + 1);
    chars.extend(tail);
    if chars.len() - lead <= MAX_SHOWN && chars.last() == Some(&'\r') {
        chars.pop();
    }
    let chars: Vec<char> = chars.into_iter().map(visible).collect();
    let width = source[start..end]
        .chars()
        .take_while(|c| *c != '\n')
        .take(MAX_SHOWN + 1)
        .count()
        .max(1);
    let (shown, lead, width) = window(&chars, lead, width);
    let _ = writeln!(out, "{line} | {shown}");
    let _ = write!(out, "{pad} | {}{}", " ".repeat(lead), "^".repeat(width));
    match &d.hint {
        Some(hint) => {
            let _ = writeln!(out, " {hint}");
        }
        None => out.push('\n'),
    }
    out.push('\n');
}

/// A character as a source line shows it, in one column: a tab as a space,
/// other control characters as their Unicode pictures (`␀`), never raw.
fn visible(c: char) -> char {
    match c {
        '\t' => ' ',
        '\0'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        '\u{7F}' => '\u{2421}',
        _ if c.is_control() => '\u{FFFD}',
        _ => c,
    }
}

/// Lines longer than this many characters are shown as a window around the caret.
const MAX_SHOWN: usize = 120;

/// The part of a line to show, and where the caret and how wide it is
/// within it: a long line (a generated policy, a hostile one) is cut to a
/// window around the caret, with `…` where text was left out.
fn window(chars: &[char], lead: usize, width: usize) -> (String, usize, usize) {
    if chars.len() <= MAX_SHOWN {
        return (chars.iter().collect(), lead, width);
    }
    let from = lead.saturating_sub(MAX_SHOWN / 3);
    let to = (from + MAX_SHOWN).min(chars.len());
    let from = from.min(to.saturating_sub(MAX_SHOWN));
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(&chars[from..to]);
    if to < chars.len() {
        shown.push('…');
    }
    let width = ((lead + width).min(to).saturating_sub(lead)).max(1);
    (shown, lead - from + usize::from(from > 0), width)
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: Severity,
    code: &'a str,
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    hint: Option<&'a str>,
}

/// One JSON object per line, for editors and CI annotations.
pub fn render_json(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    let ends = diags.iter().flat_map(|d| [d.span.start as usize, d.span.end as usize]);
    let places = locate(source, ends);
    let mut out = String::new();
    for d in diags {
        let Place { line, col: column, .. } = places.at(source, d.span.start as usize);
        let Place {
            line: end_line,
            col: end_column,
            ..
        } = places.at(source, d.span.end as usize);
        let row = JsonDiagnostic {
            file,
            severity: d.severity,
            code: d.code,
            message: &d.message,
            line,
            column,
            end_line,
            end_column,
            hint: d.hint.as_deref(),
        };
        if let Ok(json) = serde_json::to_string(&row) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

/// The closest of `candidates` to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two neighbouring letters counts as one edit
/// (optimal string alignment): `itme` is one step from `item`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "a\n超过 x";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 2), (2, 1));
        assert_eq!(line_col(src, src.find('x').unwrap_or(0)), (2, 4));
    }

    #[test]
    fn long_lines_show_a_window_around_the_caret() {
        let src = format!("let x = {}y{}", "(".repeat(300), ")".repeat(300));
        let at = src.find('y').unwrap_or(0);
        let shown = render("p.rpl", &src, &[Diagnostic::error("e", Span::new(at, at + 1), "m")]);
        let lines: Vec<&str> = shown.lines().collect();
        assert!(
            lines[3].starts_with("1 | …(((") && lines[3].ends_with(")))…"),
            "{shown}"
        );
        assert_eq!(lines[3].chars().count(), "1 | ".len() + 2 + MAX_SHOWN);
        let caret = lines[4].chars().position(|c| c == '^');
        assert_eq!(caret, lines[3].chars().position(|c| c == 'y'));
        // A span running past the window is cut at its edge.
        let all = render("p.rpl", &src, &[Diagnostic::error("e", Span::new(0, src.len()), "m")]);
        assert_eq!(all.lines().nth(4).map(|l| l.matches('^').count()), Some(MAX_SHOWN));
    }

    #[test]
    fn many_places_agree_with_one() {
        let src = "\u{FEFF}ab\n超过 x\r\n\n\u{FEFF}y";
        let offsets: Vec<usize> = (0..=src.len() + 2).collect();
        let places = locate(src, offsets.iter().copied());
        for &o in &offsets {
            let p = places.at(src, o);
            assert_eq!((p.line, p.col), line_col(src, o), "offset {o}");
        }
    }

    #[test]
    fn control_characters_show_as_pictures() {
        let src = "let x = 1\u{1}\0 2";
        let shown = render("p.rpl", src, &[Diagnostic::error("e", Span::new(10, 11), "m")]);
        let expected = format!("1 | let x = 1\u{2401}\u{2400} 2\n  | {}^\n", " ".repeat(10));
        assert!(shown.contains(&expected), "{shown}");
    }

    #[test]
    fn suggestions_need_to_be_close() {
        let names = ["delivered_at", "placed_at", "paid_at"];
        assert_eq!(did_you_mean("deliverd_at", names), Some("delivered_at"));
        assert_eq!(did_you_mean("zzz", names), None);
        assert_eq!(did_you_mean("itme", ["order", "item"]), Some("item"));
    }
}
