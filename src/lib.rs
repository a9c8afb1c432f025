//! rpl — the Return Policy Language.

pub mod check;
pub mod data;
pub mod diag;
pub mod syntax;
