//! `rpl check | judge`: one file per subcommand.

mod backtest;
mod check;
mod fmt;
mod gen_cmd;
mod judge;
#[cfg(feature = "service")]
mod serve;
#[cfg(feature = "service")]
mod studio;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// rpl — the Return Policy Language: check, judge and explain return policies.
#[derive(Parser)]
#[command(name = "rpl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check policies: report every error and warning, with file:line:column.
    Check(check::Args),
    /// Judge return requests (a JSON case, or JSON Lines of cases) against a policy.
    Judge(judge::Args),
    /// Replay an event stream: what the policy would have decided, and how it compares.
    Backtest(backtest::Args),
    /// Rewrite policies in the canonical layout (`--check` only reports).
    Fmt(fmt::Args),
    /// Run policy test suites (`*.test.toml`, or every one under a directory).
    Test(test::Args),
    /// Generate a realistic event stream (JSON Lines) with planted, labelled abusers.
    Gen(gen_cmd::Args),
    /// Serve decisions over HTTP: events in, verdicts out, durable history and a decision log.
    #[cfg(feature = "service")]
    Serve(serve::Args),
    /// The policy studio on this machine: write, check, try, replay and test a policy in a browser.
    #[cfg(feature = "service")]
    Studio(studio::Args),
}

#[derive(Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ErrorFormat {
    /// rustc-style: file:line:column, the source line, carets and a hint.
    #[default]
    Human,
    /// One JSON object per diagnostic, one per line.
    Json,
}

/// Exit statuses: 0 all good, 1 the policy has errors (or a check failed),
/// 2 the input could not be used.
pub const EXIT_POLICY: u8 = 1;
pub const EXIT_INPUT: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Judge(args) => judge::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Gen(args) => gen_cmd::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        #[cfg(feature = "service")]
        Command::Serve(args) => serve::run(&args),
        #[cfg(feature = "service")]
        Command::Studio(args) => studio::run(&args),
    };
    ExitCode::from(code)
}

/// Reads a UTF-8 text file (or standard input for `-`), naming the problem when it cannot.
pub fn read_text(path: &str) -> Result<String, String> {
    read_text_within(path, u64::MAX, "file")
}

/// Reads a policy, refusing one larger than [`rpl::limits::MAX_POLICY_BYTES`]
/// before it is read whole.
pub fn read_policy(path: &str) -> Result<String, String> {
    read_text_within(path, rpl::limits::MAX_POLICY_BYTES as u64, "policy")
}

/// Reads at most `max` bytes of text; more is an error that names `what`.
fn read_text_within(path: &str, max: u64, what: &str) -> Result<String, String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().take(max.saturating_add(1)).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(max.saturating_add(1)).read_to_end(&mut bytes))
    };
    read.map_err(|e| match path {
        "-" => format!("cannot read standard input: {e}"),
        _ => format!("cannot read {path}: {e}"),
    })?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{path}: the {what} is more than the {max} bytes a {what} may hold"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..at]);
        let (line, col) = rpl::line_col(&text, at);
        format!("{path}:{line}:{col}: the file is not valid UTF-8 (byte {at})")
    })
}

/// Reads and compiles a policy, printing its diagnostics; `None` when it has errors.
pub fn load_policy(path: &str, format: ErrorFormat) -> Result<rpl::Compiled, u8> {
    let source = read_policy(path).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INPUT
    })?;
    match rpl::compile(&source) {
        Ok(c) => Ok(c),
        Err(diags) => {
            print_diagnostics(path, &source, &diags, format);
            Err(EXIT_POLICY)
        }
    }
}

pub fn print_diagnostics(path: &str, source: &str, diags: &[rpl::Diagnostic], format: ErrorFormat) {
    match format {
        ErrorFormat::Human => eprint!("{}", rpl::render_diagnostics(path, source, diags)),
        ErrorFormat::Json => print!("{}", rpl::render_diagnostics_json(path, source, diags)),
    }
}
