//! `rpl gen`: a deterministic generator of realistic event streams (SPEC §11)
//! for backtests, tests and benchmarks.
//!
//! The same seed and options give byte-identical output on every platform and
//! every version of the dependencies: randomness comes from a frozen splitmix64
//! and every draw is integer arithmetic.
//!
//! The shop is simulated day by day. Customers who signed up before the first
//! day are emitted first (oldest first); each day, the customers who sign up and
//! the orders placed that day are drawn, returns that fall due are taken from a
//! heap of pending returns, and the day's events are written sorted by time
//! (ties by the order they were drawn in). A return is planned when its order is
//! written and waits in the heap until its day. Memory holds the customers, the
//! pending returns and one day's events: never the history.
//!
//! Planted abusers (a share of the customers) label their abusive returns
//! `"abuse"`; every other return is `"ok"`:
//! - serial returners order often and send most of it back within days;
//! - refund-only repeaters ask for money back and keep the goods, again and again;
//! - not-received claimers say a parcel the courier delivered never came;
//! - new-account wardrobers buy something expensive within a day of signing up
//!   and return it hours after it arrives.
//!
//! Honest customers give the rules something to get wrong: VIPs who buy and return
//! a lot, parcels left with a neighbour, late requests past day 7.

mod catalog;
mod json;
#[cfg(test)]
mod tests;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};

use catalog::{
    APPAREL, BAGS, BEAUTY, BUY_WEIGHT, CATEGORIES, Catalog, ELECTRONICS, FRESH_FOOD, Group, HOME, JEWELRY,
    RETURN_FACTOR, SHOES, group,
};
use json::{DAY, civil, push_id, push_money, push_str, push_time, push_uint};
use crate::support::rng::Rng;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    /// Same seed and options, same bytes.
    pub seed: u64,
    /// Customers in all: some signed up before `start`, the rest during the window.
    pub customers: usize,
    /// Days simulated, from `start` (midnight, UTC+08:00).
    pub days: u32,
    pub start: NaiveDate,
    /// The share of customers planted as abusers (0 to 1).
    pub abuser_share: f64,
    /// The orders' currency: three uppercase letters.
    pub currency: String,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            customers: 1000,
            days: 90,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            abuser_share: 0.02,
            currency: "CNY".into(),
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GenStats {
    /// Customer events written.
    pub customers: u64,
    /// Customers planted as abusers.
    pub abusers: u64,
    pub orders: u64,
    pub returns: u64,
    /// Returns labelled `"abuse"`.
    pub abusive_returns: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl fmt::Display for GenStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} customers ({} planted abusers), {} orders, {} returns ({} labelled abuse), {} bytes",
            self.customers, self.abusers, self.orders, self.returns, self.abusive_returns, self.bytes
        )
    }
}

