//! The console frame: top bar with navigation and user menu, and the sign-in gate for pages.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

use super::routes::{self, Access, Nav, PAGES};
use super::use_auth;
use crate::api::account::Logout;
use crate::i18n::{t, use_locale, Locale};
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
        <Suspense fallback=|| view! { <p class="loading">{t("loading")}</p> }>
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
                    Err(e) => view! { <main class="page"><p class="form-error">{e.say()}</p></main> }.into_any(),
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
            <nav class="main-nav" aria-label=t("nav-main-label")>
                {PAGES
                    .iter()
                    .filter_map(|p| match p.nav {
                        Nav::Main(label) => Some(view! { <A href=p.path>{t(label)}</A> }),
                        _ => None,
                    })
                    .collect_view()}
                {is_admin.then(|| view! {
                    <span class="nav-group" data-testid="admin-nav">
                        <span class="nav-label">{t("nav-admin")}</span>
                        {PAGES
                            .iter()
                            .filter_map(|p| match p.nav {
                                Nav::Admin(label) => Some(view! { <A href=p.path>{t(label)}</A> }),
                                _ => None,
                            })
                            .collect_view()}
                    </span>
                })}
            </nav>
            <LanguageSwitch/>
            <details class="user-menu">
                <summary data-testid="user-menu">
                    {user.display_name().to_string()}
                    {is_admin.then(|| view! { <span class="badge">{t("badge-admin")}</span> })}
                </summary>
                <div class="menu">
                    <p class="muted">{user.email.clone()}</p>
                    <ActionForm action=logout>
                        <button type="submit" class="link">{t("sign-out")}</button>
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
            <h1>{t("forbidden-title")}</h1>
            <p>{t("forbidden-text")}</p>
            <a href="/">{t("back-to-dashboard")}</a>
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
                <h1>{t("not-found-title")}</h1>
                <p>{t("not-found-text")}</p>
                <a href="/">{t("back-to-dashboard")}</a>
            </section>
        </main>
    }
}

/// The language switcher: a plain form posting to `/lang` (it works without script), which saves
/// the choice in a cookie and, for a signed-in user, on the account, then comes back here.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let current = use_locale();
    let location = use_location();
    let here = {
        let path = location.pathname.get_untracked();
        let query = location.search.get_untracked();
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    };
    view! {
        <form class="lang-switch" method="post" action="/lang" data-testid="lang-switch">
            <input type="hidden" name="next" value=here/>
            {Locale::ALL
                .iter()
                .map(|l| {
                    let chosen = *l == current;
                    view! {
                        <button type="submit" name="lang" value=l.tag() lang=l.tag()
                            class:chosen=chosen aria-pressed=if chosen { "true" } else { "false" }>
                            {l.autonym()}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}
