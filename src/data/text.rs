//! Checks on a case's JSON text before serde_json reads it: how deep arrays
//! and objects nest (so no input recurses far), and keys given twice in one
//! object (which serde_json would silently resolve to the last, so that rpl
//! and another reader of the same record could see different cases).

use std::borrow::Cow;
use std::collections::HashSet;

use crate::limits::MAX_JSON_DEPTH;

/// The first problem found and its byte offset. Text that is not JSON at all
/// passes: serde_json says what is wrong with it.
pub(super) fn scan(text: &str) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    // One entry per open container: the keys seen so far in an object, `None` in an array.
    let mut open: Vec<Option<HashSet<Cow<'_, str>>>> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let raw = text.get(start..=i)?;
                if expect_key && let Some(Some(keys)) = open.last_mut() {
                    expect_key = false;
                    let key = if raw.contains('\\') {
                        Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
                    } else {
                        Cow::Borrowed(&raw[1..raw.len() - 1])
                    };
                    if let Some(twice) = keys.replace(key) {
                        let shown = super::json::quote(&twice);
                        return Some((start, format!("the key {shown} appears twice in one object")));
                    }
                }
            }
            b'{' | b'[' => {
                if open.len() == MAX_JSON_DEPTH {
                    return Some((
                        i,
                        format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"),
                    ));
                }
                expect_key = bytes[i] == b'{';
                open.push(expect_key.then(HashSet::new));
            }
            b'}' | b']' => {
                open.pop();
                expect_key = false;
            }
            b',' => expect_key = matches!(open.last(), Some(Some(_))),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<String> {
        scan(text).map(|(at, message)| format!("{at}: {message}"))
    }

    #[test]
    fn keys_given_twice() {
        assert_eq!(problem(r#"{"a": 1, "b": {"a": 2}, "c": ["a", "a"]}"#), None);
        assert_eq!(
            problem(r#"{"a": 1, "b": 2, "a": 3}"#),
            Some(r#"17: the key "a" appears twice in one object"#.into())
        );
        // Escapes spell the same key.
        assert!(problem(r#"{"return": 1, "\u0072eturn": 2}"#).is_some());
        assert_eq!(problem(r#"{"a\"": 1, "a": 2}"#), None);
        // Values are not keys, even strings after a colon.
        assert_eq!(problem(r#"{"a": "a", "b": "a"}"#), None);
        assert_eq!(problem(r#"[{"a": 1}, {"a": 1}]"#), None);
    }

    #[test]
    fn depth() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(problem(&nested(MAX_JSON_DEPTH)), None);
        assert_eq!(
            problem(&nested(MAX_JSON_DEPTH + 1)),
            Some(format!(
                "{MAX_JSON_DEPTH}: arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"
            ))
        );
        assert_eq!(problem(&format!("\"{}\"", "[".repeat(1000))), None);
        assert_eq!(problem("\"open"), None);
    }
}
