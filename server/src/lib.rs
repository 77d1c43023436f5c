//! The Realms server process: CLI, router, console glue and the ops commands, over the domain code
//! of the `app` crate.

pub mod cli;
pub mod console;
pub mod export;
pub mod instance;
pub mod listen;
pub mod metrics;
pub mod ops;
pub mod price_upload;
pub mod relay;
pub mod router;
pub mod serve;
pub mod services;

use clap::Parser;
use cli::{Cli, Command};

/// Parses the command line, runs the command, and turns any error into one sentence on stderr.
pub fn main_entry() -> std::process::ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(serving);
    app::core::egress::allow_private(cli.allow_private_upstreams);
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
    let globals = instance::Globals::from_cli(&cli);
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&globals, args).await,
            command => ops::run(&globals, command).await,
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

/// Raises this process's open-file limit to its hard limit: every open stream holds a connection
/// both ways.
pub fn raise_open_files() {
    // A privileged process may raise the hard limit too; otherwise take the soft limit up to it.
    const WANT: u64 = 1 << 20;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, WANT, WANT).is_ok() {
        return;
    }
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-file limit");
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
/// default to warnings only. `REALMS_LOG_FORMAT=json` writes one JSON object per line.
fn init_tracing(serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("REALMS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let json =
        std::env::var("REALMS_LOG_FORMAT").is_ok_and(|f| f.trim().eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
