//! The admit phase: the token's and its user's requests-per-minute and concurrency limits (in
//! memory, [`super::limits`]) and their spend limits (the usage log plus the estimates of running
//! requests), checked before the body is read and again with the request's own estimate.

use std::time::Duration;

use app::core::db::now_ms;
use app::core::limits::{spent_since, Scope, Window};
use app::core::tokens::TokenOwner;
use app::money::format_balance;

use super::error::RelayError;
use super::{limits, Relay};

impl Relay {
    /// Admits a request under the limits before its body is read; the permit is held until the
    /// request ends.
    pub(super) async fn admit(&self, owner: &TokenOwner) -> Result<limits::Permit, RelayError> {
        let permit = self.limiter.admit(owner)?;
        drop(self.check_spend(owner, 0).await?);
        Ok(permit)
    }

    /// Checks the spend limits of the token and its user: the spend stored in the usage log plus
    /// the estimates of running requests must be under each limit. On success the request's
    /// `estimate` counts in the book until its cost is stored (`None` when no spend limit applies).
    pub(super) async fn check_spend(
        &self,
        owner: &TokenOwner,
        estimate: i64,
    ) -> Result<Option<limits::OpenSpend>, RelayError> {
        let scopes = [
            (
                Scope::Token(owner.token_id),
                limits::Key::Token(owner.token_id),
                owner.token_limits,
                "This token",
            ),
            (
                Scope::User(owner.user_id),
                limits::Key::User(owner.user_id),
                owner.user_limits,
                "Your account",
            ),
        ];
        let limited = scopes.iter().any(|(_, _, l, _)| {
            l.spend_5h.is_some() || l.spend_day.is_some() || l.spend_month.is_some()
        });
        if !limited {
            return Ok(None);
        }
        const READS: usize = 4;
        for read in 1..=READS {
            let now = now_ms();
            // The last read counts the book as it stands, so settling requests cannot keep a
            // check going round.
            let read_after = self.spend.releases();
            let mut windows = Vec::new();
            let mut labels = Vec::new();
            for (scope, key, set, whose) in scopes {
                for (window, limit) in [
                    (Window::FiveHours, set.spend_5h),
                    (Window::Day, set.spend_day),
                    (Window::Month, set.spend_month),
                ] {
                    let Some(limit) = limit else { continue };
                    let (spent, oldest) = spent_since(&self.db, scope, window.start(now))
                        .await
                        .map_err(|e| {
                            tracing::error!(error = %e, "could not read the spend of a limit");
                            RelayError::Internal(
                                "Realms could not check a spend limit. Retry shortly.".into(),
                            )
                        })?;
                    windows.push(limits::WindowSpend { key, spent, limit });
                    labels.push((whose, window, oldest, limit));
                }
            }
            let seen = if read == READS {
                self.spend.releases()
            } else {
                read_after
            };
            match self.spend.open(&windows, estimate, seen) {
                Ok(open) => return Ok(Some(open)),
                Err(limits::SpendRefusal::Stale) => continue,
                Err(limits::SpendRefusal::Over { window: i, counted }) => {
                    let Some(&(whose, window, oldest, limit)) = labels.get(i) else {
                        break;
                    };
                    let wait_ms = (window.resets_at(now, oldest) - now).max(1000);
                    return Err(RelayError::RateLimited {
                        message: format!(
                            "{whose} reached its {} spend limit of {} ({} spent or running).",
                            window.label(),
                            format_balance(limit),
                            format_balance(counted)
                        ),
                        retry_after: Some(Duration::from_millis(
                            u64::try_from(wait_ms).unwrap_or(u64::MAX),
                        )),
                    });
                }
            }
        }
        Err(RelayError::Internal(
            "Realms could not check a spend limit. Retry shortly.".into(),
        ))
    }
}
