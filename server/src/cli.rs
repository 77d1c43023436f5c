//! Command-line interface: `realms serve`, `realms migrate` and the ops commands.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/realms.db";

#[derive(Debug, Parser)]
#[command(
    name = "realms",
    version,
    about = "Realms: a self-hosted LLM API relay with a web console.",
    long_about = "Realms: a self-hosted LLM API relay with a web console.\n\n\
        Every command reads the same database: SQLite by default (created on first use), or \
        PostgreSQL when the URL starts with postgres://."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH (relative to the working directory) or postgres://USER:PASS@HOST/DB.
    #[arg(long, env = "REALMS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs migrations, then serves the console and the API.
    Serve(ServeArgs),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Manages console accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manages data-plane tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "REALMS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for instance files (the generated secret key).
    #[arg(long, env = "REALMS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Secret for signing session cookies and encrypting upstream keys (at least 32 characters).
    /// When unset, one is generated once into DATA_DIR/secret.key.
    #[arg(long, env = "REALMS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Directory holding the built console assets (pkg/).
    #[arg(long, env = "REALMS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Mark session cookies Secure: set this when Realms is served over https (for example behind a
    /// TLS-terminating proxy).
    #[arg(long, env = "REALMS_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates an account. The password is read from REALMS_PASSWORD or, with --password-stdin, from
    /// the first line of standard input.
    Create {
        /// Email address (the sign-in name).
        #[arg(long)]
        email: String,
        /// Optional display name.
        #[arg(long)]
        username: Option<String>,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Creates a token for a user and prints it alone on the last line of standard output.
    Create {
        /// Email of the user who owns the token.
        #[arg(long)]
        user: String,
        /// A name to tell the token apart.
        #[arg(long, default_value = "default")]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn database_url_is_global() {
        let cli =
            Cli::try_parse_from(["realms", "migrate", "--database-url", "sqlite://x.db"]).unwrap();
        assert_eq!(cli.database_url, "sqlite://x.db");
    }
}
