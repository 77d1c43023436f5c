//! The Realms server process: CLI, router, console glue and the ops commands, over the domain code
//! of the `app` crate.

pub mod cli;
pub mod console;
pub mod ops;
pub mod router;
pub mod serve;

use clap::Parser;
use cli::{Cli, Command};

/// Parses the command line, runs the command, and turns any error into one sentence on stderr.
pub fn main_entry() -> std::process::ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&cli.database_url, args).await,
            Command::Migrate => ops::migrate(&cli.database_url).await,
            Command::User(cmd) => ops::user(&cli.database_url, cmd).await,
            Command::Token(cmd) => ops::token(&cli.database_url, cmd).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", sentence(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// One sentence from an error chain: "Outer: inner." with a final period.
fn sentence(e: &anyhow::Error) -> String {
    let mut s = format!("{e:#}");
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// Logs go to stderr (stdout carries command output). `REALMS_LOG` sets the filter; the ops commands
/// default to warnings only.
fn init_tracing(serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("REALMS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
