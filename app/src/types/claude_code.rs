//! What the Claude Code setup page exchanges with the server.

use serde::{Deserialize, Serialize};

use super::NewToken;
use crate::claude_code::Diagnosis;

/// One of the user's active tokens, as the setup page offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenChoice {
    pub id: i64,
    pub name: String,
    pub hint: String,
}

/// What the setup page needs: the address to show, the user's tokens and usable models, and which
/// prerequisites are met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClaudeCodeSetup {
    /// `ANTHROPIC_BASE_URL`: this instance's public base URL (never ending in `/v1`).
    pub base_url: String,
    pub tokens: Vec<TokenChoice>,
    /// The models Claude Code can use here: enabled, bound to a usable Anthropic channel, and
    /// priced (or unpriced models run free on this instance).
    pub models: Vec<String>,
    pub is_admin: bool,
    pub billing_enabled: bool,
    /// Nano-USD.
    pub balance: i64,
    /// A token created by a no-script form on this page, handed over once through the session.
    pub fresh: Option<NewToken>,
}

impl ClaudeCodeSetup {
    pub fn has_token(&self) -> bool {
        !self.tokens.is_empty() || self.fresh.is_some()
    }

    pub fn has_model(&self) -> bool {
        !self.models.is_empty()
    }

    /// `None` when billing is off (the balance does not matter).
    pub fn has_balance(&self) -> Option<bool> {
        self.billing_enabled.then_some(self.balance > 0)
    }
}

/// The outcome of a connection test: one real request through this instance's data plane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConnectionTest {
    pub model: String,
    /// The HTTP status Realms answered with.
    pub status: u16,
    /// The answer's text (success).
    pub answer: String,
    /// From sending the request to the first byte of the answer's body.
    pub ttfb_ms: u64,
    pub total_ms: u64,
    pub request_id: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Nano-USD, as the usage log recorded it (`None` while not yet stored).
    pub cost: Option<i64>,
    /// The error's message (failure), shortened.
    pub error: Option<String>,
    pub diagnosis: Option<Diagnosis>,
}

impl ConnectionTest {
    pub fn ok(&self) -> bool {
        self.error.is_none() && (200..300).contains(&self.status)
    }
}
