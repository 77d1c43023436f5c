//! The Claude Code setup, as plain functions shared by the server and the browser: the choices a user
//! makes on the setup page (system and shell, where the settings go, which models), the snippet they
//! produce, the status-line command, the models suggested for each tier, and the diagnosis of a
//! failed connection test. The page only shows what these return.

use serde::{Deserialize, Serialize};

use crate::i18n::{Locale, Msg};

/// The response header carrying Realms' id of a data-plane request (also in the usage log).
pub const REQUEST_ID_HEADER: &str = "x-realms-request-id";
/// The response header carrying the class of a data-plane error Realms itself answered (an error
/// an upstream answered has none): `authentication`, `model_not_found`, `insufficient_balance`, …
pub const ERROR_CLASS_HEADER: &str = "x-realms-error";

/// The operating system family a snippet is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    Unix,
    Windows,
}

impl System {
    pub const ALL: [System; 2] = [System::Unix, System::Windows];

    pub fn id(self) -> &'static str {
        match self {
            System::Unix => "unix",
            System::Windows => "windows",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            System::Unix => "macOS / Linux",
            System::Windows => "Windows",
        }
    }

    pub fn parse(s: &str) -> Option<System> {
        System::ALL.into_iter().find(|x| x.id() == s)
    }

    pub fn shells(self) -> &'static [Shell] {
        match self {
            System::Unix => &[Shell::Bash, Shell::Zsh, Shell::Fish],
            System::Windows => &[Shell::PowerShell, Shell::Cmd],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    PowerShell,
    Cmd,
}

impl Shell {
    pub const ALL: [Shell; 5] = [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Cmd,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::PowerShell => "powershell",
            Shell::Cmd => "cmd",
        }
    }

    /// The shell's name, in `locale`.
    pub fn label(self, locale: Locale) -> String {
        match self {
            Shell::Bash => "bash".into(),
            Shell::Zsh => "zsh".into(),
            Shell::Fish => "fish".into(),
            Shell::PowerShell => "PowerShell".into(),
            Shell::Cmd => locale.t("shell-cmd"),
        }
    }

    pub fn parse(s: &str) -> Option<Shell> {
        Shell::ALL.into_iter().find(|x| x.id() == s)
    }

    pub fn system(self) -> System {
        match self {
            Shell::Bash | Shell::Zsh | Shell::Fish => System::Unix,
            Shell::PowerShell | Shell::Cmd => System::Windows,
        }
    }
}

/// Where the settings go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The `env` block of Claude Code's `settings.json`: every terminal, every shell.
    Settings,
    /// Exports in the shell's profile: every new terminal of that shell.
    Profile,
    /// Commands for the current terminal only.
    OneOff,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Settings, Method::Profile, Method::OneOff];

    pub fn id(self) -> &'static str {
        match self {
            Method::Settings => "settings",
            Method::Profile => "profile",
            Method::OneOff => "oneoff",
        }
    }

    /// The locale file's id of the method's name.
    pub fn label_id(self) -> &'static str {
        match self {
            Method::Settings => "method-settings",
            Method::Profile => "method-profile",
            Method::OneOff => "method-oneoff",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|x| x.id() == s)
    }
}

/// The models Claude Code is told to use; `None` leaves Claude Code's own default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Models {
    /// `ANTHROPIC_MODEL`: the model a session starts with.
    pub main: Option<String>,
    /// `ANTHROPIC_DEFAULT_OPUS_MODEL`: what the "opus" tier and alias mean.
    pub opus: Option<String>,
    /// `ANTHROPIC_DEFAULT_SONNET_MODEL`.
    pub sonnet: Option<String>,
    /// `ANTHROPIC_DEFAULT_HAIKU_MODEL` (and the older `ANTHROPIC_SMALL_FAST_MODEL`): background work.
    pub haiku: Option<String>,
    /// `CLAUDE_CODE_SUBAGENT_MODEL`.
    pub subagent: Option<String>,
}

