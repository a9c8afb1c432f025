//! Case records: JSON in, validated [`Case`] out, with the JSON path of any problem.

mod model;
mod parse;

pub use model::*;
pub use parse::{InputError, parse_case, parse_case_value};
