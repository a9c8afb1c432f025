//! The `cel` crate (cel-rust): one CEL program per record computes the whole
//! answer `[flags, shipping, decision]`; it aggregates the history itself with
//! `filter(...).size()` (the precomputed variant reads three counts instead).
//! Day numbers are precomputed (CEL timestamps have per-zone field accessors,
//! `getDate(tz)` and the like, but no difference in calendar days). CEL has no
//! `let`: values are bound with the usual single-element `[x].map(v, ...)`
//! idiom. Each record's variables are converted to CEL values once, untimed,
//! and lent to the program by a resolver (no copy per evaluation).

use std::sync::Arc;

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Program, Value};

use crate::native::Answer;
use crate::records::{
    CATEGORIES, DAY, MERCHANT_FAULT, NON_RETURNABLE, RATE_SCORE, REASONS, RISKY_AT, Record, SERIAL_RETURNS_30D,
    SERIAL_SCORE,
};

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

pub fn source(precomputed: bool) -> String {
    let window = |days: i64| format!("t >= now - {} && t < now", days * DAY);
    let (r30, r90, o90) = if precomputed {
        (
            "returns_30d".to_string(),
            "returns_90d".to_string(),
            "orders_90d".to_string(),
        )
    } else {
        (
            format!("returns.filter(t, {}).size()", window(30)),
            format!("returns.filter(t, {}).size()", window(90)),
            format!("orders.filter(t, {}).size()", window(90)),
        )
    };
    let mf = list(&MERCHANT_FAULT);
    let nr = list(&NON_RETURNABLE);
    let cm = "reason == \"changed_mind\" && delivered";
    format!(
        r#"[[{r30}, {r90}, {o90}]].map(c,
             [(c[0] >= {SERIAL_RETURNS_30D} ? 1 : 0) + (c[2] > 0 && c[1] * 5 > c[2] * 2 ? 2 : 0)])[0]
           .map(f, [
             f,
             reason in {mf} ? 1 : (shipping_insurance ? 2 : 0),
             [categories.map(category,
                (category in {nr} && !(reason in {mf})) || ({cm} && now_day - delivered_day > 7) ? 1
                : (f % 2) * {SERIAL_SCORE} + (f / 2) * {RATE_SCORE} >= {RISKY_AT} ? 2
                : ({cm} && now_day - delivered_day <= 7) || reason in {mf} ? 0
                : 2)]
               .map(ds, ds.all(d, d == 0) ? 0 : ds.all(d, d == 1) ? 1 : ds.exists(d, d == 2) ? 2 : 3)[0]
           ])[0]"#
    )
}

/// One record's variables, lent to a program on each evaluation. Top-level
/// variables rather than one map: member access on a map costs a few hundred
/// nanoseconds in this interpreter, a variable tens.
pub struct Input {
    vars: [Box<dyn Val>; VARS.len()],
}

const VARS: [&str; 12] = [
    "now",
    "now_day",
    "delivered",
    "delivered_day",
    "reason",
    "shipping_insurance",
    "categories",
    "returns",
    "orders",
    "returns_30d",
    "returns_90d",
    "orders_90d",
];

impl VariableResolver for Input {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let i = VARS.iter().position(|v| *v == variable)?;
        Some(CowVal::from(self.vars[i].as_ref()))
    }
}

pub fn input(r: &Record, precomputed: bool) -> Result<Input, String> {
    let ints = |ts: &[i64]| Value::List(Arc::new(ts.iter().map(|t| Value::Int(*t)).collect()));
    let (returns, orders) = if precomputed {
        (ints(&[]), ints(&[]))
    } else {
        (ints(&r.returns), ints(&r.orders))
    };
    let values: [Value; VARS.len()] = [
        Value::Int(r.now),
        Value::Int(r.now_day),
        Value::Bool(r.delivered_day.is_some()),
        Value::Int(r.delivered_day.unwrap_or(0)),
        Value::from(REASONS[r.reason as usize]),
        Value::Bool(r.shipping_insurance),
        Value::List(Arc::new(
            r.lines
                .iter()
                .map(|l| Value::from(CATEGORIES[l.category as usize]))
                .collect(),
        )),
        returns,
        orders,
        Value::Int(i64::from(r.aggs.returns_30d)),
        Value::Int(i64::from(r.aggs.returns_90d)),
        Value::Int(i64::from(r.aggs.orders_90d)),
    ];
    let mut vars = Vec::with_capacity(VARS.len());
    for v in values {
        vars.push(Box::<dyn Val>::try_from(v).map_err(|e| format!("{e:?}"))?);
    }
    let vars = vars.try_into().map_err(|_| "twelve variables".to_string())?;
    Ok(Input { vars })
}

pub struct Cel {
    env: Arc<Env>,
    program: Program,
}

impl Cel {
    pub fn new(precomputed: bool) -> Result<Cel, String> {
        let env = Arc::new(Env::stdlib());
        let program = env.compile(&source(precomputed)).map_err(|e| e.to_string())?;
        Ok(Cel { env, program })
    }

    #[inline]
    pub fn eval(&self, input: &Input) -> Result<Value, String> {
        let mut ctx = Context::with_env(Arc::clone(&self.env));
        ctx.set_variable_resolver(input);
        self.program.execute(&ctx).map_err(|e| e.to_string())
    }
}

#[inline]
pub fn answer(v: &Value) -> Answer {
    let int = |i: usize| match v {
        Value::List(l) => match l.get(i) {
            Some(Value::Int(n)) => *n as u8,
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
