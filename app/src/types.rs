//! The types server fns and pages exchange (the console's wire types), shared by server and browser. No secrets live here, except the one-time
//! token value of [`NewToken`].

use serde::{Deserialize, Serialize};

mod claude_code;
mod control;
pub use claude_code::*;
pub use control::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// The locale file's id of the role's name.
    pub fn label_id(self) -> &'static str {
        match self {
            Role::Admin => "role-admin",
            Role::User => "role-user",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// The signed-in person, as the console sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub username: Option<String>,
    pub role: Role,
}

impl UserView {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The name shown in the user menu.
    pub fn display_name(&self) -> &str {
        self.username
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(&self.email)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn label(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }

    /// The locale file's id of the status's name.
    pub fn label_id(self) -> &'static str {
        match self {
            TokenStatus::Active => "token-status-active",
            TokenStatus::Expired => "token-status-expired",
            TokenStatus::Revoked => "token-status-revoked",
        }
    }
}

/// A token as listed: never its value, only the hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub hint: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub status: TokenStatus,
    #[serde(default)]
    pub limits: Limits,
    /// Which clients it accepts.
    #[serde(default)]
    pub clients: crate::clients::ClientRule,
}

/// A token just created: `secret` is its full value, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub secret: String,
    pub token: TokenView,
}

/// What the tokens page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokensPage {
    pub tokens: Vec<TokenView>,
    /// A token created by a plain (no-script) form post, handed over once through the session.
    pub fresh: Option<NewToken>,
}

/// Site-wide settings an admin can change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    pub registration_open: bool,
    /// Whether usage is deducted from balances (when off, cost is computed and shown only).
    pub billing_enabled: bool,
    pub unpriced_models: UnpricedPolicy,
    /// How far below zero a charge may take a balance (nano-USD, 0 = never below zero). A charge
    /// above its request's hold (an upstream reporting more than the request allowed) takes the
    /// balance down to this floor at most; the rest is recorded as uncollected.
    pub overdraft_floor: i64,
    /// The price of 1,000 web searches (micro-USD) for models without their own.
    #[serde(default = "default_web_search_price")]
    pub web_search_price: i64,
    /// What happens to a client's probes (requests that are not user work).
    #[serde(default)]
    pub probes: ProbePolicy,
}

/// Anthropic's price of web search: $10 per 1,000 searches, in micro-USD.
pub const DEFAULT_WEB_SEARCH_PRICE: i64 = 10_000_000;

fn default_web_search_price() -> i64 {
    DEFAULT_WEB_SEARCH_PRICE
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            registration_open: true,
            billing_enabled: true,
            unpriced_models: UnpricedPolicy::Refuse,
            overdraft_floor: 0,
            web_search_price: DEFAULT_WEB_SEARCH_PRICE,
            probes: ProbePolicy::default(),
        }
    }
}

/// What Realms does with a client's probe (Claude Code's `Warmup` prompt, a quota check with
/// `max_tokens` 1): send it upstream like any request (one attempt, no failover), or answer it
/// itself with a minimal well-formed answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbePolicy {
    #[default]
    Upstream,
    Answer,
}

impl ProbePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbePolicy::Upstream => "upstream",
            ProbePolicy::Answer => "answer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upstream" => Some(ProbePolicy::Upstream),
            "answer" => Some(ProbePolicy::Answer),
            _ => None,
        }
    }
}

/// Expiry choices offered when creating a token, in days (0 = never).
pub const TOKEN_EXPIRY_CHOICES: &[(u32, &str)] = &[
    (0, "expiry-never"),
    (7, "expiry-7-days"),
    (30, "expiry-30-days"),
    (90, "expiry-90-days"),
    (365, "expiry-1-year"),
];

/// Renders Unix milliseconds as `YYYY-MM-DD HH:MM UTC` (the same on server and browser).
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let date = time::Date::from_julian_day((days + 2_440_588) as i32);
    match date {
        Ok(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            rem / 3600,
            (rem % 3600) / 60
        ),
        Err(_) => "—".to_string(),
    }
}

/// A count with thousands grouped: "1,234,567" (so in English and in Chinese alike).
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders Unix milliseconds in the way of `locale`: `2026-11-21 22:31 UTC` in English,
/// `2026年11月21日 22:31 UTC` in Chinese.
pub fn format_time_in(locale: crate::i18n::Locale, ms: i64) -> String {
    let iso = format_time(ms);
    match locale {
        crate::i18n::Locale::En => iso,
        crate::i18n::Locale::ZhCn => match iso.split_once(' ') {
            Some((day, rest)) => format!("{} {rest}", zh_day(day)),
            None => iso,
        },
    }
}

/// Renders Unix milliseconds as the UTC day in the way of `locale`: `2026-11-21`, `2026年11月21日`.
pub fn format_day_in(locale: crate::i18n::Locale, ms: i64) -> String {
    let iso = format_day(ms);
    match locale {
        crate::i18n::Locale::En => iso,
        crate::i18n::Locale::ZhCn => zh_day(&iso),
    }
}

/// `2026-11-21` as `2026年11月21日` (no leading zeros in month and day).
fn zh_day(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!(
            "{y}年{}月{}日",
            m.trim_start_matches('0'),
            d.trim_start_matches('0')
        ),
        _ => iso.to_string(),
    }
}

/// Renders Unix milliseconds as the UTC day `YYYY-MM-DD`.
pub fn format_day(ms: i64) -> String {
    format_time(ms).chars().take(10).collect()
}

/// Reads a UTC day `YYYY-MM-DD` as the Unix milliseconds of its start.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some((i64::from(date.to_julian_day()) - 2_440_588) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_render_in_utc() {
        let d = parse_day("2026-11-21").unwrap();
        assert_eq!(format_time(d), "2026-11-21 00:00 UTC");
        assert_eq!(format_day(d + 3_600_000), "2026-11-21");
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(-1_234_567), "-1,234,567");
    }

    #[test]
    fn times_render_in_each_language() {
        use crate::i18n::Locale;
        let t = 1_795_300_265_000;
        assert_eq!(format_time_in(Locale::En, t), "2026-11-21 22:31 UTC");
        assert_eq!(format_time_in(Locale::ZhCn, t), "2026年11月21日 22:31 UTC");
        assert_eq!(
            format_day_in(Locale::ZhCn, parse_day("2026-03-05").unwrap()),
            "2026年3月5日"
        );
    }

    #[test]
    fn times_render_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        // 2026-11-21 22:31:05 UTC
        assert_eq!(format_time(1_795_300_265_000), "2026-11-21 22:31 UTC");
    }

    #[test]
    fn display_name_falls_back_to_email() {
        let mut u = UserView {
            id: 1,
            email: "a@b.c".into(),
            username: None,
            role: Role::User,
        };
        assert_eq!(u.display_name(), "a@b.c");
        u.username = Some("ann".into());
        assert_eq!(u.display_name(), "ann");
    }
}
