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
//! let case = rpl::parse_case(r#"{
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

#![warn(missing_docs)]

// The pipeline, lowest layer first: each module reads only the ones above it
// in this list. `support`, `diag`, `limits` and `currency` serve every layer.
mod support;
mod diag;
pub mod limits;
mod currency;
mod syntax;
mod ir;
mod check;
mod data;
mod history;
mod eval;
mod generator;
mod floor;
mod backtest;
mod suite;
#[cfg(feature = "service")]
mod service;

pub use backtest::{
    Applied, BacktestError, Change, Comparison, Count, Invalid, Judged, Label, Labels, LifeSummary, Move,
    Options as BacktestOptions, PolicySummary, Progress as BacktestProgress, Replay, Score, Stopped, StreamEvent,
    Summary as BacktestSummary, case as backtest_case, run as backtest,
};
pub use data::{
    Attrs, Case, Customer, History, InputError, Inspection, Order, OrderItem, PastOrder, PastReturn, Restriction,
    Return, ReturnLine, ReviewDecision, ReviewOutcome, Scalar, Time, parse_case, parse_case_value, parse_json,
};
pub use diag::{
    Diagnostic, Severity, Span, line_col, render as render_diagnostics, render_json as render_diagnostics_json,
};
pub use eval::{
    Decided, Deduction, ErrorEntry, Explanation, FiredExplain, FlagHit, FloorPart, InspectError, LineExplain,
    LineVerdict, Override, PolicyId, Program, RefundClock, RefundDue, RequestDecision, RequestPart, RestrictionHit,
    ReviewDue, ReviewRecord, RuleHit, Scratch, SettleError, Verdict, refunds_due, render_explanation, restrictions_set,
    review_due, settle_review, time_out_reviews,
};
pub use floor::{
    FloorOverride, check_pair as check_floor_pair, floor_overrides, floor_warnings, inspect, judge_layered,
    judge_layered_explained,
};
pub use generator::{GenOptions, GenStats, generate};
pub use ir::{Payer, PolicyTz};
#[cfg(feature = "service")]
pub use service::{Service, ServiceConfig, serve};
pub use suite::run_suite_text;
pub use suite::{
    CaseError, CaseResult, Coverage, Mismatch, Outcome, SuiteError, SuiteResult, find_suites, render as render_suite,
    render_coverage, run_suite,
};
pub use syntax::format as format_policy;

/// Hooks for rpl's own tests, fuzz targets and benchmarks: the syntax tree,
/// each reader alone, the reference evaluator, the step counter. Not a stable
/// interface; enabled by the `internals` feature.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::backtest::parse_only;
    pub use crate::data::parse_order;
    pub use crate::eval::steps;
    pub use crate::floor::judge_layered_reference;
    pub use crate::generator::policy::generated_policy;
    pub use crate::syntax::ast;
    pub use crate::syntax::format::format as format_tree;
    pub use crate::syntax::{parse, parse_both};
}

/// A checked policy and the warnings its check raised.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Compiled {
    /// The program, ready to judge.
    pub program: Program,
    /// What the check found that does not stop the policy (`--deny-warnings` fails on these).
    pub warnings: Vec<Diagnostic>,
}

/// Parses, checks and compiles a policy: the whole pipeline, text ->
/// syntax tree -> checked program -> compiled program. On failure, every
/// diagnostic found (errors and warnings, in source order).
pub fn compile(source: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let tree = syntax::parse(source)?;
    let (checked, warnings) = check::check(&tree, source);
    let Some(checked) = checked else {
        return Err(warnings);
    };
    Ok(Compiled {
        program: Program::new(checked),
        warnings,
    })
}
