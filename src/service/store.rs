//! The service's store: one redb file holding the policies and their
//! versions, each customer's profile, orders and returns (the history a
//! return is judged on), and the decision log.
//!
//! Values are JSON, in the shapes a case takes (docs/language.md §4), so a
//! return is judged on exactly the case `rpl judge` would be given, built
//! from what is stored; keys are ids, and `(customer, time, id)` for a
//! customer's history so that reading it is one range scan. Times in keys
//! are microseconds since the epoch.

use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::live::{Merchant, Policies, Version, unhex};

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const POLICIES: TableDefinition<u64, &[u8]> = TableDefinition::new("policies");
pub(super) const ACTIVATIONS: TableDefinition<u64, u64> = TableDefinition::new("activations");
pub(super) const CUSTOMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("customers");
pub(super) const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders");
pub(super) const CUSTOMER_ORDERS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("customer_orders");
pub(super) const RETURNS: TableDefinition<&str, &[u8]> = TableDefinition::new("returns");
pub(super) const CUSTOMER_RETURNS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("customer_returns");
pub(super) const DECISIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("decisions");
/// Every stored order and return by its time, for retention:
/// `(time, "o" | "r", customer, id)`.
pub(super) const BY_TIME: TableDefinition<(i64, &str, &str, &str), ()> = TableDefinition::new("by_time");
/// A merchant's decisions, by `(merchant, decision id)`, written with each
/// verdict (returns and customers are indexed in runs: `index.rs`).
pub(super) const DECISIONS_BY_MERCHANT: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("decisions_by_merchant");
/// The decision log's index of earlier builds, one B-tree per key; a store
/// that has them is indexed anew in runs and they are deleted.
pub(super) const LEGACY_INDEXES: [TableDefinition<(&str, u64), ()>; 2] = [
    TableDefinition::new("decisions_by_return"),
    TableDefinition::new("decisions_by_customer"),
];
/// The review queue: `(due µs, return)` → its entry, due first.
pub(super) const REVIEWS: TableDefinition<(i64, &str), &[u8]> = TableDefinition::new("reviews");
/// Where a return sits in the review queue (its due µs).
pub(super) const REVIEW_OF: TableDefinition<&str, i64> = TableDefinition::new("review_of");
/// The reviews a timeout decides, by due time: what the timer reads.
pub(super) const TIMERS: TableDefinition<(i64, &str), ()> = TableDefinition::new("timers");
/// Refunds due: `(due µs, return, sku)` → the refund.
pub(super) const REFUNDS: TableDefinition<(i64, &str, &str), &[u8]> = TableDefinition::new("refunds");
/// Where a return's refunds sit in `REFUNDS`.
pub(super) const REFUNDS_OF: TableDefinition<&str, &[u8]> = TableDefinition::new("refunds_of");
/// Restrictions on customers: `(customer, since µs, key)` → the restriction.
pub(super) const RESTRICTIONS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("restrictions");
/// Merchants by id: [`StoredMerchant`].
pub(super) const MERCHANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("merchants");
/// Each merchant's policy versions: `(merchant, version)` → [`StoredPolicy`].
pub(super) const MERCHANT_POLICIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("merchant_policies");

/// Keys of `META`.
pub(super) const NEXT_DECISION: &str = "decision.next";
/// The latest event time seen (µs): the stream's own clock, which retention follows.
pub(super) const LATEST: &str = "stream.latest";

/// A stored policy version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredPolicy {
    pub version: u64,
    pub source: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub hash: String,
    /// When it was stored (RFC 3339, the service's clock).
    pub stored_at: String,
    /// From when it is in force (RFC 3339); none: from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<String>,
}

impl StoredPolicy {
    /// Its effective time in microseconds (`i64::MIN`: from the beginning).
    pub fn effective(&self) -> i64 {
        self.effective_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(i64::MIN, |t| t.timestamp_micros())
    }
}

/// A merchant: when it was created and the hash of its token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredMerchant {
    pub id: String,
    pub created_at: String,
    /// The SHA-256 of its token in hex; none once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// When the token in use was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issued_at: Option<String>,
}

/// A stored order: its owner, the hash of its line (for idempotent
/// re-sends), and the order as a case holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredOrder {
    pub customer_id: String,
    pub hash: String,
    pub order: Value,
    /// Times `order_update` events set: the time as written, and the moment it
    /// became known (the update's `at`), by key (`shipped_at`, …).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub updates: std::collections::BTreeMap<String, (String, String)>,
}

