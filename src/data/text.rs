//! Checks on a case's JSON text before serde_json reads it: how deep arrays
//! and objects nest (so no input recurses far), and keys given twice in one
//! object (which serde_json would silently resolve to the last, so that rpl
//! and another reader of the same record could see different cases).

use std::borrow::Cow;
use std::collections::HashSet;

use crate::limits::MAX_JSON_DEPTH;

/// A problem in the text: its byte offset, the JSON path of the key or
/// container at fault, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub at: usize,
    pub path: String,
    pub message: String,
}

/// Where an open array or object stands.
enum Open<'t> {
    /// The keys seen so far, and the latest (the path goes through it).
    Object(HashSet<Cow<'t, str>>, Cow<'t, str>),
    /// The index of the current element.
    Array(usize),
}

/// The path of the container open at `depth`, built only when a problem is found.
fn path_to(open: &[Open<'_>]) -> String {
    let mut path = String::new();
    for o in open {
        path = match o {
            Open::Object(_, key) => super::json::field_path(&path, key),
            Open::Array(n) => super::json::index_path(&path, *n),
        };
    }
    path
}

/// The first problem found. Text that is not JSON at all passes: serde_json
/// says what is wrong with it.
pub(crate) fn scan(text: &str) -> Option<Problem> {
    let bytes = text.as_bytes();
    let mut open: Vec<Open<'_>> = Vec::new();
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
                let depth = open.len();
                if expect_key && let Some(Open::Object(keys, latest)) = open.last_mut() {
                    expect_key = false;
                    let key = if raw.contains('\\') {
                        Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
                    } else {
                        Cow::Borrowed(&raw[1..raw.len() - 1])
                    };
                    if !keys.insert(key.clone()) {
                        let path = super::json::field_path(&path_to(&open[..depth - 1]), &key);
                        let message = format!("the key {} appears twice in one object", super::json::quote(&key));
                        return Some(Problem {
                            at: start,
                            path,
                            message,
                        });
                    }
                    *latest = key;
                }
            }
            b'{' | b'[' => {
                if open.len() == MAX_JSON_DEPTH {
                    return Some(Problem {
                        at: i,
                        path: path_to(&open),
                        message: format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"),
                    });
                }
                expect_key = bytes[i] == b'{';
                open.push(match expect_key {
                    true => Open::Object(HashSet::new(), Cow::Borrowed("")),
                    false => Open::Array(0),
                });
            }
            b'}' | b']' => {
                open.pop();
                expect_key = false;
            }
            b',' => match open.last_mut() {
                Some(Open::Object(..)) => expect_key = true,
                Some(Open::Array(n)) => *n += 1,
                None => {}
            },
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
        scan(text).map(|p| format!("{}: {}", p.at, p.message))
    }

    #[test]
    fn problems_name_their_path() {
        let path = |text: &str| scan(text).map(|p| p.path);
        assert_eq!(path(r#"{"a": 1, "a": 2}"#), Some("a".into()));
        assert_eq!(
            path(r#"{"o": {"items": [{"x": 1}, {"x": 1, "x": 2}]}}"#),
            Some("o.items[1].x".into())
        );
        assert_eq!(path(r#"{"o": [[], {"k": {"y": 1, "y": 2}}]}"#), Some("o[1].k.y".into()));
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
