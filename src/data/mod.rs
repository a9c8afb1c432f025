//! Case records: JSON in, validated [`Case`] out, with the JSON path of any problem.

mod contract;
pub(crate) use contract::{order_holds, requested_in_time};
pub(crate) use parse::{parse_inspection, parse_review_with};
pub(crate) mod json;
mod model;
mod parse;
pub(crate) mod text;
pub(crate) mod typed;
mod typed_case;
#[cfg(feature = "service")]
pub(crate) use typed_case::parse as parse_case_typed;

pub use model::*;
pub use parse::{
    InputError, RETURN_TYPES, parse_case, parse_case_value, parse_customer_with, parse_json, parse_order_with,
    parse_return_with,
};
// The plain readers, for tests and `rpl::internals`.
#[allow(unused_imports)]
pub use parse::{parse_customer, parse_order, parse_return};
