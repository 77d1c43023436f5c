//! The admin operations: every change an operator can make to what Realms serves and to whom — channels
//! with their endpoints and keys, models and their prices, bindings, users, roles, balances, limits,
//! site settings. Each is one method of [`Admin`] that validates, writes through the store and records
//! the change in the audit log (which bumps the catalog revision, so every instance reloads).
//!
//! The console's server fns, the ops CLI and the test fixtures all call these; none of them writes a
//! control-plane table or the audit log itself. The audit text of each change is written here, once.

mod channels;
mod models;
mod settings;
mod users;

use super::audit::{self, Actor};
use super::db::Db;
use super::error::StoreError;

pub use models::{long_context_detail, price_detail, Imported};
pub use users::BalanceChange;

/// Who makes changes, and on which database.
#[derive(Clone)]
pub struct Admin {
    db: Db,
    actor: Actor,
}

impl Admin {
    pub fn new(db: Db, actor: Actor) -> Self {
        Admin { db, actor }
    }

    /// The ops CLI, run by whoever holds the database and the instance secret.
    pub fn cli(db: Db) -> Self {
        Admin::new(db, Actor::cli())
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records a change that has been written. `detail` never holds a secret.
    async fn audit(&self, action: &str, target: &str, detail: &str) -> Result<(), StoreError> {
        audit::record(&self.db, &self.actor, action, target, detail).await?;
        tracing::info!(actor = %self.actor.label, action, target, "administrative change");
        Ok(())
    }

    /// True when `user_id` is the acting administrator (who may not demote or disable themselves).
    fn is_self(&self, user_id: i64) -> bool {
        self.actor.id == Some(user_id)
    }
}

/// "enabled" or "disabled", as audit details and CLI lines say it.
fn state_word(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

/// The audit action of an enable/disable switch: `model.enable`, `channel.disable`, ….
fn switch_action(noun: &str, enabled: bool) -> String {
    format!("{noun}.{}", if enabled { "enable" } else { "disable" })
}
