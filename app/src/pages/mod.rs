//! The console: the HTML shell, the router and the pages.

mod account;
mod admin;
mod dashboard;
mod layout;
mod tokens;
mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::account::{current_user, Login, Logout, Register};
use crate::error::AppError;
use crate::model::UserView;

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
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

/// The sign-in state shared by every page: the account actions and who is signed in.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub register: ServerAction<Register>,
    pub me: Resource<Result<Option<UserView>, AppError>>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let register = ServerAction::<Register>::new();
    let me = Resource::new(
        move || {
            (
                login.version().get(),
                logout.version().get(),
                register.version().get(),
            )
        },
        |_| current_user(),
    );
    provide_context(Auth {
        login,
        logout,
        register,
        me,
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/realms.css"/>
        <Title text="Realms"/>
        <Router>
            <Routes fallback=|| view! { <layout::NotFound/> }>
                <Route path=path!("/login") view=account::LoginPage/>
                <Route path=path!("/register") view=account::RegisterPage/>
                <Route path=path!("/") view=dashboard::DashboardPage/>
                <Route path=path!("/tokens") view=tokens::TokensPage/>
                <Route path=path!("/admin/settings") view=admin::SettingsPage/>
            </Routes>
        </Router>
    }
}
