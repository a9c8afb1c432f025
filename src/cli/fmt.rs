//! `rpl fmt [--check] FILE…`: rewrites policies in the canonical layout.

use super::{EXIT_INPUT, EXIT_POLICY, read_text};

#[derive(clap::Args)]
pub struct Args {
    /// Policy files; `-` formats standard input to standard output.
    #[arg(required = true)]
    files: Vec<String>,
    /// Change nothing; list the files that would change and exit 1 if any would.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &Args) -> u8 {
    let mut status = 0;
    for path in &args.files {
        let source = match read_text(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                status = status.max(EXIT_INPUT);
                continue;
            }
        };
        let formatted = match rpl::format_policy(&source) {
            Ok(f) => f,
            Err(diags) => {
                eprint!("{}", rpl::render_diagnostics(path, &source, &diags));
                status = status.max(EXIT_POLICY);
                continue;
            }
        };
        if path == "-" {
            print!("{formatted}");
        } else if formatted == source {
            continue;
        } else if args.check {
            println!("would reformat {path}");
            status = status.max(EXIT_POLICY);
        } else if let Err(e) = std::fs::write(path, &formatted) {
            eprintln!("error: cannot write {path}: {e}");
            status = status.max(EXIT_INPUT);
        } else {
            println!("formatted {path}");
        }
    }
    status
}
