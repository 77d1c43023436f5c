//! Control-plane types shown in the console: channels, models, bindings, users with balances, the
//! audit log. Upstream keys never appear here: a credential is shown by its last four characters.

use serde::{Deserialize, Serialize};

use super::Role;
use crate::money::{LongContext, Prices};

/// What a channel drops from a request before sending it upstream, for providers that refuse
/// some of what Anthropic's API takes: `anthropic-beta` flags (an entry drops every flag that
/// starts with it, so `context-1m` drops `context-1m-2025-08-07`) and top-level body fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFilter {
    pub betas: Vec<String>,
    pub fields: Vec<String>,
}

/// The most entries a filter list holds, and the longest entry.
pub const MAX_FILTER_ENTRIES: usize = 32;
pub const MAX_FILTER_ENTRY_CHARS: usize = 100;

impl RequestFilter {
    /// What Anthropic-compatible providers that are not Anthropic commonly refuse: the 1M-context,
    /// context-management and fine-grained tool streaming betas, and the `context_management` and
    /// `metadata` fields.
    pub fn anthropic_compatible() -> Self {
        RequestFilter {
            betas: vec![
                "context-1m".into(),
                "context-management".into(),
                "fine-grained-tool-streaming".into(),
            ],
            fields: vec!["context_management".into(), "metadata".into()],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.betas.is_empty() && self.fields.is_empty()
    }

    /// A list as typed or stored: entries separated by commas or white space, empty ones left out,
    /// each one once.
    pub fn parse_list(raw: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for entry in raw.split(|c: char| c == ',' || c.is_whitespace()) {
            if !entry.is_empty() && !out.iter().any(|e| e == entry) {
                out.push(entry.to_string());
            }
        }
        out
    }

    /// Whether the beta flag `flag` is dropped.
    pub fn drops_beta(&self, flag: &str) -> bool {
        self.betas.iter().any(|b| flag.starts_with(b.as_str()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Anthropic,
    Openai,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 2] = [ChannelKind::Anthropic, ChannelKind::Openai];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Anthropic => "anthropic",
            ChannelKind::Openai => "openai",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Anthropic => "Anthropic",
            ChannelKind::Openai => "OpenAI-compatible",
        }
    }

    /// The kind's name in `locale`.
    pub fn label_in(self, locale: crate::i18n::Locale) -> String {
        match self {
            ChannelKind::Anthropic => "Anthropic".into(),
            ChannelKind::Openai => locale.t("channel-kind-openai"),
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Some(ChannelKind::Anthropic),
            "openai" => Some(ChannelKind::Openai),
            _ => None,
        }
    }

    /// The model the channel test asks for when the channel has no binding yet.
    pub fn default_test_model(self) -> &'static str {
        match self {
            ChannelKind::Anthropic => "claude-haiku-4-5",
            ChannelKind::Openai => "gpt-4o-mini",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: i64,
    pub base_url: String,
}

/// A saved API key, masked: only its last four characters are ever sent to the browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: i64,
    pub hint: String,
    pub enabled: bool,
    pub created_at: i64,
}

impl CredentialView {
    pub fn masked(&self) -> String {
        format!("••••{}", self.hint)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingView {
    pub id: i64,
    pub model_id: i64,
    pub model_public_id: String,
    pub channel_id: i64,
    pub channel_name: String,
    pub channel_kind: ChannelKind,
    pub upstream_model: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub priority: i64,
    pub weight: i64,
    pub enabled: bool,
    pub created_at: i64,
    /// What it drops from requests.
    #[serde(default)]
    pub filter: RequestFilter,
    pub endpoints: Vec<EndpointView>,
    pub credentials: Vec<CredentialView>,
    pub bindings: Vec<BindingView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelView {
    pub id: i64,
    pub public_id: String,
    pub display_name: String,
    pub enabled: bool,
    pub prices: Option<Prices>,
    /// The dearer prices above a threshold of input tokens.
    #[serde(default)]
    pub long_context: Option<LongContext>,
    /// Other ids it answers to.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its own price of 1,000 web searches (micro-USD); none = the site's.
    #[serde(default)]
    pub web_search_price: Option<i64>,
    pub bindings: Vec<BindingView>,
}

/// What a signed-in user sees on the Models page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicModel {
    pub public_id: String,
    pub display_name: String,
    pub prices: Option<Prices>,
    /// Other ids it answers to.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// One model of the built-in price list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceListEntry {
    pub public_id: String,
    pub display_name: String,
    pub vendor: String,
    pub prices: Prices,
    /// Whether a model with this id exists already.
    pub exists: bool,
    /// The existing model's prices, when it has other prices than the list's (importing it
    /// again sets the list's).
    pub repriced_from: Option<Option<Prices>>,
    /// The date the provider retires the model.
    pub deprecated_on: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    /// When the snapshot of the price file was taken.
    pub dated: String,
    /// What the list is: the built-in price list, or an uploaded file (named).
    #[serde(default)]
    pub source: String,
    /// The list is an uploaded file.
    #[serde(default)]
    pub uploaded: bool,
    pub entries: Vec<PriceListEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: i64,
    pub email: String,
    pub username: Option<String>,
    pub role: Role,
    pub disabled: bool,
    /// Nano-USD.
    pub balance: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntryView {
    pub id: i64,
    /// Nano-USD; positive adds to the balance.
    pub amount: i64,
    pub balance_after: i64,
    pub kind: String,
    pub reason: String,
    pub actor: Option<String>,
    pub created_at: i64,
    /// Nano-USD of a charge not collected: it would have taken the balance below the overdraft
    /// floor.
    pub uncollected: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: AdminUserView,
    pub ledger: Vec<LedgerEntryView>,
    pub limits: Limits,
    /// Which clients the user's tokens accept.
    #[serde(default)]
    pub clients: crate::clients::ClientRule,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub created_at: i64,
}

/// The outcome of one test request to an upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTestResult {
    pub endpoint: String,
    pub credential: String,
    pub model: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The upstream's error text (or the connection error) when it failed; a short summary when not.
    pub message: String,
}

/// What to do with a model that has no prices while billing is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnpricedPolicy {
    /// Refuse requests for it with a clear error (the default).
    Refuse,
    /// Serve it at zero cost.
    Free,
}

impl UnpricedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnpricedPolicy::Refuse => "refuse",
            UnpricedPolicy::Free => "free",
        }
    }

    pub fn parse(s: &str) -> Option<UnpricedPolicy> {
        match s {
            "refuse" => Some(UnpricedPolicy::Refuse),
            "free" => Some(UnpricedPolicy::Free),
            _ => None,
        }
    }
}