impl Models {
    /// A model for every tier from `ids` (the models the user may use): the newest id naming the
    /// tier, else the main model, so Claude Code never asks for a model this instance lacks. The main
    /// model is the Sonnet pick, else Opus, else Haiku, else the first id.
    pub fn suggested(ids: &[String]) -> Models {
        let newest = |tier: &str| {
            ids.iter()
                .filter(|id| id.to_ascii_lowercase().contains(tier))
                .max_by(|a, b| version_order(a, b))
                .cloned()
        };
        let (opus, sonnet, haiku) = (newest("opus"), newest("sonnet"), newest("haiku"));
        let main = sonnet
            .clone()
            .or_else(|| opus.clone())
            .or_else(|| haiku.clone())
            .or_else(|| ids.first().cloned());
        Models {
            opus: opus.or_else(|| main.clone()),
            sonnet: sonnet.or_else(|| main.clone()),
            haiku: haiku.or_else(|| main.clone()),
            main,
            subagent: None,
        }
    }
}

/// Orders model ids so that `claude-sonnet-4-10` comes after `claude-sonnet-4-9`: runs of digits
/// compare as numbers, and a dated id (`-20250929`) after its undated alias is not preferred.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty() && p.len() < 8)
            .filter_map(|p| p.parse().ok())
            .collect()
    }
    parts(a)
        .cmp(&parts(b))
        .then_with(|| b.len().cmp(&a.len()))
        .then_with(|| b.cmp(a))
}

/// What the snippet carries as the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenValue {
    /// A token's full value (just created: shown once).
    Known(String),
    /// An existing token, whose value cannot be shown again: a marked placeholder naming its hint.
    Placeholder { hint: String },
}

impl TokenValue {
    pub fn text(&self) -> String {
        match self {
            TokenValue::Known(secret) => secret.clone(),
            TokenValue::Placeholder { hint } if hint.is_empty() => {
                "PASTE_YOUR_RLM_TOKEN_HERE".into()
            }
            TokenValue::Placeholder { hint } => format!("PASTE_YOUR_RLM_TOKEN_ENDING_{hint}_HERE"),
        }
    }

    pub fn is_placeholder(&self) -> bool {
        matches!(self, TokenValue::Placeholder { .. })
    }
}

/// Everything the user chose on the setup page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choices {
    pub shell: Shell,
    pub method: Method,
    pub models: Models,
    /// `CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1`: Claude Code's `/model` lists this instance's
    /// models (read from `GET /v1/models`).
    pub discovery: bool,
    /// A `statusLine` showing the Realms balance inside Claude Code.
    pub status_line: bool,
}

impl Default for Choices {
    fn default() -> Self {
        Choices {
            shell: Shell::Zsh,
            method: Method::Settings,
            models: Models::default(),
            discovery: false,
            status_line: true,
        }
    }
}

/// The query parameter names of the setup page's choices (a no-script form submits them).
pub mod param {
    pub const SYSTEM: &str = "system";
    pub const SHELL: &str = "shell";
    pub const METHOD: &str = "method";
    pub const TOKEN: &str = "token";
    pub const MAIN: &str = "model";
    pub const OPUS: &str = "opus";
    pub const SONNET: &str = "sonnet";
    pub const HAIKU: &str = "haiku";
    pub const SUBAGENT: &str = "subagent";
    pub const DISCOVERY: &str = "discovery";
    pub const STATUS_LINE: &str = "status";
    /// Set by the form itself, so that an unticked box (which a form does not send) reads as off.
    pub const SENT: &str = "set";
}

