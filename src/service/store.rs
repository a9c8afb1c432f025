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

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::errors::ApiError;

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
pub(super) const DECISIONS_BY_RETURN: TableDefinition<(&str, u64), ()> = TableDefinition::new("decisions_by_return");
pub(super) const DECISIONS_BY_CUSTOMER: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("decisions_by_customer");

/// Keys of `META`.
pub(super) const CURRENT_POLICY: &str = "policy.current";
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
    pub decision_id: u64,
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
    /// The store's version number of the policy that decided.
    pub policy_version: u64,
    /// What the verdict was given on: the event line or the case, as sent.
    pub input: Box<RawValue>,
    /// The verdict, as the service answered it.
    pub verdict: Box<RawValue>,
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
                tx.open_table(DECISIONS_BY_RETURN)?;
                tx.open_table(DECISIONS_BY_CUSTOMER)?;
                tx.open_table(BY_TIME)?;
                Ok(())
            })();
            created.map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(Arc::new(Store { db }))
    }

    /// The policy in force, if one was ever loaded.
    pub fn current_policy(&self) -> Result<Option<StoredPolicy>, ApiError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let meta = tx.open_table(META).map_err(storage)?;
        let Some(version) = meta.get(CURRENT_POLICY).map_err(storage)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let policies = tx.open_table(POLICIES).map_err(storage)?;
        policy_at(&policies, version)
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

/// The values under `(customer, t, _)` for `t < now`, in time order.
pub(super) fn range_values(
    table: &impl ReadableTable<(&'static str, i64, &'static str), &'static [u8]>,
    customer: &str,
    now: i64,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for entry in table
        .range((customer, i64::MIN, "")..(customer, now, ""))
        .map_err(storage)?
    {
        let (_, v) = entry.map_err(storage)?;
        out.push(serde_json::from_slice(v.value()).map_err(storage)?);
    }
    Ok(out)
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
    let canonical = serde_json::to_vec(v).unwrap_or_default();
    let digest = sha2::Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Microseconds since the epoch.
pub(super) fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}
