//! The `rpl` command: hands off to the CLI.

mod cli;

/// mimalloc: a backtest allocates on one thread and frees on another, which
/// makes glibc's allocator fragment and contend (2 threads ran slower than 1,
/// and used half as much memory again). The library leaves the choice to
/// its users; the command makes it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
