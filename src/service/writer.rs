//! The one writer: every change to the store goes through it, in the order
//! requests reach it, grouped so that many requests share one durable
//! commit. Each request is its own transaction, committed without waiting
//! for the disk (redb's `Durability::None`: atomic, not yet persisted); once
//! the queue is empty or the group full, one durable commit persists them
//! all, and only then are they answered. A request whose own transaction
//! fails is rolled back alone; if the durable commit fails (a full disk),
//! every request of the group is answered with the error, and none was
//! acknowledged.

use std::sync::Arc;

use arc_swap::ArcSwap;
use redb::{Durability, ReadableTable, WriteTransaction};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::errors::ApiError;
use super::index::Index;
use super::ingest::{self, Applied};
use super::live::{Merchant, Policies, Version, hex};
use super::metrics::Metrics;
use super::store::{
    ACTIVATIONS, LATEST, Log, MERCHANT_POLICIES, MERCHANTS, META, POLICIES, Store, StoredMerchant, StoredPolicy,
    Tables, policy_at, storage,
};
use crate::Program;

/// Requests grouped into one durable commit at most.
const MAX_GROUP: usize = 256;

/// Old orders and returns forgotten per commit at most, so that forgetting
/// never holds a commit up for long.
const FORGET_AT_ONCE: usize = 20_000;

/// How long, in seconds of the stream's own time, history is kept: the
/// longest window of the policy in force and the order retention, whichever
/// is longer; forever when the policy reads all history.
fn retention(policies: &Policies, order_days: i64) -> Option<i64> {
    if !policies.ready() {
        return None;
    }
    let window = policies.history_needed()?;
    Some(window.max(order_days.saturating_mul(86_400)))
}

/// One request for the writer.
pub(super) enum Job {
    /// Apply a batch of event lines with the policies the request started with.
    Events {
        live: Arc<Policies>,
        lines: ingest::Batch,
        reply: oneshot::Sender<Result<Applied, ApiError>>,
    },
    /// Log a verdict given without recording the return.
    Decision {
        entry: NewDecision,
        reply: oneshot::Sender<Result<u64, ApiError>>,
    },
    /// Store a new version of the floor (`merchant` none) or of a merchant's
    /// policy, in force from `effective_at` (RFC 3339; by default the
    /// stream's clock).
    Policy {
        merchant: Option<String>,
        source: String,
        program: Box<Program>,
        effective_at: Option<String>,
        reply: oneshot::Sender<Result<StoredPolicy, ApiError>>,
    },
    /// Withdraw the floor version last put in force.
    Rollback {
        reply: oneshot::Sender<Result<StoredPolicy, ApiError>>,
    },
    /// A return's life, or a customer's restrictions.
    Life {
        job: LifeJob,
        reply: oneshot::Sender<Result<LifeDone, ApiError>>,
    },
    /// Create a merchant, or replace or revoke its token.
    Merchant {
        id: String,
        change: MerchantChange,
        reply: oneshot::Sender<Result<StoredMerchant, ApiError>>,
    },
}

/// A change to a return's life, or to a customer's restrictions.
pub(super) enum LifeJob {
    /// A person's decision on a review (`scope`: a merchant's own returns only).
    Review {
        return_id: String,
        scope: Option<String>,
        decision: crate::data::ReviewDecision,
        body: Box<RawValue>,
    },
    /// The timer: every review due by `through` times out.
    TimeOut { through: crate::data::Time },
    /// A return's refunds were paid.
    Paid { return_id: String, scope: Option<String> },
    /// An admin lifts a customer's restrictions of a kind.
    Lift { customer: String, kind: String },
}

/// What a [`LifeJob`] came to.
pub(super) enum LifeDone {
    Judged(Box<super::ingest::Judged>),
    TimedOut,
    Count(usize),
}

/// What a [`Job::Merchant`] does.
pub(super) enum MerchantChange {
    /// A new merchant with this token's hash (a conflict if it exists).
    Create([u8; 32]),
    /// A new token for an existing merchant; none: revoke the one it has.
    Token(Option<[u8; 32]>),
}

/// A verdict to log.
pub(super) struct NewDecision {
    pub return_id: String,
    pub customer_id: String,
    pub version: u64,
    pub merchant_id: Option<String>,
    pub merchant_version: Option<u64>,
    pub input: Box<RawValue>,
    pub verdict: Box<RawValue>,
}

/// What to do once the group is durable: answer, or (on failure) answer the error.
type Answer = Box<dyn FnOnce(Option<&ApiError>) + Send>;

