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

/// One merchant construct the floor overrides, with a witness.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FloorOverride {
    /// The merchant's rule (`None`: its default), or a shipping row.
    pub merchant: String,
    /// The floor's rule (or `shipping`) that stands instead.
    pub floor: String,
    /// The merchant's answer, and the one that stands.
    pub from: String,
    /// The one that stands.
    pub to: String,
    /// On how many generated cases.
    pub count: usize,
    /// A case on which it happens, as `rpl judge` takes it.
    pub witness: Value,
    /// The witness in words.
    pub described: String,
    /// Whether the floor rule reads `risk` (an abuse rule).
    pub abuse: bool,
    /// Where, in the merchant's source.
    pub span: Span,
}

/// Everything the search finds: every (merchant construct, floor construct)
/// pair, the first witness kept (one without history preferred).
pub fn floor_overrides(floor: &Program, merchant: &Program) -> Vec<FloorOverride> {
    let words = Words::of(&[floor, merchant]);
    let mut rng = Rng::new(0x0066_6c6f_6f72, 1);
    let abuse_rules = risk_rules(floor);
    let places = Places::of(merchant.source());
    let mut found: BTreeMap<(String, String), FloorOverride> = BTreeMap::new();
    let mut note = |key: (String, String), o: FloorOverride| {
        found
            .entry(key)
            .and_modify(|e| {
                e.count += 1;
                if e.witness.get("history").is_some() && o.witness.get("history").is_none() {
                    e.witness = o.witness.clone();
                    e.described = o.described.clone();
                }
            })
            .or_insert(o);
    };
    for _ in 0..MAX_CASES {
        let case_json = words.case(&mut rng);
        let Ok(case) = crate::data::parse_case_value(&case_json) else {
            continue;
        };
        let (Ok(f), Ok((m, m_rows))) = (floor.judge(&case), merchant.judge_rows(&case)) else {
            continue;
        };
        let merchant_shipping = m.shipping.clone();
        let layered = super::layer(floor, merchant, &case, f, m);
        for line in &layered.lines {
            for o in &line.overrides {
                let merchant_rule = o.merchant_rule.clone();
                let floor_rule = o.floor_rule.clone().unwrap_or_else(|| "(an error)".into());
                let span = match &merchant_rule {
                    Some(r) => places.rules.get(r).copied().unwrap_or(places.header),
                    None => places.header,
                };
                let merchant_name = merchant_rule.map_or("the default".to_string(), |r| format!("rule `{r}`"));
                let key = (merchant_name.clone(), floor_rule.clone());
                note(
                    key,
                    FloorOverride {
                        merchant: merchant_name,
                        abuse: abuse_rules.contains(&floor_rule),
                        floor: format!("rule `{floor_rule}`"),
                        from: o.from.to_string(),
                        to: o.to.to_string(),
                        count: 1,
                        described: describe(&case_json),
                        witness: case_json.clone(),
                        span,
                    },
                );
            }
        }
        if layered.shipping != merchant_shipping
            && let Some(row) = m_rows.shipping
        {
            let name = format!("shipping row {}", row + 1);
            note(
                (name.clone(), "shipping".into()),
                FloorOverride {
                    merchant: name,
                    floor: "its shipping table".into(),
                    from: merchant_shipping.to_string(),
                    to: layered.shipping.to_string(),
                    count: 1,
                    described: describe(&case_json),
                    witness: case_json.clone(),
                    abuse: false,
                    span: places.shipping.get(row).copied().unwrap_or(places.header),
                },
            );
        }
    }
    let mut out: Vec<FloorOverride> = found.into_values().collect();
    out.sort_by_key(|o| (o.span.start, o.abuse));
    out
}

impl FloorOverride {
    /// As a check warning on the merchant's source.
    pub fn diagnostic(&self) -> Diagnostic {
        let times = match self.count {
            1 => "on 1 generated case".to_string(),
            n => format!("on {n} generated cases"),
        };
        Diagnostic::warning(
            "floor-overrides",
            self.span,
            format!(
                "the floor's {} overrides {}: {} -> {} {times}",
                self.floor, self.merchant, self.from, self.to
            ),
        )
        .with_hint(format!("for example: {}", self.described))
    }
}

