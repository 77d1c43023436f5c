//! Administrator pages. The server refuses non-admins (403) before this renders; the check here keeps
//! client-side navigation honest too.

use leptos::prelude::*;

use super::layout::{Access, Console};
use super::widgets::ActionError;
use crate::api::admin::{get_site_settings, SetRegistrationOpen};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Console access=Access::Admin>
            <SettingsForm/>
        </Console>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let set = ServerAction::<SetRegistrationOpen>::new();
    let settings = Resource::new(move || set.version().get(), |_| get_site_settings());
    view! {
        <h1>"Site settings"</h1>
        <section class="card">
            <h2>"Registration"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    settings.await.map(|s| {
                        let open = s.registration_open;
                        view! {
                            <p data-testid="registration-state">
                                {if open { "Anyone can create an account." } else { "Registration is closed: only administrators can add accounts." }}
                            </p>
                            <ActionForm action=set>
                                <input type="hidden" name="open" value=(!open).to_string()/>
                                <button type="submit" disabled=move || set.pending().get()>
                                    {if open { "Close registration" } else { "Open registration" }}
                                </button>
                            </ActionForm>
                        }
                    })
                })}
            </Transition>
            <ActionError action=set/>
        </section>
    }
}
