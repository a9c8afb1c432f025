//! The records every engine judges: built once, deterministically, before any
//! timing. One `Record` is the engine-neutral truth; each engine gets its own
//! input built from it (an rpl `Case`, a cedar `Request`, a CEL value, a zen
//! `Variable`), also before timing.

pub const DAY: i64 = 86_400;
/// Asia/Shanghai is UTC+08:00 all year (no DST since 1991), so a calendar day
/// there is `(t + 8 h) div 1 day`.
pub const SHANGHAI_OFFSET: i64 = 8 * 3600;

pub const CATEGORIES: [&str; 12] = [
    "apparel",
    "shoes",
    "electronics",
    "home",
    "beauty",
    "books",
    "toys",
    "custom",
    "engraved",
    "fresh_food",
    "underwear",
    "digital",
];
/// The non-returnable set: custom, engraved, fresh_food, underwear, digital.
pub const NON_RETURNABLE: [&str; 5] = ["custom", "engraved", "fresh_food", "underwear", "digital"];

pub const REASONS: [&str; 7] = [
    "changed_mind",
    "quality_defect",
    "wrong_item",
    "not_as_described",
    "damaged_in_transit",
    "size_issue",
    "other",
];
pub const CHANGED_MIND: u8 = 0;
pub const MERCHANT_FAULT: [&str; 4] = ["quality_defect", "wrong_item", "not_as_described", "damaged_in_transit"];
const REASON_WEIGHTS: [u32; 7] = [45, 12, 8, 8, 5, 12, 10];

/// The rule set's parameters, shared by every engine's source.
pub const SERIAL_RETURNS_30D: u32 = 3;
pub const SERIAL_SCORE: i64 = 40;
pub const RATE_SCORE: i64 = 30;
pub const RISKY_AT: i64 = 50;

/// The first request is on 2026-03-01 (UTC), the last two months later.
const BASE: i64 = 1_772_323_200;

#[derive(Debug, Clone)]
pub struct Line {
    pub category: u8,
    pub amount_cents: i64,
}

/// History aggregates, precomputed for engines that cannot aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aggs {
    pub returns_30d: u32,
    pub returns_90d: u32,
    pub orders_90d: u32,
}

