//! Found at check time, not in production: which of a merchant's rules and
//! shipping rows the floor overrides, each with a witness — a case on which
//! it happens (`rpl check --floor FLOOR POLICY`).
//!
//! The cases come from a search over the words both policies use (their
//! declared values, and every string they compare with), the request's type,
//! the days from signing to the request around the windows policies write
//! (0–40, and a parcel not yet delivered), shipping insurance, and a quiet
//! or a heavy history (enough returns to fire abuse rules). The search is
//! deterministic, bounded, and exact in what it reports: a warning names a
//! case on which both policies were really judged and the floor really
//! changed the merchant's answer. It may miss an override no generated case
//! reaches; it never invents one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::diag::{Diagnostic, Span};
use crate::eval::Program;
use crate::ir::{Lit, Node, schema::Field};
use crate::support::rng::Rng;
use crate::syntax::ast::Item;

/// Cases judged at most.
const MAX_CASES: usize = 6_000;

/// Days from signing to the request tried; `None`: not yet delivered.
const DAYS: [Option<i64>; 16] = [
    None,
    Some(0),
    Some(1),
    Some(3),
    Some(5),
    Some(6),
    Some(7),
    Some(8),
    Some(10),
    Some(14),
    Some(15),
    Some(16),
    Some(29),
    Some(30),
    Some(31),
    Some(45),
];

const TYPES: [&str; 3] = ["return_refund", "refund_only", "exchange"];

/// What a search found of one merchant construct.
struct Found {
    what: String,
    witness: Value,
    count: usize,
}

/// Warnings, on the merchant's source, for every rule (or its default) and
/// shipping row the floor overrides on some generated case.
pub fn floor_overrides(floor: &Program, merchant: &Program) -> Vec<Diagnostic> {
    let words = Words::of(&[floor, merchant]);
    let mut rng = Rng::new(0x666c_6f6f_72, 1);
    // By merchant construct: rule name (or "" for the default), or a shipping row.
    let mut rules: BTreeMap<String, Found> = BTreeMap::new();
    let mut rows: BTreeMap<usize, Found> = BTreeMap::new();
    for _ in 0..MAX_CASES {
        let case_json = words.case(&mut rng);
        let Ok(case) = crate::data::parse_case_value(&case_json) else {
            continue;
        };
        let (Ok(f), Ok((m, m_rows))) = (floor.judge(&case), merchant.judge_rows(&case)) else {
            continue;
        };
        let merchant_shipping = m.shipping.clone();
        let layered = super::layer(floor, merchant, f, m);
        for line in &layered.lines {
            for o in &line.overrides {
                let key = o.merchant_rule.clone().unwrap_or_default();
                let refund = match (&o.refund_from, &o.refund_to) {
                    (Some(a), Some(b)) => format!(", refund {a} -> {b}"),
                    _ => String::new(),
                };
                let what = format!(
                    "{} -> {} (floor rule `{}`{refund})",
                    o.from,
                    o.to,
                    o.floor_rule.as_deref().unwrap_or("?")
                );
                rules
                    .entry(key)
                    .and_modify(|e| e.count += 1)
                    .or_insert_with(|| Found {
                        what,
                        witness: case_json.clone(),
                        count: 1,
                    });
            }
        }
        if layered.shipping != merchant_shipping
            && let Some(row) = m_rows.shipping
        {
            let what = format!("{merchant_shipping} -> {} (the floor's shipping)", layered.shipping);
            rows.entry(row).and_modify(|e| e.count += 1).or_insert_with(|| Found {
                what,
                witness: case_json.clone(),
                count: 1,
            });
        }
    }
    let places = Places::of(merchant.source());
    let mut out = Vec::new();
    for (rule, found) in rules {
        let (span, name) = match rule.as_str() {
            "" => (places.header, "the default".to_string()),
            r => (places.rules.get(r).copied().unwrap_or(places.header), format!("rule `{r}`")),
        };
        out.push(warning(span, &name, &found));
    }
    for (row, found) in rows {
        let span = places.shipping.get(row).copied().unwrap_or(places.header);
        out.push(warning(span, &format!("shipping row {}", row + 1), &found));
    }
    out.sort_by_key(|d| d.span.start);
    out
}

fn warning(span: Span, name: &str, found: &Found) -> Diagnostic {
    let times = if found.count == 1 {
        "on 1 generated case".to_string()
    } else {
        format!("on {} generated cases", found.count)
    };
    let witness = serde_json::to_string(&found.witness).unwrap_or_default();
    Diagnostic::warning(
        "floor-overrides",
        span,
        format!("the floor overrides {name}: {} {times}", found.what),
    )
    .with_hint(format!("for example this case: {witness}"))
}

/// Where the merchant's rules, default and shipping rows are written.
struct Places {
    header: Span,
    rules: BTreeMap<String, Span>,
    shipping: Vec<Span>,
}

