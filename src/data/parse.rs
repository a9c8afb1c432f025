//! JSON -> Case with validation (SPEC §4).
use super::model::Case;

/// A case that breaks the data contract, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InputError {
    pub path: String,
    pub message: String,
}

pub fn parse_case(_text: &str) -> Result<Case, InputError> {
    Err(InputError {
        path: String::new(),
        message: "not implemented".into(),
    })
}

pub fn parse_case_value(_v: &serde_json::Value) -> Result<Case, InputError> {
    Err(InputError {
        path: String::new(),
        message: "not implemented".into(),
    })
}