/// Runs the writer until every sender is gone.
pub(super) fn run(
    store: Arc<Store>,
    mut jobs: mpsc::Receiver<Job>,
    live: Arc<ArcSwap<Policies>>,
    metrics: Arc<Metrics>,
    order_retention_days: i64,
    mut index: Index,
) {
    while let Some(first) = jobs.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        // The policies this group changes: swapped in once durable.
        let mut next: Option<Policies> = None;
        // Verdicts to log go together into the group's last, durable transaction.
        let mut decisions = Vec::new();
        for job in group {
            match job {
                Job::Decision { entry, reply } => decisions.push((entry, reply)),
                job => answers.push(handle(&store, job, &live, &mut next, &metrics)),
            }
        }
        let keep = match &next {
            Some(p) => retention(p, order_retention_days),
            None => retention(&live.load(), order_retention_days),
        };
        let (logged, synced) = last_commit(&store, decisions, keep, &mut index);
        answers.extend(logged);
        if synced.is_ok()
            && let Some(next) = next
        {
            live.store(Arc::new(next));
        }
        metrics.commit(answers.len());
        let failure = synced.err();
        for answer in answers {
            answer(failure.as_ref());
        }
    }
}

/// The group's last transaction, the durable one that persists every commit
/// before it: the verdicts to log (one transaction for all of them, which is
/// most of what a busy `POST /v1/judge` costs), the index's next slice
/// (`index.rs`) and the history retention no longer needs. If it fails, the
/// verdicts are not logged, and an empty durable commit is tried so the
/// group's other requests are.
fn last_commit(
    store: &Store,
    decisions: Vec<(NewDecision, oneshot::Sender<Result<u64, ApiError>>)>,
    keep: Option<i64>,
    index: &mut Index,
) -> (Vec<Answer>, Result<(), ApiError>) {
    let at = now();
    let attempt = (|| -> Result<Vec<u64>, ApiError> {
        let mut tx = store.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate).map_err(storage)?;
        let mut ids = Vec::with_capacity(decisions.len());
        let mut log = Log::open(&tx)?;
        for (entry, _) in &decisions {
            ids.push(ingest::record_decision(
                &mut log,
                "judge",
                &entry.return_id,
                &entry.customer_id,
                (entry.version, entry.merchant_id.as_deref(), entry.merchant_version),
                entry.input.clone(),
                entry.verdict.clone(),
                &at,
            )?);
        }
        // Forgetting and the index open the tables they need themselves.
        drop(log);
        if let Some(keep) = keep {
            ingest::forget(&tx, keep, FORGET_AT_ONCE)?;
        }
        index.step(&tx)?;
        tx.commit().map_err(storage)?;
        Ok(ids)
    })();
    if attempt.is_err() {
        index.failed();
    }
    match attempt {
        Ok(ids) => {
            let answers = decisions
                .into_iter()
                .zip(ids)
                .map(|((_, reply), id)| answer(reply, Ok(id)))
                .collect();
            (answers, Ok(()))
        }
        Err(e) => {
            let answers = decisions
                .into_iter()
                .map(|(_, reply)| answer(reply, Err(ApiError::storage(e.message.clone()))))
                .collect();
            (answers, sync(store))
        }
    }
}

/// The durable commit that persists every commit before it.
fn sync(store: &Store) -> Result<(), ApiError> {
    let mut tx = store.db.begin_write().map_err(storage)?;
    tx.set_durability(Durability::Immediate).map_err(storage)?;
    tx.commit().map_err(storage)
}

/// A write transaction that will be persisted by the group's durable commit.
fn begin(store: &Store) -> Result<WriteTransaction, ApiError> {
    let mut tx = store.db.begin_write().map_err(storage)?;
    tx.set_durability(Durability::None).map_err(storage)?;
    Ok(tx)
}

/// Runs `f` in its own transaction: committed (not yet durably) when it
/// succeeds, rolled back when it fails.
fn in_tx<T>(store: &Store, f: impl FnOnce(&WriteTransaction) -> Result<T, ApiError>) -> Result<T, ApiError> {
    let tx = begin(store)?;
    match f(&tx) {
        Ok(v) => {
            tx.commit().map_err(storage)?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.abort();
            Err(e)
        }
    }
}