/// A stored return: enough to answer a re-send with its first verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredReturn {
    pub customer_id: String,
    pub order_id: String,
    pub hash: String,
    /// The decision at the request.
    pub decision_id: u64,
    /// The decisions that moved it on since (reviews, inspections, timeouts),
    /// in order: the last is its verdict as it stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trail: Vec<u64>,
    /// The hashes of the life events applied to it (re-sends change nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub life: Vec<String>,
    /// The order's merchant, and the versions that judged the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    #[serde(default)]
    pub floor_version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_version: Option<u64>,
    /// Its refunds were paid.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paid: bool,
}

/// One entry of the decision log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Decision {
    pub decision_id: u64,
    /// When the service gave the verdict (RFC 3339, UTC).
    pub at: String,
    /// `events` (recorded with the return) or `judge` (not recorded).
    pub source: String,
    pub return_id: String,
    pub customer_id: String,
    /// The store's version number of the floor (the service's policy) that decided.
    pub policy_version: u64,
    /// The order's merchant, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// The merchant's policy version that decided with the floor; none: the floor alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_version: Option<u64>,
    /// What the verdict was given on: the event line or the case, as sent.
    pub input: Box<RawValue>,
    /// The verdict, as the service answered it.
    pub verdict: Box<RawValue>,
}

/// The tables of customers, orders, returns, their lives and the decision
/// log, each opened once for a whole write transaction and handed to every
/// step of it: redb's `open_table` looks a table up in the table of tables
/// and closing it writes its root back, which, a dozen times per event, was
/// a tenth of the writer's time.
pub(super) struct Tables<'tx> {
    pub log: Log<'tx>,
    pub customers: Table<'tx, &'static str, &'static [u8]>,
    pub orders: Table<'tx, &'static str, &'static [u8]>,
    pub customer_orders: Table<'tx, (&'static str, i64, &'static str), &'static [u8]>,
    pub returns: Table<'tx, &'static str, &'static [u8]>,
    pub customer_returns: Table<'tx, (&'static str, i64, &'static str), &'static [u8]>,
    pub by_time: Table<'tx, (i64, &'static str, &'static str, &'static str), ()>,
    pub reviews: Table<'tx, (i64, &'static str), &'static [u8]>,
    pub review_of: Table<'tx, &'static str, i64>,
    pub timers: Table<'tx, (i64, &'static str), ()>,
    pub refunds: Table<'tx, (i64, &'static str, &'static str), &'static [u8]>,
    pub refunds_of: Table<'tx, &'static str, &'static [u8]>,
    pub restrictions: Table<'tx, (&'static str, i64, &'static str), &'static [u8]>,
}

/// The tables a verdict is logged in: the meta table (the next decision's
/// id), the log and a merchant's index of it — all that a commit of verdicts
/// given by `POST /v1/judge` opens.
pub(super) struct Log<'tx> {
    pub meta: Table<'tx, &'static str, u64>,
    pub decisions: Table<'tx, u64, &'static [u8]>,
    pub by_merchant: Table<'tx, (&'static str, u64), ()>,
}

impl<'tx> Log<'tx> {
    pub fn open(tx: &'tx WriteTransaction) -> Result<Self, ApiError> {
        Ok(Log {
            meta: tx.open_table(META).map_err(storage)?,
            decisions: tx.open_table(DECISIONS).map_err(storage)?,
            by_merchant: tx.open_table(DECISIONS_BY_MERCHANT).map_err(storage)?,
        })
    }
}

impl<'tx> Tables<'tx> {
    pub fn open(tx: &'tx WriteTransaction) -> Result<Self, ApiError> {
        Ok(Tables {
            log: Log::open(tx)?,
            customers: tx.open_table(CUSTOMERS).map_err(storage)?,
            orders: tx.open_table(ORDERS).map_err(storage)?,
            customer_orders: tx.open_table(CUSTOMER_ORDERS).map_err(storage)?,
            returns: tx.open_table(RETURNS).map_err(storage)?,
            customer_returns: tx.open_table(CUSTOMER_RETURNS).map_err(storage)?,
            by_time: tx.open_table(BY_TIME).map_err(storage)?,
            reviews: tx.open_table(REVIEWS).map_err(storage)?,
            review_of: tx.open_table(REVIEW_OF).map_err(storage)?,
            timers: tx.open_table(TIMERS).map_err(storage)?,
            refunds: tx.open_table(REFUNDS).map_err(storage)?,
            refunds_of: tx.open_table(REFUNDS_OF).map_err(storage)?,
            restrictions: tx.open_table(RESTRICTIONS).map_err(storage)?,
        })
    }

