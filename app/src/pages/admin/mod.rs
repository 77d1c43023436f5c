//! Administrator pages. The server refuses non-admins (403) before these render; the `Console` gate
//! keeps client-side navigation honest too.

pub mod audit;
pub mod channels;
pub mod models;
pub mod settings;
pub mod users;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The numeric `:id` of the current route (0 when missing or not a number: the server answers "not
/// found" for it).
pub fn route_id() -> Memo<i64> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    })
}
