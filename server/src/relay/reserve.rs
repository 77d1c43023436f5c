//! The reserve phase: with billing on, a request reaches an upstream only when the user's available
//! balance covers its worst case, held from a balance lease ([`super::wallet`]); and, at the end,
//! the charge that releases the hold.

use app::core::catalog::{CatalogModel, Snapshot};
use app::core::usage_log::TokenCounts;
use app::money::format_balance;
use app::types::UnpricedPolicy;

use super::context::Ctx;
use super::error::RelayError;
use super::wallet::Bill;
use super::Relay;

impl Relay {
    /// The reserve phase: with billing on, a model needs prices (unless the site serves unpriced
    /// models free) and the user's available balance must cover the estimate.
    pub(super) async fn reserve(
        &self,
        ctx: &mut Ctx,
        snapshot: &Snapshot,
        model: &CatalogModel,
        amount: i64,
    ) -> Result<(), RelayError> {
        if !snapshot.settings.billing_enabled || !ctx.who.protocol.billed() {
            return Ok(());
        }
        ctx.money.charged = true;
        ctx.money.floor = snapshot.settings.overdraft_floor;
        if model.prices.is_none() {
            return match snapshot.settings.unpriced_models {
                UnpricedPolicy::Free => Ok(()),
                UnpricedPolicy::Refuse => Err(RelayError::Forbidden(format!(
                    "The model {} has no prices yet, and this Realms instance bills every request. Ask an administrator to set its prices.",
                    model.public_id
                ))),
            };
        }
        match self.wallets.hold(ctx.who.owner.user_id, amount).await {
            Ok(Ok(r)) => {
                ctx.money.hold = Some(r);
                Ok(())
            }
            Ok(Err(short)) => Err(RelayError::PaymentRequired(format!(
                "Your balance cannot cover this request: it may cost up to {} and {} is available. Ask an administrator to top up your balance, or lower max_tokens.",
                format_balance(short.needed),
                format_balance(short.available.max(0))
            ))),
            Err(e) => {
                tracing::error!(request_id = %ctx.who.request_id, error = %e, "could not reserve balance");
                Err(RelayError::Internal(
                    "Realms could not check your balance. Retry shortly.".into(),
                ))
            }
        }
    }

    /// Releases the request's hold and returns its charge (written with the usage event, in the
    /// same transaction: one ledger row per request).
    pub(super) async fn charge(
        &self,
        ctx: &mut Ctx,
        tokens: &TokenCounts,
        cost: i64,
    ) -> Option<app::core::billing::LeaseCharge> {
        let cost = if tokens.is_zero() { 0 } else { cost };
        let hold = ctx.money.hold.take();
        let bill = Bill {
            user_id: ctx.who.owner.user_id,
            token_id: Some(ctx.who.owner.token_id),
            request_id: &ctx.who.request_id,
            cost,
            reason: ctx.model(),
            floor: ctx.money.floor,
        };
        self.wallets.settle(hold.as_ref(), bill).await
    }
}
