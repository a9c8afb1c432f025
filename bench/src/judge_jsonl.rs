//! End to end, as users run it (issue 15): the bench's cases as JSON Lines,
//! judged by the real `rpl judge` binary — reading, validating, judging and
//! writing a verdict line per case — on 1 and 2 threads, against serde_json
//! decoding the same lines into plain typed structs and doing nothing else.
//! The binary's peak memory is its own, not this process's.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;

use crate::records::{self, Record};

/// The policy the binary judges by: the one every engine of the bench runs.
const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policy.rpl");

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct Item {
    sku: String,
    category: Option<String>,
    unit_price: Option<String>,
    quantity: u32,
    condition: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct Order {
    id: String,
    customer_id: String,
    currency: String,
    placed_at: String,
    delivered_at: Option<String>,
    shipping_insurance: Option<bool>,
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct Return {
    id: String,
    requested_at: String,
    #[serde(rename = "type")]
    kind: String,
    reason: String,
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct PastOrder {
    id: String,
    placed_at: String,
    total: String,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct PastReturn {
    id: String,
    order_id: String,
    requested_at: String,
    #[serde(rename = "type")]
    kind: String,
    reason: String,
    amount: String,
    status: String,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct History {
    orders: Vec<PastOrder>,
    returns: Vec<PastReturn>,
}

/// A case as plain typed structs: owned strings, times and amounts as text,
/// nothing validated — the floor a reader of cases cannot beat.
#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
struct Case {
    order: Order,
    #[serde(rename = "return")]
    ret: Return,
    history: History,
}

pub struct Measured {
    pub cases: usize,
    pub bytes: usize,
    pub serde_typed_per_s: f64,
    pub rpl_per_s: f64,
    pub rpl_2_threads_per_s: f64,
    /// The binary's peak resident memory, the larger of its two runs.
    pub peak_rss_mb: f64,
}

/// The `rpl` binary: built (or found up to date) by cargo when the bench
/// runs under `cargo run`, so it is never older than the library measured
/// beside it; `$RPL_BIN` names another.
fn binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("RPL_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("the bench binary has no folder")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--bin", "rpl"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .map_err(|e| format!("cargo build --bin rpl: {e}"))?;
        if !status.success() {
            return Err("cargo build --release --bin rpl failed".into());
        }
    }
    let bin = dir.join("rpl");
    if !bin.exists() {
        return Err(format!("{} is missing: cargo build --release --bin rpl", bin.display()));
    }
    Ok(bin)
}

/// Runs `rpl judge` once over `path` with its output to `out`; the time it
/// took and its peak resident memory in MB.
///
/// The peak is the kernel's high-water mark of the child's own memory
/// (`VmHWM` in /proc/PID/status), read every few milliseconds while it runs:
/// it only grows, so the last reading is the peak but for the last
/// milliseconds. (`wait4`'s `ru_maxrss` would not do: Linux carries the
/// parent's high-water mark into it across the exec.)
fn judge(bin: &Path, path: &Path, threads: usize, out: std::fs::File) -> Result<(f64, f64), String> {
    let errors = path.with_extension("stderr");
    let stderr = std::fs::File::create(&errors).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("judge")
        .arg(POLICY)
        .arg(path)
        .args(["--threads", &threads.to_string()])
        .stdout(out)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(kb) = high_water_kb(&status_file) {
            peak_kb = peak_kb.max(kb);
        }
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None => std::thread::sleep(std::time::Duration::from_millis(2)),
        }
    };
    let took = start.elapsed().as_secs_f64();
    if !status.success() {
        let said = std::fs::read_to_string(&errors).unwrap_or_default();
        return Err(format!("rpl judge --threads {threads}: {status}: {said}"));
    }
    Ok((took, peak_kb as f64 / 1024.0))
}

fn high_water_kb(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn measure(records: &[Record], runs: usize) -> Result<Measured, String> {
    let dir = std::env::temp_dir().join(format!("rpl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = measure_in(&dir, records, runs);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure_in(dir: &Path, records: &[Record], runs: usize) -> Result<Measured, String> {
    let path = dir.join("cases.jsonl");
    let mut text = Vec::with_capacity(records.len() * 700);
    for (i, r) in records.iter().enumerate() {
        serde_json::to_writer(&mut text, &records::case_json(i, r)).map_err(|e| e.to_string())?;
        text.push(b'\n');
    }
    std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = records.len();

    // The floor: the same lines into typed structs, one thread.
    let mut serde_best = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let mut seen = 0usize;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let case: Case = serde_json::from_slice(line).map_err(|e| format!("case {seen}: {e}"))?;
            black_box(&case);
            seen += 1;
        }
        serde_best = serde_best.min(start.elapsed().as_secs_f64());
        if seen != n {
            return Err(format!("decoded {seen} cases of {n}"));
        }
    }

    // The binary: every line must come back a verdict, in order.
    let bin = binary()?;
    let verdicts = dir.join("verdicts.jsonl");
    for threads in [1, 2] {
        let out = std::fs::File::create(&verdicts).map_err(|e| e.to_string())?;
        judge(&bin, &path, threads, out)?;
        let file = std::fs::File::open(&verdicts).map_err(|e| e.to_string())?;
        let mut count = 0usize;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| e.to_string())?;
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            let want = format!("R-{count}");
            if v.get("return_id").and_then(|r| r.as_str()) != Some(want.as_str()) {
                return Err(format!("verdict line {}: not the verdict of {want}: {line}", count + 1));
            }
            count += 1;
        }
        if count != n {
            return Err(format!("rpl judge --threads {threads}: {count} verdicts for {n} cases"));
        }
    }
    let mut timed = [f64::INFINITY; 2];
    let mut peak: f64 = 0.0;
    for _ in 0..runs.max(1) {
        for (k, threads) in [1, 2].into_iter().enumerate() {
            let sink = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(|e| e.to_string())?;
            let (took, rss) = judge(&bin, &path, threads, sink)?;
            timed[k] = timed[k].min(took);
            peak = peak.max(rss);
        }
    }
    let _ = std::io::stderr().flush();
    Ok(Measured {
        cases: n,
        bytes: text.len(),
        serde_typed_per_s: n as f64 / serde_best,
        rpl_per_s: n as f64 / timed[0],
        rpl_2_threads_per_s: n as f64 / timed[1],
        peak_rss_mb: peak,
    })
}
