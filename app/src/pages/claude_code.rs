//! The Claude Code setup page: prerequisites checked live, a token picked or created in place, the
//! system, the method and the models chosen, the snippet generated as choices change (and, without
//! script, by submitting the choices), a status line, a connection test through the data plane, and
//! how to install and troubleshoot. What it generates comes from `crate::claude_code`.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::layout::Console;
use super::tokens::ShownOnce;
use super::widgets::{ActionError, CopyButton, FieldError, Submit};
use crate::api::claude_code::{load_claude_code_setup, TestConnection};
use crate::api::tokens::CreateToken;
use crate::claude_code::{
    self as setup, param, Choices, Method, Models, Shell, System, TokenValue,
};
use crate::money::format_balance;
use crate::types::{ClaudeCodeSetup, ConnectionTest, NewToken};

#[component]
pub fn ClaudeCodePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_claude_code_setup());
    view! {
        <Console>
            <h1>"Claude Code"</h1>
            <p class="muted">"Point Claude Code at Realms in a few steps: choose below, copy the result, test it."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Wizard setup=d/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </Console>
    }
}

/// The token a choice names: `new` is the one just created here, else a token id.
const NEW_TOKEN: &str = "new";

#[component]
fn Wizard(setup: ClaudeCodeSetup) -> impl IntoView {
    let query = use_query_map();
    let initial = query.with_untracked(|q| Choices::from_query(|k| q.get(k), &setup.models));
    let asked_token = query.with_untracked(|q| q.get(param::TOKEN));
    let setup = StoredValue::new(setup);

    let create = ServerAction::<CreateToken>::new();
    let fresh = setup.with_value(|s| s.fresh.clone());
    let created = Memo::new(move |_| {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| fresh.clone())
    });

    let first_token = setup.with_value(|s| s.tokens.first().map(|t| t.id.to_string()));
    let token_pick = RwSignal::new(if created.get_untracked().is_some() {
        NEW_TOKEN.to_string()
    } else {
        asked_token
            .filter(|t| setup.with_value(|s| s.tokens.iter().any(|x| x.id.to_string() == *t)))
            .or(first_token)
            .unwrap_or_default()
    });
    Effect::new(move |_| {
        if create.value().get().is_some_and(|r| r.is_ok()) {
            token_pick.set(NEW_TOKEN.into());
        }
    });
    let token_value = Memo::new(move |_| {
        let pick = token_pick.get();
        if pick == NEW_TOKEN {
            if let Some(t) = created.get() {
                return TokenValue::Known(t.secret);
            }
        }
        let hint = setup.with_value(|s| {
            s.tokens
                .iter()
                .find(|t| t.id.to_string() == pick)
                .map(|t| t.hint.clone())
                .unwrap_or_default()
        });
        TokenValue::Placeholder { hint }
    });

    let shell = RwSignal::new(initial.shell);
    let method = RwSignal::new(initial.method);
    let main = RwSignal::new(initial.models.main);
    let opus = RwSignal::new(initial.models.opus);
    let sonnet = RwSignal::new(initial.models.sonnet);
    let haiku = RwSignal::new(initial.models.haiku);
    let subagent = RwSignal::new(initial.models.subagent);
    let discovery = RwSignal::new(initial.discovery);
    let status_line = RwSignal::new(initial.status_line);
    let choices = Memo::new(move |_| Choices {
        shell: shell.get(),
        method: method.get(),
        models: Models {
            main: main.get(),
            opus: opus.get(),
            sonnet: sonnet.get(),
            haiku: haiku.get(),
            subagent: subagent.get(),
        },
        discovery: discovery.get(),
        status_line: status_line.get(),
    });
    let base_url = setup.with_value(|s| s.base_url.clone());
    let snippet = {
        let base_url = base_url.clone();
        Memo::new(move |_| setup::snippet(&base_url, &token_value.get(), &choices.get()))
    };
    let system = move || shell.get().system();

    view! {
        <Prerequisites setup created/>
        <section class="card" id="install">
            <h2>"1. Install Claude Code"</h2>
            <p>"It needs Node.js 18 or newer."</p>
            <pre><code>"npm install -g @anthropic-ai/claude-code"</code></pre>
        </section>
        <section class="card" id="token">
            <h2>"2. Token"</h2>
            <TokenCreate create created/>
        </section>
        <form method="get" action="/claude-code" class="wizard" data-testid="choices">
            <input type="hidden" name=param::SENT value="1"/>
            <section class="card">
                <label>"Token for the snippet"
                    <select name=param::TOKEN data-testid="token-pick"
                        on:change=move |ev| token_pick.set(event_target_value(&ev))>
                        {move || created.get().map(|t| view! {
                            <option value=NEW_TOKEN selected=move || token_pick.get() == NEW_TOKEN>
                                {format!("{} (just created)", t.token.name)}
                            </option>
                        })}
                        {setup.with_value(|s| s.tokens.clone()).into_iter().map(|t| {
                            let id = t.id.to_string();
                            let this = id.clone();
                            view! {
                                <option value=id selected=move || token_pick.get() == this>
                                    {format!("{} (rlm_…{})", t.name, t.hint)}
                                </option>
                            }
                        }).collect_view()}
                        {setup.with_value(|s| s.tokens.is_empty()).then(|| view! {
                            <option value="" selected=move || token_pick.get().is_empty()>"(no token yet)"</option>
                        })}
                    </select>
                </label>
            </section>
            <section class="card" id="system">
                <h2>"3. System"</h2>
                <div class="choice-row">
                    {System::ALL.into_iter().map(|s| view! {
                        <label class="radio">
                            <input type="radio" name=param::SYSTEM value=s.id()
                                checked=move || system() == s
                                on:change=move |_| shell.set(s.shells()[0])/>
                            {s.label()}
                        </label>
                    }).collect_view()}
                    <label>"Shell"
                        <select name=param::SHELL data-testid="shell"
                            on:change=move |ev| {
                                if let Some(s) = Shell::parse(&event_target_value(&ev)) {
                                    shell.set(s);
                                }
                            }>
                            {move || system().shells().iter().map(|s| {
                                let s = *s;
                                view! { <option value=s.id() selected=move || shell.get() == s>{s.label()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                </div>
            </section>
            <section class="card" id="method">
                <h2>"4. Where the settings go"</h2>
                <div class="choice-row">
                    {Method::ALL.into_iter().map(|m| view! {
                        <label class="radio">
                            <input type="radio" name=param::METHOD value=m.id()
                                checked=move || method.get() == m
                                on:change=move |_| method.set(m)/>
                            {m.label()}
                        </label>
                    }).collect_view()}
                </div>
                <p class="muted">{move || match method.get() {
                    Method::Settings => format!("{}: read by Claude Code in every terminal and shell.", setup::settings_path(system())),
                    Method::Profile => format!("{}: every new terminal of this shell.", setup::profile_path(shell.get())),
                    Method::OneOff => "Only the terminal you paste it into, until it closes.".to_string(),
                }}</p>
            </section>
            <section class="card" id="models">
                <h2>"5. Models"</h2>
                {if setup.with_value(|s| s.models.is_empty()) {
                    view! { <p class="empty">"No model can serve Claude Code yet (see above)."</p> }.into_any()
                } else {
                    let models = setup.with_value(|s| s.models.clone());
                    view! {
                        <div class="model-grid">
                            <ModelSelect label="Main model (ANTHROPIC_MODEL)" name=param::MAIN value=main models=models.clone() none="Claude Code's default"/>
                            <ModelSelect label="Opus tier (ANTHROPIC_DEFAULT_OPUS_MODEL)" name=param::OPUS value=opus models=models.clone() none="not set"/>
                            <ModelSelect label="Sonnet tier (ANTHROPIC_DEFAULT_SONNET_MODEL)" name=param::SONNET value=sonnet models=models.clone() none="not set"/>
                            <ModelSelect label="Haiku tier, background work (ANTHROPIC_DEFAULT_HAIKU_MODEL, ANTHROPIC_SMALL_FAST_MODEL)" name=param::HAIKU value=haiku models=models.clone() none="not set"/>
                            <ModelSelect label="Subagents (CLAUDE_CODE_SUBAGENT_MODEL)" name=param::SUBAGENT value=subagent models=models none="same as the main model"/>
                        </div>
                    }.into_any()
                }}
                <label class="check">
                    <input type="checkbox" name=param::DISCOVERY value="1" data-testid="discovery"
                        checked=move || discovery.get()
                        on:change=move |ev| discovery.set(event_target_checked(&ev))/>
                    "Model discovery: Claude Code's /model lists this server's models (CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY)"
                </label>
                <label class="check">
                    <input type="checkbox" name=param::STATUS_LINE value="1" data-testid="status-line"
                        checked=move || status_line.get()
                        on:change=move |ev| status_line.set(event_target_checked(&ev))/>
                    "Status line: show my Realms balance and today's spend inside Claude Code"
                </label>
            </section>
            <noscript><p><button type="submit" class="primary">"Update the snippet"</button></p></noscript>
        </form>
        <section class="card" id="snippet">
            <h2>"6. Your settings"</h2>
            <p data-testid="snippet-how">{move || snippet.with(|s| s.how.clone())}</p>
            <pre class="snippet"><code data-testid="snippet">{move || snippet.with(|s| s.text.clone())}</code></pre>
            <CopyButton text=Signal::derive(move || snippet.with(|s| s.text.clone()))/>
            {move || token_value.get().is_placeholder().then(|| view! {
                <p class="notice" data-testid="placeholder-note">
                    "A token's value is shown only when it is created, so the snippet has a placeholder: replace "
                    <code>{token_value.get().text()}</code>
                    " with the token's value, or create a new token above."
                </p>
            })}
            <ul class="notes">
                <li>"If " <code>"ANTHROPIC_API_KEY"</code> " is set, it takes precedence over the token: the snippet unsets it (remove it from your settings and profile too)."</li>
                <li>"If Claude Code is signed in to a claude.ai subscription, run " <code>"/logout"</code> " in it first."</li>
            </ul>
            {move || (status_line.get() && method.get() != Method::Settings).then(|| {
                let block = setup::status_line_block(system());
                view! {
                    <h3>"Status line"</h3>
                    <p>{format!("Add this to {} (it reads the variables above):", setup::settings_path(system()))}</p>
                    <pre class="snippet"><code data-testid="status-line-block">{block.clone()}</code></pre>
                    <CopyButton text=Signal::stored(block)/>
                }
            })}
        </section>
        <ConnectionTestCard created token_pick main=Signal::derive(move || main.get().or_else(|| sonnet.get())) setup/>
        <section class="card" id="check">
            <h2>"8. Check it in Claude Code"</h2>
            <p>"Open a new terminal, run " <code>"claude"</code> ", then " <code>"/status"</code>
               ": it shows the base URL " <code>{base_url}</code> " and that an auth token is used. Ask it anything: the request shows up under "
               <a href="/usage">"Usage"</a> "."</p>
        </section>
        <Troubleshooting/>
    }
}

/// The three things Claude Code needs here, each with what to do when it is missing.
#[component]
fn Prerequisites(
    setup: StoredValue<ClaudeCodeSetup>,
    created: Memo<Option<NewToken>>,
) -> impl IntoView {
    let s = setup.get_value();
    let admin = s.is_admin;
    let had_token = s.has_token();
    let has_token = move || had_token || created.get().is_some();
    let model = if s.has_model() {
        (
            true,
            view! { <span>{format!("Models for Claude Code: {}.", s.models.join(", "))}</span> }
                .into_any(),
        )
    } else if admin {
        (false, view! {
            <span>"No model can serve Claude Code yet: add an Anthropic channel with a key on "
                <a href="/admin/channels">"Channels"</a>", then create a priced model and bind it to that channel on "
                <a href="/admin/models">"Pricing"</a>"."</span>
        }.into_any())
    } else {
        (false, view! { <span>"No model can serve Claude Code yet. Ask an administrator to price a model and bind it to an Anthropic channel."</span> }.into_any())
    };
    let balance = match s.has_balance() {
        None => (true, view! { <span>"Billing is off on this instance: requests are not charged."</span> }.into_any()),
        Some(true) => (true, view! { <span>{format!("Your balance is {}.", format_balance(s.balance))}</span> }.into_any()),
        Some(false) if admin => (false, view! {
            <span>{format!("Your balance is {}: requests are refused until it is topped up. Top it up on ", format_balance(s.balance))}
                <a href="/admin/users">"Users"</a>" (your account → Adjust balance)."</span>
        }.into_any()),
        Some(false) => (false, view! {
            <span>{format!("Your balance is {}: requests are refused until an administrator tops it up.", format_balance(s.balance))}</span>
        }.into_any()),
    };
    let item = |id: &'static str, ok: bool, body: AnyView| {
        view! {
            <li class=if ok { "prereq ok" } else { "prereq missing" } data-testid=id data-ok=ok.to_string()>
                <span class="mark">{if ok { "✓" } else { "✗" }}</span> {body}
            </li>
        }
    };
    view! {
        <section class="card" id="prerequisites" data-testid="prerequisites">
            <h2>"Before you start"</h2>
            <ul class="prereqs">
                {move || {
                    let ok = has_token();
                    view! {
                        <li class=if ok { "prereq ok" } else { "prereq missing" } data-testid="prereq-token" data-ok=ok.to_string()>
                            <span class="mark">{if ok { "✓" } else { "✗" }}</span>
                            {if ok { " You have a token." } else { " You have no token yet: create one below." }}
                        </li>
                    }
                }}
                {item("prereq-model", model.0, model.1)}
                {item("prereq-balance", balance.0, balance.1)}
            </ul>
        </section>
    }
}

/// Creates a token in place (its value shown once, and put in the snippet).
#[component]
fn TokenCreate(
    create: ServerAction<CreateToken>,
    created: Memo<Option<NewToken>>,
) -> impl IntoView {
    view! {
        <ActionForm action=create>
            <div class="row">
                <label>"New token's name"
                    <input type="text" name="name" maxlength="64" value="claude-code"/>
                </label>
                <Submit action=create label="Create a token" busy="Creating…"/>
            </div>
            <ActionError action=create/>
        </ActionForm>
        {move || created.get().map(|t| view! { <ShownOnce token=t/> })}
        <p class="muted">"Or pick one of your tokens below. Manage them on " <a href="/tokens">"Tokens"</a> "."</p>
    }
}

#[component]
fn ModelSelect(
    label: &'static str,
    name: &'static str,
    value: RwSignal<Option<String>>,
    models: Vec<String>,
    none: &'static str,
) -> impl IntoView {
    view! {
        <label>{label}
            <select name=name data-testid=format!("model-{name}")
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    value.set((!v.is_empty()).then_some(v));
                }>
                <option value="" selected=move || value.get().is_none()>{format!("({none})")}</option>
                <ModelOptions models selected=value.into()/>
            </select>
        </label>
    }
}

/// One option per model, `selected` marked.
#[component]
fn ModelOptions(models: Vec<String>, selected: Signal<Option<String>>) -> impl IntoView {
    models
        .into_iter()
        .map(|m| {
            let this = m.clone();
            let label = m.clone();
            view! { <option value=m selected=move || selected.get().as_deref() == Some(this.as_str())>{label}</option> }
        })
        .collect_view()
}

/// One real request through the data plane with the chosen token and model.
#[component]
fn ConnectionTestCard(
    created: Memo<Option<NewToken>>,
    token_pick: RwSignal<String>,
    main: Signal<Option<String>>,
    setup: StoredValue<ClaudeCodeSetup>,
) -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    let known = move || {
        (token_pick.get() == NEW_TOKEN)
            .then(|| created.get().map(|t| t.secret))
            .flatten()
    };
    let models = setup.with_value(|s| s.models.clone());
    view! {
        <section class="card" id="test">
            <h2>"7. Test the connection"</h2>
            <p class="muted">"Sends one small request (up to 16 tokens of answer) through Realms with this token and model, as Claude Code would. It is billed and shows up in your usage like any request."</p>
            <ActionForm action=test>
                <div class="row">
                    <label>"Token"
                        <input type="password" name="token" autocomplete="off" placeholder="rlm_…" data-testid="test-token"
                            prop:value=move || known().unwrap_or_default()/>
                        <FieldError action=test field="token"/>
                    </label>
                    <label>"Model"
                        <select name="model" data-testid="test-model">
                            <ModelOptions models selected=main/>
                        </select>
                        <FieldError action=test field="model"/>
                    </label>
                    <Submit action=test label="Test connection" busy="Testing…"/>
                </div>
                <ActionError action=test inline=&["token", "model"]/>
            </ActionForm>
            {move || test.value().get().and_then(Result::ok).map(|r| view! { <TestOutcome outcome=r/> })}
        </section>
    }
}

#[component]
fn TestOutcome(outcome: ConnectionTest) -> impl IntoView {
    let timing = format!(
        "first byte after {} ms, {} ms in all",
        outcome.ttfb_ms, outcome.total_ms
    );
    let request = outcome
        .request_id
        .clone()
        .map(|id| view! { <p class="muted">"Request id " <code>{id}</code></p> });
    if outcome.ok() {
        let cost = outcome.cost.map_or_else(
            || "not recorded yet (see Usage)".to_string(),
            format_balance,
        );
        return view! {
            <div class="test-result ok" role="status" data-testid="test-result" data-ok="true">
                <p><strong>"Connected."</strong> " " {outcome.model.clone()} " answered: “" <span data-testid="test-answer">{outcome.answer.clone()}</span> "”"</p>
                <p data-testid="test-timing">{timing}</p>
                <p>{format!("{} input and {} output tokens; cost ", outcome.input_tokens, outcome.output_tokens)}<span data-testid="test-cost">{cost}</span>"."</p>
                {request}
            </div>
        }
        .into_any();
    }
    let d = outcome.diagnosis.clone().unwrap_or(setup::Diagnosis {
        title: "The test failed".into(),
        fix: String::new(),
        link: None,
    });
    view! {
        <div class="test-result failed" role="alert" data-testid="test-result" data-ok="false">
            <p><strong data-testid="test-diagnosis">{d.title.clone()}</strong>{format!(" (HTTP {})", outcome.status)}</p>
            <p data-testid="test-error">{outcome.error.clone().unwrap_or_default()}</p>
            <p data-testid="test-fix">{d.fix.clone()} " "
                {d.link.clone().map(|(href, text)| view! { <a href=href>{format!("Open {text} →")}</a> })}
            </p>
            <p class="muted">{timing}</p>
            {request}
        </div>
    }
    .into_any()
}

#[component]
fn Troubleshooting() -> impl IntoView {
    view! {
        <section class="card" id="troubleshooting">
            <h2>"Troubleshooting"</h2>
            <dl class="troubleshooting">
                <dt>"401 authentication_error"</dt>
                <dd>"The token is missing, mistyped, revoked or expired, or " <code>"ANTHROPIC_API_KEY"</code> " is set and wins. Check with " <code>"/status"</code> "; create a new token if needed."</dd>
                <dt>"404 not_found_error for a model"</dt>
                <dd>"Claude Code asked for a model this server does not have (for example its own default). Set the models in step 5, or use " <code>"/model"</code> " to pick one listed on " <a href="/models">"Models"</a> "."</dd>
                <dt>"402 billing_error"</dt>
                <dd>"Your balance cannot cover the request: an administrator tops it up."</dd>
                <dt>"429 rate_limit_error"</dt>
                <dd>"A limit of your token or account was reached; the message says which and when it frees up."</dd>
                <dt>"Answers arrive all at once, or time out"</dt>
                <dd>"A proxy between you and Realms buffers streamed answers. For nginx set " <code>"proxy_buffering off;"</code> " and a long " <code>"proxy_read_timeout"</code> " on the Realms location."</dd>
                <dt>"Certificate errors (self-signed or corporate TLS)"</dt>
                <dd>"Point Node.js at your CA bundle: " <code>"export NODE_EXTRA_CA_CERTS=/path/to/ca.pem"</code> " before starting " <code>"claude"</code> "."</dd>
            </dl>
        </section>
    }
}
