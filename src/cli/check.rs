//! `rpl check FILE…`: every problem in every file, then a summary line.

use super::{EXIT_INPUT, EXIT_POLICY, ErrorFormat, print_diagnostics, read_policy};

#[derive(clap::Args)]
pub struct Args {
    /// Policy files to check.
    #[arg(required = true)]
    files: Vec<String>,
    /// How to print problems.
    #[arg(long, value_enum, default_value_t)]
    error_format: ErrorFormat,
    /// Treat warnings as errors (for CI).
    #[arg(long)]
    deny_warnings: bool,
    /// A platform floor the policies stand on: also report, with a witness case,
    /// every rule and shipping row of theirs the floor overrides.
    #[arg(long, value_name = "FLOOR.rpl")]
    floor: Option<String>,
}

pub fn run(args: &Args) -> u8 {
    let mut worst = 0;
    // The floor is checked first, and must check clean, to stand under anything.
    let floor = match &args.floor {
        None => None,
        Some(path) => match super::load_policy(path, args.error_format) {
            Ok(c) => Some(c.program),
            Err(code) => return code,
        },
    };
    for path in &args.files {
        let source = match read_policy(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                worst = worst.max(EXIT_INPUT);
                continue;
            }
        };
        let diags = match rpl::compile(&source) {
            Ok(c) => match &floor {
                Some(floor) => match rpl::check_floor_pair(floor, &c.program) {
                    Ok(()) => {
                        let mut all = c.warnings;
                        all.extend(rpl::floor_warnings(floor, &c.program));
                        all.sort_by_key(|d| (d.span.start, d.severity));
                        all
                    }
                    Err(e) => {
                        eprintln!("error: {path}: {e}");
                        worst = worst.max(EXIT_POLICY);
                        continue;
                    }
                },
                None => c.warnings,
            },
            Err(d) => d,
        };
        print_diagnostics(path, &source, &diags, args.error_format);
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let warnings = diags.len() - errors;
        if errors > 0 || (args.deny_warnings && warnings > 0) {
            worst = worst.max(EXIT_POLICY);
        }
        if args.error_format == ErrorFormat::Human {
            let denied = if args.deny_warnings && errors == 0 && warnings > 0 {
                " (denied by --deny-warnings)"
            } else {
                ""
            };
            eprintln!("{path}: {}{denied}", summary(errors, warnings, args.deny_warnings));
        }
    }
    worst
}

fn summary(errors: usize, warnings: usize, deny_warnings: bool) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => "ok".into(),
        (0, w) if deny_warnings => plural(w, "warning"),
        (0, w) => format!("ok, {}", plural(w, "warning")),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}
