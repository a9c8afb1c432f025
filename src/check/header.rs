//! The `policy "…" { … }` header: currency, timezone, version and default.

use chrono_tz::Tz;

use crate::currency;
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::ir::{HeaderInfo, PolicyTz};
use crate::syntax::ast::{self, Decision, HeaderField, Item};

pub(super) fn check_header(policy: &ast::Policy, diags: &mut Vec<Diagnostic>) -> Option<HeaderInfo> {
    let headers: Vec<&ast::Header> = policy
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Header(h) => Some(h),
            _ => None,
        })
        .collect();
    let Some(h) = headers.first() else {
        let at = policy.items.first().map_or(Span::default(), Item::span);
        diags.push(
            Diagnostic::error(
                "no-header",
                Span::new(at.start as usize, at.start as usize + 1),
                "the policy has no header",
            )
            .with_hint("start the file with `policy \"Title\" { currency \"CNY\" }`"),
        );
        return None;
    };
    for extra in &headers[1..] {
        diags.push(
            Diagnostic::error("duplicate-header", extra.title.span, "a second `policy` header")
                .with_hint("a file holds one policy; move this one to a file of its own"),
        );
    }
    let mut currency = None;
    let mut timezone = None;
    let mut version = None;
    let mut default = None;
    let mut seen: Vec<&str> = Vec::new();
    for field in &h.fields {
        let (name, span) = match field {
            HeaderField::Currency(t) => ("currency", t.span),
            HeaderField::Timezone(t) => ("timezone", t.span),
            HeaderField::Version(t) => ("version", t.span),
            HeaderField::Default(_, m) => ("default", m.as_ref().map_or(h.title.span, |m| m.span)),
        };
        if seen.contains(&name) {
            diags.push(
                Diagnostic::error("duplicate-field", span, format!("`{name}` is given twice")).with_hint("keep one"),
            );
            continue;
        }
        seen.push(name);
        match field {
            HeaderField::Currency(t) => currency = check_currency(t, diags),
            HeaderField::Timezone(t) => timezone = check_timezone(t, diags),
            HeaderField::Version(t) => version = Some(t.value.clone()),
            HeaderField::Default(d, m) => default = Some((*d, m.as_ref().map(|m| m.value.clone()))),
        }
    }
    if !seen.contains(&"currency") {
        diags.push(
            Diagnostic::error("no-currency", h.title.span, "the header names no currency")
                .with_hint("add `currency \"CNY\"` (an ISO 4217 code): refunds are rounded to its minor unit"),
        );
    }
    let (code, minor_units) = currency?;
    let timezone = match timezone {
        Some(tz) => tz?,
        None => PolicyTz::Named(Tz::UTC),
    };
    let (default, default_message) = default.unwrap_or((Decision::Review, None));
    Some(HeaderInfo {
        title: h.title.value.clone(),
        version,
        currency: code,
        minor_units,
        timezone,
        default,
        default_message,
    })
}

fn check_currency(t: &ast::Text, diags: &mut Vec<Diagnostic>) -> Option<(String, u32)> {
    if let Some(units) = currency::minor_units(&t.value) {
        return Some((t.value.clone(), units));
    }
    let upper = t.value.to_ascii_uppercase();
    let hint = if currency::minor_units(&upper).is_some() {
        format!("currency codes are upper case: `\"{upper}\"`")
    } else if let Some(s) = did_you_mean(&upper, currency::codes()) {
        format!("did you mean `\"{s}\"`?")
    } else {
        "use an ISO 4217 code such as \"CNY\", \"USD\" or \"EUR\"".into()
    };
    diags.push(
        Diagnostic::error(
            "bad-currency",
            t.span,
            format!("`{}` is not an ISO 4217 currency", t.value),
        )
        .with_hint(hint),
    );
    None
}

/// `Some(None)` marks a timezone that was given but is wrong.
fn check_timezone(t: &ast::Text, diags: &mut Vec<Diagnostic>) -> Option<Option<PolicyTz>> {
    if let Some(tz) = parse_timezone(&t.value) {
        return Some(Some(tz));
    }
    let hint = match did_you_mean(&t.value, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())) {
        Some(s) => format!("did you mean `\"{s}\"`?"),
        None => "use an IANA name such as \"Asia/Shanghai\", or a fixed offset such as \"+08:00\"".into(),
    };
    diags.push(Diagnostic::error("bad-timezone", t.span, format!("`{}` is not a timezone", t.value)).with_hint(hint));
    Some(None)
}

/// An IANA name (`Asia/Shanghai`), `UTC`, or a fixed offset (`+08:00`).
pub(crate) fn parse_timezone(s: &str) -> Option<PolicyTz> {
    if let Ok(tz) = s.parse::<Tz>() {
        return Some(PolicyTz::Named(tz));
    }
    let bytes = s.as_bytes();
    if bytes.len() == 6 && matches!(bytes[0], b'+' | b'-') && bytes[3] == b':' {
        let h: i32 = s.get(1..3)?.parse().ok()?;
        let m: i32 = s.get(4..6)?.parse().ok()?;
        if h > 23 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) * if bytes[0] == b'-' { -1 } else { 1 };
        return chrono::FixedOffset::east_opt(secs).map(PolicyTz::Fixed);
    }
    None
}
