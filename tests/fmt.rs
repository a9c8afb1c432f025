//! The formatter's two promises, checked over every policy in the repository
//! and over generated ones: `fmt(fmt(x)) == fmt(x)`, and `fmt(x)` means what
//! `x` means (same tree) with the same comments. Plus snapshots of
//! `tests/fmt/*.rpl`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn rpl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rpl_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rpl") {
            out.push(p);
        }
    }
}

fn comments(src: &str) -> Vec<String> {
    // Good enough for these inputs: a `#` outside a string on its line.
    let mut out = Vec::new();
    for line in src.lines() {
        let mut in_string = false;
        let mut prev = ' ';
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            }
            if c == '#' && !in_string {
                out.push(line[i..].trim_end().to_string());
                break;
            }
            prev = c;
        }
    }
    out.sort();
    out
}

/// Both promises for one source that parses.
fn promises(name: &str, src: &str) {
    let Ok(tree) = rpl::internals::parse(src) else { return };
    let once = rpl::format_policy(src).unwrap();
    let again = rpl::format_policy(&once)
        .unwrap_or_else(|d| panic!("{name}: formatted text does not parse: {}\n{once}", d[0].message));
    assert_eq!(once, again, "{name}: formatting is not idempotent");
    let reparsed = rpl::internals::parse(&once).unwrap();
    assert_eq!(tree, reparsed, "{name}: formatting changed the meaning:\n{once}");
    assert_eq!(
        comments(src),
        comments(&once),
        "{name}: formatting lost or changed a comment:\n{once}"
    );
}

#[test]
fn every_policy_in_the_repository() {
    let mut files = Vec::new();
    for dir in ["policies", "tests"] {
        rpl_files(Path::new(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} policies", files.len());
    for f in files {
        let Ok(src) = std::fs::read_to_string(&f) else { continue };
        promises(&f.display().to_string(), &src);
    }
}

#[test]
fn shipped_policies_are_formatted() {
    let mut files = Vec::new();
    rpl_files(Path::new("policies"), &mut files);
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        assert_eq!(
            rpl::format_policy(&src).unwrap(),
            src,
            "{} is not formatted: run `rpl fmt`",
            f.display()
        );
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Random but well-formed policies, laid out carelessly, with comments and
/// blank lines scattered where a person might put them.
fn generate(rng: &mut Rng) -> String {
    let atoms = [
        "item.amount",
        "risk",
        "days",
        "7",
        "15%",
        "199.00",
        "count(returns in last 30 days)",
        "order.total",
        "sum(returns.amount in last 90 days where status == \"refunded\")",
        "-3",
        "(1 + 2)",
        "hours_since(now)",
    ];
    let conds = [
        "item.category in cats",
        "return.reason == \"changed_mind\"",
        "order.delivered_at is present",
        "not customer.vip",
        "\"gift\" in item.tags",
        "item.attrs.x is missing",
        "d",
        "if d then days > 7 else false",
        "(item.category in cats or return.reason == \"changed_mind\" or order.delivered_at is present and days > 7)",
    ];
    let cmps = ["==", "!=", "<", "<=", ">", ">="];
    let ops = ["+", "-", "*", "/", "of"];
    let space = |rng: &mut Rng| [" ", "  ", "\n   ", " "][rng.below(4)].to_string();
    let comment = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            format!(" # c{}\n", rng.below(100))
        } else {
            String::new()
        }
    };
    let mut src = String::from("policy \"Gen\" { currency \"EUR\" }\n");
    src.push_str("set cats = [\"a\", \"b\", \"c\"]\nlet d = order.delivered_at is present\n");
    src.push_str("let days = if d then days_since(order.delivered_at) else 0\n");
    if rng.below(2) == 0 {
        src.push_str(&format!(
            "values item.category{}= [\"a\", \"b\", \"c\"]{}\nvalues return.reason = cats +{}[\"changed_mind\"]\n",
            space(rng),
            comment(rng).trim_end(),
            space(rng)
        ));
    }
    for i in 0..(1 + rng.below(6)) {
        if rng.below(3) == 0 {
            src.push('\n');
        }
        src.push_str(&comment(rng));
        let mut cond = rng.pick(&conds).to_string();
        for _ in 0..rng.below(5) {
            let extra = if rng.below(2) == 0 {
                rng.pick(&conds).to_string()
            } else {
                format!(
                    "{} {} {} {}",
                    rng.pick(&atoms),
                    rng.pick(&ops),
                    rng.pick(&atoms),
                    rng.pick(&cmps)
                ) + " "
                    + rng.pick(&atoms)
            };
            let op = if rng.below(3) == 0 { "or" } else { "and" };
            cond = format!("{cond}{}{op} {extra}", space(rng));
        }
        match rng.below(4) {
            0 => src.push_str(&format!(
                "flag f{i} {{ when {cond}{} score {} }}\n",
                comment(rng),
                rng.below(50)
            )),
            1 => src.push_str(&format!("let l{i} = {cond}{}\n", comment(rng).trim_end())),
            _ => {
                let effect = [
                    "approve",
                    "deny \"no\"",
                    "review \"look\"",
                    "deduct 5% of item.amount as \"fee\"",
                ][rng.below(4)];
                src.push_str(&format!(
                    "rule r{i} {{{}when {cond}\n{effect}{}}}\n",
                    comment(rng),
                    comment(rng)
                ));
            }
        }
    }
    if rng.below(2) == 0 {
        src.push_str("shipping { merchant when return.reason in cats # why\n buyer otherwise }\n");
    }
    src
}

#[test]
fn generated_policies() {
    let mut rng = Rng(0x00F0_0F00_1234_5678);
    let mut parsed = 0;
    for i in 0..400 {
        let src = generate(&mut rng);
        if rpl::internals::parse(&src).is_ok() {
            parsed += 1;
        }
        promises(&format!("generated #{i}:\n{src}"), &src);
    }
    assert!(
        parsed > 300,
        "only {parsed} of 400 generated policies parsed: the generator has drifted"
    );
}

#[test]
fn layouts() {
    insta::glob!("fmt/*.rpl", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        let formatted = rpl::format_policy(&src).unwrap();
        insta::with_settings!({ description => src.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(formatted);
        });
    });
}
