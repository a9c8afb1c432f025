//! `rpl serve --policy POLICY --data DIR --listen ADDR`: the decision service.

use std::path::PathBuf;

use super::{EXIT_INPUT, read_policy};

#[derive(clap::Args)]
pub struct Args {
    /// The policy to start with when the store holds none (a store that holds one starts with it).
    #[arg(long)]
    policy: Option<String>,
    /// The folder of the store; created if missing.
    #[arg(long, default_value = "./rpl-data")]
    data: PathBuf,
    /// Where to listen; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: String,
    /// A file holding the admin token (policies, decision log); else $RPL_ADMIN_TOKEN.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// A file holding the client token (events, judge); else $RPL_CLIENT_TOKEN.
    #[arg(long, value_name = "FILE")]
    client_token_file: Option<PathBuf>,
    /// The largest request body, in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    max_body_bytes: usize,
    /// The most lines one POST /v1/events may hold.
    #[arg(long, default_value_t = 20_000)]
    max_lines: usize,
    /// How long a request may take, in milliseconds, before it is answered 503.
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Requests served at once; more are answered 503 with Retry-After.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Days an order (and a customer's history) is kept at least, in the stream's own time.
    #[arg(long, default_value_t = 180)]
    order_retention_days: i64,
    /// How often, in milliseconds, the timer times out the reviews that are due.
    #[arg(long, default_value_t = 1000)]
    review_tick_ms: u64,
    /// Decisions per run of the decision log's index, for a new store (tests use short runs).
    #[arg(long, hide = true)]
    decision_index_run: Option<u64>,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

/// A token from its file (trimmed), or from the environment; empty is none.
fn token(file: &Option<PathBuf>, var: &str) -> Result<Option<String>, String> {
    let raw = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => std::env::var(var).unwrap_or_default(),
    };
    let t = raw.trim();
    Ok((!t.is_empty()).then(|| t.to_string()))
}

pub fn run(args: &Args) -> u8 {
    match serve(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INPUT
        }
    }
}

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3), which the bindings
/// do not name: the option just before `use_numa_nodes`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const _: () = assert!(libmimalloc_sys::mi_option_use_numa_nodes == PURGE_DELAY + 1);

/// The writer builds and drops a batch's worth of values every few
/// milliseconds; by default mimalloc gives freed memory back to the system
/// after 10 ms, and the next batch faults it in again (11,000 page faults in
/// 4 s of ingest, 6% of the writer's time zeroing pages). Kept for a second,
/// it is reused while the service is busy and still returned when it idles.
fn keep_freed_memory() {
    // SAFETY: mi_option_set stores an option's value; mimalloc reads it when
    // it next purges, and allows it to be set at any time from any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 1000) };
}

fn serve(args: &Args) -> Result<(), String> {
    keep_freed_memory();
    let mut config = rpl::ServiceConfig::new(&args.data);
    config.policy = args.policy.as_deref().map(read_policy).transpose()?;
    config.admin_token = token(&args.admin_token_file, "RPL_ADMIN_TOKEN")?;
    config.client_token = token(&args.client_token_file, "RPL_CLIENT_TOKEN")?;
    config.max_body_bytes = args.max_body_bytes;
    config.max_lines = args.max_lines;
    config.request_timeout = std::time::Duration::from_millis(args.request_timeout_ms);
    config.max_in_flight = args.max_in_flight;
    config.order_retention_days = args.order_retention_days;
    config.review_tick = std::time::Duration::from_millis(args.review_tick_ms.max(1));
    if let Some(n) = args.decision_index_run {
        config.decision_index_run = n;
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build().map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let service = rpl::Service::open(config).await?;
        for notice in &service.notices {
            eprintln!("note: {notice}");
        }
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // The first line of standard output says where: scripts and tests read it.
        println!("rpl serve: listening on http://{addr}");
        rpl::serve(service, listener, shutdown()).await?;
        eprintln!("rpl serve: stopped; the store is closed");
        Ok(())
    })
}

/// SIGTERM or Ctrl-C.
pub(super) async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