/// The check warnings: one per construct the floor overrides on its own
/// terms, and one for all the merchant's rules its abuse rules override
/// (an abuse rule stands over every shop by design; listing it on each rule
/// would bury what a merchant can act on).
pub fn floor_warnings(floor: &Program, merchant: &Program) -> Vec<Diagnostic> {
    let found = floor_overrides(floor, merchant);
    let header = Places::of(merchant.source()).header;
    let mut out: Vec<Diagnostic> = found
        .iter()
        .filter(|o| !o.abuse)
        .map(FloorOverride::diagnostic)
        .collect();
    let abuse: BTreeSet<&str> = found.iter().filter(|o| o.abuse).map(|o| o.merchant.as_str()).collect();
    if !abuse.is_empty() {
        let floor_rules: BTreeSet<&str> = found.iter().filter(|o| o.abuse).map(|o| o.floor.as_str()).collect();
        let names: Vec<&str> = abuse.into_iter().collect();
        let rules: Vec<&str> = floor_rules.into_iter().collect();
        out.push(
            Diagnostic::warning(
                "floor-overrides",
                header,
                format!(
                    "the floor's abuse rules ({}) override {} of this policy's decisions on risky requests",
                    rules.join(", "),
                    names.len()
                ),
            )
            .with_hint(format!("overridden when risk is high: {}", names.join(", "))),
        );
    }
    out.sort_by_key(|d| d.span.start);
    out
}

/// The floor's rules whose conditions read `risk`, through lets too.
fn risk_rules(p: &Program) -> BTreeSet<String> {
    fn reads_risk(p: &Program, id: crate::ir::NodeId, depth: usize) -> bool {
        if depth > 300 {
            return false;
        }
        let Some(node) = p.ir.nodes.get(id as usize) else {
            return false;
        };
        let kids: Vec<crate::ir::NodeId> = match node {
            Node::Risk => return true,
            Node::Let(i) => p.ir.lets.get(*i as usize).map(|l| vec![l.body]).unwrap_or_default(),
            Node::Not(x) | Node::Neg(x) | Node::Is(x, _) => vec![*x],
            Node::And(a, b) | Node::Or(a, b) | Node::Cmp(_, a, b) | Node::In(a, b, _) | Node::Concat(a, b) => {
                vec![*a, *b]
            }
            Node::Arith(_, a, b) => vec![*a, *b],
            Node::If(c, a, b) => vec![*c, *a, *b],
            Node::Call(_, a, b) => std::iter::once(*a).chain(*b).collect(),
            _ => Vec::new(),
        };
        kids.into_iter().any(|k| reads_risk(p, k, depth + 1))
    }
    p.ir.rules
        .iter()
        .filter(|r| [r.when, r.unless].into_iter().flatten().any(|w| reads_risk(p, w, 0)))
        .map(|r| r.name.clone())
        .collect()
}

/// A generated case in words.
fn describe(case: &Value) -> String {
    let r = &case["return"];
    let item = &case["order"]["items"][0];
    let line = &r["items"][0];
    let when = match case["order"].get("delivered_at").and_then(Value::as_str) {
        None => "before the parcel was delivered".to_string(),
        Some(d) => {
            let d = chrono::DateTime::parse_from_rfc3339(d).ok();
            let q = r["requested_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            match (d, q) {
                (Some(d), Some(q)) => match (q.date_naive() - d.date_naive()).num_days() {
                    1 => "asked the day after signing".to_string(),
                    n => format!("asked {n} days after signing"),
                },
                _ => "asked after delivery".into(),
            }
        }
    };
    let condition = line["condition"].as_str().unwrap_or("unknown");
    let tags = item["tags"]
        .as_array()
        .map(|t| {
            format!(
                ", tagged {}",
                t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
            )
        })
        .unwrap_or_default();
    let history = if case.get("history").is_some() {
        ", from a customer with many recent returns"
    } else {
        ""
    };
    let kind = r["type"].as_str().unwrap_or("?");
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!(
        "{article} {kind} request ({}) for one {} item, {condition}{tags}, {when}{history}",
        r["reason"].as_str().unwrap_or("?"),
        item["category"].as_str().unwrap_or("?"),
    )
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
            conditions: field(
                Field::ItemCondition,
                &["unused", "unopened", "opened", "used", "unknown"],
            ),
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
        let mut item =
            json!({"sku": "A", "category": pick(rng, &self.categories), "unit_price": "100.00", "quantity": 1});
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