impl Choices {
    /// The choices a page address carries (`get` reads a query parameter); anything missing or not
    /// one of `models` takes its default (the suggested models).
    pub fn from_query(get: impl Fn(&str) -> Option<String>, models: &[String]) -> Choices {
        let suggested = Models::suggested(models);
        let pick = |name: &str, default: Option<String>| match get(name) {
            Some(v) if v.is_empty() => None,
            Some(v) if models.contains(&v) => Some(v),
            _ => default,
        };
        let sent = get(param::SENT).is_some();
        let flag = |name: &str, default: bool| match get(name) {
            Some(v) => v == "1" || v == "on" || v == "true",
            None if sent => false,
            None => default,
        };
        let defaults = Choices::default();
        let mut shell = get(param::SHELL)
            .and_then(|s| Shell::parse(&s))
            .unwrap_or(defaults.shell);
        // A system switched without script comes with the other system's shell: take the new
        // system's first.
        if let Some(system) = get(param::SYSTEM).and_then(|s| System::parse(&s)) {
            if shell.system() != system {
                shell = system.shells()[0];
            }
        }
        Choices {
            shell,
            method: get(param::METHOD)
                .and_then(|s| Method::parse(&s))
                .unwrap_or(defaults.method),
            models: Models {
                main: pick(param::MAIN, suggested.main),
                opus: pick(param::OPUS, suggested.opus),
                sonnet: pick(param::SONNET, suggested.sonnet),
                haiku: pick(param::HAIKU, suggested.haiku),
                subagent: pick(param::SUBAGENT, None),
            },
            discovery: flag(param::DISCOVERY, defaults.discovery),
            status_line: flag(param::STATUS_LINE, defaults.status_line),
        }
    }
}

/// The environment Claude Code needs, in order.
pub fn env(base_url: &str, token: &TokenValue, c: &Choices) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("ANTHROPIC_BASE_URL", base_url.to_string()),
        ("ANTHROPIC_AUTH_TOKEN", token.text()),
    ];
    let m = &c.models;
    let models = [
        ("ANTHROPIC_MODEL", &m.main),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", &m.opus),
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", &m.sonnet),
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", &m.haiku),
        ("ANTHROPIC_SMALL_FAST_MODEL", &m.haiku),
        ("CLAUDE_CODE_SUBAGENT_MODEL", &m.subagent),
    ];
    for (name, value) in models {
        if let Some(v) = value {
            out.push((name, v.clone()));
        }
    }
    if c.discovery {
        out.push(("CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY", "1".into()));
    }
    out.push(("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()));
    out
}

/// A piece of text to copy, and what to do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Where it goes: a file, or the terminal.
    pub place: String,
    /// What to do with it, in one sentence.
    pub how: Msg,
    pub text: String,
}

/// Claude Code's settings file on `system`.
pub fn settings_path(system: System) -> &'static str {
    match system {
        System::Unix => "~/.claude/settings.json",
        System::Windows => r"%USERPROFILE%\.claude\settings.json",
    }
}

/// The profile file (or mechanism) of `shell`.
pub fn profile_path(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "~/.bashrc (on macOS: ~/.bash_profile)",
        Shell::Zsh => "~/.zshrc",
        Shell::Fish => "~/.config/fish/config.fish",
        Shell::PowerShell => "$PROFILE",
        Shell::Cmd => "your user environment (setx)",
    }
}

/// The command a `statusLine` runs: one line with the Realms balance and today's spend, read from
/// `GET /v1/realms/me?format=text` with the variables Claude Code runs with.
pub fn status_line_command(system: System) -> &'static str {
    match system {
        System::Unix => {
            r#"curl -fsS -H "Authorization: Bearer $ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_BASE_URL/v1/realms/me?format=text""#
        }
        System::Windows => {
            r#"powershell -NoProfile -Command "(Invoke-RestMethod -Headers @{Authorization='Bearer ' + $env:ANTHROPIC_AUTH_TOKEN} ($env:ANTHROPIC_BASE_URL + '/v1/realms/me?format=text'))""#
        }
    }
}

fn status_line_value(system: System) -> serde_json::Value {
    serde_json::json!({ "type": "command", "command": status_line_command(system) })
}

