//! A case's words held to the vocabularies its policy declares (`values
//! FIELD = […]`, docs/language.md §3.9 and §4.12): a word outside them is an
//! input error with its JSON path, checked before judging on every path
//! (judge, decide, backtests, suites). Nothing is allocated unless a word is
//! refused; a policy that declares nothing pays one branch.

use super::Program;
use crate::data::{Case, InputError};
use crate::diag::did_you_mean;
use crate::ir::Vocabulary;
use crate::ir::schema::Field;
use crate::syntax::format::quote;

impl Program {
    pub(super) fn check_words(&self, case: &Case) -> Result<(), InputError> {
        let vocab = &self.ir.vocabularies;
        if vocab.is_empty() {
            return Ok(());
        }
        if let Some(v) = vocab.get(Field::ReturnReason) {
            word(v, &case.ret.reason, || "return.reason".into())?;
            for (i, r) in case.history.returns.iter().enumerate() {
                word(v, &r.reason, || format!("history.returns[{i}].reason"))?;
            }
        }
        if let Some(v) = vocab.get(Field::ItemCategory) {
            for (i, item) in case.order.items.iter().enumerate() {
                word(v, &item.category, || format!("order.items[{i}].category"))?;
            }
        }
        if let Some(v) = vocab.get(Field::ItemCondition) {
            for (i, line) in case.ret.items.iter().enumerate() {
                word(v, &line.condition, || format!("return.items[{i}].condition"))?;
                // The condition an inspection finds is one of the same words.
                if let Some(found) = &line.inspection {
                    word(v, &found.condition, || {
                        format!("return.items[{i}].inspection.condition")
                    })?;
                }
            }
        }
        if let Some(v) = vocab.get(Field::ReturnEvidence) {
            for (i, e) in case.ret.evidence.iter().enumerate() {
                word(v, e, || format!("return.evidence[{i}]"))?;
            }
        }
        Ok(())
    }
}

/// `found` when the vocabulary allows it, or the input error at `path()`.
fn word(v: &Vocabulary, found: &str, path: impl FnOnce() -> String) -> Result<(), InputError> {
    if v.allows(found) {
        return Ok(());
    }
    let hint = match did_you_mean(found, v.candidates()) {
        Some(s) => format!("; did you mean {}?", quote(s)),
        None => format!("; they are {}", v.words().map(quote).collect::<Vec<_>>().join(", ")),
    };
    Err(InputError {
        path: path(),
        message: format!("{} is not one of this policy's {}{hint}", quote(found), v.noun()),
    })
}