    /// Moves the stream's clock on to `at` (µs), if it is later.
    pub fn advance_clock(&mut self, at: i64) -> Result<(), ApiError> {
        let meta = &mut self.log.meta;
        if meta.get(LATEST).map_err(storage)?.is_none_or(|v| v.value() < at as u64) {
            meta.insert(LATEST, at.max(0) as u64).map_err(storage)?;
        }
        Ok(())
    }
}

/// The database, shared by the writer and every reader.
pub(super) struct Store {
    pub db: redb::Database,
}

pub(super) fn storage(e: impl std::fmt::Display) -> ApiError {
    ApiError::storage(e.to_string())
}

impl Store {
    /// Opens (or creates) the store in `dir`, with every table in place.
    pub fn open(dir: &std::path::Path) -> Result<Arc<Store>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join("rpl.redb");
        let db = redb::Database::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let tx = db.begin_write().map_err(|e| e.to_string())?;
        {
            let created = (|| -> Result<(), redb::TableError> {
                tx.open_table(META)?;
                tx.open_table(POLICIES)?;
                tx.open_table(ACTIVATIONS)?;
                tx.open_table(CUSTOMERS)?;
                tx.open_table(ORDERS)?;
                tx.open_table(CUSTOMER_ORDERS)?;
                tx.open_table(RETURNS)?;
                tx.open_table(CUSTOMER_RETURNS)?;
                tx.open_table(DECISIONS)?;
                tx.open_table(super::index::DECISION_INDEX)?;
                tx.open_table(BY_TIME)?;
                tx.open_table(DECISIONS_BY_MERCHANT)?;
                for legacy in LEGACY_INDEXES {
                    tx.delete_table(legacy)?;
                }
                tx.open_table(MERCHANTS)?;
                tx.open_table(MERCHANT_POLICIES)?;
                tx.open_table(REVIEWS)?;
                tx.open_table(REVIEW_OF)?;
                tx.open_table(TIMERS)?;
                tx.open_table(REFUNDS)?;
                tx.open_table(REFUNDS_OF)?;
                tx.open_table(RESTRICTIONS)?;
                Ok(())
            })();
            created.map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(Arc::new(Store { db }))
    }

    /// Everything in force, compiled: the floor's activated versions and
    /// every merchant's. A stored version that no longer checks (the
    /// language changed under it) stops the start, naming it.
    pub fn load(&self) -> Result<Policies, String> {
        let compile = |what: &str, p: &StoredPolicy| -> Result<Arc<Version>, String> {
            let program = crate::compile(&p.source)
                .map_err(|_| format!("{what} version {} no longer checks", p.version))?
                .program;
            Ok(Arc::new(Version {
                version: p.version,
                effective: p.effective(),
                program,
            }))
        };
        let e = |e: ApiError| e.message;
        let tx = self.db.begin_read().map_err(|e| e.to_string())?;
        let mut live = Policies::default();
        let activations = tx.open_table(ACTIVATIONS).map_err(|e| e.to_string())?;
        let policies = tx.open_table(POLICIES).map_err(|e| e.to_string())?;
        for entry in activations.iter().map_err(|e| e.to_string())? {
            let (_, version) = entry.map_err(|e| e.to_string())?;
            let version = version.value();
            let p = policy_at(&policies, version)
                .map_err(e)?
                .ok_or_else(|| format!("the floor's version {version} is missing"))?;
            live.floor.push(compile("the store's policy", &p)?);
        }
        let merchants = tx.open_table(MERCHANTS).map_err(|e| e.to_string())?;
        let versions = tx.open_table(MERCHANT_POLICIES).map_err(|e| e.to_string())?;
        for entry in merchants.iter().map_err(|e| e.to_string())? {
            let (_, m) = entry.map_err(|e| e.to_string())?;
            let m: StoredMerchant = serde_json::from_slice(m.value()).map_err(|e| e.to_string())?;
            let mut merchant = Merchant {
                token_sha256: m.token_sha256.as_deref().and_then(unhex),
                versions: Vec::new(),
            };
            for entry in versions
                .range((m.id.as_str(), 0)..=(m.id.as_str(), u64::MAX))
                .map_err(|e| e.to_string())?
            {
                let (_, p) = entry.map_err(|e| e.to_string())?;
                let p: StoredPolicy = serde_json::from_slice(p.value()).map_err(|e| e.to_string())?;
                merchant
                    .versions
                    .push(compile(&format!("merchant {}'s policy", m.id), &p)?);
            }
            live.merchants.insert(m.id.clone(), Arc::new(merchant));
        }
        Ok(live)
    }

