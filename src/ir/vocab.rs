//! The words a policy declares its open fields take (`values FIELD = […]`,
//! docs/language.md §3.9): what the checker holds literals to, and what the
//! evaluator holds a case's words to before judging it.

use super::schema::{DECLARABLE, Field, UNKNOWN_CONDITION};

/// One declared vocabulary: a field and its words, sorted and without repeats.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub field: Field,
    words: Vec<String>,
}

impl Vocabulary {
    pub fn new(field: Field, mut words: Vec<String>) -> Vocabulary {
        words.sort_unstable();
        words.dedup();
        Vocabulary { field, words }
    }

    /// Whether `word` is one of the field's words (for `item.condition`,
    /// `"unknown"` always is). A binary search: nothing is allocated.
    pub fn allows(&self, word: &str) -> bool {
        (self.field == Field::ItemCondition && word == UNKNOWN_CONDITION)
            || self.words.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
    }

    /// The declared words, sorted.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }

    /// The words a misspelt one may have meant: the declared ones, and
    /// `"unknown"` for a condition.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        let unknown = (self.field == Field::ItemCondition).then_some(UNKNOWN_CONDITION);
        self.words().chain(unknown)
    }

    /// What the words are called: `reasons`, `categories`…
    pub fn noun(&self) -> &'static str {
        noun(self.field)
    }
}

/// What the words of a declarable field are called in messages.
pub fn noun(field: Field) -> &'static str {
    DECLARABLE
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("values", |(_, n)| n)
}

/// Every vocabulary a policy declares, at most one per field.
#[derive(Debug, Clone, Default)]
pub struct Vocabularies(Vec<Vocabulary>);

impl Vocabularies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: Field) -> Option<&Vocabulary> {
        self.0.iter().find(|v| v.field == field)
    }

    pub fn insert(&mut self, v: Vocabulary) {
        if self.get(v.field).is_none() {
            self.0.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_and_unknown_is_a_condition() {
        let v = Vocabulary::new(Field::ReturnReason, vec!["b".into(), "a".into(), "b".into()]);
        assert!(v.allows("a") && v.allows("b") && !v.allows("c") && !v.allows("unknown"));
        assert_eq!(v.words().collect::<Vec<_>>(), ["a", "b"]);
        let c = Vocabulary::new(Field::ItemCondition, vec!["used".into()]);
        assert!(c.allows("unknown") && c.allows("used") && !c.allows("new"));
        assert_eq!(c.noun(), "conditions");
    }
}
