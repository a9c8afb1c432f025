//! rpl — the Return Policy Language.

pub mod data;
