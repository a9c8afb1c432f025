//! `rpl test SUITE…`: runs policy test suites and ends with `N passed, M failed`.

use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Suite files, or directories to search for `*.test.toml`.
    #[arg(required = true)]
    suites: Vec<String>,
    /// Rewrite the snapshots that changed (or are missing), remove stale ones, and list them.
    #[arg(long)]
    update: bool,
    /// After the results, list the rules and flags no case fired and the table rows no case took.
    #[arg(long)]
    coverage: bool,
}

pub fn run(args: &Args) -> u8 {
    let mut paths: Vec<PathBuf> = Vec::new();
    for s in &args.suites {
        let p = Path::new(s);
        if p.is_dir() {
            paths.extend(rpl::find_suites(p));
        } else {
            paths.push(p.to_path_buf());
        }
    }
    let (mut passed, mut failed) = (0, 0);
    let mut coverage = Vec::new();
    for path in &paths {
        let result = rpl::run_suite(path, args.update);
        print!("{}", rpl::render_suite(&result));
        passed += result.passed();
        failed += result.failed();
        coverage.extend(result.coverage);
    }
    if args.coverage {
        print!("{}", rpl::render_coverage(&coverage));
    }
    if paths.is_empty() {
        eprintln!("error: no suites found (suite files end in .test.toml)");
        return super::EXIT_INPUT;
    }
    println!("{passed} passed, {failed} failed");
    u8::from(failed > 0)
}
