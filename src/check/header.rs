//! The `policy "…" { … }` header: currency, timezone, version and default.

use chrono_tz::Tz;

use crate::currency;
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::ir::life::ANCHORS;
use crate::ir::{Anchor, HeaderInfo, PolicyTz, RefundLimit, ReviewDeadline};
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
    let mut review = None;
    let mut refund = None;
    let mut seen: Vec<&str> = Vec::new();
    for field in &h.fields {
        let (name, span) = match field {
            HeaderField::Currency(t) => ("currency", t.span),
            HeaderField::Timezone(t) => ("timezone", t.span),
            HeaderField::Version(t) => ("version", t.span),
            HeaderField::Default(_, m) => ("default", m.as_ref().map_or(h.title.span, |m| m.span)),
            HeaderField::Review(d) => ("review", d.span),
            HeaderField::Refund(r) => ("refund", r.span),
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
            HeaderField::Review(d) => review = check_deadline(d, diags),
            HeaderField::Refund(r) => refund = check_refund_limit(r, diags),
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
        review,
        refund,
    })
}

/// `within 48 hours, then approve`: a deadline of some time, whose timeout decides.
pub(super) fn check_deadline(d: &ast::Deadline, diags: &mut Vec<Diagnostic>) -> Option<ReviewDeadline> {
    let seconds = d.amount.saturating_mul(d.unit.seconds());
    let mut ok = true;
    if seconds <= 0 {
        diags.push(
            Diagnostic::error("bad-deadline", d.span, "a review deadline of no time at all")
                .with_hint("give the reviewer some time, e.g. `within 24 hours, then approve`"),
        );
        ok = false;
    }
    if d.then == Decision::Review {
        diags.push(
            Diagnostic::error(
                "bad-deadline",
                d.span,
                "a review that times out must be decided: `then approve` or `then deny`",
            )
            .with_hint("on Taobao- and Douyin-style platforms a merchant who does not answer in time has agreed: `then approve`"),
        );
        ok = false;
    }
    ok.then_some(ReviewDeadline { seconds, then: d.then })
}

/// `within 3 days of inspection` or `at once`.
pub(super) fn check_refund_limit(r: &ast::RefundLimit, diags: &mut Vec<Diagnostic>) -> Option<RefundLimit> {
    let Some((amount, unit)) = r.within else {
        return Some(RefundLimit {
            seconds: 0,
            of: Anchor::Approval,
        });
    };
    let word = r.of.as_ref()?;
    let Some((_, of)) = ANCHORS.iter().find(|(w, _)| *w == word.name) else {
        let hint = match did_you_mean(&word.name, ANCHORS.iter().map(|(w, _)| *w)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "a refund's clock starts at the line's `approval` or the goods' `inspection`".into(),
        };
        diags.push(
            Diagnostic::error(
                "unknown-anchor",
                word.span,
                format!("a refund cannot be due within a time of `{}`", word.name),
            )
            .with_hint(hint),
        );
        return None;
    };
    Some(RefundLimit {
        seconds: amount.saturating_mul(unit.seconds()),
        of: *of,
    })
}

fn check_currency(t: &ast::Text, diags: &mut Vec<Diagnostic>) -> Option<(String, u32)> {
    if let Some(units) = currency::minor_units(&t.value) {
        return Some((t.value.clone(), units));
    }
    let upper = t.value.to_ascii_uppercase();
    let hint = if let Some((name, code)) = currency_alias(&t.value) {
        format!("the ISO 4217 code of {name} is `\"{code}\"`")
    } else if currency::minor_units(&upper).is_some() {
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
    let hint = match (
        timezone_alias(&t.value),
        did_you_mean(&t.value, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())),
    ) {
        (Some(h), _) => h,
        (None, Some(s)) => format!("did you mean `\"{s}\"`?"),
        (None, None) => "use an IANA name such as \"Asia/Shanghai\", or a fixed offset such as \"+08:00\"".into(),
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

/// Names merchants write for a currency instead of its code, and the code:
/// `RMB` for the renminbi is the usual one.
fn currency_alias(written: &str) -> Option<(&'static str, &'static str)> {
    const ALIASES: &[(&[&str], &str, &str)] = &[
        (
            &["RMB", "人民币", "元", "¥", "￥", "CN¥", "YUAN", "RENMINBI"],
            "the renminbi (人民币)",
            "CNY",
        ),
        (&["NTD", "NT$", "新台币", "新臺幣"], "the New Taiwan dollar", "TWD"),
        (&["HK$", "港币", "港元", "港幣"], "the Hong Kong dollar", "HKD"),
        (&["円", "日元", "JP¥", "YEN"], "the yen", "JPY"),
        (&["US$", "$", "美元"], "the US dollar", "USD"),
        (&["€", "欧元", "EURO"], "the euro", "EUR"),
        (&["£", "英镑"], "the pound sterling", "GBP"),
        (&["₩", "韩元", "WON"], "the won", "KRW"),
    ];
    let key = written.trim().to_uppercase();
    ALIASES
        .iter()
        .find(|(names, _, _)| names.contains(&key.as_str()))
        .map(|(_, name, code)| (*name, *code))
}

/// What a merchant may write for a time zone that is not its IANA name
/// (`Asia/Beijing`, `Beijing time`, `CST`, `UTC+8`), and what to write.
fn timezone_alias(written: &str) -> Option<String> {
    let key: String = written
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '(' | ')'))
        .collect();
    let china = [
        "asia/beijing",
        "beijing",
        "beijingtime",
        "beijingstandardtime",
        "china",
        "chinatime",
        "chinastandardtime",
        "asia/china",
        "北京",
        "北京时间",
        "中国标准时间",
        "中国时间",
    ];
    if china.contains(&key.as_str()) {
        return Some(
            "China's time zone is named after Shanghai: `\"Asia/Shanghai\"` (or the fixed offset `\"+08:00\"`)".into(),
        );
    }
    if key == "cst" {
        return Some(
            "`CST` names China Standard Time and US Central Time alike: for China write `\"Asia/Shanghai\"` or `\"+08:00\"`"
                .into(),
        );
    }
    let named = [
        ("asia/taiwan", "Asia/Taipei"),
        ("taipei", "Asia/Taipei"),
        ("hongkong", "Asia/Hong_Kong"),
        ("jst", "Asia/Tokyo"),
        ("tokyo", "Asia/Tokyo"),
        ("kst", "Asia/Seoul"),
        ("seoul", "Asia/Seoul"),
        ("sgt", "Asia/Singapore"),
        ("singapore", "Asia/Singapore"),
    ];
    if let Some((_, zone)) = named.iter().find(|(k, _)| *k == key) {
        return Some(format!("did you mean `\"{zone}\"`?"));
    }
    // `UTC+8`, `GMT+08:00`, `+8`, `+0800`: a fixed offset written another way.
    let offset = key
        .strip_prefix("utc")
        .or_else(|| key.strip_prefix("gmt"))
        .unwrap_or(&key);
    let (sign, digits) = match offset.as_bytes().first() {
        Some(b'+') => ('+', &offset[1..]),
        Some(b'-') => ('-', &offset[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "0"),
    };
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 || digits.is_empty() {
        return None;
    }
    let fixed = format!("{sign}{h:02}:{m:02}");
    let zone = if fixed == "+08:00" {
        " (for China, also `\"Asia/Shanghai\"`)"
    } else {
        ""
    };
    Some(format!("write a fixed offset as `\"{fixed}\"`{zone}"))
}
