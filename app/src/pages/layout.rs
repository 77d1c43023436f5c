//! The console frame: top bar with navigation and user menu, and the sign-in gate for pages.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

use super::routes::{self, Access, Nav, PAGES};
use super::use_auth;
use crate::api::account::Logout;
use crate::types::UserView;

/// Frames a console page and shows it only to the people its row in the page table names
/// ([`routes::PAGES`]): anonymous visitors are sent to sign in, plain users see "forbidden" on admin
/// pages (the server's page guard reads the same table and answers 403 there). A page missing from
/// the table is shown to administrators only.
#[component]
pub fn Console(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    let access = routes::access_of(&location.pathname.get_untracked()).unwrap_or(Access::Admin);
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(user)) => {
                        let allowed = access == Access::SignedIn || user.is_admin();
                        view! {
                            <TopBar user=user.clone()/>
                            <main class="page">
                                {if allowed {
                                    children.read_value()().into_any()
                                } else {
                                    view! { <Forbidden/> }.into_any()
                                }}
                            </main>
                        }
                        .into_any()
                    }
                    Ok(None) => {
                        let next = location.pathname.get_untracked();
                        view! { <Redirect path=format!("/login?next={next}")/> }.into_any()
                    }
                    Err(e) => view! { <main class="page"><p class="form-error">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TopBar(user: UserView) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let is_admin = user.is_admin();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Realms"</a>
            <nav class="main-nav" aria-label="Main">
                {PAGES
                    .iter()
                    .filter_map(|p| match p.nav {
                        Nav::Main(label) => Some(view! { <A href=p.path>{label}</A> }),
                        _ => None,
                    })
                    .collect_view()}
                {is_admin.then(|| view! {
                    <span class="nav-group" data-testid="admin-nav">
                        <span class="nav-label">"Admin"</span>
                        {PAGES
                            .iter()
                            .filter_map(|p| match p.nav {
                                Nav::Admin(label) => Some(view! { <A href=p.path>{label}</A> }),
                                _ => None,
                            })
                            .collect_view()}
                    </span>
                })}
            </nav>
            <details class="user-menu">
                <summary data-testid="user-menu">
                    {user.display_name().to_string()}
                    {is_admin.then(|| view! { <span class="badge">"admin"</span> })}
                </summary>
                <div class="menu">
                    <p class="muted">{user.email.clone()}</p>
                    <ActionForm action=logout>
                        <button type="submit" class="link">"Sign out"</button>
                    </ActionForm>
                </div>
            </details>
        </header>
    }
}

/// Shown on admin pages to non-admins.
#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <section class="notice">
            <h1>"403 — Forbidden"</h1>
            <p>"This page is for administrators only."</p>
            <a href="/">"Back to the dashboard"</a>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="page">
            <section class="notice">
                <h1>"404 — Not found"</h1>
                <p>"There is no page at this address."</p>
                <a href="/">"Back to the dashboard"</a>
            </section>
        </main>
    }
}
