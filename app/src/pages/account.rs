//! Sign-in and sign-up pages. Both are plain HTML forms that post to their server fn; with the wasm
//! loaded they submit in place and show errors and progress without a reload.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::layout::LanguageSwitch;
use super::widgets::{ActionError, Submit};
use crate::api::account::{registration_open, Login, Register};
use crate::i18n::t;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let open = Resource::new(|| (), |_| registration_open());
    // Signed in to an account whose language is not this page's: load the next page whole, so it
    // is rendered in the account's language.
    Effect::new(move |_| {
        if let Some(Ok(Some(_to))) = login.value().get() {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().location().set_href(&_to);
            }
        }
    });
    view! {
        <main class="auth">
            <LanguageSwitch/>
            <h1>{t("login-title")}</h1>
            <ActionForm action=login>
                <label>{t("field-email")}
                    <input type="email" name="email" required autocomplete="username" autofocus/>
                </label>
                <label>{t("field-password")}
                    <input type="password" name="password" required autocomplete="current-password"/>
                </label>
                <input type="hidden" name="next" value=next/>
                <ActionError action=login/>
                <Submit action=login label=t("sign-in") busy=t("signing-in")/>
            </ActionForm>
            <Suspense>
                {move || Suspend::new(async move {
                    open.await.ok().filter(|o| *o).map(|_| view! {
                        <p class="muted">{t("login-no-account")} " " <a href="/register">{t("login-create-one")}</a></p>
                    })
                })}
            </Suspense>
        </main>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let open = Resource::new(|| (), |_| registration_open());
    view! {
        <main class="auth">
            <LanguageSwitch/>
            <h1>{t("register-title")}</h1>
            <Suspense fallback=|| view! { <p class="loading">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    match open.await {
                        Ok(false) => view! {
                            <p class="notice">{t("register-closed")}</p>
                            <p><a href="/login">{t("sign-in")}</a></p>
                        }.into_any(),
                        _ => view! {
                            <ActionForm action=register>
                                <label>{t("field-email")}
                                    <input type="email" name="email" required autocomplete="email" autofocus/>
                                </label>
                                <label>{t("field-username")} " " <span class="muted">{t("optional")}</span>
                                    <input type="text" name="username" maxlength="64" autocomplete="nickname"/>
                                </label>
                                <label>{t("field-password")} " " <span class="muted">{t("register-password-hint")}</span>
                                    <input type="password" name="password" required minlength="8" autocomplete="new-password"/>
                                </label>
                                <ActionError action=register/>
                                <Submit action=register label=t("register-submit") busy=t("register-submitting")/>
                            </ActionForm>
                            <p class="muted">{t("register-have-account")} " " <a href="/login">{t("sign-in")}</a></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
