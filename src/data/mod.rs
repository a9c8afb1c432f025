//! Case records: JSON in, validated [`Case`] out, with the JSON path of any problem.

pub(crate) mod json;
mod model;
mod parse;
pub(crate) mod text;

pub use model::*;
pub use parse::{
    InputError, RETURN_TYPES, parse_case, parse_case_value, parse_customer, parse_json, parse_order, parse_return,
};
