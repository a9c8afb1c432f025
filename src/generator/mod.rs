//! `rpl gen`: a deterministic generator of realistic event streams (docs/language.md §11)
//! for backtests, tests and benchmarks.
//!
//! The same seed and options give byte-identical output on every platform and
//! every version of the dependencies: randomness comes from a frozen splitmix64
//! and every draw is integer arithmetic.
//!
//! The shop is simulated day by day. Customers who signed up before the first
//! day are emitted first (oldest first); each day, the customers who sign up and
//! the orders placed that day are drawn and sorted by time (ties by the order
//! they were drawn in), and written merged with what falls due from a heap of
//! pending events. An order is written as it is placed (paid, not yet
//! shipped); when it is written, what will become of it goes into the heap:
//! an `order_update` when it ships, another when it is delivered (each
//! reported a few minutes after the fact), or one when it is cancelled, and
//! the return it will get, if any. Memory holds the customers, the pending
//! events and one day's orders: never the history.
//!
//! Planted abusers (a share of the customers) label their abusive returns
//! `"abuse"`; every other return is `"ok"`:
//! - serial returners order often and send most of it back within days;
//! - refund-only repeaters ask for money back and keep the goods, again and again;
//! - not-received claimers say a parcel the courier delivered never came (as
//!   opposed to honest buyers asking after a parcel still in transit, whose
//!   claims are labelled `"ok"`);
//! - new-account wardrobers buy something expensive within a day of signing up
//!   and return it hours after it arrives.
//!
//! Honest customers give the rules something to get wrong: VIPs who buy and return
//! a lot, parcels left with a neighbour, parcels slow in transit, late requests
//! past day 7.

mod catalog;
mod emit;
mod json;
mod plan;
#[cfg(feature = "internals")]
pub(crate) mod policy;
#[cfg(test)]
mod tests;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};

use crate::support::rng::Rng;
use catalog::{
    APPAREL, BAGS, BEAUTY, BUY_WEIGHT, CATEGORIES, Catalog, ELECTRONICS, FRESH_FOOD, Group, HOME, JEWELRY,
    RETURN_FACTOR, SHOES, group,
};
use emit::{Due, Emitter, Event, Later, What};
use json::{DAY, civil, push_id, push_money, push_str, push_time, push_uint};
use plan::{CONDITIONS, EVIDENCE, Pending, REASONS, TYPES, plan_return};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GenOptions {
    /// Same seed and options, same bytes.
    pub seed: u64,
    /// Customers in all: some signed up before `start`, the rest during the window.
    pub customers: usize,
    /// Days simulated, from `start` (midnight, UTC+08:00).
    pub days: u32,
    /// The first day simulated.
    pub start: NaiveDate,
    /// The share of customers planted as abusers (0 to 1).
    pub abuser_share: f64,
    /// The orders' currency: three uppercase letters.
    pub currency: String,
    /// Also write an `inspection` event for each line sent back (a few days
    /// after the request), with swaps planted on abusive returns
    /// (docs/language.md §11.17). Off, the stream is as it always was.
    pub inspections: bool,
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
            inspections: false,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GenStats {
    /// Customer events written.
    pub customers: u64,
    /// Customers planted as abusers.
    pub abusers: u64,
    /// Order events written.
    pub orders: u64,
    /// Order update events written (shipped, delivered, cancelled).
    pub order_updates: u64,
    /// Orders cancelled.
    pub cancelled: u64,
    /// Return events written.
    pub returns: u64,
    /// Returns labelled `"abuse"`.
    pub abusive_returns: u64,
    /// Inspection events written (with `inspections`).
    #[serde(skip_serializing_if = "is_zero")]
    pub inspections: u64,
    /// Inspections that found a different item than the one sold.
    #[serde(skip_serializing_if = "is_zero")]
    pub swaps: u64,
    /// Bytes written.
    pub bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl fmt::Display for GenStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} customers ({} planted abusers), {} orders ({} updates, {} cancelled), {} returns ({} labelled abuse), {} bytes",
            self.customers,
            self.abusers,
            self.orders,
            self.order_updates,
            self.cancelled,
            self.returns,
            self.abusive_returns,
            self.bytes
        )?;
        if self.inspections > 0 {
            write!(f, "; {} inspections ({} swaps)", self.inspections, self.swaps)?;
        }
        Ok(())
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
    // Inspections draw from their own stream: with them or without, the rest is the same.
    let mut inspection_rng = Rng::new(opts.seed, SALT_INSPECTION);
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

    let mut pending: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
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
        today.sort_unstable_by_key(|e| (e.time, e.seq));
        // The day's sign-ups and orders, merged in time order with what falls
        // due today (an order's own updates may: fresh food ships within hours).
        let mut drawn = std::mem::take(&mut today).into_iter().peekable();
        loop {
            let due = pending
                .peek()
                .filter(|Reverse(due)| due.time < day_end)
                .map(|Reverse(due)| (due.time, due.seq));
            let next = drawn.peek().map(|e| (e.time, e.seq));
            let take_due = match (due, next) {
                (None, None) => break,
                (Some(due), Some(next)) => due < next,
                (due, _) => due.is_some(),
            };
            if take_due {
                if let Some(Reverse(due)) = pending.pop() {
                    match due.what {
                        Later::Update(u) => w.update(&u)?,
                        Later::Return(ret) => {
                            let number = w.ret(&ret, &catalog)?;
                            if opts.inspections {
                                for found in inspections(&mut inspection_rng, &ret, number) {
                                    if found.at < end {
                                        pending.push(Reverse(Due {
                                            time: found.at,
                                            seq,
                                            what: Later::Inspection(found),
                                        }));
                                        seq += 1;
                                    }
                                }
                            }
                        }
                        Later::Inspection(found) => w.inspection(&found, &catalog)?,
                    }
                }
                continue;
            }
            let Some(event) = drawn.next() else { break };
            match event.what {
                What::Customer(i) => w.customer(&mut customers[i as usize])?,
                What::Order(order) => {
                    let customer = &customers[order.customer as usize];
                    let number = w.order(&order, customer, &catalog)?;
                    let mut later = |time: i64, what: Later| {
                        if time < end {
                            pending.push(Reverse(Due { time, seq, what }));
                            seq += 1;
                        }
                    };
                    for u in order.updates(number) {
                        later(u.at, Later::Update(u));
                    }
                    if let Some(mut ret) = plan_return(&mut rng, &catalog, customer, &order) {
                        ret.order_no = number;
                        later(ret.time, Later::Return(ret));
                    }
                }
            }
        }
        today = drawn.collect();
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
const SALT_INSPECTION: u64 = 4;

