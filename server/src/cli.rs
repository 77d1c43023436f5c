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
    #[arg(long, env = "REALMS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, global = true)]
    pub database_url: String,

    /// Directory for instance files (the generated secret key).
    #[arg(long, env = "REALMS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Secret for signing session cookies and encrypting upstream keys (at least 32 characters).
    /// When unset, one is generated once into DATA_DIR/secret.key. Every instance and the CLI must
    /// use the same secret as the database they share.
    #[arg(long, env = "REALMS_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,

    /// Allow channels whose upstream is on loopback or a private network (10.x, 172.16–31.x,
    /// 192.168.x, 127.x, ::1, fc00::/7, 100.64/10): for a model server on the same machine or
    /// network. Link-local and cloud metadata addresses are never allowed.
    #[arg(long, env = "REALMS_ALLOW_PRIVATE_UPSTREAMS", global = true)]
    pub allow_private_upstreams: bool,

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
    /// Manages upstream channels (provider accounts with endpoints and API keys).
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Manages the models clients can call, with their prices.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Binds models to the channels that carry them.
    #[command(subcommand)]
    Binding(BindingCommand),
    /// Shows and changes user balances (every change is a ledger row).
    #[command(subcommand)]
    Balance(BalanceCommand),
    /// Shows the usage log (one entry per request).
    #[command(subcommand)]
    Usage(UsageCommand),
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Creates a channel with one or more base URLs and API keys.
    Create {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// The upstream's API shape.
        #[arg(long = "type", value_name = "TYPE", value_parser = ["anthropic", "openai"])]
        kind: String,
        /// Base URL (origin, optionally with a path prefix; a trailing /v1 is accepted). Repeat for
        /// several endpoints.
        #[arg(long = "base-url", value_name = "URL", required = true)]
        base_urls: Vec<String>,
        /// API key. Repeat for several keys. A key on the command line is visible to other users of
        /// this machine (ps, shell history): prefer --key-stdin or REALMS_CHANNEL_KEY.
        #[arg(long = "key", value_name = "KEY")]
        keys: Vec<String>,
        /// Read API keys from standard input, one per line.
        #[arg(long)]
        key_stdin: bool,
        /// An API key from the environment.
        #[arg(
            long = "key-env",
            env = "REALMS_CHANNEL_KEY",
            hide_env_values = true,
            hide = true
        )]
        key_env: Option<String>,
        /// Higher priorities are tried first.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        priority: i64,
        /// Share of traffic among channels of the same priority (1 to 1000).
        #[arg(long, default_value_t = 1)]
        weight: i64,
    },
    /// Lists channels (keys are shown masked).
    List,
    /// Shows what a channel drops from requests before sending them upstream, or sets it:
    /// --drop-betas and --drop-fields (comma-separated; a beta entry drops every flag starting
    /// with it), --preset anthropic-compatible, or --clear.
    Filter {
        /// The channel's name.
        #[arg(long)]
        name: String,
        /// anthropic-beta flags to drop, e.g. context-1m,context-management.
        #[arg(long, value_name = "FLAGS")]
        drop_betas: Option<String>,
        /// Top-level body fields to drop, e.g. context_management,metadata.
        #[arg(long, value_name = "FIELDS")]
        drop_fields: Option<String>,
        /// A preset: anthropic-compatible (context-1m, context-management and
        /// fine-grained-tool-streaming betas; context_management and metadata fields).
        #[arg(long, value_parser = ["anthropic-compatible"], conflicts_with_all = ["drop_betas", "drop_fields", "clear"])]
        preset: Option<String>,
        /// Drop nothing.
        #[arg(long, conflicts_with_all = ["drop_betas", "drop_fields"])]
        clear: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Creates a model. Prices are USD per million tokens, e.g. --input-price 3 --output-price 15;
    /// cache prices left out are derived from the input price (write 5m 1.25x, write 1h 2x, read
    /// 0.1x). Without prices the model has none.
    Create {
        /// The id clients send, e.g. claude-sonnet-4-5.
        #[arg(long)]
        id: String,
        /// Display name (default: the id).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "USD")]
        input_price: Option<String>,
        #[arg(long, value_name = "USD")]
        output_price: Option<String>,
        /// Cache write (5 minutes) price.
        #[arg(long, value_name = "USD")]
        cache_write_price: Option<String>,
        /// Cache write (1 hour) price.
        #[arg(long = "cache-write-1h-price", value_name = "USD")]
        cache_write_1h_price: Option<String>,
        #[arg(long, value_name = "USD")]
        cache_read_price: Option<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Lists models with their prices.
    List,
    /// Shows a model's aliases (other ids it answers to), or sets them with --set (--clear removes
    /// them all).
    Aliases {
        /// The model's id.
        #[arg(long)]
        id: String,
        /// The aliases, comma-separated (replacing the ones it has).
        #[arg(long, value_delimiter = ',')]
        set: Vec<String>,
        #[arg(long, conflicts_with = "set")]
        clear: bool,
    },
    /// Shows a model's price of 1,000 web searches, or sets it with --usd (--site leaves it to the
    /// site's price, $10 unless changed in the console's Site settings).
    WebSearchPrice {
        /// The model's id.
        #[arg(long)]
        id: String,
        /// USD per 1,000 web searches, e.g. 10.
        #[arg(long, value_name = "USD")]
        usd: Option<String>,
        #[arg(long, conflicts_with = "usd")]
        site: bool,
    },
    /// Sets a model's long-context prices: a request whose input (input + cache writes + cache
    /// reads) passes --above tokens pays these instead (USD per million tokens; cache prices left
    /// out are derived from the input price). --off removes them.
    LongContext {
        /// The model's id.
        #[arg(long)]
        id: String,
        /// The threshold, in input tokens (e.g. 200000).
        #[arg(long, value_name = "TOKENS", required_unless_present = "off")]
        above: Option<String>,
        #[arg(long, value_name = "USD", required_unless_present = "off")]
        input_price: Option<String>,
        #[arg(long, value_name = "USD", required_unless_present = "off")]
        output_price: Option<String>,
        #[arg(long, value_name = "USD")]
        cache_write_price: Option<String>,
        #[arg(long = "cache-write-1h-price", value_name = "USD")]
        cache_write_1h_price: Option<String>,
        #[arg(long, value_name = "USD")]
        cache_read_price: Option<String>,
        /// Remove the model's long-context prices.
        #[arg(long, conflicts_with_all = ["above", "input_price", "output_price"])]
        off: bool,
    },
    /// Imports prices from a LiteLLM price file (model_prices_and_context_window.json; without
    /// FILE, the built-in snapshot). Shows what would change and changes nothing without --apply:
    /// existing models whose prices differ are repriced; models not here yet are created only when
    /// named with --only or with --new.
    ImportPrices {
        /// The price file (default: the built-in snapshot).
        file: Option<PathBuf>,
        /// Make the changes shown.
        #[arg(long)]
        apply: bool,
        /// Only these model ids (comma-separated or repeated); new ones among them are created.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Also create every model of the file that is not here yet.
        #[arg(long)]
        new: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BindingCommand {
    /// Binds a model to a channel.
    Create {
        /// The model's public id.
        #[arg(long)]
        model: String,
        /// The channel's name.
        #[arg(long)]
        channel: String,
        /// The model name sent to this channel (default: the model's id).
        #[arg(long)]
        upstream_model: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Lists requests, newest first.
    List {
        /// Only this user's requests.
        #[arg(long)]
        user: Option<String>,
        /// How many requests to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BalanceCommand {
    /// Adds USD to a user's balance (a negative amount takes money off).
    Add {
        #[arg(long)]
        user: String,
        #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
        usd: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Prints a user's balance in USD.
    Show {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "REALMS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory holding the built console assets (pkg/).
    #[arg(long, env = "REALMS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Mark session cookies Secure: set this when Realms is served over https (for example behind a
    /// TLS-terminating proxy).
    #[arg(long, env = "REALMS_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The address clients reach Realms at (e.g. https://ai.example.com), as the console's Claude
    /// Code setup page shows it. Default: read from each request's Host header (and, from a trusted
    /// proxy, X-Forwarded-Proto and X-Forwarded-Host).
    #[arg(long, env = "REALMS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Proxies whose X-Forwarded-Proto and X-Forwarded-Host are believed: addresses or networks,
    /// comma-separated (e.g. 127.0.0.1,10.0.0.0/8). Default: none.
    #[arg(long, env = "REALMS_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Largest request body the API accepts, in MiB (Claude Code sends several MB in long sessions).
    #[arg(long, env = "REALMS_MAX_BODY_MIB", default_value_t = 32)]
    pub max_body_mib: usize,

    /// Upstream attempts per request (failover happens only before the first byte reaches the client).
    #[arg(long, env = "REALMS_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub max_attempts: u16,

    /// Seconds to wait for a connection to an upstream.
    #[arg(long, env = "REALMS_CONNECT_TIMEOUT", default_value_t = 10)]
    pub connect_timeout: u64,

    /// Seconds to wait for the response headers of a streamed request.
    #[arg(long, env = "REALMS_FIRST_BYTE_TIMEOUT", default_value_t = 60)]
    pub first_byte_timeout: u64,

    /// Seconds a stream may stay silent between two chunks.
    #[arg(long, env = "REALMS_IDLE_TIMEOUT", default_value_t = 300)]
    pub idle_timeout: u64,

    /// Seconds a whole non-streamed request may take (streams have no total cap).
    #[arg(long, env = "REALMS_REQUEST_TIMEOUT", default_value_t = 600)]
    pub request_timeout: u64,

    /// Seconds the upstream is still read after a client disconnects, to learn the final usage.
    #[arg(long, env = "REALMS_DISCONNECT_DRAIN", default_value_t = 60)]
    pub disconnect_drain: u64,

    /// Seconds a client may take to send its request headers.
    #[arg(long, env = "REALMS_HEADER_READ_TIMEOUT", default_value_t = 30)]
    pub header_read_timeout: u64,

    /// Seconds a client may leave its request body silent between two pieces.
    #[arg(long, env = "REALMS_CLIENT_READ_TIMEOUT", default_value_t = 30)]
    pub client_read_timeout: u64,

    /// Seconds a client may stop reading its answer before Realms closes the connection.
    #[arg(long, env = "REALMS_CLIENT_WRITE_TIMEOUT", default_value_t = 60)]
    pub client_write_timeout: u64,

    /// Seconds running requests get to finish at shutdown; the rest are then ended (streams get an
    /// error event) and settled.
    #[arg(long, env = "REALMS_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// Bearer token that may read GET /metrics (Prometheus text format); metrics are off without it.
    #[arg(long, env = "REALMS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// This instance's name in the database (its balance leases carry it). Instances sharing a
    /// database need different names; the same name after a restart gives back the leases the
    /// previous run held. Default: a name generated once into DATA_DIR/instance.id.
    #[arg(long, env = "REALMS_INSTANCE_ID")]
    pub instance_id: Option<String>,
}

impl ServeArgs {
    pub fn relay_config(&self) -> crate::relay::RelayConfig {
        use std::time::Duration;
        crate::relay::RelayConfig {
            max_body_bytes: self.max_body_mib.saturating_mul(1024 * 1024),
            max_attempts: usize::from(self.max_attempts),
            connect_timeout: Duration::from_secs(self.connect_timeout),
            first_byte_timeout: Duration::from_secs(self.first_byte_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            request_timeout: Duration::from_secs(self.request_timeout),
            disconnect_drain: Duration::from_secs(self.disconnect_drain),
            client_read_timeout: Duration::from_secs(self.client_read_timeout),
            ..crate::relay::RelayConfig::default()
        }
    }
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
    /// Shows which clients a user's tokens accept, or sets it: --claude-code (optionally
    /// --min-version) or --any.
    Clients {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        rule: ClientsArgs,
    },
}

/// A client rule on the command line.
#[derive(Debug, clap::Args)]
pub struct ClientsArgs {
    /// Accept only Claude Code (User-Agent claude-cli/…).
    #[arg(long)]
    pub claude_code: bool,
    /// With --claude-code: the oldest version accepted, e.g. 2.1.0.
    #[arg(long, requires = "claude_code", value_name = "VERSION")]
    pub min_version: Option<String>,
    /// Accept any client.
    #[arg(long, conflicts_with = "claude_code")]
    pub any: bool,
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
        /// Accept only Claude Code (User-Agent claude-cli/…).
        #[arg(long)]
        claude_code: bool,
        /// With --claude-code: the oldest version accepted, e.g. 2.1.0.
        #[arg(long, requires = "claude_code", value_name = "VERSION")]
        min_version: Option<String>,
    },
    /// Shows which clients a user's tokens of this name accept, or sets it: --claude-code
    /// (optionally --min-version) or --any.
    Clients {
        /// Email of the user who owns the token.
        #[arg(long)]
        user: String,
        /// The token's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        rule: ClientsArgs,
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