/// Optional limits of a token or a user (None = no limit). Spend limits are nano-USD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub rpm: Option<i64>,
    pub concurrency: Option<i64>,
    pub spend_5h: Option<i64>,
    pub spend_day: Option<i64>,
    pub spend_month: Option<i64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    pub fn has_spend_limit(&self) -> bool {
        self.spend_5h.is_some() || self.spend_day.is_some() || self.spend_month.is_some()
    }

    /// A short description for lists ("60 rpm · 2 at once · $5.00/day").
    pub fn summary(&self) -> String {
        self.summary_in(crate::i18n::Locale::En)
    }

    /// The limits in a line, in `locale`: "60 requests/min · $5.00/day", or "no limits".
    pub fn summary_in(&self, locale: crate::i18n::Locale) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.rpm {
            parts.push(locale.t_with("limits-summary-rpm", &[("n", n.to_string())]));
        }
        if let Some(n) = self.concurrency {
            parts.push(locale.t_with("limits-summary-concurrency", &[("n", n.to_string())]));
        }
        for (limit, per) in [
            (self.spend_5h, "limits-summary-spend-5h"),
            (self.spend_day, "limits-summary-spend-day"),
            (self.spend_month, "limits-summary-spend-month"),
        ] {
            if let Some(n) = limit {
                parts.push(locale.t_with(per, &[("amount", crate::money::format_balance(n))]));
            }
        }
        if parts.is_empty() {
            locale.t("limits-summary-none")
        } else {
            parts.join(" · ")
        }
    }
}

/// One request of the usage log, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub request_id: String,
    pub created_at: i64,
    pub user: String,
    pub token: Option<String>,
    pub api: String,
    pub model: String,
    /// The model an alias in `model` resolved to.
    #[serde(default)]
    pub resolved_model: Option<String>,
    pub channel: Option<String>,
    pub status: u16,
    pub error: Option<String>,
    pub stream: bool,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_write_5m_tokens: i64,
    pub cache_write_1h_tokens: i64,
    pub cache_read_tokens: i64,
    /// Nano-USD.
    pub cost: i64,
    pub ttfb_ms: Option<i64>,
    pub latency_ms: i64,
    /// The output tokens were estimated by Realms (a stream cut off before the upstream's count).
    #[serde(default)]
    pub estimated: bool,
    /// Web searches the upstream ran (billed per search).
    #[serde(default)]
    pub web_searches: i64,
    /// Earlier turns' thinking blocks were removed after the upstream refused their signatures.
    #[serde(default)]
    pub thinking_stripped: bool,
    /// A client's probe, not user work.
    #[serde(default)]
    pub probe: bool,
}

/// Filters of the usage log, as they travel in the page address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub model: String,
    /// A token id, as text ("" = all).
    #[serde(default)]
    pub token: String,
    /// "" (all), "ok", "error", or an HTTP status.
    #[serde(default)]
    pub status: String,
    /// Administrators only: a user's email ("" = everyone).
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub page: u32,
}

/// One bar segment of a daily chart: a day, a series (model), a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyPoint {
    /// Unix ms of the day's start (UTC).
    pub day: i64,
    pub model: String,
    pub cost: i64,
    pub tokens: i64,
    pub requests: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSpend {
    pub token: String,
    pub cost: i64,
    pub requests: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStat {
    pub channel: String,
    pub requests: i64,
    pub errors: i64,
    pub avg_ttfb_ms: Option<i64>,
}

/// What the Usage page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePage {
    pub rows: Vec<UsageRow>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub daily: Vec<DailyPoint>,
    pub by_token: Vec<TokenSpend>,
    /// Administrators: per-channel statistics.
    pub channels: Option<Vec<ChannelStat>>,
    /// The user's tokens and the models seen, for the filter choices.
    pub tokens: Vec<(i64, String)>,
    pub models: Vec<String>,
    pub is_admin: bool,
    /// The effective date range (`YYYY-MM-DD`).
    pub from: String,
    pub to: String,
}

/// What the dashboard shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub balance: i64,
    pub reserved: i64,
    pub spend_today: i64,
    pub spend_month: i64,
    pub requests_today: i64,
    pub recent_errors: Vec<UsageRow>,
    pub billing_enabled: bool,
}

/// Limits as typed in a form: blank means none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsInput {
    #[serde(default)]
    pub rpm: String,
    #[serde(default)]
    pub concurrency: String,
    #[serde(default)]
    pub spend_5h: String,
    #[serde(default)]
    pub spend_day: String,
    #[serde(default)]
    pub spend_month: String,
}