/// Writes the event stream for `opts` to `out` (buffered here: a plain writer is
/// fine) and says how much of each kind it wrote. Options out of range are an
/// [`io::ErrorKind::InvalidInput`] error, before anything is written.
pub fn generate(opts: &GenOptions, out: &mut impl Write) -> io::Result<GenStats> {
    validate(opts)?;
    let start_day = i64::from(opts.start.num_days_from_ce()) - UNIX_EPOCH_CE_DAY;
    let start = start_day * DAY;
    let end = start + i64::from(opts.days) * DAY;
    let catalog = Catalog::new(&mut Rng::new(opts.seed, SALT_CATALOG));
    let (mut customers, abusers) = profiles(opts, start);
    let mut rng = Rng::new(opts.seed, SALT_SIMULATION);
    let mut w = Emitter {
        out,
        buf: Vec::with_capacity(FLUSH_AT + 4096),
        currency: opts.currency.clone(),
        stats: GenStats {
            abusers,
            ..GenStats::default()
        },
    };

    // Those who signed up before the window, oldest first; the rest by sign-up.
    let by_signup = |list: &mut Vec<u32>, customers: &[Customer]| {
        list.sort_unstable_by_key(|&i| (customers[i as usize].created_at, i));
    };
    let (mut old, mut fresh): (Vec<u32>, Vec<u32>) =
        (0..customers.len() as u32).partition(|&i| customers[i as usize].created_at < start);
    by_signup(&mut old, &customers);
    by_signup(&mut fresh, &customers);
    for i in old {
        w.customer(&mut customers[i as usize])?;
    }
    let mut fresh = fresh.into_iter().peekable();

    let mut pending: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut today: Vec<Event> = Vec::new();
    let mut seq = 0u64;
    for d in 0..i64::from(opts.days) {
        let day_start = start + d * DAY;
        let day_end = day_start + DAY;
        while let Some(i) = fresh.next_if(|&i| customers[i as usize].created_at < day_end) {
            today.push(Event {
                time: customers[i as usize].created_at,
                seq,
                what: What::Customer(i),
            });
            seq += 1;
        }
        let (boost, tag) = promotion(start_day + d);
        for (i, c) in customers.iter_mut().enumerate() {
            if c.created_at >= day_end {
                continue;
            }
            let forced = c.force_day == d;
            let burst = c.role == Role::Wardrober && d <= c.burst_until;
            let ppm = if burst {
                BURST_PPM
            } else {
                u64::from(c.order_ppm) * boost / 100
            };
            if !forced && !rng.chance_ppm(ppm.min(950_000)) {
                continue;
            }
            let earliest = day_start.max(c.created_at + 120);
            if earliest >= day_end - 600 {
                if forced {
                    c.force_day += 1;
                }
                continue;
            }
            let order = draft_order(&mut rng, &catalog, c, i as u32, earliest, day_end, burst, tag);
            today.push(Event {
                time: order.placed,
                seq,
                what: What::Order(order),
            });
            seq += 1;
        }
        while let Some(Reverse(due)) = pending.peek() {
            if due.time >= day_end {
                break;
            }
            if let Some(Reverse(due)) = pending.pop() {
                today.push(Event {
                    time: due.time,
                    seq: due.seq,
                    what: What::Return(due),
                });
            }
        }
        today.sort_unstable_by_key(|e| (e.time, e.seq));
        for event in today.drain(..) {
            match event.what {
                What::Customer(i) => w.customer(&mut customers[i as usize])?,
                What::Order(order) => {
                    let customer = &customers[order.customer as usize];
                    let number = w.order(&order, customer, &catalog)?;
                    if let Some(mut ret) = plan_return(&mut rng, &catalog, customer, &order) {
                        ret.order_no = number;
                        ret.time = ret.time.max(day_end);
                        if ret.time < end {
                            ret.seq = seq;
                            seq += 1;
                            pending.push(Reverse(ret));
                        }
                    }
                }
                What::Return(ret) => w.ret(&ret, &catalog)?,
            }
        }
    }
    w.finish()
}

/// 1970-01-01 in `NaiveDate::num_days_from_ce` numbering.
const UNIX_EPOCH_CE_DAY: i64 = 719_163;
/// 9999-12-31 as a day number: the last date RFC 3339 can write.
const LAST_DAY: i64 = 2_932_896;

const SALT_CATALOG: u64 = 1;
const SALT_PEOPLE: u64 = 2;
const SALT_SIMULATION: u64 = 3;

const FLUSH_AT: usize = 1 << 16;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn validate(opts: &GenOptions) -> io::Result<()> {
    if !crate::data::is_currency_code(&opts.currency) {
        return Err(invalid(format!(
            "currency {:?} is not a three-letter uppercase code",
            opts.currency
        )));
    }
    if !(0.0..=1.0).contains(&opts.abuser_share) {
        return Err(invalid(format!(
            "the abuser share {} is not between 0 and 1",
            opts.abuser_share
        )));
    }
    if opts.customers > 100_000_000 {
        return Err(invalid(format!(
            "{} customers is more than the 100000000 supported",
            opts.customers
        )));
    }
    let start_day = i64::from(opts.start.num_days_from_ce()) - UNIX_EPOCH_CE_DAY;
    if opts.start.year() < 1975 || start_day + i64::from(opts.days) > LAST_DAY {
        return Err(invalid(format!(
            "{} + {} days is outside the years 1975 to 9999",
            opts.start, opts.days
        )));
    }
    Ok(())
}

// -- Customers ------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Normal,
    Serial,
    RefundOnly,
    NotReceived,
    Wardrober,
}

/// How the planted abusers divide: 4 serial, 3 refund-only, 2 not-received, 1
/// wardrober in every 10 (so a handful of abusers already has every kind).
const ABUSER_MIX: [Role; 10] = [
    Role::Serial,
    Role::RefundOnly,
    Role::NotReceived,
    Role::Wardrober,
    Role::Serial,
    Role::RefundOnly,
    Role::NotReceived,
    Role::Serial,
    Role::RefundOnly,
    Role::Serial,
];