    /// The floor version last put in force, with its text.
    pub fn current_policy(&self) -> Result<Option<StoredPolicy>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let activations = tx.open_table(ACTIVATIONS).map_err(storage)?;
        let Some(version) = activations.last().map_err(storage)?.map(|(_, v)| v.value()) else {
            return Ok(None);
        };
        let policies = tx.open_table(POLICIES).map_err(storage)?;
        policy_at(&policies, version)
    }

    /// A stored merchant.
    pub fn merchant(&self, id: &str) -> Result<Option<StoredMerchant>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let t = tx.open_table(MERCHANTS).map_err(storage)?;
        let v = t.get(id).map_err(storage)?;
        v.map(|v| serde_json::from_slice(v.value()).map_err(storage))
            .transpose()
    }

    /// Every merchant, by id.
    pub fn merchants(&self) -> Result<Vec<StoredMerchant>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let t = tx.open_table(MERCHANTS).map_err(storage)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(storage)? {
            let (_, v) = entry.map_err(storage)?;
            out.push(serde_json::from_slice(v.value()).map_err(storage)?);
        }
        Ok(out)
    }

    /// A merchant's policy versions, oldest first; their texts only when asked.
    pub fn merchant_policies(&self, id: &str, with_source: bool) -> Result<Vec<StoredPolicy>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let t = tx.open_table(MERCHANT_POLICIES).map_err(storage)?;
        let mut out = Vec::new();
        for entry in t.range((id, 0)..=(id, u64::MAX)).map_err(storage)? {
            let (_, v) = entry.map_err(storage)?;
            let mut p: StoredPolicy = serde_json::from_slice(v.value()).map_err(storage)?;
            if !with_source {
                p.source.clear();
            }
            out.push(p);
        }
        Ok(out)
    }

    /// The stream's clock: the latest event time seen (µs), if any.
    pub fn stream_clock(&self) -> Result<Option<i64>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let meta = tx.open_table(META).map_err(storage)?;
        Ok(meta.get(LATEST).map_err(storage)?.map(|v| v.value() as i64))
    }

    /// Every stored version, oldest first, without their texts.
    pub fn policy_versions(&self) -> Result<Vec<StoredPolicy>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let policies = tx.open_table(POLICIES).map_err(storage)?;
        let mut out = Vec::new();
        for entry in policies.iter().map_err(storage)? {
            let (_, v) = entry.map_err(storage)?;
            let mut p: StoredPolicy = serde_json::from_slice(v.value()).map_err(storage)?;
            p.source.clear();
            out.push(p);
        }
        Ok(out)
    }
}

pub(super) fn policy_at(
    policies: &impl ReadableTable<u64, &'static [u8]>,
    version: u64,
) -> Result<Option<StoredPolicy>, ApiError> {
    let v = policies.get(version).map_err(storage)?;
    v.map(|v| serde_json::from_slice(v.value()).map_err(storage))
        .transpose()
}

/// Appends the values under `(customer, t, _)` for `t < now` to `out`, in
/// time order, as a JSON array: the stored bytes, not parsed.
pub(super) fn range_json(
    table: &impl ReadableTable<(&'static str, i64, &'static str), &'static [u8]>,
    customer: &str,
    now: i64,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    out.push(b'[');
    let mut first = true;
    for entry in table
        .range((customer, i64::MIN, "")..(customer, now, ""))
        .map_err(storage)?
    {
        let (_, v) = entry.map_err(storage)?;
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(v.value());
    }
    out.push(b']');
    Ok(())
}

/// A JSON object without some of its keys (an event line's own).
pub(super) fn without(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

/// The hash of a line's content, whatever its key order and spacing: two
/// re-sends of one event hash alike.
pub(super) fn content_hash(v: &Value) -> String {
    use sha2::Digest as _;
    /// The canonical text goes straight into the hash, never into a buffer.
    struct Hashing(sha2::Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hashing(sha2::Sha256::new());
    // Neither a Value's serialization nor this writer can fail.
    serde_json::to_writer(&mut h, v).ok();
    super::live::hex(&h.0.finalize())
}

/// Microseconds since the epoch.
pub(super) fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

#[cfg(test)]
mod tests {
    /// The hash stored with every order and return: a store written by an
    /// earlier build must still recognise a re-send, so its text is fixed —
    /// the SHA-256 of the compact JSON with keys sorted, in lowercase hex.
    #[test]
    fn content_hash_is_the_sha256_of_the_sorted_compact_text() {
        let v: serde_json::Value = serde_json::from_str(r#"{ "b": null, "a": [1, "x"] }"#).unwrap_or_default();
        assert_eq!(
            super::content_hash(&v),
            "854ef06dc57f5dfed10206344ab2d02e0b6c84b0e19436703a5afd0f1f9f2687"
        );
    }
}
