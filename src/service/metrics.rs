//! Prometheus metrics, kept with atomics and written as text at
//! `GET /metrics`: requests and their latency per endpoint, decisions by
//! kind, events by kind, commits and their group sizes, and the store's size.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::ingest::Applied;

/// The endpoints, as the metrics label them.
pub(super) const ENDPOINTS: [&str; 10] = [
    "events",
    "judge",
    "decisions",
    "policy",
    "merchants",
    "life",
    "healthz",
    "metrics",
    "openapi",
    "other",
];

/// Latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

const DECISIONS: [&str; 4] = ["approve", "partial", "review", "deny"];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Microseconds.
    sum: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add((seconds * 1e6) as u64, Relaxed);
    }
}

/// Every counter the service keeps.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: [[AtomicU64; 6]; ENDPOINTS.len()],
    latency: [Histogram; ENDPOINTS.len()],
    decisions: [AtomicU64; DECISIONS.len()],
    events: [AtomicU64; 3],
    commits: AtomicU64,
    committed_requests: AtomicU64,
}

/// Status classes counted per endpoint.
const CLASSES: [&str; 6] = ["2xx", "3xx", "4xx", "5xx", "401", "503"];

impl Metrics {
    /// One answered request.
    pub fn request(&self, endpoint: usize, status: u16, seconds: f64) {
        let class = match status {
            401 => 4,
            503 => 5,
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        if let Some(counts) = self.requests.get(endpoint) {
            counts[class].fetch_add(1, Relaxed);
        }
        if let Some(h) = self.latency.get(endpoint) {
            h.observe(seconds);
        }
    }

    /// A verdict given.
    pub fn decision(&self, word: &str) {
        if let Some(i) = DECISIONS.iter().position(|d| *d == word) {
            self.decisions[i].fetch_add(1, Relaxed);
        }
    }

    /// A batch applied: its new decisions (a re-sent return's is not new).
    pub fn applied(&self, applied: &Applied) {
        for (count, n) in self.events.iter().zip(applied.kinds) {
            count.fetch_add(n, Relaxed);
        }
        for judged in applied.verdicts.iter().filter(|j| j.fresh) {
            self.decision(&judged.decision);
        }
    }

    /// A durable commit of `requests` requests.
    pub fn commit(&self, requests: usize) {
        self.commits.fetch_add(1, Relaxed);
        self.committed_requests.fetch_add(requests as u64, Relaxed);
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self, store_bytes: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP rpl_requests_total Requests answered, by endpoint and status."
        );
        let _ = writeln!(out, "# TYPE rpl_requests_total counter");
        for (e, counts) in ENDPOINTS.iter().zip(&self.requests) {
            for (class, n) in CLASSES.iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "rpl_requests_total{{endpoint=\"{e}\",status=\"{class}\"}} {}",
                    n.load(Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP rpl_request_duration_seconds Time from request to answer, by endpoint."
        );
        let _ = writeln!(out, "# TYPE rpl_request_duration_seconds histogram");
        for (e, h) in ENDPOINTS.iter().zip(&self.latency) {
            for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
                let _ = writeln!(
                    out,
                    "rpl_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"{bound}\"}} {}",
                    bucket.load(Relaxed)
                );
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(
                out,
                "rpl_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {count}"
            );
            let sum = h.sum.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "rpl_request_duration_seconds_sum{{endpoint=\"{e}\"}} {sum}");
            let _ = writeln!(out, "rpl_request_duration_seconds_count{{endpoint=\"{e}\"}} {count}");
        }
        let _ = writeln!(out, "# HELP rpl_decisions_total Verdicts given, by decision.");
        let _ = writeln!(out, "# TYPE rpl_decisions_total counter");
        for (d, n) in DECISIONS.iter().zip(&self.decisions) {
            let _ = writeln!(out, "rpl_decisions_total{{decision=\"{d}\"}} {}", n.load(Relaxed));
        }
        let _ = writeln!(out, "# HELP rpl_events_total Event lines applied, by kind.");
        let _ = writeln!(out, "# TYPE rpl_events_total counter");
        for (k, n) in ["customer", "order", "return"].iter().zip(&self.events) {
            let _ = writeln!(out, "rpl_events_total{{kind=\"{k}\"}} {}", n.load(Relaxed));
        }
        let _ = writeln!(out, "# HELP rpl_commits_total Durable commits of the store.");
        let _ = writeln!(out, "# TYPE rpl_commits_total counter");
        let _ = writeln!(out, "rpl_commits_total {}", self.commits.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP rpl_committed_requests_total Requests made durable by those commits."
        );
        let _ = writeln!(out, "# TYPE rpl_committed_requests_total counter");
        let _ = writeln!(
            out,
            "rpl_committed_requests_total {}",
            self.committed_requests.load(Relaxed)
        );
        let _ = writeln!(out, "# HELP rpl_store_bytes The size of the store's file.");
        let _ = writeln!(out, "# TYPE rpl_store_bytes gauge");
        let _ = writeln!(out, "rpl_store_bytes {store_bytes}");
        out
    }
}
