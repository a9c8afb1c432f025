//! Emitting events: customers, orders, order updates and returns written as
//! JSON Lines, by hand and in a fixed key order, so the same seed gives the
//! same bytes.

use super::*;

/// What a day draws: sign-ups and orders.
pub(super) enum What {
    Customer(u32),
    Order(Order),
}

pub(super) struct Event {
    pub(super) time: i64,
    pub(super) seq: u64,
    pub(super) what: What,
}

/// What an order's placement sets in motion, waiting in the heap for its time.
pub(super) enum Later {
    Update(Update),
    Return(Pending),
    Inspection(Inspection),
}

pub(super) struct Due {
    pub(super) time: i64,
    pub(super) seq: u64,
    pub(super) what: Later,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

pub(super) struct Emitter<'w, W: Write> {
    pub(super) out: &'w mut W,
    pub(super) buf: Vec<u8>,
    pub(super) currency: String,
    pub(super) stats: GenStats,
}

impl<W: Write> Emitter<'_, W> {
    fn line_done(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.stats.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub(super) fn finish(mut self) -> io::Result<GenStats> {
        self.flush_buf()?;
        self.out.flush()?;
        Ok(self.stats)
    }

    pub(super) fn customer(&mut self, c: &mut Customer) -> io::Result<()> {
        self.stats.customers += 1;
        c.id = self.stats.customers as u32;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"customer","id":"#);
        push_id(b, b"C-", u64::from(c.id), 6);
        b.extend_from_slice(br#","created_at":"#);
        push_time(b, c.created_at);
        b.extend_from_slice(if c.vip {
            br#","vip":true,"tags":[]}"#
        } else {
            br#","vip":false,"tags":[]}"#
        });
        self.line_done()
    }

    /// Writes the order and returns the number in its id.
    pub(super) fn order(&mut self, o: &Order, c: &Customer, catalog: &Catalog) -> io::Result<u64> {
        self.stats.orders += 1;
        let number = self.stats.orders;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"order","id":"#);
        push_id(b, b"O-", number, 8);
        b.extend_from_slice(br#","customer_id":"#);
        push_id(b, b"C-", u64::from(c.id), 6);
        b.extend_from_slice(br#","currency":"#);
        push_str(b, &self.currency);
        b.extend_from_slice(br#","placed_at":"#);
        push_time(b, o.placed);
        b.extend_from_slice(br#","paid_at":"#);
        push_time(b, o.paid);
        b.extend_from_slice(br#","shipping_fee":"#);
        push_money(b, o.fee_cents);
        b.extend_from_slice(if o.insurance {
            br#","shipping_insurance":true,"tags":["#
        } else {
            br#","shipping_insurance":false,"tags":["#
        });
        if o.tag != 0 {
            push_str(b, TAGS[usize::from(o.tag)]);
        }
        b.extend_from_slice(br#"],"items":["#);
        for (k, line) in o.lines().iter().enumerate() {
            let p = catalog.product(line.product);
            if k > 0 {
                b.push(b',');
            }
            b.extend_from_slice(br#"{"sku":"#);
            push_str(b, &p.sku);
            b.extend_from_slice(br#","category":"#);
            push_str(b, CATEGORIES[usize::from(p.category)]);
            b.extend_from_slice(br#","unit_price":"#);
            push_str(b, &p.price);
            b.extend_from_slice(br#","quantity":"#);
            push_uint(b, u64::from(line.quantity));
            b.push(b'}');
        }
        b.extend_from_slice(b"]}");
        self.line_done()?;
        Ok(number)
    }

    pub(super) fn update(&mut self, u: &Update) -> io::Result<()> {
        self.stats.order_updates += 1;
        self.stats.cancelled += u64::from(u.field == UpdateField::Cancelled);
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"order_update","id":"#);
        push_id(b, b"O-", u.order_no, 8);
        b.extend_from_slice(br#","at":"#);
        push_time(b, u.at);
        b.extend_from_slice(match u.field {
            UpdateField::Shipped => br#","shipped_at":"#,
            UpdateField::Delivered => br#","delivered_at":"#,
            UpdateField::Cancelled => br#","cancelled_at":"#,
        });
        push_time(b, u.value);
        b.push(b'}');
        self.line_done()
    }

    /// Writes the return and returns the number in its id.
    pub(super) fn ret(&mut self, r: &Pending, catalog: &Catalog) -> io::Result<u64> {
        self.stats.returns += 1;
        self.stats.abusive_returns += u64::from(r.abuse);
        let number = self.stats.returns;
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"return","id":"#);
        push_id(b, b"R-", number, 8);
        b.extend_from_slice(br#","order_id":"#);
        push_id(b, b"O-", r.order_no, 8);
        b.extend_from_slice(br#","requested_at":"#);
        push_time(b, r.time);
        b.extend_from_slice(br#","type":"#);
        push_str(b, TYPES[usize::from(r.kind)]);
        b.extend_from_slice(br#","reason":"#);
        push_str(b, REASONS[usize::from(r.reason)]);
        b.extend_from_slice(br#","items":["#);
        for (k, line) in r.lines[..usize::from(r.n)].iter().enumerate() {
            if k > 0 {
                b.push(b',');
            }
            b.extend_from_slice(br#"{"sku":"#);
            push_str(b, &catalog.product(line.product).sku);
            b.extend_from_slice(br#","quantity":"#);
            push_uint(b, u64::from(line.quantity));
            if line.condition != 0 {
                b.extend_from_slice(br#","condition":"#);
                push_str(b, CONDITIONS[usize::from(line.condition)]);
            }
            b.push(b'}');
        }
        b.push(b']');
        if r.evidence != 0 {
            b.extend_from_slice(br#","evidence":"#);
            b.extend_from_slice(EVIDENCE[usize::from(r.evidence)].as_bytes());
        }
        b.extend_from_slice(if r.abuse {
            br#","label":"abuse"}"#
        } else {
            br#","label":"ok"}"#
        });
        self.line_done()?;
        Ok(number)
    }

    pub(super) fn inspection(&mut self, i: &Inspection, catalog: &Catalog) -> io::Result<()> {
        self.stats.inspections += 1;
        self.stats.swaps += u64::from(!i.sku_match);
        let b = &mut self.buf;
        b.extend_from_slice(br#"{"event":"inspection","return_id":"#);
        push_id(b, b"R-", i.return_no, 8);
        b.extend_from_slice(br#","sku":"#);
        push_str(b, &catalog.product(i.product).sku);
        b.extend_from_slice(br#","at":"#);
        push_time(b, i.at);
        if i.condition != 0 {
            b.extend_from_slice(br#","condition":"#);
            push_str(b, CONDITIONS[usize::from(i.condition)]);
        }
        b.extend_from_slice(br#","quantity_received":"#);
        push_uint(b, u64::from(i.received));
        b.extend_from_slice(if i.tags_attached {
            br#","tags_attached":true"#
        } else {
            br#","tags_attached":false"#
        });
        b.extend_from_slice(if i.sku_match {
            br#","sku_match":true,"packaging_intact":true,"photos":[]}"#
        } else {
            br#","sku_match":false,"packaging_intact":false,"photos":["swap.jpg"]}"#
        });
        self.line_done()
    }
}
