//! What the policy's header says once checked: its title, version, currency
//! and its minor units, its timezone, its default decision; and who may pay
//! return shipping (or `none`, when nothing is sent back).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::syntax::ast::Decision;

#[derive(Debug, Clone)]
pub struct HeaderInfo {
    pub title: String,
    pub version: Option<String>,
    pub currency: String,
    pub minor_units: u32,
    pub timezone: PolicyTz,
    pub default: Decision,
    pub default_message: Option<String>,
    /// `review within …, then …`: the deadline of every review line without one.
    pub review: Option<super::ReviewDeadline>,
    /// `refund within … of …`: when an approved line's refund is due, unless its rule says.
    pub refund: Option<super::RefundLimit>,
}

/// The policy's timezone: an IANA zone or a fixed offset.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum PolicyTz {
    /// An IANA zone (`Asia/Shanghai`).
    Named(Tz),
    /// A fixed offset (`+08:00`).
    Fixed(FixedOffset),
}

impl PolicyTz {
    /// The calendar date of `t` in this zone, as days since 1970-01-01.
    pub fn epoch_day(self, t: DateTime<Utc>) -> i64 {
        use chrono::Offset as _;
        // The offset in force at `t`, added to its seconds: no calendar
        // arithmetic, which costs more than the zone lookup itself.
        let offset = match self {
            PolicyTz::Named(tz) => tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc(),
            PolicyTz::Fixed(off) => off.local_minus_utc(),
        };
        (t.timestamp() + i64::from(offset)).div_euclid(86_400)
    }

    /// Midnight at the start of `date` in this zone (the earliest instant of
    /// that date where a DST gap swallows midnight).
    pub fn midnight(self, date: chrono::NaiveDate) -> Option<DateTime<Utc>> {
        let naive = date.and_hms_opt(0, 0, 0)?;
        let mut probe = naive;
        // A gap may swallow midnight (e.g. America/Santiago): walk forward to the first valid minute.
        for _ in 0..(24 * 60) {
            let found = match self {
                PolicyTz::Named(tz) => tz.from_local_datetime(&probe).earliest().map(|t| t.with_timezone(&Utc)),
                PolicyTz::Fixed(off) => off
                    .from_local_datetime(&probe)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc)),
            };
            if found.is_some() {
                return found;
            }
            probe += chrono::Duration::minutes(1);
        }
        None
    }

    /// `t` as RFC 3339 in this zone.
    pub fn format(self, t: DateTime<Utc>) -> String {
        match self {
            PolicyTz::Named(tz) => t.with_timezone(&tz).to_rfc3339(),
            PolicyTz::Fixed(off) => t.with_timezone(&off).to_rfc3339(),
        }
    }
}

/// Who pays the return shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payer {
    /// The buyer.
    Buyer,
    /// The merchant.
    Merchant,
    /// The platform.
    Platform,
    /// The buyer's return-shipping insurance.
    Insurance,
    /// No one: nothing is sent back (a refund-only request). Written `none`.
    Nothing,
}

impl Payer {
    /// Every payer, by the word a policy writes.
    pub const ALL: [(&'static str, Payer); 5] = [
        ("buyer", Payer::Buyer),
        ("merchant", Payer::Merchant),
        ("platform", Payer::Platform),
        ("insurance", Payer::Insurance),
        ("none", Payer::Nothing),
    ];

    /// The word the verdict uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Payer::Buyer => "buyer",
            Payer::Merchant => "merchant",
            Payer::Platform => "platform",
            Payer::Insurance => "insurance",
            Payer::Nothing => "none",
        }
    }
}
