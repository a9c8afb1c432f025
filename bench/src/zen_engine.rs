//! zen-expression (GoRules): one compiled standard expression per record
//! computes the whole answer `[flags, shipping, decision]`, with assignments
//! for the values it uses twice and `count(list, predicate)` for the history
//! (the precomputed variant reads three counts instead). Day numbers are
//! precomputed (zen's dates carry no calendar time zone of the policy). Each
//! record's context is a zen `Variable` built once, untimed; an evaluation
//! clones its `Rc` and runs the bytecode on one reused VM.

use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use zen_expression::expression::Standard;
use zen_expression::variable::Variable;
use zen_expression::vm::VM;
use zen_expression::{Expression, Isolate};

use crate::native::Answer;
use crate::records::{
    CATEGORIES, DAY, MERCHANT_FAULT, NON_RETURNABLE, RATE_SCORE, REASONS, RISKY_AT, Record, SERIAL_RETURNS_30D,
    SERIAL_SCORE,
};

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

pub fn source(precomputed: bool) -> String {
    let window = |days: i64| format!("# >= now - {} and # < now", days * DAY);
    let (r30, r90, o90) = if precomputed {
        (
            "returns_30d".to_string(),
            "returns_90d".to_string(),
            "orders_90d".to_string(),
        )
    } else {
        (
            format!("count(returns, {})", window(30)),
            format!("count(returns, {})", window(90)),
            format!("count(orders, {})", window(90)),
        )
    };
    let mf = list(&MERCHANT_FAULT);
    let nr = list(&NON_RETURNABLE);
    let cm = "reason == 'changed_mind' and delivered_day != null";
    // Assignments cost about as much as a comparison here: only the values
    // used more than once are assigned.
    format!(
        "o90 = {o90};
         f = ({r30} >= {SERIAL_RETURNS_30D} ? 1 : 0) + ((o90 > 0 and {r90} * 5 > o90 * 2) ? 2 : 0);
         fault = reason in {mf};
         ds = map(categories,
                ((# in {nr} and not fault) or ({cm} and now_day - delivered_day > 7)) ? 1
                : (((f == 1 or f == 3) ? {SERIAL_SCORE} : 0) + (f >= 2 ? {RATE_SCORE} : 0) >= {RISKY_AT} ? 2
                : ((({cm} and now_day - delivered_day <= 7) or fault) ? 0 : 2)));
         [f,
          fault ? 1 : (shipping_insurance ? 2 : 0),
          all(ds, # == 0) ? 0 : (all(ds, # == 1) ? 1 : (some(ds, # == 2) ? 2 : 3))]"
    )
}

pub fn input(r: &Record, precomputed: bool) -> Variable {
    let mut v = json!({
        "now": r.now,
        "now_day": r.now_day,
        "reason": REASONS[r.reason as usize],
        "shipping_insurance": r.shipping_insurance,
        "categories": r.lines.iter().map(|l| CATEGORIES[l.category as usize]).collect::<Vec<_>>(),
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(d) = r.delivered_day {
            o.insert("delivered_day".into(), json!(d));
        }
        if precomputed {
            o.insert("returns_30d".into(), json!(r.aggs.returns_30d));
            o.insert("returns_90d".into(), json!(r.aggs.returns_90d));
            o.insert("orders_90d".into(), json!(r.aggs.orders_90d));
        } else {
            o.insert("returns".into(), json!(r.returns));
            o.insert("orders".into(), json!(r.orders));
        }
    }
    Variable::from(v)
}

pub struct Zen {
    expression: Expression<Standard>,
    vm: VM,
}

impl Zen {
    pub fn new(precomputed: bool) -> Result<Zen, String> {
        let mut isolate = Isolate::new();
        let expression = isolate
            .compile_standard(&source(precomputed))
            .map_err(|e| e.to_string())?;
        Ok(Zen {
            expression,
            vm: VM::new(),
        })
    }

    #[inline]
    pub fn eval(&mut self, input: &Variable) -> Result<Variable, String> {
        self.expression
            .evaluate_with(input.clone(), &mut self.vm)
            .map_err(|e| e.to_string())
    }
}

#[inline]
pub fn answer(v: &Variable) -> Answer {
    let int = |i: usize| match v {
        Variable::Array(a) => match a.borrow().get(i) {
            Some(Variable::Number(n)) => n.to_u8().unwrap_or(u8::MAX),
            _ => u8::MAX,
        },
        _ => u8::MAX,
    };
    Answer {
        flags: int(0),
        shipping: int(1),
        decision: int(2),
    }
}
