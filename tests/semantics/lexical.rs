//! docs/language.md §2: literals.

use serde_json::json;

use crate::support::*;

#[test]
fn decimals_are_exact() {
    all_hold(&[
        "0.1 + 0.2 == 0.3",
        "199.00 == 199",
        "1.10 == 1.1",
        "0.3 - 0.1 == 0.2",
        "1.0000000000000000000000000001 > 1",
    ]);
    assert!(!holds("0.1 + 0.2 > 0.3"));
    // Amounts from the case are exact too: 3 × 0.10 is 0.30.
    let c = case().items(&[("A", "apparel", "0.10", 3)]).returns(&[("A", 3)]);
    assert!(holds_on("item.amount == 0.3", &c));
}

#[test]
fn percentages_are_decimals() {
    all_hold(&["15% == 0.15", "100% == 1", "12.5% == 0.125", "0% == 0"]);
    assert!(!holds("15% == 15"));
}

#[test]
fn durations_in_every_unit() {
    all_hold(&[
        "7 days == 168 hours",
        "48 hours == 2 days",
        "30 minutes + 30 minutes == 60 minutes",
        "60 minutes == 1 hour",
        "2 weeks == 14 days",
        "1 week == 7 days",
        "1 day == 24 hours",
        "1 day == 1440 minutes",
        "1 minute < 1 hour",
        "now - 30 minutes == time(\"2026-11-09T19:30:00+08:00\")",
    ]);
}

#[test]
fn strings_with_escapes_and_unicode() {
    // The case holds `say "hi"\` + newline + tab + 中.
    let c = case().reason("say \"hi\"\\\n\t\u{4E2D}");
    assert!(holds_on(r#"return.reason == "say \"hi\"\\\n\t\u{4E2D}""#, &c));
    assert!(holds_on(r#"return.reason == "say \"hi\"\\\n\t中""#, &c));
    assert!(!holds_on(r#"return.reason == "say \"hi\"\\n\t中""#, &c));
    // Unicode reaches the verdict unchanged, escaped or not.
    let v = run(r#"rule r { deny "超过\u{4E03}天无理由退货期限" }"#, &case());
    assert_eq!(v.lines[0].message.as_deref(), Some("超过七天无理由退货期限"));
    let v = run(r#"rule r { review "😀 \u{1F600}" }"#, &case());
    assert_eq!(v.lines[0].message.as_deref(), Some("😀 😀"));
}

#[test]
fn comments_run_to_the_end_of_the_line() {
    let v = run(
        "# a comment\nrule r { # when false\n  approve # \"quoted\" }\n}",
        &case(),
    );
    assert_eq!(v.decision, "approve");
}

#[test]
fn time_literals_keep_their_offset() {
    all_hold(&[
        r#"time("2026-11-11T00:00:00+08:00") == time("2026-11-10T16:00:00Z")"#,
        r#"time("2026-11-11T00:00:00+08:00") < time("2026-11-11T00:00:00Z")"#,
        r#"now == time("2026-11-09T20:00:00+08:00")"#,
    ]);
}

#[test]
fn date_is_midnight_in_the_policy_timezone() {
    // HEAD is Asia/Shanghai.
    all_hold(&[
        r#"date("2026-11-11") == time("2026-11-11T00:00:00+08:00")"#,
        r#"date("2026-11-09") < now and now < date("2026-11-10")"#,
    ]);
    let in_zone = |tz: &str, cond: &str| {
        let src = format!(
            "policy \"T\" {{ currency \"CNY\" timezone \"{tz}\" default deny }}\n\
             rule probe {{ when {cond} approve }}"
        );
        judge(&src, &case()).decision == "approve"
    };
    assert!(in_zone("UTC", r#"date("2026-11-11") == time("2026-11-11T00:00:00Z")"#));
    assert!(in_zone(
        "+05:30",
        r#"date("2026-11-11") == time("2026-11-11T00:00:00+05:30")"#
    ));
    assert!(in_zone(
        "America/New_York",
        r#"date("2026-07-01") == time("2026-07-01T00:00:00-04:00")"#
    ));
    assert!(in_zone(
        "America/New_York",
        r#"date("2026-12-01") == time("2026-12-01T00:00:00-05:00")"#
    ));
    // Where a DST gap swallows midnight, the day starts at the first valid instant.
    assert!(in_zone(
        "America/Santiago",
        r#"date("2026-09-06") == time("2026-09-06T01:00:00-03:00")"#
    ));
    // Without a timezone the policy is in UTC.
    let src = "policy \"T\" { currency \"CNY\" default deny }\n\
               rule probe { when date(\"2026-11-11\") == time(\"2026-11-11T00:00:00Z\") approve }";
    assert_eq!(judge(src, &case()).decision, "approve");
}

#[test]
fn booleans() {
    all_hold(&["true", "not false", "true == true", "true != false"]);
    let c = case().set("order.shipping_insurance", json!(true));
    assert!(holds_on("order.shipping_insurance == true", &c));
}