struct Customer {
    /// Local seconds (UTC+08:00) since 1970-01-01.
    created_at: i64,
    /// The number in the customer's id, given when the customer is written.
    id: u32,
    role: Role,
    vip: bool,
    /// Chance of an order on an ordinary day, in millionths.
    order_ppm: u32,
    /// Chance an ordinary order is returned, in thousandths, before the category's factor.
    return_pm: u32,
    favorites: [u8; 3],
    /// A day (index from the start) on which this customer certainly orders.
    force_day: i64,
    /// Wardrobers: the last day of their burst of high-value orders.
    burst_until: i64,
}

/// Orders per day of a wardrober in the days after signing up, in millionths.
const BURST_PPM: u64 = 80_000;

/// Hours of the day people shop and ask for refunds (Beijing time).
const ACTIVE_HOURS: [u32; 24] = [
    3, 2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 9, 8, 8, 8, 8, 8, 9, 11, 13, 14, 12, 7,
];

fn time_of_day(rng: &mut Rng) -> i64 {
    rng.weighted(&ACTIVE_HOURS) as i64 * 3600 + rng.below(3600) as i64
}

fn span(rng: &mut Rng, weights: &[u32], ranges: &[(i64, i64)]) -> i64 {
    let (lo, hi) = ranges[rng.weighted(weights)];
    rng.range(lo, hi)
}

/// Everyone's profile, and how many are planted abusers.
fn profiles(opts: &GenOptions, start: i64) -> (Vec<Customer>, u64) {
    let mut rng = Rng::new(opts.seed, SALT_PEOPLE);
    let n = opts.customers;
    let abusers = ((n as f64 * opts.abuser_share).round() as usize).min(n);
    let mut roles = vec![Role::Normal; n];
    for (j, role) in roles.iter_mut().take(abusers).enumerate() {
        *role = ABUSER_MIX[j % ABUSER_MIX.len()];
    }
    for i in (1..n).rev() {
        roles.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let days = i64::from(opts.days);
    let customers = roles
        .into_iter()
        .map(|role| {
            let joins_during = days > 0
                && match role {
                    Role::Normal => rng.chance(250),
                    Role::Wardrober => true,
                    _ => rng.chance(500),
                };
            let created_at = if joins_during {
                start + rng.range(0, days - 1) * DAY + time_of_day(&mut rng)
            } else {
                start - rng.range(DAY, 4 * 365 * DAY)
            };
            let vip = !joins_during && role == Role::Normal && rng.chance(40);
            const ORDER_TIERS: [(i64, i64); 4] =
                [(5_000, 20_000), (20_000, 50_000), (50_000, 120_000), (120_000, 250_000)];
            const RETURN_TIERS: [(i64, i64); 4] = [(15, 50), (50, 100), (100, 200), (200, 350)];
            let (order_ppm, return_pm, favorites) = match role {
                Role::Normal => {
                    let mut order_tier = rng.weighted(&[45, 35, 15, 5]);
                    let mut return_tier = rng.weighted(&[30, 50, 15, 5]);
                    if vip {
                        order_tier = order_tier.max(2);
                        return_tier = (return_tier + 1).min(3);
                    }
                    let (lo, hi) = ORDER_TIERS[order_tier];
                    let order_ppm = rng.range(lo, hi);
                    let (lo, hi) = RETURN_TIERS[return_tier];
                    let return_pm = rng.range(lo, hi);
                    let mut favorites = [0; 3];
                    for f in &mut favorites {
                        *f = rng.weighted(&BUY_WEIGHT) as u8;
                    }
                    (order_ppm, return_pm, favorites)
                }
                Role::Serial => (rng.range(100_000, 250_000), 80, [APPAREL, SHOES, BAGS]),
                Role::RefundOnly => (rng.range(50_000, 150_000), 80, [BEAUTY, HOME, ELECTRONICS]),
                Role::NotReceived => (rng.range(40_000, 100_000), 60, [ELECTRONICS, BEAUTY, JEWELRY]),
                Role::Wardrober => (rng.range(5_000, 20_000), 100, [ELECTRONICS, BAGS, APPAREL]),
            };
            let (force_day, burst_until) = if role == Role::Wardrober {
                let day = (created_at - start).div_euclid(DAY);
                let late = created_at.rem_euclid(DAY) >= 20 * 3600;
                let first = day + i64::from(late);
                (first, first + 5)
            } else {
                (-1, -1)
            };
            Customer {
                created_at,
                id: 0,
                role,
                vip,
                order_ppm: order_ppm as u32,
                return_pm: return_pm as u32,
                favorites,
                force_day,
                burst_until,
            }
        })
        .collect();
    (customers, abusers as u64)
}

/// How busy a day is, in percent, and the tag its orders carry (index in TAGS).
fn promotion(day: i64) -> (u64, u8) {
    let (_, month, date) = civil(day);
    let weekend = matches!((day + 4).rem_euclid(7), 0 | 6);
    match (month, date) {
        (11, 11) => (400, 1),
        (11, 10) | (11, 12) => (150, 0),
        (6, 18) => (300, 2),
        (6, 17) => (150, 0),
        (12, 12) => (200, 3),
        _ if weekend => (115, 0),
        _ => (100, 0),
    }
}

const TAGS: [&str; 4] = ["", "double11", "618", "double12"];

// -- Orders -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Line {
    product: u32,
    quantity: u8,
}

