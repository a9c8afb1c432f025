//! rpl-load: drives `rpl serve` over loopback, as a platform would, and says
//! how fast it answers (issue 12, point 9). Not a test: a measurement.
//!
//! It starts the `rpl` binary on a fresh store (or targets `--url`), loads a
//! policy, ingests a generated history in batches, and then measures, each
//! phase a closed loop over N keep-alive HTTP/1.1 connections (hyper):
//!
//! - **judge**: `POST /v1/judge` with `return` events of that history, so
//!   each case is built from the store (its order, the customer's profile,
//!   orders and returns before it) and each verdict is logged durably;
//! - **ingest**: `POST /v1/events` with batches of fresh events (the history
//!   again under new ids, one id space per connection, so every batch is new
//!   work: customers, orders, and returns judged and recorded), each answer
//!   only once its batch is durable.
//!
//! It reports requests and events per second, latency percentiles and errors,
//! as text or `--json`, with the machine's load average before and after.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[derive(Parser, Clone)]
#[command(about = "Load for rpl serve over loopback: judge on stored history, and ingest in batches")]
struct Args {
    /// A running service (http://HOST:PORT); without it, the `rpl` binary is started on a fresh store.
    #[arg(long)]
    url: Option<String>,
    /// The `rpl` binary to start (default: `rpl` beside this program, i.e. target/release/rpl).
    #[arg(long)]
    rpl: Option<PathBuf>,
    /// Worker threads of a started service (its --threads; default: every core).
    #[arg(long)]
    server_threads: Option<usize>,
    /// Worker threads of this client.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// The policy to load with PUT /v1/policy.
    #[arg(long, default_value = "policies/risk.rpl")]
    policy: PathBuf,
    /// Keep the policy the service has (no PUT).
    #[arg(long)]
    keep_policy: bool,
    /// Customers of the generated history (rpl gen --customers).
    #[arg(long, default_value_t = 5000)]
    customers: usize,
    /// Days of the generated history.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Seed of the generated history.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Events per POST /v1/events, for the history and the ingest phase.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Which phases to measure: judge, ingest, or both.
    #[arg(long, value_delimiter = ',', default_value = "judge,ingest")]
    only: Vec<String>,
    /// Connections of the judge phase.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Connections of the ingest phase.
    #[arg(long, default_value_t = 4)]
    ingest_connections: usize,
    /// Seconds each phase is measured.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds each phase runs before it is measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Batches built for the ingest phase (built before it, untimed); it ends early if they run out.
    #[arg(long, default_value_t = 400)]
    ingest_batches: usize,
    /// Bearer token for the admin endpoints (else $RPL_ADMIN_TOKEN).
    #[arg(long)]
    admin_token: Option<String>,
    /// Bearer token for the client endpoints (else $RPL_CLIENT_TOKEN, else the admin token).
    #[arg(long)]
    client_token: Option<String>,
    /// Keep the store of a started service (its path is printed).
    #[arg(long)]
    keep_data: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

// -- the service -------------------------------------------------------------------

/// A service this program started: stopped with SIGTERM at the end.
struct Started {
    child: Child,
    data: PathBuf,
    keep: bool,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        if self.keep {
            eprintln!("rpl-load: the store is kept in {}", self.data.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

fn start(args: &Args) -> Result<(Started, String), String> {
    let rpl = match &args.rpl {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("rpl"),
    };
    if !rpl.exists() {
        return Err(format!(
            "no rpl binary at {}: build it first (cargo build --release), or pass --rpl PATH or --url URL",
            rpl.display()
        ));
    }
    let data = std::env::temp_dir().join(format!("rpl-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut command = Command::new(&rpl);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(n) = args.server_threads {
        command.args(["--threads", &n.to_string()]);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", rpl.display()))?;
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        let mut out = std::io::BufReader::new(out);
        let _ = out.read_line(&mut first);
        // Keep draining, so that the service never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    }
    let started = Started {
        child,
        data,
        keep: args.keep_data,
    };
    let url = first
        .trim()
        .strip_prefix("rpl serve: listening on ")
        .ok_or_else(|| format!("rpl serve did not start: {first:?}"))?
        .to_string();
    Ok((started, url))
}

// -- HTTP --------------------------------------------------------------------------------

/// One keep-alive connection.
struct Conn {
    addr: String,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

/// An answer: its status and body.
type Answer = (u16, Bytes);

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<&mut http1::SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".to_string())
    }

    async fn send(&mut self, method: &str, path: &str, token: Option<&str>, body: Bytes) -> Result<Answer, String> {
        let host = self.addr.clone();
        let sender = self.open().await?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let result = async {
            let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes()))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

/// `host:port` of an `http://` URL.
fn authority(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    Ok(rest.trim_end_matches('/').to_string())
}

// -- workloads ---------------------------------------------------------------------------

/// The generated history, as lines.
fn history(args: &Args) -> Result<Vec<String>, String> {
    let mut opts = rpl::GenOptions::default();
    opts.customers = args.customers;
    opts.days = args.days;
    opts.seed = args.seed;
    let mut out = Vec::new();
    rpl::generate(&opts, &mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8(out).map_err(|e| e.to_string())?;
    Ok(text.lines().map(str::to_string).collect())
}

/// The line with its ids (and the ids it refers to) under `prefix`.
fn renamed(line: &str, prefix: &str) -> Result<String, String> {
    let mut v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if let Value::Object(o) = &mut v {
        for key in ["id", "customer_id", "order_id"] {
            if let Some(Value::String(s)) = o.get_mut(key) {
                *s = format!("{prefix}{s}");
            }
        }
    }
    serde_json::to_string(&v).map_err(|e| e.to_string())
}

fn batches(lines: &[String], size: usize) -> Vec<Bytes> {
    lines
        .chunks(size.max(1))
        .map(|c| {
            let mut body = c.join("\n");
            body.push('\n');
            Bytes::from(body)
        })
        .collect()
}

// -- measuring ---------------------------------------------------------------------------

/// What one connection saw in a phase.
#[derive(Default)]
struct Tally {
    /// Latency of every answered request, in microseconds.
    latencies: Vec<u64>,
    ok: u64,
    events: u64,
    /// Errors by status (0: no answer).
    errors: BTreeMap<u16, u64>,
    ran_out: bool,
}

/// What a request is: its body, and how many events it carries.
type Work = Arc<dyn Fn(usize, u64) -> Option<(Bytes, u64)> + Send + Sync>;

/// Runs `connections` closed loops for `warmup` then `seconds`; connection
/// `c`'s `n`-th request is `work(c, n)` (none: it stops).
async fn phase(
    addr: &str,
    path: &'static str,
    token: Option<String>,
    connections: usize,
    warmup: Duration,
    seconds: Duration,
    work: Work,
) -> (Tally, Duration) {
    let began = Instant::now();
    let measure_from = began + warmup;
    let until = measure_from + seconds;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, token, work) = (addr.to_string(), token.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(&addr);
            let mut tally = Tally::default();
            let mut n = 0;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let Some((body, events)) = work(c, n) else {
                    tally.ran_out = true;
                    break;
                };
                n += 1;
                let answer = conn.send("POST", path, token.as_deref(), body).await;
                let done = Instant::now();
                if sent < measure_from || done > until {
                    continue;
                }
                tally.latencies.push(done.duration_since(sent).as_micros() as u64);
                match answer {
                    Ok((200, _)) => {
                        tally.ok += 1;
                        tally.events += events;
                    }
                    Ok((status, _)) => *tally.errors.entry(status).or_default() += 1,
                    Err(_) => {
                        *tally.errors.entry(0).or_default() += 1;
                        // Do not spin on a service that is gone.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        if let Ok(t) = t.await {
            all.latencies.extend(t.latencies);
            all.ok += t.ok;
            all.events += t.events;
            for (k, v) in t.errors {
                *all.errors.entry(k).or_default() += v;
            }
            all.ran_out |= t.ran_out;
        }
    }
    let measured = Instant::now().min(until).saturating_duration_since(measure_from);
    (all, measured)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn summary(name: &str, connections: usize, mut tally: Tally, elapsed: Duration, batch: Option<usize>) -> Value {
    tally.latencies.sort_unstable();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let answered = tally.latencies.len() as u64;
    let errors: u64 = tally.errors.values().sum();
    let l = &tally.latencies;
    json!({
        "phase": name,
        "connections": connections,
        "batch": batch,
        "seconds": secs,
        "requests": answered,
        "ok": tally.ok,
        "errors": errors,
        "errors_by_status": tally.errors.iter().map(|(k, v)| (if *k == 0 { "no answer".to_string() } else { k.to_string() }, json!(v))).collect::<serde_json::Map<_, _>>(),
        "requests_per_second": tally.ok as f64 / secs,
        "events_per_second": tally.events as f64 / secs,
        "latency_ms": {
            "p50": percentile(l, 0.50),
            "p90": percentile(l, 0.90),
            "p99": percentile(l, 0.99),
            "max": percentile(l, 1.0),
        },
        "ran_out_of_work": tally.ran_out,
    })
}

fn print_phase(s: &Value) {
    let f = |k: &str| s[k].as_f64().unwrap_or(0.0);
    let l = |k: &str| s["latency_ms"][k].as_f64().unwrap_or(0.0);
    let name = s["phase"].as_str().unwrap_or_default();
    let batch = s["batch"]
        .as_u64()
        .map(|b| format!(", batches of {b}"))
        .unwrap_or_default();
    println!(
        "{name:<8} {} connections{batch}, {:.1} s: {} ok ({:.0} req/s{}), {} errors{}",
        s["connections"],
        f("seconds"),
        s["ok"],
        f("requests_per_second"),
        if s["batch"].is_null() {
            String::new()
        } else {
            format!(", {:.0} events/s", f("events_per_second"))
        },
        s["errors"],
        if s["errors"].as_u64().unwrap_or(0) > 0 {
            format!(" {}", s["errors_by_status"])
        } else {
            String::new()
        },
    );
    println!(
        "         latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms{}",
        l("p50"),
        l("p90"),
        l("p99"),
        l("max"),
        if s["ran_out_of_work"].as_bool() == Some(true) {
            "  (ran out of batches: raise --ingest-batches)"
        } else {
            ""
        }
    );
}

fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect()
}

// -- the run -----------------------------------------------------------------------------

fn run(args: &Args) -> Result<Value, String> {
    let load_before = load_average();
    let (started, url) = match &args.url {
        Some(u) => (None, u.clone()),
        None => {
            let (s, u) = start(args)?;
            (Some(s), u)
        }
    };
    let addr = authority(&url)?;
    let admin = args
        .admin_token
        .clone()
        .or_else(|| std::env::var("RPL_ADMIN_TOKEN").ok());
    let client = args
        .client_token
        .clone()
        .or_else(|| std::env::var("RPL_CLIENT_TOKEN").ok())
        .or_else(|| admin.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let text = !args.json;
    if text {
        println!(
            "rpl-load  {url} ({}), client {} thread(s); {cores} cores, load {load_before:?} before",
            if started.is_some() { "started here" } else { "given" },
            args.client_threads
        );
    }
    let report = runtime.block_on(async {
        let mut conn = Conn::new(&addr);
        if !args.keep_policy {
            let source = std::fs::read(&args.policy).map_err(|e| format!("{}: {e}", args.policy.display()))?;
            let (status, body) = conn
                .send("PUT", "/v1/policy", admin.as_deref(), Bytes::from(source))
                .await?;
            if status != 200 {
                return Err(format!("PUT /v1/policy: {status} {}", String::from_utf8_lossy(&body)));
            }
        }

        // The history, ingested before anything is measured.
        let lines = history(args)?;
        let began = Instant::now();
        let history_batches = batches(&lines, args.batch);
        for (i, body) in history_batches.iter().enumerate() {
            let (status, answer) = conn.send("POST", "/v1/events", client.as_deref(), body.clone()).await?;
            if status != 200 {
                return Err(format!(
                    "history batch {i}: {status} {}",
                    String::from_utf8_lossy(&answer)
                ));
            }
        }
        let history_secs = began.elapsed().as_secs_f64();
        let history = json!({
            "customers": args.customers,
            "days": args.days,
            "events": lines.len(),
            "batches": history_batches.len(),
            "seconds": history_secs,
            "events_per_second": lines.len() as f64 / history_secs.max(1e-9),
        });
        if text {
            println!(
                "history  {} customers over {} days: {} events in {} batches, {:.2} s ({:.0} events/s, one connection)",
                args.customers,
                args.days,
                lines.len(),
                history_batches.len(),
                history_secs,
                lines.len() as f64 / history_secs.max(1e-9)
            );
        }
        let mut report = json!({
            "url": url,
            "started": started.is_some(),
            "cores": cores,
            "client_threads": args.client_threads,
            "server_threads": args.server_threads,
            "policy": args.policy,
            "history": history,
        });
        let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
        let seconds = Duration::from_secs_f64(args.seconds.max(0.1));

        if args.only.iter().any(|p| p == "judge") {
            // Return events of the history under new ids: judged on what the store holds.
            let bodies: Vec<Bytes> = lines
                .iter()
                .filter(|l| l.contains("\"event\":\"return\"") || l.contains("\"event\": \"return\""))
                .map(|l| {
                    let mut v: Value = serde_json::from_str(l).map_err(|e| e.to_string())?;
                    if let Some(Value::String(id)) = v.get_mut("id") {
                        *id = format!("J-{id}");
                    }
                    serde_json::to_vec(&v).map(Bytes::from).map_err(|e| e.to_string())
                })
                .collect::<Result<_, String>>()?;
            if bodies.is_empty() {
                return Err("the history has no return to judge: raise --customers or --days".into());
            }
            let bodies = Arc::new(bodies);
            let stride = bodies.len() / args.connections.max(1) + 1;
            let work: Work = Arc::new(move |c, n| {
                let i = (c * stride + n as usize) % bodies.len();
                Some((bodies[i].clone(), 1))
            });
            let (tally, elapsed) = phase(
                &addr,
                "/v1/judge",
                client.clone(),
                args.connections,
                warmup,
                seconds,
                work,
            )
            .await;
            let s = summary("judge", args.connections, tally, elapsed, None);
            if text {
                print_phase(&s);
            }
            report["judge"] = s;
        }

        if args.only.iter().any(|p| p == "ingest") {
            // Fresh events: the history again, each connection under its own ids, round after round.
            let per_conn = args.ingest_batches.div_ceil(args.ingest_connections.max(1));
            let mut built: Vec<Vec<(Bytes, u64)>> = Vec::new();
            for c in 0..args.ingest_connections {
                let mut mine = Vec::new();
                let mut round = 0;
                'fill: loop {
                    let prefix = format!("L{c}.{round}-");
                    for chunk in lines.chunks(args.batch.max(1)) {
                        if mine.len() == per_conn {
                            break 'fill;
                        }
                        let mut body = String::new();
                        for l in chunk {
                            body.push_str(&renamed(l, &prefix)?);
                            body.push('\n');
                        }
                        mine.push((Bytes::from(body), chunk.len() as u64));
                    }
                    round += 1;
                }
                built.push(mine);
            }
            let built = Arc::new(built);
            let work: Work = Arc::new(move |c, n| built.get(c)?.get(n as usize).cloned());
            let (tally, elapsed) = phase(
                &addr,
                "/v1/events",
                client.clone(),
                args.ingest_connections,
                warmup,
                seconds,
                work,
            )
            .await;
            let s = summary("ingest", args.ingest_connections, tally, elapsed, Some(args.batch));
            if text {
                print_phase(&s);
            }
            report["ingest"] = s;
        }
        Ok(report)
    })?;
    drop(runtime);
    let mut report = report;
    let load_after = load_average();
    report["load_before"] = json!(load_before);
    report["load_after"] = json!(load_after);
    if text {
        println!("load     {load_after:?} after");
    }
    drop(started);
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renamed_prefixes_ids_and_references() {
        let line = r#"{"event":"return","id":"R-1","order_id":"O-1","sku":"R-2"}"#;
        let v: serde_json::Value = serde_json::from_str(&super::renamed(line, "L0.0-").unwrap()).unwrap();
        assert_eq!(v["id"], "L0.0-R-1");
        assert_eq!(v["order_id"], "L0.0-O-1");
        assert_eq!(v["sku"], "R-2");
    }

    #[test]
    fn percentiles_of_sorted_latencies() {
        let l: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(super::percentile(&l, 0.5), 50.0);
        assert_eq!(super::percentile(&l, 0.99), 99.0);
        assert_eq!(super::percentile(&l, 1.0), 100.0);
        assert_eq!(super::percentile(&[], 0.5), 0.0);
    }
}