/// The `statusLine` block alone, for `settings.json` (when the variables are set another way).
pub fn status_line_block(system: System) -> String {
    let v = serde_json::json!({ "statusLine": status_line_value(system) });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The snippet for the user's choices.
pub fn snippet(base_url: &str, token: &TokenValue, c: &Choices) -> Snippet {
    let vars = env(base_url, token, c);
    let system = c.shell.system();
    match c.method {
        Method::Settings => {
            let env: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
                .collect();
            let mut doc = serde_json::Map::new();
            doc.insert("env".into(), serde_json::Value::Object(env));
            if c.status_line {
                doc.insert("statusLine".into(), status_line_value(system));
            }
            let text =
                serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap_or_default();
            Snippet {
                place: settings_path(system).into(),
                how: Msg::new("snippet-how-settings").arg("path", settings_path(system)),
                text: text + "\n",
            }
        }
        Method::Profile => Snippet {
            place: profile_path(c.shell).into(),
            how: match c.shell {
                Shell::Cmd => Msg::new("snippet-how-cmd"),
                shell => Msg::new("snippet-how-profile").arg("path", profile_path(shell)),
            },
            text: exports(c.shell, &vars, true),
        },
        Method::OneOff => Snippet {
            place: "this terminal".into(),
            how: Msg::new("snippet-how-oneoff"),
            text: exports(c.shell, &vars, false) + "claude\n",
        },
    }
}

/// The lines that set `vars` (and unset `ANTHROPIC_API_KEY`, which would take precedence) in
/// `shell`; `persistent` for a profile.
fn exports(shell: Shell, vars: &[(&str, String)], persistent: bool) -> String {
    let mut out = String::new();
    let comment = match shell {
        Shell::Cmd => "REM",
        _ => "#",
    };
    out.push_str(&format!("{comment} Claude Code through Realms\n"));
    match shell {
        Shell::Bash | Shell::Zsh => {
            out.push_str("unset ANTHROPIC_API_KEY\n");
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", sh_quote(v)));
            }
        }
        Shell::Fish => {
            out.push_str("set -e ANTHROPIC_API_KEY\n");
            for (k, v) in vars {
                out.push_str(&format!("set -gx {k} {}\n", fish_quote(v)));
            }
        }
        Shell::PowerShell => {
            out.push_str("Remove-Item Env:ANTHROPIC_API_KEY -ErrorAction SilentlyContinue\n");
            for (k, v) in vars {
                out.push_str(&format!("$env:{k} = {}\n", ps_quote(v)));
            }
        }
        Shell::Cmd if persistent => {
            out.push_str("REM If ANTHROPIC_API_KEY is set, remove it (it takes precedence):\n");
            out.push_str("REM   reg delete HKCU\\Environment /v ANTHROPIC_API_KEY /f\n");
            for (k, v) in vars {
                out.push_str(&format!("setx {k} \"{}\"\n", cmd_value(v)));
            }
        }
        Shell::Cmd => {
            out.push_str("set ANTHROPIC_API_KEY=\n");
            for (k, v) in vars {
                out.push_str(&format!("set \"{k}={}\"\n", cmd_value(v)));
            }
        }
    }
    out
}

fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

fn ps_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// cmd cannot quote `"` or `%` inside a value: they are dropped (no value Realms shows has them).
fn cmd_value(v: &str) -> String {
    v.chars().filter(|c| !matches!(c, '"' | '%')).collect()
}

/// What went wrong in a connection test, and how to fix it, in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub title: Msg,
    pub fix: Msg,
    /// A console page that fixes it: (address, the locale file's id of the link text).
    pub link: Option<(String, String)>,
}

fn diagnosis(title: Msg, fix: &'static str, link: Option<(&str, &str)>) -> Diagnosis {
    Diagnosis {
        title,
        fix: Msg::new(fix),
        link: link.map(|(a, b)| (a.into(), b.into())),
    }
}

