//! Realms console (Leptos, server-rendered and hydrated) and, behind the `ssr` feature, the domain code
//! the server shares with it.

#![recursion_limit = "256"]

pub mod api;
pub mod claude_code;
pub mod clients;
#[cfg(feature = "ssr")]
pub mod core;
pub mod error;
pub mod i18n;
pub mod money;
pub mod pages;
pub mod types;

pub use pages::{shell, App};

/// Entry point of the wasm bundle: attaches the app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // A marker for tests and tooling: the page is live.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