fn answer<T: Send + 'static>(reply: oneshot::Sender<Result<T, ApiError>>, result: Result<T, ApiError>) -> Answer {
    Box::new(move |failure: Option<&ApiError>| {
        let result = match (result, failure) {
            (Ok(_), Some(f)) => Err(ApiError::storage(format!(
                "the store could not persist this: {}",
                f.message
            ))),
            (result, _) => result,
        };
        // The request may have timed out and gone: nothing to tell it.
        let _ = reply.send(result);
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn handle(store: &Store, job: Job, live: &ArcSwap<Policies>, next: &mut Option<Policies>, metrics: &Metrics) -> Answer {
    // The snapshot this group changes, from the one in force.
    fn changing<'a>(next: &'a mut Option<Policies>, live: &ArcSwap<Policies>) -> &'a mut Policies {
        next.get_or_insert_with(|| Policies::clone(&live.load()))
    }
    match job {
        Job::Events {
            live: policies,
            lines,
            reply,
        } => {
            let at = now();
            let result = in_tx(store, |tx| ingest::apply(&mut Tables::open(tx)?, &policies, lines, &at));
            if let Ok(applied) = &result {
                metrics.applied(applied);
            }
            answer(reply, result)
        }
        // Logged together in the group's last commit (see `last_commit`).
        Job::Decision { reply, .. } => answer(
            reply,
            Err(ApiError::storage("a decision reached the wrong path".into())),
        ),
        Job::Policy {
            merchant,
            source,
            program,
            effective_at,
            reply,
        } => {
            let result = in_tx(store, |tx| match &merchant {
                None => put_policy(tx, &source, &program, effective_at.clone()),
                Some(m) => put_merchant_policy(tx, m, &source, &program, effective_at.clone()),
            });
            if let Ok(stored) = &result {
                let version = Arc::new(Version {
                    version: stored.version,
                    effective: stored.effective(),
                    program: *program,
                });
                let policies = changing(next, live);
                match merchant {
                    None => policies.floor.push(version),
                    Some(m) => {
                        let old = policies.merchants.get(&m);
                        let mut versions = old.map(|o| o.versions.clone()).unwrap_or_default();
                        versions.push(version);
                        let token_sha256 = old.and_then(|o| o.token_sha256);
                        policies
                            .merchants
                            .insert(m, Arc::new(Merchant { token_sha256, versions }));
                    }
                }
            }
            answer(reply, result)
        }
        Job::Rollback { reply } => {
            let result = in_tx(store, rollback);
            if result.is_ok() {
                changing(next, live).floor.pop();
            }
            answer(reply, result)
        }
        Job::Life { job, reply } => {
            let at = now();
            let result = in_tx(store, |tx| {
                let t = &mut Tables::open(tx)?;
                match job {
                    LifeJob::Review {
                        return_id,
                        scope,
                        decision,
                        body,
                    } => super::life::review_by_person(t, &return_id, scope.as_deref(), &decision, body, &at)
                        .map(|j| LifeDone::Judged(Box::new(j))),
                    LifeJob::TimeOut { through } => {
                        super::life::time_out(t, through, &at, FORGET_AT_ONCE).map(|_| LifeDone::TimedOut)
                    }
                    LifeJob::Paid { return_id, scope } => {
                        super::life::paid(t, &return_id, scope.as_deref()).map(LifeDone::Count)
                    }
                    LifeJob::Lift { customer, kind } => {
                        let clock = t
                            .log
                            .meta
                            .get(LATEST)
                            .map_err(storage)?
                            .and_then(|v| chrono::DateTime::from_timestamp_micros(v.value() as i64))
                            .unwrap_or_else(chrono::Utc::now);
                        super::life::lift(t, &customer, &kind, clock).map(LifeDone::Count)
                    }
                }
            });
            answer(reply, result)
        }
        Job::Merchant { id, change, reply } => {
            let result = in_tx(store, |tx| merchant(tx, &id, &change));
            if let Ok(stored) = &result {
                let policies = changing(next, live);
                let versions = policies
                    .merchants
                    .get(&id)
                    .map(|m| m.versions.clone())
                    .unwrap_or_default();
                let token_sha256 = match change {
                    MerchantChange::Create(h) => Some(h),
                    MerchantChange::Token(h) => h,
                };
                debug_assert_eq!(stored.id, id);
                policies
                    .merchants
                    .insert(id, Arc::new(Merchant { token_sha256, versions }));
            }
            answer(reply, result)
        }
    }
}

