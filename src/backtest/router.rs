//! What needs the whole stream, before an event goes to the shard that owns
//! its customer: time order, which orders exist (within the retention), and
//! whose they are.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

use super::events::{Event, Stamp, shown};
use crate::data::json::err;
use crate::data::{InputError, Time};

pub struct Router {
    /// The latest time seen, as its line wrote it.
    last: Option<Stamp>,
    /// Each retained order's shard.
    orders: HashMap<String, usize>,
    by_time: VecDeque<(Time, String)>,
    /// Each retained return's shard, for the events of its life.
    returns: HashMap<String, (usize, Time)>,
    returns_by_time: VecDeque<(Time, String)>,
    retention: i64,
    shards: usize,
}

impl Router {
    pub fn new(retention_seconds: i64, shards: usize) -> Router {
        Router {
            last: None,
            orders: HashMap::default(),
            by_time: VecDeque::new(),
            returns: HashMap::default(),
            returns_by_time: VecDeque::new(),
            retention: retention_seconds,
            shards: shards.max(1),
        }
    }

    /// The latest time the stream has reached.
    pub fn last_time(&self) -> Option<Time> {
        self.last.map(|t| t.to_utc())
    }

    fn shard_of(&self, customer: &str) -> usize {
        // FNV-1a: stable across runs and platforms, so sharding is too.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in customer.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        (h % self.shards as u64) as usize
    }

    /// The shard the event goes to. A line whose time is accepted moves the
    /// stream's clock, even if it is then refused for another reason.
    pub fn route(&mut self, event: &Event) -> Result<usize, InputError> {
        if let Some(at) = event.at() {
            if let Some(last) = self.last
                && at < last
            {
                return Err(err(
                    "",
                    format!("time goes backwards: {} comes after {}", shown(at), shown(last)),
                ));
            }
            self.last = Some(at);
            self.forget_before(at.to_utc());
        }
        match event {
            Event::Customer(c, _) => Ok(self.shard_of(&c.id)),
            Event::Order(o) => {
                let o = &o.order;
                if self.orders.contains_key(&o.id) {
                    return Err(err("id", format!("order \"{}\" appears twice", o.id)));
                }
                let shard = self.shard_of(&o.customer_id);
                self.orders.insert(o.id.clone(), shard);
                self.by_time.push_back((o.placed_at, o.id.clone()));
                Ok(shard)
            }
            Event::OrderUpdate(u) => self.owner(&u.id, "id"),
            Event::Return(r) => {
                let shard = self.owner(&r.order_id, "order_id")?;
                // A later return of the same id takes its life events.
                self.returns.insert(r.id().to_string(), (shard, r.at.to_utc()));
                self.returns_by_time.push_back((r.at.to_utc(), r.id().to_string()));
                Ok(shard)
            }
            Event::ReviewDecision(d) => self.return_owner(&d.return_id),
            Event::Inspection(i) => self.return_owner(&i.return_id),
        }
    }

    fn return_owner(&self, id: &str) -> Result<usize, InputError> {
        self.returns.get(id).map(|(shard, _)| *shard).ok_or_else(|| {
            err(
                "return_id",
                format!(
                    "return \"{id}\" is unknown (never seen earlier in the stream, or asked for more than {} days before)",
                    self.retention / 86_400
                ),
            )
        })
    }

    fn owner(&self, order: &str, key: &str) -> Result<usize, InputError> {
        self.orders.get(order).copied().ok_or_else(|| {
            err(
                key,
                format!(
                    "order \"{order}\" is unknown (never seen earlier in the stream, or placed more than {} days before)",
                    self.retention / 86_400
                ),
            )
        })
    }

    fn forget_before(&mut self, now: Time) {
        let Some(cutoff) = chrono::Duration::try_seconds(self.retention).and_then(|r| now.checked_sub_signed(r)) else {
            return;
        };
        while self.by_time.front().is_some_and(|(t, _)| *t < cutoff) {
            if let Some((_, id)) = self.by_time.pop_front() {
                self.orders.remove(&id);
            }
        }
        while self.returns_by_time.front().is_some_and(|(t, _)| *t < cutoff) {
            if let Some((t, id)) = self.returns_by_time.pop_front()
                // Unless a later return took the id.
                && self.returns.get(&id).is_some_and(|(_, at)| *at == t)
            {
                self.returns.remove(&id);
            }
        }
    }
}
