//! rpl — the Return Policy Language.
//!
//! Merchants write return policies and risk teams write refund-abuse rules as
//! plain text; rpl checks them, compiles them once into a slot-resolved
//! program, and judges return requests against them with reasons.
//!
//! ```
//! let source = r#"
//! policy "Demo" { currency "CNY" timezone "Asia/Shanghai" }
//! rule seven_days {
//!   when  return.reason == "changed_mind" and order.delivered_at is present
//!         and days_since(order.delivered_at) <= 7
//!   approve
//! }
//! "#;
//! let policy = rpl::compile(source).expect("the policy checks");
//! let case = rpl::data::parse_case(r#"{
//!   "order": {"id": "O-1", "customer_id": "C-1", "currency": "CNY",
//!             "placed_at": "2026-11-01T10:00:00+08:00",
//!             "delivered_at": "2026-11-03T15:20:00+08:00",
//!             "items": [{"sku": "TEE-1", "category": "apparel", "unit_price": "199.00", "quantity": 1}]},
//!   "return": {"id": "R-1", "requested_at": "2026-11-10T20:00:00+08:00",
//!              "type": "return_refund", "reason": "changed_mind",
//!              "items": [{"sku": "TEE-1", "quantity": 1}]}
//! }"#).expect("the case is valid");
//! let verdict = policy.program.judge(&case).expect("same currency");
//! assert_eq!(verdict.decision, "approve");
//! assert_eq!(verdict.refund, "199.00");
//! ```

pub mod backtest;
mod check;
pub mod data;
pub mod diag;
pub mod eval;
pub mod generator;
pub mod history;
mod ir;
pub mod limits;
pub mod suite;
mod support;
pub mod syntax;

pub use data::{Case, InputError};
pub use diag::Diagnostic;
pub use eval::Program;
pub use eval::{Explanation, Verdict};
pub use ir::{Payer, PolicyTz};

/// A checked policy and the warnings its check raised.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Program,
    pub warnings: Vec<Diagnostic>,
}

/// Parses, checks and compiles a policy: the whole pipeline, text ->
/// syntax tree -> checked program -> compiled program. On failure, every
/// diagnostic found (errors and warnings, in source order).
pub fn compile(source: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let tree = syntax::parse(source).map_err(|d| vec![d])?;
    let (checked, warnings) = check::check(&tree, source);
    let Some(checked) = checked else {
        return Err(warnings);
    };
    Ok(Compiled {
        program: Program::new(checked),
        warnings,
    })
}