struct Order {
    customer: u32,
    placed: i64,
    paid: i64,
    shipped: Option<i64>,
    delivered: Option<i64>,
    fee_cents: u64,
    insurance: bool,
    tag: u8,
    /// A wardrober's burst order: one expensive item.
    high_value: bool,
    n: u8,
    lines: [Line; 3],
}

impl Order {
    fn lines(&self) -> &[Line] {
        &self.lines[..usize::from(self.n)]
    }
}

#[allow(clippy::too_many_arguments)]
fn draft_order(
    rng: &mut Rng,
    catalog: &Catalog,
    c: &Customer,
    customer: u32,
    earliest: i64,
    day_end: i64,
    high_value: bool,
    tag: u8,
) -> Order {
    let mut placed = day_end - DAY + time_of_day(rng);
    if placed < earliest {
        placed = earliest + rng.range(0, day_end - earliest - 600);
    }
    let mut lines = [Line::default(); 3];
    let mut n = 0;
    if high_value {
        let list = &catalog.high_value;
        lines[0] = Line {
            product: list[rng.index(list.len())],
            quantity: 1,
        };
        n = 1;
    } else {
        let favor = if c.role == Role::Normal { 500 } else { 850 };
        let want = 1 + rng.weighted(&[70, 22, 8]);
        for _ in 0..want {
            let category = if rng.chance(favor) {
                c.favorites[rng.below(3) as usize]
            } else {
                rng.weighted(&BUY_WEIGHT) as u8
            };
            let product = catalog.pick(rng, category);
            if lines[..n].iter().any(|l| l.product == product) {
                continue;
            }
            let quantity = if catalog.product(product).cents >= 1000 * 100 {
                1
            } else {
                1 + rng.weighted(&[850, 100, 40, 10]) as u8
            };
            lines[n] = Line { product, quantity };
            n += 1;
        }
    }
    let fresh = lines[..n]
        .iter()
        .any(|l| catalog.product(l.product).category == FRESH_FOOD);
    let paid = placed
        + if rng.chance(950) {
            rng.range(10, 600)
        } else {
            rng.range(600, 7200)
        };
    // 0.4% never ship, 1.1% are lost on the way; wardrobers' orders always arrive.
    let fate = if high_value { 999 } else { rng.below(1000) };
    let shipped = (fate >= 4).then(|| {
        let wait = if fresh {
            rng.range(2 * 3600, 12 * 3600)
        } else {
            span(
                rng,
                &[50, 35, 15],
                &[(3 * 3600, 24 * 3600), (24 * 3600, 48 * 3600), (48 * 3600, 96 * 3600)],
            )
        };
        let rush = if tag != 0 { rng.range(0, 48 * 3600) } else { 0 };
        paid + wait + rush
    });
    let delivered = shipped.filter(|_| fate >= 15).map(|s| {
        let days = if fresh {
            1
        } else {
            1 + rng.weighted(&[40, 35, 15, 7, 3]) as i64
        };
        let at = (s.div_euclid(DAY) + days) * DAY + rng.range(9 * 3600, 21 * 3600);
        if at < s + 7200 {
            s + 7200 + rng.range(0, 6 * 3600)
        } else {
            at
        }
    });
    let fee_cents = if rng.chance(750) {
        0
    } else {
        [600, 800, 1000, 1200, 1500][rng.below(5) as usize]
    };
    Order {
        customer,
        placed,
        paid,
        shipped,
        delivered,
        fee_cents,
        insurance: rng.chance(550),
        tag,
        high_value,
        n: n as u8,
        lines,
    }
}

// -- Returns ------------------------------------------------------------------------

