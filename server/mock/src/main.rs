//! `realms-mock`: serves the mock upstream provider until interrupted; its address goes to stderr
//! ("mock upstream listening on http://…"). Used by the end-to-end tests and the benchmark.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "realms-mock",
    about = "Runs the mock upstream provider used by Realms' end-to-end tests and benchmarks."
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// An accepted API key; repeat for several. Without any, every key is accepted.
    #[arg(long = "key")]
    keys: Vec<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // Every open stream holds a connection: allow as many as the system does.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let state = realms_mock::MockState::unrecorded(args.keys);
    match realms_mock::spawn(args.addr, state).await {
        Ok(local) => {
            eprintln!("mock upstream listening on http://{local}");
            let _ = tokio::signal::ctrl_c().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: could not listen on {}: {e}.", args.addr);
            std::process::ExitCode::FAILURE
        }
    }
}
