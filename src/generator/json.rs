//! Byte-level formatting of the generator's JSON: times, money and ids, without
//! allocation or `fmt` machinery on the hot path.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The civil date of a day number (days since 1970-01-01), by Howard Hinnant's
/// `civil_from_days`.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn push2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10 % 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// `"2026-01-05T10:42:07+08:00"` (quoted) for `local` seconds since 1970-01-01
/// 00:00 in UTC+08:00. Years are 0000–9999 (the options are checked for it).
pub fn push_time(buf: &mut Vec<u8>, local: i64) {
    let (y, m, d) = civil(local.div_euclid(DAY));
    let s = local.rem_euclid(DAY) as u32;
    let y = y.clamp(0, 9999) as u32;
    buf.push(b'"');
    push2(buf, y / 100);
    push2(buf, y % 100);
    buf.push(b'-');
    push2(buf, m);
    buf.push(b'-');
    push2(buf, d);
    buf.push(b'T');
    push2(buf, s / 3600);
    buf.push(b':');
    push2(buf, s / 60 % 60);
    buf.push(b':');
    push2(buf, s % 60);
    buf.extend_from_slice(b"+08:00\"");
}

pub fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// `"C-000042"`: a quoted id, the number zero-padded to `width` digits.
pub fn push_id(buf: &mut Vec<u8>, prefix: &[u8], n: u64, width: usize) {
    buf.push(b'"');
    buf.extend_from_slice(prefix);
    let mut digits = 1;
    let mut rest = n / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    for _ in digits..width {
        buf.push(b'0');
    }
    push_uint(buf, n);
    buf.push(b'"');
}

/// `"12.50"` for 1250 cents.
pub fn push_money(buf: &mut Vec<u8>, cents: u64) {
    buf.push(b'"');
    push_uint(buf, cents / 100);
    buf.push(b'.');
    push2(buf, (cents % 100) as u32);
    buf.push(b'"');
}

/// `"text"`; callers pass only our own ASCII names, which need no escapes.
pub fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}