const TYPES: [&str; 3] = ["return_refund", "refund_only", "exchange"];
const RETURN_REFUND: u8 = 0;
const REFUND_ONLY: u8 = 1;
const EXCHANGE: u8 = 2;

const REASONS: [&str; 9] = [
    "changed_mind",
    "size_fit",
    "quality_defect",
    "wrong_item",
    "not_as_described",
    "damaged_in_transit",
    "not_received",
    "missing_parts",
    "spoiled",
];
const CHANGED_MIND: u8 = 0;
const SIZE_FIT: u8 = 1;
const QUALITY_DEFECT: u8 = 2;
const WRONG_ITEM: u8 = 3;
const NOT_AS_DESCRIBED: u8 = 4;
const DAMAGED: u8 = 5;
const NOT_RECEIVED: u8 = 6;
const MISSING_PARTS: u8 = 7;
const SPOILED: u8 = 8;

/// Index 0 means "not given".
const CONDITIONS: [&str; 5] = ["", "unused", "unopened", "opened", "used"];
const UNUSED: u8 = 1;
const UNOPENED: u8 = 2;
const OPENED: u8 = 3;
const USED: u8 = 4;

/// Index 0 means "not given".
const EVIDENCE: [&str; 4] = ["", r#"["photo"]"#, r#"["photo","video"]"#, r#"["chat_log"]"#];
const CHAT_LOG: u8 = 3;

#[derive(Debug, Clone, Copy, Default)]
struct ReturnLine {
    product: u32,
    quantity: u8,
    condition: u8,
}

/// A return waiting for its day.
#[derive(Debug, Clone)]
struct Pending {
    time: i64,
    seq: u64,
    order_no: u64,
    kind: u8,
    reason: u8,
    evidence: u8,
    abuse: bool,
    n: u8,
    lines: [ReturnLine; 3],
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// A request at a Beijing-time hour `lo..=hi` calendar days after `from`, and after it.
fn days_after(rng: &mut Rng, from: i64, lo: i64, hi: i64) -> i64 {
    let days = rng.range(lo, hi);
    let at = (from.div_euclid(DAY) + days) * DAY + time_of_day(rng);
    if at <= from + 600 {
        from + rng.range(1200, 4 * 3600)
    } else {
        at
    }
}

fn pick(rng: &mut Rng, table: &[(u8, u32)]) -> u8 {
    let mut weights = [0u32; 8];
    for (w, &(_, weight)) in weights.iter_mut().zip(table) {
        *w = weight;
    }
    table[rng.weighted(&weights[..table.len()])].0
}

struct Plan {
    time: i64,
    kind: u8,
    reason: u8,
    evidence: u8,
    abuse: bool,
}

/// Returns these of the order's lines (indices), each with its condition.
fn pending(order: &Order, plan: Plan, chosen: &[(usize, u8, u8)]) -> Pending {
    let mut lines = [ReturnLine::default(); 3];
    for (slot, &(i, quantity, condition)) in lines.iter_mut().zip(chosen) {
        *slot = ReturnLine {
            product: order.lines[i].product,
            quantity,
            condition,
        };
    }
    Pending {
        time: plan.time,
        seq: 0,
        order_no: 0,
        kind: plan.kind,
        reason: plan.reason,
        evidence: plan.evidence,
        abuse: plan.abuse,
        n: chosen.len() as u8,
        lines,
    }
}

/// Every line, all of it.
fn whole(order: &Order, plan: Plan, condition: u8) -> Pending {
    let mut chosen = [(0, 0, 0); 3];
    for (i, slot) in chosen.iter_mut().enumerate().take(usize::from(order.n)) {
        *slot = (i, order.lines[i].quantity, condition);
    }
    pending(order, plan, &chosen[..usize::from(order.n)])
}

fn condition_for(rng: &mut Rng, reason: u8, category: u8) -> u8 {
    match reason {
        CHANGED_MIND if category == ELECTRONICS => pick(rng, &[(UNOPENED, 35), (UNUSED, 30), (OPENED, 35)]),
        CHANGED_MIND => pick(rng, &[(UNOPENED, 40), (UNUSED, 50), (OPENED, 10)]),
        SIZE_FIT => pick(rng, &[(UNUSED, 85), (USED, 15)]),
        WRONG_ITEM => pick(rng, &[(UNOPENED, 50), (OPENED, 50)]),
        DAMAGED => pick(rng, &[(OPENED, 80), (UNOPENED, 20)]),
        SPOILED => OPENED,
        NOT_RECEIVED => 0,
        _ => pick(rng, &[(OPENED, 60), (USED, 40)]),
    }
}

fn evidence_for(rng: &mut Rng, reason: u8) -> u8 {
    match reason {
        CHANGED_MIND | SIZE_FIT => 0,
        NOT_RECEIVED => pick(rng, &[(0, 70), (CHAT_LOG, 30)]),
        _ => pick(rng, &[(0, 25), (1, 60), (2, 15)]),
    }
}

/// The return (if any) the customer will ask for on this order.
fn plan_return(rng: &mut Rng, catalog: &Catalog, c: &Customer, order: &Order) -> Option<Pending> {
    let delivered = order.delivered;
    match (c.role, delivered) {
        (Role::Serial, Some(at)) if rng.chance(800) => Some(serial_return(rng, order, at)),
        (Role::RefundOnly, Some(at)) if rng.chance(650) => Some(refund_only_return(rng, order, at)),
        (Role::NotReceived, Some(at)) if rng.chance(550) => Some(not_received_claim(rng, order, at)),
        (Role::Wardrober, Some(at)) if order.high_value && rng.chance(900) => {
            let reason = pick(rng, &[(CHANGED_MIND, 60), (NOT_AS_DESCRIBED, 40)]);
            let plan = Plan {
                time: at + rng.range(2 * 3600, 20 * 3600),
                kind: RETURN_REFUND,
                reason,
                evidence: if reason == CHANGED_MIND { 0 } else { 1 },
                abuse: true,
            };
            let condition = pick(rng, &[(UNUSED, 60), (OPENED, 40)]);
            Some(whole(order, plan, condition))
        }
        _ => honest_return(rng, catalog, c, order),
    }
}

fn serial_return(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let reason = pick(rng, &[(CHANGED_MIND, 55), (SIZE_FIT, 25), (NOT_AS_DESCRIBED, 20)]);
    let plan = Plan {
        time: days_after(rng, delivered, 0, 3),
        kind: RETURN_REFUND,
        reason,
        evidence: evidence_for(rng, reason),
        abuse: true,
    };
    let condition = pick(rng, &[(UNUSED, 60), (USED, 30), (OPENED, 10)]);
    if order.n > 1 && rng.chance(600) {
        return whole(order, plan, condition);
    }
    let i = rng.below(u64::from(order.n)) as usize;
    pending(order, plan, &[(i, order.lines[i].quantity, condition)])
}

fn refund_only_return(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let reason = pick(
        rng,
        &[
            (QUALITY_DEFECT, 35),
            (NOT_AS_DESCRIBED, 25),
            (MISSING_PARTS, 20),
            (DAMAGED, 20),
        ],
    );
    let plan = Plan {
        time: days_after(rng, delivered, 0, 4),
        kind: REFUND_ONLY,
        reason,
        evidence: pick(rng, &[(0, 40), (1, 60)]),
        abuse: true,
    };
    let i = rng.below(u64::from(order.n)) as usize;
    let condition = pick(rng, &[(OPENED, 50), (USED, 50)]);
    pending(order, plan, &[(i, order.lines[i].quantity, condition)])
}

fn not_received_claim(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let plan = Plan {
        time: days_after(rng, delivered, 0, 3),
        kind: if rng.chance(900) { REFUND_ONLY } else { RETURN_REFUND },
        reason: NOT_RECEIVED,
        evidence: evidence_for(rng, NOT_RECEIVED),
        abuse: true,
    };
    whole(order, plan, 0)
}

fn honest_return(rng: &mut Rng, catalog: &Catalog, c: &Customer, order: &Order) -> Option<Pending> {
    let Some(delivered) = order.delivered else {
        // Lost or never shipped: most buyers ask for their money after a week or two.
        if !rng.chance(600) {
            return None;
        }
        let from = order.shipped.unwrap_or(order.paid);
        let plan = Plan {
            time: days_after(rng, from, 5, 14),
            kind: REFUND_ONLY,
            reason: NOT_RECEIVED,
            evidence: evidence_for(rng, NOT_RECEIVED),
            abuse: false,
        };
        return Some(whole(order, plan, 0));
    };
    if rng.chance_ppm(2500) {
        // Left with a neighbour or a parcel locker: signed for, honestly missed.
        let plan = Plan {
            time: days_after(rng, delivered, 0, 3),
            kind: REFUND_ONLY,
            reason: NOT_RECEIVED,
            evidence: evidence_for(rng, NOT_RECEIVED),
            abuse: false,
        };
        return Some(whole(order, plan, 0));
    }
    let mut factors = [0u32; 3];
    for (f, line) in factors.iter_mut().zip(order.lines()) {
        *f = RETURN_FACTOR[usize::from(catalog.product(line.product).category)] as u32;
    }
    let factors = &factors[..usize::from(order.n)];
    let top = u64::from(factors.iter().copied().max().unwrap_or(0));
    let several = if order.n > 1 { 115 } else { 100 };
    let chance = (u64::from(c.return_pm) * top / 100 * several / 100).min(900);
    if !rng.chance(chance) {
        return None;
    }
    let i = rng.weighted(factors);
    let category = catalog.product(order.lines[i].product).category;
    let g = group(category);
    let kind = match g {
        Group::Perishable if rng.chance(850) => REFUND_ONLY,
        Group::Perishable => RETURN_REFUND,
        _ => match rng.below(1000) {
            0..40 => REFUND_ONLY,
            40..130 if g == Group::Fit => EXCHANGE,
            _ => RETURN_REFUND,
        },
    };
    let reason = match (kind, g) {
        (REFUND_ONLY, Group::Perishable) => pick(
            rng,
            &[(QUALITY_DEFECT, 30), (DAMAGED, 35), (SPOILED, 30), (WRONG_ITEM, 5)],
        ),
        (REFUND_ONLY, _) => pick(
            rng,
            &[
                (QUALITY_DEFECT, 30),
                (DAMAGED, 25),
                (MISSING_PARTS, 20),
                (WRONG_ITEM, 15),
                (NOT_AS_DESCRIBED, 10),
            ],
        ),
        (EXCHANGE, _) => pick(rng, &[(SIZE_FIT, 75), (QUALITY_DEFECT, 25)]),
        (_, Group::Fit) => pick(
            rng,
            &[
                (CHANGED_MIND, 30),
                (SIZE_FIT, 40),
                (QUALITY_DEFECT, 10),
                (NOT_AS_DESCRIBED, 12),
                (WRONG_ITEM, 5),
                (DAMAGED, 3),
            ],
        ),
        (_, Group::Durable) => pick(
            rng,
            &[
                (CHANGED_MIND, 35),
                (QUALITY_DEFECT, 25),
                (NOT_AS_DESCRIBED, 15),
                (WRONG_ITEM, 6),
                (DAMAGED, 10),
                (MISSING_PARTS, 9),
            ],
        ),
        (_, Group::Perishable) => pick(rng, &[(QUALITY_DEFECT, 40), (DAMAGED, 40), (WRONG_ITEM, 20)]),
        (_, Group::Other) => pick(
            rng,
            &[
                (CHANGED_MIND, 25),
                (QUALITY_DEFECT, 25),
                (NOT_AS_DESCRIBED, 20),
                (WRONG_ITEM, 15),
                (DAMAGED, 15),
            ],
        ),
    };
    // Days after delivery: most within the week, some well after it.
    let days = if g == Group::Perishable || reason == DAMAGED {
        span(rng, &[60, 35, 5], &[(0, 1), (2, 3), (4, 7)])
    } else {
        span(rng, &[30, 40, 17, 9, 4], &[(0, 1), (2, 4), (5, 7), (8, 14), (15, 30)])
    };
    let plan = Plan {
        time: days_after(rng, delivered, days, days),
        kind,
        reason,
        evidence: evidence_for(rng, reason),
        abuse: false,
    };
    let some = |rng: &mut Rng, i: usize| {
        let ordered = order.lines[i].quantity;
        let quantity = if ordered > 1 && rng.chance(700) { 1 } else { ordered };
        let condition = condition_for(rng, reason, catalog.product(order.lines[i].product).category);
        (i, quantity, condition)
    };
    let first = some(rng, i);
    if order.n > 1 && rng.chance(150) {
        let j = (i + 1 + rng.below(u64::from(order.n) - 1) as usize) % usize::from(order.n);
        let second = some(rng, j);
        return Some(pending(order, plan, &[first, second]));
    }
    Some(pending(order, plan, &[first]))
}

// -- Writing ----------------------------------------------------------------------

enum What {
    Customer(u32),
    Order(Order),
    Return(Pending),
}

struct Event {
    time: i64,
    seq: u64,
    what: What,
}

struct Emitter<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    currency: String,
    stats: GenStats,
}

impl<W: Write> Emitter<'_, W> {
    fn line_done(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.stats.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<GenStats> {
        self.flush_buf()?;
        self.out.flush()?;
        Ok(self.stats)
    }

    fn customer(&mut self, c: &mut Customer) -> io::Result<()> {
        self.stats.customers += 1;
        c.id = self.stats.customers as u32;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"customer","id":"#);
        push_id(b, b"C-", u64::from(c.id), 6);
        b.extend_from_slice(br#","created_at":"#);
        push_time(b, c.created_at);
        b.extend_from_slice(if c.vip {
            br#","vip":true,"tags":[]}"#
        } else {
            br#","vip":false,"tags":[]}"#
        });
        self.line_done()
    }

    /// Writes the order and returns the number in its id.
    fn order(&mut self, o: &Order, c: &Customer, catalog: &Catalog) -> io::Result<u64> {
        self.stats.orders += 1;
        let number = self.stats.orders;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"order","id":"#);
        push_id(b, b"O-", number, 8);
        b.extend_from_slice(br#","customer_id":"#);
        push_id(b, b"C-", u64::from(c.id), 6);
        b.extend_from_slice(br#","currency":"#);
        push_str(b, &self.currency);
        b.extend_from_slice(br#","placed_at":"#);
        push_time(b, o.placed);
        b.extend_from_slice(br#","paid_at":"#);
        push_time(b, o.paid);
        if let Some(t) = o.shipped {
            b.extend_from_slice(br#","shipped_at":"#);
            push_time(b, t);
        }
        if let Some(t) = o.delivered {
            b.extend_from_slice(br#","delivered_at":"#);
            push_time(b, t);
        }
        b.extend_from_slice(br#","shipping_fee":"#);
        push_money(b, o.fee_cents);
        b.extend_from_slice(if o.insurance {
            br#","shipping_insurance":true,"tags":["#
        } else {
            br#","shipping_insurance":false,"tags":["#
        });
        if o.tag != 0 {
            push_str(b, TAGS[usize::from(o.tag)]);
        }
        b.extend_from_slice(br#"],"items":["#);
        for (k, line) in o.lines().iter().enumerate() {
            let p = catalog.product(line.product);
            if k > 0 {
                b.push(b',');
            }
            b.extend_from_slice(br#"{"sku":"#);
            push_str(b, &p.sku);
            b.extend_from_slice(br#","category":"#);
            push_str(b, CATEGORIES[usize::from(p.category)]);
            b.extend_from_slice(br#","unit_price":"#);
            push_str(b, &p.price);
            b.extend_from_slice(br#","quantity":"#);
            push_uint(b, u64::from(line.quantity));
            b.push(b'}');
        }
        b.extend_from_slice(b"]}");
        self.line_done()?;
        Ok(number)
    }

    fn ret(&mut self, r: &Pending, catalog: &Catalog) -> io::Result<()> {
        self.stats.returns += 1;
        self.stats.abusive_returns += u64::from(r.abuse);
        let number = self.stats.returns;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"return","id":"#);
        push_id(b, b"R-", number, 8);
        b.extend_from_slice(br#","order_id":"#);
        push_id(b, b"O-", r.order_no, 8);
        b.extend_from_slice(br#","requested_at":"#);
        push_time(b, r.time);
        b.extend_from_slice(br#","type":"#);
        push_str(b, TYPES[usize::from(r.kind)]);
        b.extend_from_slice(br#","reason":"#);
        push_str(b, REASONS[usize::from(r.reason)]);
        b.extend_from_slice(br#","items":["#);
        for (k, line) in r.lines[..usize::from(r.n)].iter().enumerate() {
            if k > 0 {
                b.push(b',');
            }
            b.extend_from_slice(br#"{"sku":"#);
            push_str(b, &catalog.product(line.product).sku);
            b.extend_from_slice(br#","quantity":"#);
            push_uint(b, u64::from(line.quantity));
            if line.condition != 0 {
                b.extend_from_slice(br#","condition":"#);
                push_str(b, CONDITIONS[usize::from(line.condition)]);
            }
            b.push(b'}');
        }
        b.push(b']');
        if r.evidence != 0 {
            b.extend_from_slice(br#","evidence":"#);
            b.extend_from_slice(EVIDENCE[usize::from(r.evidence)].as_bytes());
        }
        b.extend_from_slice(if r.abuse {
            br#","label":"abuse"}"#
        } else {
            br#","label":"ok"}"#
        });
        self.line_done()
    }
}
