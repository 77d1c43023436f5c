//! Administrator server fns. Each one checks the role on the server before doing anything.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SiteSettings;

#[server(prefix = "/api", endpoint = "admin/settings")]
pub async fn get_site_settings() -> Result<SiteSettings, AppError> {
    use super::ctx::*;
    require_admin()?;
    let state = state()?;
    crate::core::settings::load(&state.db)
        .await
        .map_err(store_err)
}

/// Opens or closes self-service registration.
#[server(prefix = "/api", endpoint = "admin/set_registration")]
pub async fn set_registration_open(open: bool) -> Result<(), AppError> {
    use super::ctx::*;
    let admin = require_admin()?;
    let state = state()?;
    crate::core::settings::set_registration_open(&state.db, open)
        .await
        .map_err(store_err)?;
    tracing::info!(admin_id = admin.id, open, "registration setting changed");
    Ok(())
}
