//! Authenticating a data-plane request: the token comes as `Authorization: Bearer rlm_…` or
//! `x-api-key: rlm_…`. Owners are cached in memory by token hash (an `app::core::cache::Cache`); the
//! cache empties whenever the catalog or token revision moves (a revoked token or a disabled user
//! bumps one) and entries live 60 s at most.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use app::core::cache::Cache;
use app::core::db::{now_ms, Db};
use app::core::token_secret;
use app::core::tokens::{self, TokenOwner, TokenRefusal};

use super::error::RelayError;

const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

/// The presented token: Bearer first, then x-api-key.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    })
}

/// Token owners by token hash, at the catalog and token revisions they were read at.
#[derive(Debug)]
pub struct TokenCache {
    owners: Cache<String, TokenOwner, (i64, i64)>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            owners: Cache::new(TTL, MAX_ENTRIES),
        }
    }
}

impl TokenCache {
    /// Authenticates the request's token against the cache, then the database.
    pub async fn authenticate(
        &self,
        db: &Db,
        revision: (i64, i64),
        headers: &HeaderMap,
    ) -> Result<TokenOwner, RelayError> {
        let Some(value) = presented(headers) else {
            return Err(RelayError::Unauthenticated(
                "No Realms token was sent. Send it as \"Authorization: Bearer rlm_…\" or \"x-api-key: rlm_…\" (set ANTHROPIC_AUTH_TOKEN for Claude Code).".into(),
            ));
        };
        if !token_secret::looks_like_token(value) {
            return Err(refused(TokenRefusal::Unknown));
        }
        let hash = token_secret::hash(value);
        let now = Instant::now();
        if let Some(owner) = self.owners.get(&hash, revision, now) {
            if owner.expires_at.is_some_and(|t| t <= now_ms()) {
                return Err(refused(TokenRefusal::Expired));
            }
            return Ok(owner);
        }
        match tokens::authenticate(db, value).await {
            Ok(Ok(owner)) => {
                self.owners.insert(hash, owner.clone(), revision, now);
                Ok(owner)
            }
            Ok(Err(refusal)) => Err(refused(refusal)),
            Err(e) => {
                tracing::error!(error = %e, "token lookup failed");
                Err(RelayError::Internal(
                    "Realms could not check the token (its database is not answering). Retry shortly.".into(),
                ))
            }
        }
    }
}

fn refused(why: TokenRefusal) -> RelayError {
    RelayError::Unauthenticated(
        match why {
            TokenRefusal::Unknown => "The Realms token is not valid. Check that you copied the whole rlm_… value, or create a new token in the console.",
            TokenRefusal::Revoked => "This Realms token was revoked. Create a new token in the console.",
            TokenRefusal::Expired => "This Realms token has expired. Create a new token in the console.",
            TokenRefusal::UserDisabled => "The account that owns this token is disabled. Ask an administrator.",
        }
        .into(),
    )
}

/// Whether the token and its user accept the client that sent `headers` (its `User-Agent`): the
/// refusal names the rule.
pub(super) fn check_client(owner: &TokenOwner, headers: &HeaderMap) -> Result<(), RelayError> {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    owner
        .user_clients
        .admits(agent, "Your Realms account")
        .and_then(|()| owner.token_clients.admits(agent, "This Realms token"))
        .map_err(RelayError::ClientRefused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_over_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("x-api-key", "rlm_b".parse().unwrap());
        assert_eq!(presented(&h), Some("rlm_b"));
        h.insert("authorization", "Bearer rlm_a".parse().unwrap());
        assert_eq!(presented(&h), Some("rlm_a"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented(&h), Some("rlm_b"));
    }
}