impl Places {
    fn of(source: &str) -> Places {
        let mut p = Places {
            header: Span::default(),
            rules: BTreeMap::new(),
            shipping: Vec::new(),
        };
        let Ok(tree) = crate::syntax::parse(source) else {
            return p;
        };
        let mut shipping_seen = false;
        for item in &tree.items {
            match item {
                Item::Header(h) => p.header = h.title.span,
                Item::Rule(r) => {
                    p.rules.insert(r.name.name.clone(), r.name.span);
                }
                Item::Shipping(t) if !std::mem::replace(&mut shipping_seen, true) => {
                    p.shipping = t.rows.iter().map(|r| r.span).collect();
                }
                _ => {}
            }
        }
        p
    }
}

/// The words the search draws from.
struct Words {
    currency: String,
    reasons: Vec<String>,
    categories: Vec<String>,
    conditions: Vec<String>,
    tags: Vec<String>,
}

impl Words {
    fn of(programs: &[&Program]) -> Words {
        let mut literals = BTreeSet::new();
        for p in programs {
            for node in &p.ir.nodes {
                if let Node::Lit(Lit::Str(s)) = node {
                    literals.insert(s.clone());
                }
            }
            for list in &p.ir.lists {
                literals.extend(list.iter().cloned());
            }
        }
        // A declared vocabulary narrows a field to its words (and both
        // policies must accept a case); else every literal is tried.
        let field = |f: Field, defaults: &[&str]| -> Vec<String> {
            let mut words: BTreeSet<String> = defaults.iter().map(|s| s.to_string()).collect();
            let declared: Vec<_> = programs.iter().filter_map(|p| p.ir.vocabularies.get(f)).collect();
            match declared.first() {
                Some(v) => words.extend(v.words().map(str::to_string)),
                None => words.extend(literals.iter().cloned()),
            }
            words.retain(|w| declared.iter().all(|v| v.allows(w)));
            words.into_iter().collect()
        };
        Words {
            currency: programs.first().map_or("CNY".into(), |p| p.currency().to_string()),
            reasons: field(Field::ReturnReason, &["changed_mind", "quality_defect", "not_received"]),
            categories: field(Field::ItemCategory, &["apparel", "electronics"]),
            conditions: field(Field::ItemCondition, &["unused", "unopened", "opened", "used", "unknown"]),
            tags: literals.into_iter().collect(),
        }
    }

    /// One generated case.
    fn case(&self, rng: &mut Rng) -> Value {
        let pick = |rng: &mut Rng, v: &[String]| -> String {
            if v.is_empty() {
                String::new()
            } else {
                v[rng.index(v.len())].clone()
            }
        };
        let days = DAYS[rng.index(DAYS.len())];
        let kind = TYPES[rng.index(TYPES.len())];
        let placed = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00+08:00").unwrap_or_default();
        let delivered = placed + chrono::Duration::days(2);
        let requested = match days {
            Some(d) => delivered + chrono::Duration::days(d) + chrono::Duration::hours(2),
            None => placed + chrono::Duration::days(1),
        };
        let fmt = |t: chrono::DateTime<chrono::FixedOffset>| t.to_rfc3339();
        let mut item = json!({"sku": "A", "category": pick(rng, &self.categories), "unit_price": "100.00", "quantity": 1});
        if rng.below(4) == 0 {
            item["tags"] = json!([pick(rng, &self.tags)]);
        }
        let mut order = json!({
            "id": "O-1", "customer_id": "C-1", "currency": self.currency,
            "placed_at": fmt(placed), "shipping_insurance": rng.below(2) == 0,
            "items": [item],
        });
        if days.is_some() {
            order["shipped_at"] = json!(fmt(placed + chrono::Duration::days(1)));
            order["delivered_at"] = json!(fmt(delivered));
        }
        let mut line = json!({"sku": "A", "quantity": 1});
        let condition = pick(rng, &self.conditions);
        if condition != "unknown" {
            line["condition"] = json!(condition);
        }
        let mut case = json!({
            "order": order,
            "return": {"id": "R-1", "requested_at": fmt(requested), "type": kind,
                       "reason": pick(rng, &self.reasons), "items": [line], "evidence": ["photo"]},
            "customer": {"id": "C-1", "created_at": "2024-01-01T00:00:00+08:00", "vip": rng.below(4) == 0},
        });
        if rng.below(3) == 0 {
            // A heavy history: returns on most days of the last weeks.
            let reason = pick(rng, &self.reasons);
            let returns: Vec<Value> = (1..=8)
                .map(|i| {
                    let at = requested - chrono::Duration::days(i * 3);
                    json!({"id": format!("P-{i}"), "order_id": format!("O-P{i}"), "requested_at": fmt(at),
                           "type": TYPES[(i as usize) % 2], "reason": reason, "amount": "100.00",
                           "status": "refunded"})
                })
                .collect();
            let orders: Vec<Value> = (1..=8)
                .map(|i| json!({"id": format!("O-P{i}"), "placed_at": fmt(requested - chrono::Duration::days(i * 3 + 2)), "total": "100.00"}))
                .collect();
            case["history"] = json!({"orders": orders, "returns": returns});
        }
        case
    }
}
