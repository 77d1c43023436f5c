//! Sign-in and sign-up pages. Both are plain HTML forms that post to their server fn; with the wasm
//! loaded they submit in place and show errors and progress without a reload.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::widgets::{ActionError, Submit};
use crate::api::account::{registration_open, Login, Register};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let open = Resource::new(|| (), |_| registration_open());
    view! {
        <main class="auth">
            <h1>"Sign in to Realms"</h1>
            <ActionForm action=login>
                <label>"Email"
                    <input type="email" name="email" required autocomplete="username" autofocus/>
                </label>
                <label>"Password"
                    <input type="password" name="password" required autocomplete="current-password"/>
                </label>
                <input type="hidden" name="next" value=next/>
                <ActionError action=login/>
                <Submit action=login label="Sign in" busy="Signing in…"/>
            </ActionForm>
            <Suspense>
                {move || Suspend::new(async move {
                    open.await.ok().filter(|o| *o).map(|_| view! {
                        <p class="muted">"No account yet? " <a href="/register">"Create one"</a></p>
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
            <h1>"Create your Realms account"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match open.await {
                        Ok(false) => view! {
                            <p class="notice">"Registration is closed on this Realms instance. Ask an administrator to create an account for you."</p>
                            <p><a href="/login">"Sign in"</a></p>
                        }.into_any(),
                        _ => view! {
                            <ActionForm action=register>
                                <label>"Email"
                                    <input type="email" name="email" required autocomplete="email" autofocus/>
                                </label>
                                <label>"Username " <span class="muted">"(optional)"</span>
                                    <input type="text" name="username" maxlength="64" autocomplete="nickname"/>
                                </label>
                                <label>"Password " <span class="muted">"(at least 8 characters)"</span>
                                    <input type="password" name="password" required minlength="8" autocomplete="new-password"/>
                                </label>
                                <ActionError action=register/>
                                <Submit action=register label="Create account" busy="Creating account…"/>
                            </ActionForm>
                            <p class="muted">"Already registered? " <a href="/login">"Sign in"</a></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