/// Why a test request failed: from the status, the class Realms put in [`ERROR_CLASS_HEADER`] (none
/// when an upstream answered the error) and the error's message; `admin` gets the fix an
/// administrator can make, anyone else whom to ask.
pub fn diagnose(status: u16, class: Option<&str>, message: &str, admin: bool) -> Diagnosis {
    let ask = "diag-ask-admin";
    let t = Msg::new;
    let pick = |for_admin: &'static str, for_user: &'static str| {
        if admin {
            for_admin
        } else {
            for_user
        }
    };
    match class {
        Some("authentication" | "token_revoked") => {
            let title = if message.contains("revoked") {
                "diag-token-revoked"
            } else if message.contains("expired") {
                "diag-token-expired"
            } else if message.contains("disabled") {
                "diag-account-disabled"
            } else if message.starts_with("No Realms token") {
                "diag-no-token"
            } else {
                "diag-token-invalid"
            };
            if message.contains("disabled") {
                return diagnosis(t(title), ask, None);
            }
            diagnosis(t(title), "diag-token-fix", Some(("/tokens", "nav-tokens")))
        }
        Some("model_not_found") => {
            if admin {
                diagnosis(
                    t("diag-model-unavailable"),
                    "diag-model-unavailable-fix-admin",
                    Some(("/admin/models", "nav-pricing")),
                )
            } else {
                diagnosis(
                    t("diag-model-unavailable"),
                    "diag-model-unavailable-fix-user",
                    Some(("/models", "nav-models")),
                )
            }
        }
        Some("model_unpriced") => diagnosis(
            t("diag-model-unpriced"),
            pick("diag-model-unpriced-fix-admin", ask),
            admin.then_some(("/admin/models", "nav-pricing")),
        ),
        Some("no_channel") if message.contains("cooling down") => diagnosis(
            t("diag-cooling-down"),
            pick("diag-cooling-down-fix-admin", "diag-cooling-down-fix-user"),
            admin.then_some(("/admin/channels", "nav-channels")),
        ),
        Some("no_channel") => diagnosis(
            t("diag-no-channel"),
            pick("diag-no-channel-fix-admin", ask),
            admin.then_some(("/admin/models", "nav-pricing")),
        ),
        Some("invalid_request") => diagnosis(
            t("diag-refused"),
            pick("diag-refused-fix-admin", "diag-refused-fix-user"),
            None,
        ),
        Some("insufficient_balance") => diagnosis(
            t("diag-balance-low"),
            pick("diag-balance-low-fix-admin", "diag-balance-low-fix-user"),
            admin.then_some(("/admin/users", "nav-users")),
        ),
        Some("rate_limited") => diagnosis(
            t("diag-limit-reached"),
            "diag-limit-reached-fix",
            Some(("/tokens", "nav-tokens")),
        ),
        Some("upstream_unreachable" | "upstream_timeout") => diagnosis(
            t("diag-unreachable"),
            pick("diag-unreachable-fix-admin", "diag-unreachable-fix-user"),
            admin.then_some(("/admin/channels", "nav-channels")),
        ),
        Some("shutdown") => diagnosis(t("diag-restarting"), "diag-restarting-fix", None),
        Some(_) => diagnosis(
            t("diag-could-not-serve"),
            pick("diag-could-not-serve-fix-admin", ask),
            None,
        ),
        None if status >= 500 => diagnosis(
            t("diag-upstream-error").arg("status", status),
            pick(
                "diag-upstream-error-fix-admin",
                "diag-upstream-error-fix-user",
            ),
            admin.then_some(("/admin/channels", "nav-channels")),
        ),
        None => diagnosis(
            t("diag-upstream-refused").arg("status", status),
            pick("diag-upstream-refused-fix-admin", ask),
            admin.then_some(("/admin/channels", "nav-channels")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const BASE: &str = "https://ai.example.com";

    fn token() -> TokenValue {
        TokenValue::Known("rlm_abc".into())
    }

    #[test]
    fn every_tier_gets_a_model_the_instance_has() {
        let m = Models::suggested(&ids(&[
            "claude-haiku-4-5",
            "claude-opus-4-1",
            "claude-opus-4-5",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
        ]));
        assert_eq!(m.main.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(m.opus.as_deref(), Some("claude-opus-4-5"));
        assert_eq!(m.sonnet.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(m.haiku.as_deref(), Some("claude-haiku-4-5"));
        assert_eq!(m.subagent, None);
        // One model: every tier is it.
        let m = Models::suggested(&ids(&["glm-4.6"]));
        for tier in [&m.main, &m.opus, &m.sonnet, &m.haiku] {
            assert_eq!(tier.as_deref(), Some("glm-4.6"));
        }
        assert_eq!(Models::suggested(&[]), Models::default());
        // Numbers compare as numbers.
        let m = Models::suggested(&ids(&["claude-sonnet-4-9", "claude-sonnet-4-10"]));
        assert_eq!(m.sonnet.as_deref(), Some("claude-sonnet-4-10"));
    }

    #[test]
    fn choices_come_from_the_address_and_unknown_models_are_ignored() {
        let models = ids(&["claude-sonnet-4-5", "claude-haiku-4-5"]);
        let q = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = Choices::from_query(q(&[]), &models);
        assert_eq!(c.shell, Shell::Zsh);
        assert_eq!(c.method, Method::Settings);
        assert!(c.status_line && !c.discovery);
        assert_eq!(c.models.haiku.as_deref(), Some("claude-haiku-4-5"));
        let c = Choices::from_query(
            q(&[
                ("shell", "fish"),
                ("method", "oneoff"),
                ("model", "claude-haiku-4-5"),
                ("opus", "'; rm -rf ~"),
                ("subagent", "claude-haiku-4-5"),
                ("haiku", ""),
                ("set", "1"),
                ("discovery", "1"),
            ]),
            &models,
        );
        assert_eq!(c.shell, Shell::Fish);
        assert_eq!(c.method, Method::OneOff);
        let switched = Choices::from_query(q(&[("system", "windows"), ("shell", "zsh")]), &models);
        assert_eq!(switched.shell, Shell::PowerShell);
        assert_eq!(c.models.main.as_deref(), Some("claude-haiku-4-5"));
        assert_eq!(c.models.opus.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(c.models.haiku, None);
        assert_eq!(c.models.subagent.as_deref(), Some("claude-haiku-4-5"));
        // The form was sent without the status-line box ticked: it is off.
        assert!(c.discovery && !c.status_line);
    }

    #[test]
    fn the_settings_file_carries_the_env_block_and_the_status_line() {
        let c = Choices {
            models: Models::suggested(&ids(&["claude-sonnet-4-5"])),
            ..Choices::default()
        };
        let s = snippet(BASE, &token(), &c);
        assert_eq!(s.place, "~/.claude/settings.json");
        let v: serde_json::Value = serde_json::from_str(&s.text).unwrap();
        assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], BASE);
        assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], "rlm_abc");
        assert_eq!(v["env"]["ANTHROPIC_MODEL"], "claude-sonnet-4-5");
        assert_eq!(v["env"]["ANTHROPIC_SMALL_FAST_MODEL"], "claude-sonnet-4-5");
        assert_eq!(v["env"]["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1");
        assert!(v["env"]
            .get("CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY")
            .is_none());
        assert!(v["statusLine"]["command"]
            .as_str()
            .unwrap()
            .starts_with("curl "));
        let windows = Choices {
            shell: Shell::PowerShell,
            status_line: false,
            discovery: true,
            ..c
        };
        let s = snippet(BASE, &token(), &windows);
        assert_eq!(s.place, r"%USERPROFILE%\.claude\settings.json");
        let v: serde_json::Value = serde_json::from_str(&s.text).unwrap();
        assert!(v.get("statusLine").is_none());
        assert_eq!(v["env"]["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"], "1");
        assert!(status_line_block(System::Windows).contains("Invoke-RestMethod"));
    }

    #[test]
    fn each_shell_sets_the_variables_its_own_way() {
        let snip = |shell, method| {
            snippet(
                BASE,
                &token(),
                &Choices {
                    shell,
                    method,
                    ..Choices::default()
                },
            )
        };
        let bash = snip(Shell::Bash, Method::Profile);
        assert!(bash.text.contains("unset ANTHROPIC_API_KEY\n"));
        assert!(bash
            .text
            .contains("export ANTHROPIC_BASE_URL='https://ai.example.com'\n"));
        assert!(bash.place.contains("~/.bashrc"));
        assert_eq!(snip(Shell::Zsh, Method::Profile).place, "~/.zshrc");
        let fish = snip(Shell::Fish, Method::OneOff);
        assert!(fish
            .text
            .contains("set -gx ANTHROPIC_AUTH_TOKEN 'rlm_abc'\n"));
        assert!(fish.text.ends_with("claude\n"));
        let ps = snip(Shell::PowerShell, Method::Profile);
        assert!(ps.text.contains("$env:ANTHROPIC_AUTH_TOKEN = 'rlm_abc'\n"));
        assert!(ps.text.contains("Remove-Item Env:ANTHROPIC_API_KEY"));
        let cmd = snip(Shell::Cmd, Method::Profile);
        assert!(cmd
            .text
            .contains("setx ANTHROPIC_BASE_URL \"https://ai.example.com\"\n"));
        let cmd = snip(Shell::Cmd, Method::OneOff);
        assert!(cmd.text.contains("set \"ANTHROPIC_AUTH_TOKEN=rlm_abc\"\n"));
        assert!(cmd.text.contains("set ANTHROPIC_API_KEY=\n"));
        for shell in Shell::ALL {
            for method in Method::ALL {
                assert!(!snip(shell, method).text.contains("/v1'"), "never /v1");
            }
        }
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        assert_eq!(fish_quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(ps_quote("a'b"), "'a''b'");
        assert_eq!(cmd_value("a\"b%c"), "abc");
    }

    #[test]
    fn an_existing_token_is_a_marked_placeholder() {
        let t = TokenValue::Placeholder {
            hint: "x9Zq".into(),
        };
        assert!(t.is_placeholder());
        let s = snippet(BASE, &t, &Choices::default());
        assert!(s.text.contains("PASTE_YOUR_RLM_TOKEN_ENDING_x9Zq_HERE"));
    }

    #[test]
    fn each_failure_has_its_own_diagnosis() {
        let title = |status, class, msg| diagnose(status, class, msg, false).title.to_string();
        assert_eq!(
            title(
                401,
                Some("authentication"),
                "This Realms token was revoked. Create a new token in the console."
            ),
            "The token was revoked"
        );
        assert_eq!(
            title(
                401,
                Some("authentication"),
                "This Realms token has expired."
            ),
            "The token has expired"
        );
        assert_eq!(
            title(
                401,
                Some("authentication"),
                "The Realms token is not valid."
            ),
            "The token is not valid"
        );
        assert_eq!(
            title(404, Some("model_not_found"), "x"),
            "The model is not available"
        );
        assert_eq!(
            title(
                503,
                Some("no_channel"),
                "Every channel for m is cooling down"
            ),
            "Every channel is cooling down"
        );
        assert_eq!(
            title(503, Some("no_channel"), "No enabled"),
            "No channel serves the model"
        );
        assert_eq!(
            title(402, Some("insufficient_balance"), "x"),
            "The balance is too low"
        );
        assert_eq!(title(429, Some("rate_limited"), "x"), "A limit was reached");
        assert_eq!(
            title(500, None, "boom"),
            "The upstream answered with an error (500)"
        );
        assert_eq!(
            title(400, None, "bad"),
            "The upstream refused the request (400)"
        );
        // An administrator is sent where the fix is; a user is told whom to ask.
        let admin = diagnose(402, Some("insufficient_balance"), "x", true);
        assert_eq!(admin.link.unwrap().0, "/admin/users");
        let user = diagnose(402, Some("insufficient_balance"), "x", false);
        assert!(user.link.is_none() && user.fix.to_string().contains("administrator"));
    }
}
