//! The `rpl` command: hands off to the CLI.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
