//! Any bytes -> parse. Whatever the hand-written reader accepts, pest must
//! parse to the same tree, spans included. When a policy parses, its
//! canonical layout must parse to the same tree (spans aside) and be a fixed
//! point of `rpl fmt`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((Some(fast), reference)) = rpl::internals::parse_both(source) {
        let reference = reference.unwrap_or_else(|d| panic!("the reader accepted what pest refuses: {d:?}"));
        assert_eq!(format!("{fast:?}"), format!("{reference:?}"), "the reader and pest disagree");
    }
    let Ok(policy) = rpl::internals::parse(source) else {
        return;
    };
    let formatted = rpl::internals::format_tree(&policy, source);
    let reparsed = rpl::internals::parse(&formatted)
        .unwrap_or_else(|d| panic!("the formatted policy does not parse: {d:?}\n{formatted}"));
    assert!(reparsed == policy, "formatting changed the meaning:\n{formatted}");
    let again = rpl::internals::format_tree(&reparsed, &formatted);
    assert_eq!(again, formatted, "formatting is not idempotent");
});
