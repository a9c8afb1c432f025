//! Text -> syntax tree. pest lives here and nowhere else.

// Public only through `rpl::internals`, for rpl's own tests: not documented as an interface.
#[allow(missing_docs)]
pub mod ast;
mod expr;
pub mod format;
mod parser;
mod prescan;
mod reader;
mod sexpr;

use crate::diag::Diagnostic;

/// Parses a policy. A syntax error stops the parse: what follows it cannot be
/// read with confidence, so only the first is reported.
pub fn parse(src: &str) -> Result<ast::Policy, Diagnostic> {
    if let Some(problem) = prescan::prescan(src) {
        return Err(problem);
    }
    // The hand-written reader takes what it is sure of, on this thread: it
    // nests only a few levels before it gives up. pest reads the rest (and
    // reports every syntax error), on a thread with a stack deep enough for
    // all the nesting the pre-scan admits.
    if let Some(policy) = reader::parse_policy(src) {
        return Ok(policy);
    }
    crate::support::with_stack(|| parser::parse_policy(src)).unwrap_or_else(|| {
        Err(Diagnostic::error(
            "internal",
            crate::diag::Span::default(),
            "the parser could not start",
        ))
    })
}

/// The two readers apart, for the fuzz target that holds the hand-written
/// one to pest: what the hand-written reader makes of `src` (`None` when it
/// leaves the text to pest), and what pest alone makes of it.
#[cfg(feature = "internals")]
pub fn parse_both(src: &str) -> Option<(Option<ast::Policy>, Result<ast::Policy, Diagnostic>)> {
    if prescan::prescan(src).is_some() {
        return None;
    }
    let reference = crate::support::with_stack(|| parser::parse_policy(src))?;
    Some((reader::parse_policy(src), reference))
}

/// The canonical layout of a policy's text (`rpl fmt`).
pub fn format(src: &str) -> Result<String, Diagnostic> {
    let policy = parse(src)?;
    Ok(format::format(&policy, src))
}
