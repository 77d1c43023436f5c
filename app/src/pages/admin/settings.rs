//! Site settings: registration, billing, and what happens to models without prices.

use leptos::prelude::*;

use crate::api::admin::{
    get_site_settings, SetBillingEnabled, SetOverdraftFloor, SetProbes, SetRegistrationOpen,
    SetUnpricedModels, SetWebSearchPrice,
};
use crate::pages::layout::Console;
use crate::pages::widgets::ActionError;
use crate::types::{ProbePolicy, UnpricedPolicy};

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
    let search = ServerAction::<SetWebSearchPrice>::new();
    let probes = ServerAction::<SetProbes>::new();
    let settings = Resource::new(
        move || {
            (
                set.version().get(),
                billing.version().get(),
                unpriced.version().get(),
                floor.version().get(),
                search.version().get(),
                probes.version().get(),
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
                    let search_usd = crate::money::price_input_value(s.web_search_price);
                    let probe_policy = s.probes;
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
                        <section class="card">
                            <h2>"Web search price"</h2>
                            <p>"What 1,000 web searches cost, for models without a price of their own (set on a model's page). An upstream reports them as server_tool_use.web_search_requests; Anthropic charges $10 per 1,000."</p>
                            <ActionForm action=search>
                                <label>
                                    "Per 1,000 web searches (USD) "
                                    <input type="text" name="price" inputmode="decimal" maxlength="24" value=search_usd data-testid="web-search-price"/>
                                </label>
                                <button type="submit" disabled=move || search.pending().get()>"Save"</button>
                            </ActionForm>
                            <ActionError action=search/>
                        </section>
                        <section class="card">
                            <h2>"Probes"</h2>
                            <p>"Requests a client sends that are not work: Claude Code's Warmup prompt, and quota checks (max_tokens 1, one word of text). Each is one usage event marked as a probe, and never fails over."</p>
                            <ActionForm action=probes>
                                <label class="check">
                                    <input type="radio" name="policy" value="upstream" checked=probe_policy == ProbePolicy::Upstream/>
                                    " Send them upstream (one attempt), billed for what the upstream reports"
                                </label>
                                <label class="check">
                                    <input type="radio" name="policy" value="answer" checked=probe_policy == ProbePolicy::Answer/>
                                    " Answer them here with a minimal answer, at no cost"
                                </label>
                                <button type="submit" disabled=move || probes.pending().get()>"Save"</button>
                            </ActionForm>
                            <ActionError action=probes/>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}
