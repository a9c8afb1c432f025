//! Text -> syntax tree. pest lives here and nowhere else.

pub mod ast;
mod expr;
pub mod format;
mod parser;
mod prescan;
mod sexpr;

pub use crate::limits::{MAX_DURATION_SECONDS, MAX_NESTING};

use crate::diag::Diagnostic;

/// Parses a policy. A syntax error stops the parse: what follows it cannot be
/// read with confidence, so only the first is reported.
pub fn parse(src: &str) -> Result<ast::Policy, Diagnostic> {
    if let Some(problem) = prescan::prescan(src) {
        return Err(problem);
    }
    crate::diag::with_stack(|| parser::parse_policy(src)).unwrap_or_else(|| {
        Err(Diagnostic::error(
            "internal",
            crate::diag::Span::default(),
            "the parser could not start",
        ))
    })
}

/// The canonical layout of a policy's text (`rpl fmt`).
pub fn format(src: &str) -> Result<String, Diagnostic> {
    let policy = parse(src)?;
    Ok(format::format(&policy, src))
}
