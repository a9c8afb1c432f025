//! Backtest throughput on a generated stream (docs/language.md §11), against serde_json
//! decoding the same lines into typed structs and doing nothing else.

use std::hint::black_box;
use std::io::{BufRead, Cursor};
use std::time::Instant;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // decoded to be measured, never read
pub enum Kind {
    Customer,
    Order,
    OrderUpdate,
    Return,
}

/// An order's line or a return's: the fields of both.
#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
pub struct Item {
    pub sku: String,
    pub quantity: u32,
    pub category: Option<String>,
    pub unit_price: Option<String>,
    pub condition: Option<String>,
}

/// Every field of the four events, flat: no buffering of the whole object
/// (as `#[serde(tag = "event")]` or `untagged` would), owned strings, times and
/// amounts left as text, nothing validated.
#[derive(Deserialize)]
#[allow(dead_code)] // decoded to be measured, never read
pub struct Event {
    pub event: Kind,
    pub id: String,
    // customer
    pub created_at: Option<String>,
    pub vip: Option<bool>,
    pub tags: Option<Vec<String>>,
    // order
    pub customer_id: Option<String>,
    pub currency: Option<String>,
    pub placed_at: Option<String>,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub shipping_fee: Option<String>,
    pub shipping_insurance: Option<bool>,
    pub items: Option<Vec<Item>>,
    // order_update
    pub at: Option<String>,
    // return
    pub order_id: Option<String>,
    pub requested_at: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub reason: Option<String>,
    pub evidence: Option<Vec<String>>,
    pub status: Option<String>,
    pub label: Option<String>,
}

pub struct Stream {
    pub data: Vec<u8>,
    pub events: u64,
    pub stats: rpl::GenStats,
}

pub fn stream(customers: usize, days: u32) -> Result<Stream, String> {
    let mut data = Vec::new();
    let mut opts = rpl::GenOptions::default();
    opts.customers = customers;
    opts.days = days;
    let stats = rpl::generate(&opts, &mut data).map_err(|e| e.to_string())?;
    let events = data.iter().filter(|b| **b == b'\n').count() as u64;
    Ok(Stream { data, events, stats })
}

/// Events per second, the best of `runs`; `f` returns how many events it saw.
pub fn best(runs: usize, events: u64, mut f: impl FnMut() -> Result<u64, String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let seen = black_box(f()?);
        let took = start.elapsed().as_secs_f64();
        if seen != events {
            return Err(format!("saw {seen} events, the stream has {events}"));
        }
        best = best.min(took);
    }
    Ok(events as f64 / best)
}

pub fn serde_typed(data: &[u8]) -> Result<u64, String> {
    let mut n = 0;
    for line in Cursor::new(data).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let event: Event = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        black_box(&event);
        n += 1;
    }
    Ok(n)
}

pub fn parse_only(data: &[u8], threads: usize) -> Result<u64, String> {
    rpl::internals::parse_only(Cursor::new(black_box(data)), threads, 16_384).map_err(|e| e.to_string())
}

pub fn run(program: &rpl::Program, data: &[u8], threads: usize) -> Result<u64, String> {
    let mut opts = rpl::BacktestOptions::default();
    opts.threads = threads;
    let summary =
        rpl::backtest(&[program], Cursor::new(black_box(data)), None, &opts, |_| {}).map_err(|e| e.to_string())?;
    black_box(&summary);
    Ok(summary.lines)
}
