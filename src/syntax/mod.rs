//! Text -> syntax tree. pest lives here and nowhere else.

// Public only through `rpl::internals`, for rpl's own tests: not documented as an interface.
#[allow(missing_docs)]
pub mod ast;
mod expr;
pub mod format;
mod parser;
mod prescan;
mod reader;
mod recover;
mod sexpr;

use crate::diag::Diagnostic;

/// Parses a policy. On syntax errors, every item's first one, in source
/// order (see `recover`): the tree is built only when there are none.
pub fn parse(src: &str) -> Result<ast::Policy, Vec<Diagnostic>> {
    let (first, by_pest) = match prescan::prescan(src) {
        // Past the size of a policy, or its number of items, nothing more is read.
        Some(problem) if prescan::is_fatal(&problem) => return Err(vec![problem]),
        Some(problem) => (parser::Failure::from(problem), false),
        None => {
            // The hand-written reader takes what it is sure of, on this
            // thread: it nests only a few levels before it gives up. pest
            // reads the rest (and reports every syntax error), on a thread
            // with a stack deep enough for all the nesting the pre-scan admits.
            if let Some(policy) = reader::parse_policy(src) {
                return Ok(policy);
            }
            match crate::support::with_stack(|| parser::parse_range(src, 0, src.len())) {
                Some(Ok(policy)) => return Ok(policy),
                Some(Err(failure)) => (failure, true),
                None => return Err(vec![could_not_start()]),
            }
        }
    };
    Err(crate::support::with_stack(|| recover::all_errors(src, first, by_pest))
        .unwrap_or_else(|| vec![could_not_start()]))
}

fn could_not_start() -> Diagnostic {
    Diagnostic::error("internal", crate::diag::Span::default(), "the parser could not start")
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

/// The canonical layout of a policy's text (`rpl fmt`), or its syntax errors.
pub fn format(src: &str) -> Result<String, Vec<Diagnostic>> {
    let policy = parse(src)?;
    Ok(format::format(&policy, src))
}
