//! `rpl studio POLICY`: the policy studio on this machine. Starts the
//! decision service on loopback with POLICY in force and its store in a
//! temporary folder (removed when the studio stops), makes an admin token for
//! this run, and prints the address to open. The token rides in the
//! address's fragment, which a browser never sends to a server; the page
//! keeps it for the tab.

use super::{EXIT_INPUT, EXIT_POLICY, read_policy};

#[derive(clap::Args)]
pub struct Args {
    /// The policy to start with.
    policy: String,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

pub fn run(args: &Args) -> u8 {
    let source = match read_policy(&args.policy) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    if let Err(diags) = rpl::compile(&source) {
        eprint!("{}", rpl::render_diagnostics(&args.policy, &source, &diags));
        eprintln!(
            "error: {} does not check; fix it, or start from a shipped policy",
            args.policy
        );
        return EXIT_POLICY;
    }
    let dir = std::env::temp_dir().join(format!(
        "rpl-studio-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let result = studio(args, source, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INPUT
        }
    }
}

fn studio(args: &Args, source: String, dir: &std::path::Path) -> Result<(), String> {
    let admin = token()?;
    let mut config = rpl::ServiceConfig::new(dir);
    config.policy = Some(source);
    config.admin_token = Some(admin.clone());
    // The client endpoints take the admin token too; no one else needs one.
    config.client_token = Some(token()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let service = rpl::Service::open(config).await?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // The first line of standard output is the address: scripts read it.
        println!("rpl studio: open http://{addr}/#token={admin}");
        eprintln!(
            "note: {} is in force; what you save goes to a temporary store ({}), removed when the studio stops \
             (Ctrl-C): download the policy from the studio to keep it",
            args.policy,
            dir.display()
        );
        rpl::serve(service, listener, super::serve::shutdown()).await?;
        eprintln!("rpl studio: stopped");
        Ok(())
    })
}

/// 128 random bits, in hex.
fn token() -> Result<String, String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot make a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