/// The effective time a new version gets: the one asked for, or the
/// stream's clock (none before any event: from the beginning).
fn effective(tx: &WriteTransaction, asked: Option<String>) -> Result<Option<String>, ApiError> {
    if asked.is_some() {
        return Ok(asked);
    }
    let meta = tx.open_table(META).map_err(storage)?;
    let clock = meta.get(LATEST).map_err(storage)?.map(|v| v.value() as i64);
    Ok(clock
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}

fn stored_policy(version: u64, source: &str, program: &Program, effective_at: Option<String>) -> StoredPolicy {
    let id = program.id();
    StoredPolicy {
        version,
        source: source.to_string(),
        title: id.title.clone(),
        label: id.version.clone(),
        hash: id.hash.clone(),
        stored_at: now(),
        effective_at,
    }
}

fn put_policy(
    tx: &WriteTransaction,
    source: &str,
    program: &Program,
    effective_at: Option<String>,
) -> Result<StoredPolicy, ApiError> {
    let effective_at = effective(tx, effective_at)?;
    let mut policies = tx.open_table(POLICIES).map_err(storage)?;
    let version = policies.last().map_err(storage)?.map_or(1, |(k, _)| k.value() + 1);
    let stored = stored_policy(version, source, program, effective_at);
    policies
        .insert(version, serde_json::to_vec(&stored).map_err(storage)?.as_slice())
        .map_err(storage)?;
    let mut activations = tx.open_table(ACTIVATIONS).map_err(storage)?;
    let seq = activations.last().map_err(storage)?.map_or(1, |(k, _)| k.value() + 1);
    activations.insert(seq, version).map_err(storage)?;
    Ok(stored)
}

fn put_merchant_policy(
    tx: &WriteTransaction,
    merchant: &str,
    source: &str,
    program: &Program,
    effective_at: Option<String>,
) -> Result<StoredPolicy, ApiError> {
    let effective_at = effective(tx, effective_at)?;
    if tx
        .open_table(MERCHANTS)
        .map_err(storage)?
        .get(merchant)
        .map_err(storage)?
        .is_none()
    {
        return Err(ApiError::not_found("no such merchant"));
    }
    let mut policies = tx.open_table(MERCHANT_POLICIES).map_err(storage)?;
    let version = policies
        .range((merchant, 0)..=(merchant, u64::MAX))
        .map_err(storage)?
        .next_back()
        .transpose()
        .map_err(storage)?
        .map_or(1, |(k, _)| k.value().1 + 1);
    let stored = stored_policy(version, source, program, effective_at);
    policies
        .insert(
            (merchant, version),
            serde_json::to_vec(&stored).map_err(storage)?.as_slice(),
        )
        .map_err(storage)?;
    Ok(stored)
}

fn merchant(tx: &WriteTransaction, id: &str, change: &MerchantChange) -> Result<StoredMerchant, ApiError> {
    let mut merchants = tx.open_table(MERCHANTS).map_err(storage)?;
    let old: Option<StoredMerchant> = merchants
        .get(id)
        .map_err(storage)?
        .map(|v| serde_json::from_slice(v.value()))
        .transpose()
        .map_err(storage)?;
    let at = now();
    let stored = match (change, old) {
        (MerchantChange::Create(_), Some(_)) => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "merchant_exists",
                "the merchant exists; POST /v1/merchants/{id}/token issues it a new token",
            ));
        }
        (MerchantChange::Token(_), None) => return Err(ApiError::not_found("no such merchant")),
        (MerchantChange::Create(hash), None) => StoredMerchant {
            id: id.to_string(),
            created_at: at.clone(),
            token_sha256: Some(hex(hash)),
            token_issued_at: Some(at),
        },
        (MerchantChange::Token(hash), Some(old)) => StoredMerchant {
            token_sha256: hash.as_ref().map(|h| hex(h)),
            token_issued_at: hash.map(|_| at),
            ..old
        },
    };
    merchants
        .insert(id, serde_json::to_vec(&stored).map_err(storage)?.as_slice())
        .map_err(storage)?;
    Ok(stored)
}

/// Withdraws the floor version last put in force; the one before it is in force again.
fn rollback(tx: &WriteTransaction) -> Result<StoredPolicy, ApiError> {
    let mut activations = tx.open_table(ACTIVATIONS).map_err(storage)?;
    let entries: Vec<(u64, u64)> = activations
        .iter()
        .map_err(storage)?
        .rev()
        .take(2)
        .map(|e| e.map(|(k, v)| (k.value(), v.value())))
        .collect::<Result<_, _>>()
        .map_err(storage)?;
    let [(latest, _), (_, previous)] = entries[..] else {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "nothing_to_roll_back",
            "there is no earlier policy version to return to",
        ));
    };
    activations.remove(latest).map_err(storage)?;
    let policies = tx.open_table(POLICIES).map_err(storage)?;
    policy_at(&policies, previous)?.ok_or_else(|| ApiError::storage(format!("policy version {previous} is missing")))
}
