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

use arc_swap::ArcSwapOption;
use redb::{Durability, ReadableTable, WriteTransaction};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::Loaded;
use super::errors::ApiError;
use super::ingest::{self, Applied};
use super::metrics::Metrics;
use super::store::{ACTIVATIONS, CURRENT_POLICY, META, POLICIES, Store, StoredPolicy, policy_at, storage};
use crate::Program;

/// Requests grouped into one durable commit at most.
const MAX_GROUP: usize = 256;

/// Old orders and returns forgotten per commit at most, so that forgetting
/// never holds a commit up for long.
const FORGET_AT_ONCE: usize = 20_000;

/// How long, in seconds of the stream's own time, history is kept: the
/// longest window of the policy in force and the order retention, whichever
/// is longer; forever when the policy reads all history.
fn retention(live: &ArcSwapOption<Loaded>, swaps: &[Arc<Loaded>], order_days: i64) -> Option<i64> {
    let loaded = swaps.last().cloned().or_else(|| live.load_full())?;
    let window = loaded.program.history_needed()?;
    Some(window.max(order_days.saturating_mul(86_400)))
}

/// One request for the writer.
pub(super) enum Job {
    /// Apply a batch of event lines with the policy the request started with.
    Events {
        loaded: Arc<Loaded>,
        lines: Vec<(usize, String)>,
        reply: oneshot::Sender<Result<Applied, ApiError>>,
    },
    /// Log a verdict given without recording the return.
    Decision {
        entry: NewDecision,
        reply: oneshot::Sender<Result<u64, ApiError>>,
    },
    /// Store a new policy version and put it in force.
    Policy {
        source: String,
        program: Box<Program>,
        reply: oneshot::Sender<Result<StoredPolicy, ApiError>>,
    },
    /// Put the version before the one in force back in force.
    Rollback {
        reply: oneshot::Sender<Result<StoredPolicy, ApiError>>,
    },
}

/// A verdict to log.
pub(super) struct NewDecision {
    pub return_id: String,
    pub customer_id: String,
    pub version: u64,
    pub input: Box<RawValue>,
    pub verdict: Box<RawValue>,
}

/// What to do once the group is durable: answer, or (on failure) answer the error.
type Answer = Box<dyn FnOnce(Option<&ApiError>) + Send>;

/// Runs the writer until every sender is gone.
pub(super) fn run(
    store: Arc<Store>,
    mut jobs: mpsc::Receiver<Job>,
    live: Arc<ArcSwapOption<Loaded>>,
    metrics: Arc<Metrics>,
    order_retention_days: i64,
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
        // Policies put in force by this group, in order: swapped in once durable.
        let mut swaps: Vec<Arc<Loaded>> = Vec::new();
        // Verdicts to log go together into the group's last, durable transaction.
        let mut decisions = Vec::new();
        for job in group {
            match job {
                Job::Decision { entry, reply } => decisions.push((entry, reply)),
                job => answers.push(handle(&store, job, &mut swaps, &metrics)),
            }
        }
        let keep = retention(&live, &swaps, order_retention_days);
        let (logged, synced) = last_commit(&store, decisions, keep);
        answers.extend(logged);
        if synced.is_ok()
            && let Some(last) = swaps.pop()
        {
            live.store(Some(last));
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
/// most of what a busy `POST /v1/judge` costs) and the history retention no
/// longer needs. If it fails, the verdicts are not logged, and an empty
/// durable commit is tried so the group's other requests are.
fn last_commit(
    store: &Store,
    decisions: Vec<(NewDecision, oneshot::Sender<Result<u64, ApiError>>)>,
    keep: Option<i64>,
) -> (Vec<Answer>, Result<(), ApiError>) {
    let at = now();
    let attempt = (|| -> Result<Vec<u64>, ApiError> {
        let mut tx = store.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate).map_err(storage)?;
        let mut ids = Vec::with_capacity(decisions.len());
        for (entry, _) in &decisions {
            ids.push(ingest::record_decision(
                &tx,
                "judge",
                &entry.return_id,
                &entry.customer_id,
                entry.version,
                entry.input.clone(),
                entry.verdict.clone(),
                &at,
            )?);
        }
        if let Some(keep) = keep {
            ingest::forget(&tx, keep, FORGET_AT_ONCE)?;
        }
        tx.commit().map_err(storage)?;
        Ok(ids)
    })();
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

fn handle(store: &Store, job: Job, swaps: &mut Vec<Arc<Loaded>>, metrics: &Metrics) -> Answer {
    match job {
        Job::Events { loaded, lines, reply } => {
            let at = now();
            let result = in_tx(store, |tx| {
                ingest::apply(tx, &loaded.program, loaded.version, &lines, &at)
            });
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
        Job::Policy { source, program, reply } => {
            let result = in_tx(store, |tx| put_policy(tx, &source, &program));
            if let Ok(stored) = &result {
                swaps.push(Arc::new(Loaded {
                    version: stored.version,
                    program: *program,
                }));
            }
            answer(reply, result)
        }
        Job::Rollback { reply } => {
            let result = in_tx(store, rollback).and_then(|stored| {
                let program = crate::compile(&stored.source)
                    .map_err(|_| ApiError::storage(format!("policy version {} no longer checks", stored.version)))?
                    .program;
                swaps.push(Arc::new(Loaded {
                    version: stored.version,
                    program,
                }));
                Ok(stored)
            });
            answer(reply, result)
        }
    }
}

fn put_policy(tx: &WriteTransaction, source: &str, program: &Program) -> Result<StoredPolicy, ApiError> {
    let mut policies = tx.open_table(POLICIES).map_err(storage)?;
    let version = policies.last().map_err(storage)?.map_or(1, |(k, _)| k.value() + 1);
    let id = program.id();
    let stored = StoredPolicy {
        version,
        source: source.to_string(),
        title: id.title.clone(),
        label: id.version.clone(),
        hash: id.hash.clone(),
        stored_at: now(),
    };
    policies
        .insert(version, serde_json::to_vec(&stored).map_err(storage)?.as_slice())
        .map_err(storage)?;
    let mut activations = tx.open_table(ACTIVATIONS).map_err(storage)?;
    let seq = activations.last().map_err(storage)?.map_or(1, |(k, _)| k.value() + 1);
    activations.insert(seq, version).map_err(storage)?;
    let mut meta = tx.open_table(META).map_err(storage)?;
    meta.insert(CURRENT_POLICY, version).map_err(storage)?;
    Ok(stored)
}

/// Drops the latest activation; the one before it is in force again.
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
    let mut meta = tx.open_table(META).map_err(storage)?;
    meta.insert(CURRENT_POLICY, previous).map_err(storage)?;
    let policies = tx.open_table(POLICIES).map_err(storage)?;
    policy_at(&policies, previous)?.ok_or_else(|| ApiError::storage(format!("policy version {previous} is missing")))
}
