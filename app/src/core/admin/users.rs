//! Accounts, roles, balances, limits, and tokens an operator creates for a user.

use super::Admin;
use crate::core::balances::{self, AdjustmentKind};
use crate::core::error::StoreError;
use crate::core::limits;
use crate::core::tokens;
use crate::core::users::{self, NewUser, User};
use crate::i18n::Msg;
use crate::money::format_balance;
use crate::types::{AdminUserView, Limits, NewToken, Role};

/// A balance adjustment as written: the amount added (negative: taken) and the balance after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceChange {
    pub amount: i64,
    pub balance: i64,
}

impl Admin {
    /// Creates an account with the given role (the console's first-user rule does not apply).
    pub async fn create_user(
        &self,
        email: &str,
        username: Option<&str>,
        password: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let user = users::create(
            &self.db,
            NewUser {
                email,
                username,
                password,
                role: Some(role),
            },
        )
        .await?;
        self.audit(
            "user.create",
            &user.email,
            &format!("role {}", role.as_str()),
        )
        .await?;
        Ok(user)
    }

    /// Disables or enables an account. Nobody can disable themselves.
    pub async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<User, StoreError> {
        if disabled && self.is_self(id) {
            return Err(StoreError::Invalid(Msg::new("error-disable-self")));
        }
        users::set_disabled(&self.db, id, disabled).await?;
        let user = users::get(&self.db, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.audit(action, &user.email, "").await?;
        Ok(user)
    }

    /// Changes an account's role. Nobody can change their own role, and the last enabled
    /// administrator cannot be demoted.
    pub async fn set_user_role(&self, id: i64, role: Role) -> Result<User, StoreError> {
        if self.is_self(id) {
            return Err(StoreError::Invalid(Msg::new("error-role-self")));
        }
        let user = users::set_role(&self.db, id, role).await?;
        self.audit("user.role", &user.email, &format!("role {}", role.as_str()))
            .await?;
        Ok(user)
    }

    /// Adds `amount` nano-USD to a user's balance (negative takes it off, never below zero): a
    /// top-up when positive, an adjustment otherwise, with one ledger row.
    pub async fn adjust_balance(
        &self,
        user_id: i64,
        amount: i64,
        reason: &str,
    ) -> Result<BalanceChange, StoreError> {
        let user = users::get_admin_view(&self.db, user_id).await?;
        let kind = if amount > 0 {
            AdjustmentKind::Topup
        } else {
            AdjustmentKind::Adjustment
        };
        let balance =
            balances::adjust(&self.db, user_id, amount, kind, reason, self.actor.id).await?;
        self.audit(
            "balance.adjust",
            &user.email,
            &format!(
                "{} ({}); balance now {}",
                format_balance(amount),
                reason.trim(),
                format_balance(balance)
            ),
        )
        .await?;
        Ok(BalanceChange { amount, balance })
    }

    /// Sets the limits on all of a user's requests.
    /// Sets which clients the user's tokens accept.
    pub async fn set_user_clients(
        &self,
        user_id: i64,
        rule: &crate::clients::ClientRule,
    ) -> Result<(), StoreError> {
        users::set_clients(&self.db, user_id, rule).await?;
        let user = users::get_admin_view(&self.db, user_id).await?;
        self.audit("user.clients", &user.email, &rule.summary())
            .await
    }

    pub async fn set_user_limits(
        &self,
        user_id: i64,
        limits: &Limits,
    ) -> Result<AdminUserView, StoreError> {
        let user = users::get_admin_view(&self.db, user_id).await?;
        limits::set_user_limits(&self.db, user_id, limits).await?;
        self.audit("user.limits", &user.email, &limits.summary())
            .await?;
        Ok(user)
    }

    /// Creates a token for an enabled user; the answer holds the only copy of its value.
    pub async fn create_token(
        &self,
        user: &User,
        name: &str,
        expires_in_days: Option<u32>,
    ) -> Result<NewToken, StoreError> {
        if user.is_disabled() {
            return Err(StoreError::Invalid(
                Msg::new("error-user-disabled-no-tokens").arg("email", &user.email),
            ));
        }
        let created = tokens::create(&self.db, user.id, name, expires_in_days).await?;
        self.audit(
            "token.create",
            &user.email,
            &format!("token \"{}\"", created.token.name),
        )
        .await?;
        Ok(created)
    }
}
