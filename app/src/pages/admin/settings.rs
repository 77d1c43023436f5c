//! Site settings: registration, billing, and what happens to models without prices.

use leptos::prelude::*;

use crate::api::admin::{
    get_site_settings, SetBillingEnabled, SetOverdraftFloor, SetRegistrationOpen, SetUnpricedModels,
};
use crate::pages::layout::Console;
use crate::pages::widgets::ActionError;
use crate::types::UnpricedPolicy;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Console>
            <SettingsForm/>
        </Console>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let set = ServerAction::<SetRegistrationOpen>::new();
    let billing = ServerAction::<SetBillingEnabled>::new();
    let unpriced = ServerAction::<SetUnpricedModels>::new();
    let floor = ServerAction::<SetOverdraftFloor>::new();
    let settings = Resource::new(
        move || {
            (
                set.version().get(),
                billing.version().get(),
                unpriced.version().get(),
                floor.version().get(),
            )
        },
        |_| get_site_settings(),
    );
    view! {
        <h1>"Site settings"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                settings.await.map(|s| {
                    let open = s.registration_open;
                    let billing_on = s.billing_enabled;
                    let policy = s.unpriced_models;
                    let floor_usd = crate::money::format_balance(s.overdraft_floor);
                    view! {
                        <section class="card">
                            <h2>"Registration"</h2>
                            <p data-testid="registration-state">
                                {if open { "Anyone can create an account." } else { "Registration is closed: only administrators can add accounts." }}
                            </p>
                            <ActionForm action=set>
                                <input type="hidden" name="open" value=(!open).to_string()/>
                                <button type="submit" disabled=move || set.pending().get()>
                                    {if open { "Close registration" } else { "Open registration" }}
                                </button>
                            </ActionForm>
                            <ActionError action=set/>
                        </section>
                        <section class="card">
                            <h2>"Billing"</h2>
                            <p data-testid="billing-state">
                                {if billing_on { "On: the cost of each request is deducted from the user's balance." } else { "Off: costs are computed and shown, but balances are not charged." }}
                            </p>
                            <ActionForm action=billing>
                                <input type="hidden" name="enabled" value=(!billing_on).to_string()/>
                                <button type="submit" disabled=move || billing.pending().get()>
                                    {if billing_on { "Turn billing off" } else { "Turn billing on" }}
                                </button>
                            </ActionForm>
                            <ActionError action=billing/>
                        </section>
                        <section class="card">
                            <h2>"Models without prices"</h2>
                            <ActionForm action=unpriced>
                                <label class="check">
                                    <input type="radio" name="policy" value="refuse" checked=policy == UnpricedPolicy::Refuse/>
                                    " Refuse requests for them with a clear error (recommended while billing is on)"
                                </label>
                                <label class="check">
                                    <input type="radio" name="policy" value="free" checked=policy == UnpricedPolicy::Free/>
                                    " Serve them at no cost"
                                </label>
                                <button type="submit" disabled=move || unpriced.pending().get()>"Save"</button>
                            </ActionForm>
                            <ActionError action=unpriced/>
                        </section>
                        <section class="card">
                            <h2>"Overdraft floor"</h2>
                            <p>
                                "A request's cost is held from the balance before it goes upstream. When an upstream reports more than that, the charge may take the balance below zero down to this floor, and no further: the rest is recorded on the ledger as uncollected. 0 keeps every balance at or above zero."
                            </p>
                            <ActionForm action=floor>
                                <label>
                                    "Floor (USD) "
                                    <input type="text" name="floor" inputmode="decimal" maxlength="24" value=floor_usd data-testid="overdraft-floor"/>
                                </label>
                                <button type="submit" disabled=move || floor.pending().get()>"Save"</button>
                            </ActionForm>
                            <ActionError action=floor/>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}
