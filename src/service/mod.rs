//! `rpl serve`: the decision service (docs/language.md §15). One process,
//! one embedded store (redb), the compiled policy swapped atomically: a
//! platform puts it in the path of every return request.
//!
//! The layers stay thin: handlers (`api.rs`) parse and authorize, and call
//! the library — the same judging, the same case contract, the same
//! verdicts as `rpl judge` and `rpl backtest`; `ingest.rs` builds each case
//! from the store as a backtest builds it from the stream; `writer.rs` is the
//! one writer, grouping requests into durable commits; `store.rs` holds the
//! tables.

mod api;
mod errors;
mod index;
mod ingest;
mod life;
mod live;
mod metrics;
mod store;
mod studio;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use live::Policies;
use metrics::Metrics;
use store::Store;
use writer::Job;

/// The OpenAPI document of the service, served at `/v1/openapi.json`.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// How the service runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The folder of the store (created if missing).
    pub data: PathBuf,
    /// A policy to start with when the store holds none: its text.
    pub policy: Option<String>,
    /// The bearer token of the admin endpoints (policies, decision log).
    pub admin_token: Option<String>,
    /// The bearer token of the client endpoints (events, judge).
    pub client_token: Option<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// The most lines one `POST /v1/events` may hold.
    pub max_lines: usize,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Requests served at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// How long an order is remembered for the returns that refer to it.
    pub order_retention_days: i64,
    /// How often the timer times out the reviews that are due.
    pub review_tick: Duration,
    /// Decisions per run of the decision log's index, for a store created
    /// now (a store keeps the length it was created with; `index.rs`).
    pub decision_index_run: u64,
}

impl ServiceConfig {
    /// The defaults, with the store in `data`.
    pub fn new(data: impl Into<PathBuf>) -> ServiceConfig {
        ServiceConfig {
            data: data.into(),
            policy: None,
            admin_token: None,
            client_token: None,
            max_body_bytes: 32 << 20,
            max_lines: 20_000,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 4096,
            order_retention_days: 180,
            review_tick: Duration::from_secs(1),
            decision_index_run: index::DEFAULT_RUN,
        }
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    store: Arc<Store>,
    live: Arc<ArcSwap<Policies>>,
    jobs: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
    config: ServiceConfig,
}

/// A running service: its router for a server to serve, and the writer
/// thread that owns the store's writes.
pub struct Service {
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// What `serve` says when it starts.
    pub notices: Vec<String>,
}

impl Service {
    /// Opens the store, puts its policy (or `config.policy`) in force and
    /// starts the writer.
    pub async fn open(config: ServiceConfig) -> Result<Service, String> {
        let store = Store::open(&config.data)?;
        let index = index::Index::open(&store.db, config.decision_index_run)?;
        let live = Arc::new(ArcSwap::from_pointee(store.load()?));
        let mut notices = Vec::new();
        if let Some(stored) = store.current_policy().map_err(|e| e.message)?
            && config.policy.as_deref().is_some_and(|p| p != stored.source)
        {
            notices.push(format!(
                "the store's policy version {} ({}) is in force; --policy is used only for an empty store (PUT /v1/policy to change it)",
                stored.version, stored.hash
            ));
        }
        let metrics = Arc::new(Metrics::default());
        let (jobs, inbox) = mpsc::channel(1024);
        let writer = {
            let (store, live, metrics) = (store.clone(), live.clone(), metrics.clone());
            let days = config.order_retention_days;
            std::thread::Builder::new()
                .name("rpl-writer".into())
                .spawn(move || writer::run(store, inbox, live, metrics, days, index))
                .map_err(|e| format!("cannot start the writer: {e}"))?
        };
        spawn_timer(jobs.downgrade(), config.review_tick);
        let shared = Arc::new(Shared {
            store,
            live,
            jobs,
            metrics,
            config,
        });
        let mut service = Service {
            shared,
            writer: Some(writer),
            notices,
        };
        service.first_policy().await?;
        Ok(service)
    }

    /// Loads `--policy` into an empty store, through the writer like any PUT.
    async fn first_policy(&mut self) -> Result<(), String> {
        let Some(source) = self.shared.config.policy.clone() else {
            return Ok(());
        };
        if self.shared.live.load().ready() {
            return Ok(());
        }
        let program = match crate::compile(&source) {
            Ok(c) => c.program,
            Err(diags) => return Err(crate::render_diagnostics("--policy", &source, &diags)),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job::Policy {
            merchant: None,
            source,
            program: Box::new(program),
            effective_at: None,
            reply,
        };
        self.shared.jobs.send(job).await.map_err(|e| e.to_string())?;
        let stored = answer
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.message))
            .map_err(|e| format!("the policy could not be stored: {e}"))?;
        self.notices.push(format!(
            "loaded --policy as version {} ({})",
            stored.version, stored.hash
        ));
        Ok(())
    }

    /// The routes, for a server (or an in-process test) to serve.
    pub fn router(&self) -> axum::Router {
        api::router(self.shared.clone())
    }

    /// Waits for the writer to finish what it was given, and closes the
    /// store. Call once the server has stopped taking requests.
    pub fn close(mut self) {
        let writer = self.writer.take();
        drop(self);
        if let Some(w) = writer {
            let _ = w.join();
        }
    }
}

/// The review timer: at once (what fell due while the service was down is
/// resolved on start, each review at its due time), then every `tick`, it
/// asks the writer to time out the reviews due by now. It holds the writer's
/// queue weakly, so that closing the service stops it.
fn spawn_timer(jobs: mpsc::WeakSender<Job>, tick: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(jobs) = jobs.upgrade() else { return };
            let (reply, answer) = tokio::sync::oneshot::channel();
            let job = Job::Life {
                job: writer::LifeJob::TimeOut {
                    through: chrono::Utc::now(),
                },
                reply,
            };
            if jobs.send(job).await.is_err() {
                return;
            }
            drop(jobs);
            match answer.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("warning: the review timer: {}", e.message),
                Err(_) => return,
            }
        }
    });
}

/// Serves `service` on `listener` until `shutdown` completes; requests in
/// flight are finished, then the store is closed.
pub async fn serve(
    service: Service,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let app = service.router();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    // The writer finishes what it was given; joining it blocks, off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || service.close()).await;
    served.map_err(|e| e.to_string())
}