#[derive(Debug, Clone)]
pub struct Record {
    /// `return.requested_at`, epoch seconds.
    pub now: i64,
    pub placed_at: i64,
    pub delivered_at: Option<i64>,
    /// Calendar day numbers in Asia/Shanghai (precomputed for engines without time zones).
    pub now_day: i64,
    pub delivered_day: Option<i64>,
    pub reason: u8,
    pub shipping_insurance: bool,
    pub lines: Vec<Line>,
    /// `requested_at` of the customer's earlier returns.
    pub returns: Vec<i64>,
    /// `placed_at` of the customer's earlier orders.
    pub orders: Vec<i64>,
    pub aggs: Aggs,
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

pub fn local_day(t: i64) -> i64 {
    (t + SHANGHAI_OFFSET).div_euclid(DAY)
}

/// The aggregates of docs/language.md §5: a window is `now - N days <= t < now`.
pub fn aggregate(now: i64, returns: &[i64], orders: &[i64]) -> Aggs {
    let mut a = Aggs::default();
    for &t in returns {
        if t < now {
            a.returns_30d += u32::from(t >= now - 30 * DAY);
            a.returns_90d += u32::from(t >= now - 90 * DAY);
        }
    }
    for &t in orders {
        if t < now && t >= now - 90 * DAY {
            a.orders_90d += 1;
        }
    }
    a
}

/// How long ago a history event happened: mostly recent, some right on a
/// window's edge, a few at `now` itself (not "before", so never counted).
fn event_time(rng: &mut Rng, now: i64) -> i64 {
    match rng.below(100) {
        0..=1 => now - 30 * DAY,
        2..=3 => now - 90 * DAY,
        4 => now,
        5..=6 => now - 30 * DAY - 1,
        7..=46 => now - rng.range(1, 30 * DAY - 1),
        47..=81 => now - rng.range(30 * DAY, 90 * DAY),
        _ => now - rng.range(90 * DAY, 150 * DAY),
    }
}

pub fn generate(n: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let now = BASE + rng.range(0, 60 * DAY);
            let delivered_at = rng.percent(85).then(|| now - rng.range(0, 15 * DAY));
            let placed_at = delivered_at.unwrap_or(now) - rng.range(DAY / 2, 6 * DAY);
            let reason = rng.weighted(&REASON_WEIGHTS) as u8;
            let shipping_insurance = rng.percent(30);
            let line_count = if rng.percent(70) { 1 } else { 2 };
            let lines = (0..line_count)
                .map(|_| Line {
                    category: rng.below(CATEGORIES.len() as u64) as u8,
                    amount_cents: rng.range(1_000, 99_999),
                })
                .collect();
            let events = rng.below(11);
            let return_share = [25, 50, 80][rng.below(3) as usize];
            let mut returns = Vec::new();
            let mut orders = Vec::new();
            for _ in 0..events {
                let t = event_time(&mut rng, now);
                if rng.percent(return_share) {
                    returns.push(t);
                } else {
                    orders.push(t);
                }
            }
            returns.sort_unstable();
            orders.sort_unstable();
            let aggs = aggregate(now, &returns, &orders);
            Record {
                now,
                placed_at,
                delivered_at,
                now_day: local_day(now),
                delivered_day: delivered_at.map(local_day),
                reason,
                shipping_insurance,
                lines,
                returns,
                orders,
                aggs,
            }
        })
        .collect()
}

/// `(year, month, day)` of a day number (days since 1970-01-01).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// RFC 3339 in Shanghai's offset.
pub fn rfc3339(t: i64) -> String {
    let local = t + SHANGHAI_OFFSET;
    let (y, m, d) = civil(local.div_euclid(DAY));
    let s = local.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The record as an rpl case (docs/language.md §4).
pub fn case_json(i: usize, r: &Record) -> serde_json::Value {
    use serde_json::json;
    let mut order = json!({
        "id": format!("O-{i}"),
        "customer_id": format!("C-{i}"),
        "currency": "CNY",
        "placed_at": rfc3339(r.placed_at),
        "shipping_insurance": r.shipping_insurance,
        "items": r.lines.iter().enumerate().map(|(k, l)| json!({
            "sku": format!("SKU-{k}"),
            "category": CATEGORIES[l.category as usize],
            "unit_price": money(l.amount_cents),
            "quantity": 1,
        })).collect::<Vec<_>>(),
    });
    if let (Some(d), Some(o)) = (r.delivered_at, order.as_object_mut()) {
        o.insert("delivered_at".into(), json!(rfc3339(d)));
    }
    json!({
        "order": order,
        "return": {
            "id": format!("R-{i}"),
            "requested_at": rfc3339(r.now),
            "type": "return_refund",
            "reason": REASONS[r.reason as usize],
            "items": (0..r.lines.len()).map(|k| json!({
                "sku": format!("SKU-{k}"), "quantity": 1, "condition": "unused",
            })).collect::<Vec<_>>(),
        },
        "history": {
            "orders": r.orders.iter().enumerate().map(|(k, t)| json!({
                "id": format!("HO-{k}"), "placed_at": rfc3339(*t), "total": "100.00",
            })).collect::<Vec<_>>(),
            "returns": r.returns.iter().enumerate().map(|(k, t)| json!({
                "id": format!("HR-{k}"), "order_id": format!("HO-{k}"), "requested_at": rfc3339(*t),
                "type": "return_refund", "reason": "changed_mind", "amount": "50.00", "status": "refunded",
            })).collect::<Vec<_>>(),
        },
    })
}