/// An abusive return sent back: the chance, in thousandths, that a line
/// comes back as another item (a cheaper copy, an old unit).
const SWAP_PM: u64 = 350;
/// An honest return: tags cut off an item that was to come back unused, and
/// one piece short of a line of several, in thousandths.
const TAGS_CUT_PM: u64 = 40;
const SHORT_PM: u64 = 30;

/// The warehouse's inspection of each line of a return that sends goods
/// back: 1 to 5 days after the request, in the afternoon.
fn inspections(rng: &mut Rng, ret: &Pending, number: u64) -> Vec<Inspection> {
    if ret.kind == plan::REFUND_ONLY || ret.reason == plan::NOT_RECEIVED {
        return Vec::new();
    }
    let at = (ret.time / DAY + rng.range(1, 5)) * DAY + rng.range(13 * 3600, 18 * 3600);
    ret.lines[..usize::from(ret.n)]
        .iter()
        .map(|line| {
            let swapped = ret.abuse && rng.chance_ppm(SWAP_PM * 1000);
            let short = !ret.abuse && line.quantity > 1 && rng.chance_ppm(SHORT_PM * 1000);
            let tags_cut = !ret.abuse && line.condition == plan::UNUSED && rng.chance_ppm(TAGS_CUT_PM * 1000);
            Inspection {
                at,
                return_no: number,
                product: line.product,
                condition: line.condition,
                received: if short { line.quantity - 1 } else { line.quantity },
                tags_attached: !tags_cut,
                sku_match: !swapped,
            }
        })
        .collect()
}

/// An inspection, waiting for its time.
pub(crate) struct Inspection {
    at: i64,
    return_no: u64,
    product: u32,
    condition: u8,
    received: u8,
    tags_attached: bool,
    sku_match: bool,
}

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
    cancelled: Option<i64>,
    /// How long after shipping, and after delivery, the platform hears of it.
    ship_lag: i64,
    delivery_lag: i64,
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

    /// The `order_update` events order number `number` will get, in time order.
    fn updates(&self, number: u64) -> impl Iterator<Item = Update> {
        let update = |field, value: Option<i64>, lag| {
            value.map(|value| Update {
                order_no: number,
                at: value + lag,
                field,
                value,
            })
        };
        [
            update(UpdateField::Cancelled, self.cancelled, 0),
            update(UpdateField::Shipped, self.shipped, self.ship_lag),
            update(UpdateField::Delivered, self.delivered, self.delivery_lag),
        ]
        .into_iter()
        .flatten()
    }
}

/// Which time an update sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpdateField {
    Shipped,
    Delivered,
    Cancelled,
}

/// An `order_update`, waiting for its time.
#[derive(Debug, Clone)]
struct Update {
    order_no: u64,
    /// When the platform hears of it.
    at: i64,
    field: UpdateField,
    /// The time it sets.
    value: i64,
}

/// Orders cancelled before they ship, in thousandths.
const CANCEL_PM: u64 = 25;

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
    // Some buyers cancel before the order ships.
    let cancelled = (!high_value && rng.chance(CANCEL_PM)).then(|| paid + rng.range(600, 6 * 3600));
    let shipped = (fate >= 4 && cancelled.is_none()).then(|| {
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
    // Reported within ten minutes: a return, always ten or more minutes after
    // what it follows, sees it.
    let ship_lag = rng.range(0, 599);
    let delivery_lag = rng.range(30, 599);
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
        cancelled,
        ship_lag,
        delivery_lag,
        fee_cents,
        insurance: rng.chance(550),
        tag,
        high_value,
        n: n as u8,
        lines,
    }
}

// -- Returns ------------------------------------------------------------------------
