//! The console: the HTML shell, the router and the pages.

mod account;
mod admin;
mod charts;
mod claude_code;
mod dashboard;
mod layout;
mod models;
pub mod routes;
mod tokens;
mod usage;
mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{path, SsrMode};

use crate::api::account::current_user;
use crate::error::AppError;
use crate::types::UserView;

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let locale = crate::i18n::page_locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.tag()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Who is signed in, shared by every page. Reloaded on each navigation, so signing in or out (which
/// ends in a redirect) is reflected at once.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: Resource<Result<Option<UserView>, AppError>>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page and component below reads its words in this language.
    provide_context(crate::i18n::page_locale());
    view! {
        <Stylesheet id="leptos" href="/pkg/realms.css"/>
        <Title text="Realms"/>
        <Router>
            <Pages/>
        </Router>
    }
}

/// The routes. Pages render whole on the server (`SsrMode::Async`): they work without script, and
/// session changes made while rendering are saved with the response. Pages create their own server actions: a plain (no-script) form post that failed finds
/// its error there, which `<Routes>` reads from the address.
#[component]
fn Pages() -> impl IntoView {
    let location = use_location();
    let me = Resource::new(move || location.pathname.get(), |_| current_user());
    provide_context(Auth { me });

    view! {
        <Routes fallback=|| view! { <layout::NotFound/> }>
            <Route path=path!("/login") view=account::LoginPage ssr=SsrMode::Async/>
            <Route path=path!("/register") view=account::RegisterPage ssr=SsrMode::Async/>
            <Route path=path!("/") view=dashboard::DashboardPage ssr=SsrMode::Async/>
            <Route path=path!("/tokens") view=tokens::TokensPage ssr=SsrMode::Async/>
            <Route path=path!("/models") view=models::ModelsPage ssr=SsrMode::Async/>
            <Route path=path!("/usage") view=usage::UsagePageView ssr=SsrMode::Async/>
            <Route path=path!("/claude-code") view=claude_code::ClaudeCodePage ssr=SsrMode::Async/>
            <Route path=path!("/admin/channels") view=admin::channels::ChannelsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/channels/:id") view=admin::channels::ChannelPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/models") view=admin::models::AdminModelsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/models/:id") view=admin::models::AdminModelPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/users") view=admin::users::UsersPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/users/:id") view=admin::users::UserPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/settings") view=admin::settings::SettingsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/audit") view=admin::audit::AuditPage ssr=SsrMode::Async/>
        </Routes>
    }
}
