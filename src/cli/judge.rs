//! `rpl judge POLICY [CASE | -]`: one verdict for a case, or one verdict line
//! per line of JSON Lines; a bad line gets an error object and the rest go on.

use std::io::Write as _;

use serde::Serialize;

use super::{EXIT_INPUT, ErrorFormat, load_policy, read_text};
use rpl::{InputError, Program};

#[derive(clap::Args)]
pub struct Args {
    /// The policy file.
    policy: String,
    /// A case as JSON, or JSON Lines of cases; `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    case: String,
    /// Print each verdict on one line.
    #[arg(long)]
    compact: bool,
    /// Print the verdict for people: each rule and flag that fired, with its values.
    #[arg(long)]
    explain: bool,
    /// How to print policy problems.
    #[arg(long, value_enum, default_value_t)]
    error_format: ErrorFormat,
}

#[derive(Serialize)]
struct LineError<'a> {
    line: usize,
    error: &'a InputError,
}

pub fn run(args: &Args) -> u8 {
    let compiled = match load_policy(&args.policy, args.error_format) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let program = &compiled.program;
    let text = match read_text(&args.case) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    if text.trim().is_empty() {
        eprintln!("error: {}: no case in the input", args.case);
        return EXIT_INPUT;
    }
    // One JSON document (pretty or not) is one case. JSON Lines are told
    // apart by a first line that is a whole JSON value by itself; anything
    // else is one document, and its error is reported where it is.
    let whole = rpl::parse_json(&text);
    let first_line_whole = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| rpl::parse_json(l).is_ok());
    let value = match whole {
        Ok(value) => value,
        Err(e) if !first_line_whole => {
            eprintln!("error: {}: {}", args.case, e.message);
            return EXIT_INPUT;
        }
        Err(_) => return judge_lines(program, &text, args),
    };
    match judge_value(program, &value, args.explain) {
        Ok(rendered) => {
            let _ = writeln!(std::io::stdout(), "{}", render(rendered, args.compact).trim_end());
            0
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.case);
            EXIT_INPUT
        }
    }
}

/// One verdict line per line of JSON Lines; a bad line gets an error object.
fn judge_lines(program: &Program, text: &str, args: &Args) -> u8 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut status = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let result = rpl::parse_json(line).and_then(|v| judge_value(program, &v, args.explain));
        let written = match result {
            Ok(rendered) => render(rendered, true),
            Err(e) => {
                status = EXIT_INPUT;
                serde_json::to_string(&LineError { line: i + 1, error: &e }).unwrap_or_default()
            }
        };
        if writeln!(out, "{written}").is_err() {
            return EXIT_INPUT;
        }
    }
    status
}

enum Rendered {
    Plain(rpl::Verdict),
    Explained(rpl::Verdict, rpl::Explanation),
}

fn judge_value(program: &Program, value: &serde_json::Value, explain: bool) -> Result<Rendered, InputError> {
    let case = rpl::parse_case_value(value)?;
    Ok(if explain {
        let (v, e) = program.judge_explained(&case)?;
        Rendered::Explained(v, e)
    } else {
        Rendered::Plain(program.judge(&case)?)
    })
}

fn render(r: Rendered, compact: bool) -> String {
    match r {
        Rendered::Explained(v, e) => rpl::render_explanation(&v, &e),
        Rendered::Plain(v) if compact => serde_json::to_string(&v).unwrap_or_default(),
        Rendered::Plain(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
    }
}
