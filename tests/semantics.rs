//! docs/language.md §2, §4 (defaults and joins), §5 and §6, rule by rule: each test pins
//! one rule of the contract with a small inline policy and a case built from
//! a few parameters (see `semantics/support.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "semantics/support.rs"]
mod support;

#[path = "semantics/lexical.rs"]
mod lexical;

#[path = "semantics/expressions.rs"]
mod expressions;

#[path = "semantics/functions.rs"]
mod functions;

#[path = "semantics/history.rs"]
mod history;

#[path = "semantics/meaning.rs"]
mod meaning;

#[path = "semantics/fail_safe.rs"]
mod fail_safe;

#[path = "semantics/data.rs"]
mod data;

#[path = "semantics/issue11.rs"]
mod issue11;
