//! Diagnostics shared by every phase, and their rendering: rustc-style for people,
//! JSON for tools.

use std::fmt::Write as _;

use serde::Serialize;

/// A byte range in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, short name of the kind of problem (`unknown-name`, `syntax`, …).
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Line and column (both 1-based, column in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
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
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, file, source, d);
    }
    out
}

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic) {
    let start = floor_char_boundary(source, (d.span.start as usize).min(source.len()));
    let end = floor_char_boundary(source, (d.span.end as usize).clamp(start, source.len()));
    let (line, col) = line_col(source, start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let text = source[line_start..line_end].trim_end_matches('\r');
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{severity}[{}]: {}", d.code, d.message);
    let _ = writeln!(out, "{pad}--> {file}:{line}:{col}");
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line} | {}", text.replace('\t', " "));
    let lead = text.chars().take(col - 1).count();
    let width = source[start..end.min(line_end).max(start)].chars().count().max(1);
    let _ = write!(out, "{pad} | {}{}", " ".repeat(lead), "^".repeat(width));
    match &d.hint {
        Some(hint) => {
            let _ = writeln!(out, " {hint}");
        }
        None => out.push('\n'),
    }
    out.push('\n');
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
    let mut out = String::new();
    for d in diags {
        let (line, column) = line_col(source, d.span.start as usize);
        let (end_line, end_column) = line_col(source, d.span.end as usize);
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

/// Stack for parsing and checking: nesting is bounded (256 levels), but pest's
/// recursion in a debug build takes kilobytes a level, more than a test
/// thread's 2 MiB. The memory is reserved, and touched only as deep as used.
const WORK_STACK: usize = 64 << 20;

/// Runs `f` on a thread with a stack deep enough for any input the limits admit.
pub(crate) fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("rpl-compile".into())
            .stack_size(WORK_STACK)
            .spawn_scoped(s, f)
            .ok()?
            .join()
            .ok()
    })
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
    fn suggestions_need_to_be_close() {
        let names = ["delivered_at", "placed_at", "paid_at"];
        assert_eq!(did_you_mean("deliverd_at", names), Some("delivered_at"));
        assert_eq!(did_you_mean("zzz", names), None);
        assert_eq!(did_you_mean("itme", ["order", "item"]), Some("item"));
    }
}
