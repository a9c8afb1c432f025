//! rpl — the Return Policy Language.

pub mod data;
pub mod diag;
pub mod syntax;
