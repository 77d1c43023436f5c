//! Client restrictions: a token (and, set by an administrator, every token of a user) can accept
//! any client, or Claude Code only (`User-Agent: claude-cli/<version> …`), optionally from a
//! minimum version. Pure rules, shared by the data plane, the console and the CLI.

use serde::{Deserialize, Serialize};

/// Which clients are accepted. The default accepts any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRule {
    /// Only Claude Code.
    pub claude_code: bool,
    /// The oldest Claude Code version accepted (`2.1.0`), when `claude_code`.
    pub min_version: Option<String>,
}

/// The value stored for "Claude Code only".
pub const CLAUDE_CODE: &str = "claude-code";

/// The longest version accepted.
const MAX_VERSION_CHARS: usize = 32;

impl ClientRule {
    /// Claude Code only, from `min_version` on when given. The version must be numbers separated
    /// by dots.
    pub fn claude_code(min_version: Option<&str>) -> Result<Self, crate::i18n::Msg> {
        let min_version = match min_version.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) if v.len() <= MAX_VERSION_CHARS && version(v).is_some() => Some(v.to_string()),
            Some(_) => return Err(crate::i18n::Msg::new("error-min-version")),
        };
        Ok(ClientRule {
            claude_code: true,
            min_version,
        })
    }

    /// From the stored columns (an unknown rule accepts only Claude Code, the stricter reading).
    pub fn from_stored(rule: Option<&str>, min_version: Option<&str>) -> Self {
        match rule {
            None => ClientRule::default(),
            Some(_) => ClientRule {
                claude_code: true,
                min_version: min_version.map(str::to_string),
            },
        }
    }

    /// The stored columns.
    pub fn stored(&self) -> (Option<&'static str>, Option<&str>) {
        if self.claude_code {
            (Some(CLAUDE_CODE), self.min_version.as_deref())
        } else {
            (None, None)
        }
    }

    /// One line for lists: "any client", "Claude Code", "Claude Code 2.1.0 or later".
    pub fn summary(&self) -> String {
        self.summary_in(crate::i18n::Locale::En)
    }

    /// The rule in the console's words, in `locale`.
    pub fn summary_in(&self, locale: crate::i18n::Locale) -> String {
        match (self.claude_code, &self.min_version) {
            (false, _) => locale.t("clients-summary-any"),
            (true, None) => locale.t("clients-summary-claude-code"),
            (true, Some(v)) => {
                locale.t_with("clients-summary-claude-code-min", &[("version", v.clone())])
            }
        }
    }

    /// Whether a client sending `user_agent` is accepted; the refusal says why and names the rule.
    pub fn admits(&self, user_agent: Option<&str>, whose: &str) -> Result<(), String> {
        if !self.claude_code {
            return Ok(());
        }
        let Some(found) = user_agent.and_then(claude_code_version) else {
            return Err(format!(
                "{whose} accepts only {} (User-Agent claude-cli/…); this client is not Claude Code.",
                self.summary()
            ));
        };
        if let Some(min) = &self.min_version {
            let (have, want) = (version(found), version(min));
            if have.is_none() || have < want {
                return Err(format!(
                    "{whose} accepts only Claude Code {min} or later; this client is Claude Code {found}. Update Claude Code (claude update)."
                ));
            }
        }
        Ok(())
    }
}

/// The Claude Code version in a User-Agent (`claude-cli/2.1.332 (external, cli)` → `2.1.332`).
pub fn claude_code_version(user_agent: &str) -> Option<&str> {
    let rest = user_agent.trim_start().strip_prefix("claude-cli/")?;
    let v = rest.split([' ', '(']).next().unwrap_or("");
    (!v.is_empty()).then_some(v)
}

/// A version's numbers (`2.1.0` → [2, 1, 0]), compared number by number; trailing zeros do not
/// count.
fn version(v: &str) -> Option<Vec<u64>> {
    let core = v.split(['-', '+']).next()?;
    let mut parts: Vec<u64> = core
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_is_told_by_its_user_agent_and_version() {
        let any = ClientRule::default();
        assert!(any.admits(None, "This token").is_ok());
        let cc = ClientRule::claude_code(None).unwrap();
        assert!(cc
            .admits(Some("claude-cli/2.1.332 (external, cli)"), "This token")
            .is_ok());
        let refused = cc.admits(Some("curl/8.5.0"), "This token").unwrap_err();
        assert!(refused.contains("only Claude Code"), "{refused}");
        assert!(cc.admits(None, "This token").is_err());
        let min = ClientRule::claude_code(Some("2.1.100")).unwrap();
        assert!(min
            .admits(Some("claude-cli/2.1.332 (external, sdk-cli)"), "t")
            .is_ok());
        assert!(min.admits(Some("claude-cli/2.1.100"), "t").is_ok());
        assert!(min
            .admits(Some("curl/8.5.0"), "t")
            .unwrap_err()
            .starts_with("t accepts only Claude Code 2.1.100 or later (User-Agent claude-cli/…)"));
        let old = min
            .admits(Some("claude-cli/2.1.99 (external, cli)"), "Your account")
            .unwrap_err();
        assert!(
            old.contains("2.1.100 or later") && old.contains("2.1.99"),
            "{old}"
        );
        assert!(min.admits(Some("claude-cli/garbage"), "t").is_err());
        assert!(ClientRule::claude_code(Some("2.1"))
            .unwrap()
            .admits(Some("claude-cli/2.1.0"), "t")
            .is_ok());
        assert!(ClientRule::claude_code(Some("two")).is_err());
        assert_eq!(min.summary(), "Claude Code 2.1.100 or later");
        assert_eq!(ClientRule::from_stored(min.stored().0, min.stored().1), min);
        assert_eq!(ClientRule::from_stored(None, Some("1.0")), any);
    }
}
