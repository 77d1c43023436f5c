//! Site settings.

use super::Admin;
use crate::core::error::StoreError;
use crate::core::settings;
use crate::money::format_balance;
use crate::types::{ProbePolicy, UnpricedPolicy};

impl Admin {
    /// Opens or closes self-service registration.
    pub async fn set_registration_open(&self, open: bool) -> Result<(), StoreError> {
        settings::set_registration_open(&self.db, open).await?;
        let detail = if open { "open" } else { "closed" };
        self.audit("settings.registration", "site", detail).await
    }

    /// Turns billing on (usage is taken from balances) or off (cost is computed and shown only).
    pub async fn set_billing_enabled(&self, enabled: bool) -> Result<(), StoreError> {
        settings::set_billing_enabled(&self.db, enabled).await?;
        let detail = if enabled { "on" } else { "off" };
        self.audit("settings.billing", "site", detail).await
    }

    /// What happens to requests for a model without prices while billing is on.
    pub async fn set_unpriced_models(&self, policy: UnpricedPolicy) -> Result<(), StoreError> {
        settings::set_unpriced_models(&self.db, policy).await?;
        self.audit("settings.unpriced_models", "site", policy.as_str())
            .await
    }

    /// The price of 1,000 web searches (micro-USD) for models without their own.
    pub async fn set_site_web_search_price(&self, price: i64) -> Result<(), StoreError> {
        settings::set_web_search_price(&self.db, price).await?;
        self.audit(
            "settings.web_search_price",
            "site",
            &crate::money::format_price(price),
        )
        .await
    }

    /// What happens to a client's probes.
    pub async fn set_probes(&self, policy: ProbePolicy) -> Result<(), StoreError> {
        settings::set_probes(&self.db, policy).await?;
        self.audit("settings.probes", "site", policy.as_str()).await
    }

    /// How far below zero a charge may take a balance, in nano-USD (0: never below zero).
    pub async fn set_overdraft_floor(&self, floor: i64) -> Result<(), StoreError> {
        settings::set_overdraft_floor(&self.db, floor).await?;
        self.audit("settings.overdraft_floor", "site", &format_balance(floor))
            .await
    }
}
