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
use crate::i18n::{t, t_with, use_locale};
use crate::money::format_balance;
use crate::types::format_count;
use crate::types::{ClaudeCodeSetup, ConnectionTest, NewToken};

#[component]
pub fn ClaudeCodePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_claude_code_setup());
    view! {
        <Console>
            <h1>{t("nav-claude-code")}</h1>
            <p class="muted">{t("cc-intro")}</p>
            <Suspense fallback=|| view! { <p class="loading">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Wizard setup=d/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
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
    let locale = use_locale();

    view! {
        <Prerequisites setup created/>
        <section class="card" id="install">
            <h2>{t("cc-install-title")}</h2>
            <p>{t("cc-install-node")}</p>
            <pre><code>"npm install -g @anthropic-ai/claude-code"</code></pre>
        </section>
        <section class="card" id="token">
            <h2>{t("cc-token-title")}</h2>
            <TokenCreate create created/>
        </section>
        <form method="get" action="/claude-code" class="wizard" data-testid="choices">
            <input type="hidden" name=param::SENT value="1"/>
            <section class="card">
                <label>{t("cc-token-for-snippet")}
                    <select name=param::TOKEN data-testid="token-pick"
                        on:change=move |ev| token_pick.set(event_target_value(&ev))>
                        {move || created.get().map(|t| view! {
                            <option value=NEW_TOKEN selected=move || token_pick.get() == NEW_TOKEN>
                                {locale.t_with("cc-token-just-created", &[("name", t.token.name.clone())])}
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
                            <option value="" selected=move || token_pick.get().is_empty()>{locale.t("cc-no-token-yet")}</option>
                        })}
                    </select>
                </label>
            </section>
            <section class="card" id="system">
                <h2>{t("cc-system-title")}</h2>
                <div class="choice-row">
                    {System::ALL.into_iter().map(|s| view! {
                        <label class="radio">
                            <input type="radio" name=param::SYSTEM value=s.id()
                                checked=move || system() == s
                                on:change=move |_| shell.set(s.shells()[0])/>
                            {s.label()}
                        </label>
                    }).collect_view()}
                    <label>{t("cc-shell")}
                        <select name=param::SHELL data-testid="shell"
                            on:change=move |ev| {
                                if let Some(s) = Shell::parse(&event_target_value(&ev)) {
                                    shell.set(s);
                                }
                            }>
                            {move || system().shells().iter().map(|s| {
                                let s = *s;
                                view! { <option value=s.id() selected=move || shell.get() == s>{s.label(locale)}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                </div>
            </section>
            <section class="card" id="method">
                <h2>{t("cc-method-title")}</h2>
                <div class="choice-row">
                    {Method::ALL.into_iter().map(|m| view! {
                        <label class="radio">
                            <input type="radio" name=param::METHOD value=m.id()
                                checked=move || method.get() == m
                                on:change=move |_| method.set(m)/>
                            {locale.t(m.label_id())}
                        </label>
                    }).collect_view()}
                </div>
                <p class="muted">{move || match method.get() {
                    Method::Settings => locale.t_with("cc-method-settings-note", &[("path", setup::settings_path(system()).to_string())]),
                    Method::Profile => locale.t_with("cc-method-profile-note", &[("path", setup::profile_path(shell.get()).to_string())]),
                    Method::OneOff => locale.t("cc-method-oneoff-note"),
                }}</p>
            </section>
            <section class="card" id="models">
                <h2>{t("cc-models-title")}</h2>
                {if setup.with_value(|s| s.models.is_empty()) {
                    view! { <p class="empty">{t("cc-models-empty")}</p> }.into_any()
                } else {
                    let models = setup.with_value(|s| s.models.clone());
                    view! {
                        <div class="model-grid">
                            <ModelSelect label=t("cc-model-main") name=param::MAIN value=main models=models.clone() none=t("cc-model-default")/>
                            <ModelSelect label=t("cc-model-opus") name=param::OPUS value=opus models=models.clone() none=t("cc-model-not-set")/>
                            <ModelSelect label=t("cc-model-sonnet") name=param::SONNET value=sonnet models=models.clone() none=t("cc-model-not-set")/>
                            <ModelSelect label=t("cc-model-haiku") name=param::HAIKU value=haiku models=models.clone() none=t("cc-model-not-set")/>
                            <ModelSelect label=t("cc-model-subagent") name=param::SUBAGENT value=subagent models=models none=t("cc-model-same-as-main")/>
                        </div>
                    }.into_any()
                }}
                <label class="check">
                    <input type="checkbox" name=param::DISCOVERY value="1" data-testid="discovery"
                        checked=move || discovery.get()
                        on:change=move |ev| discovery.set(event_target_checked(&ev))/>
                    {t("cc-discovery")}
                </label>
                <label class="check">
                    <input type="checkbox" name=param::STATUS_LINE value="1" data-testid="status-line"
                        checked=move || status_line.get()
                        on:change=move |ev| status_line.set(event_target_checked(&ev))/>
                    {t("cc-status-line")}
                </label>
            </section>
            <noscript><p><button type="submit" class="primary">{t("cc-update-snippet")}</button></p></noscript>
        </form>
        <section class="card" id="snippet">
            <h2>{t("cc-settings-title")}</h2>
            <p data-testid="snippet-how">{move || snippet.with(|s| s.how.text(locale))}</p>
            <pre class="snippet"><code data-testid="snippet">{move || snippet.with(|s| s.text.clone())}</code></pre>
            <CopyButton text=Signal::derive(move || snippet.with(|s| s.text.clone()))/>
            {move || token_value.get().is_placeholder().then(|| view! {
                <p class="notice" data-testid="placeholder-note">
                    {locale.t("cc-placeholder-note")} " "
                    <code>{token_value.get().text()}</code>
                </p>
            })}
            <ul class="notes">
                <li>{t("cc-note-api-key")}</li>
                <li>{t("cc-note-logout")}</li>
            </ul>
            {move || (status_line.get() && method.get() != Method::Settings).then(|| {
                let block = setup::status_line_block(system());
                view! {
                    <h3>{locale.t("cc-status-line-title")}</h3>
                    <p>{locale.t_with("cc-status-line-add", &[("path", setup::settings_path(system()).to_string())])}</p>
                    <pre class="snippet"><code data-testid="status-line-block">{block.clone()}</code></pre>
                    <CopyButton text=Signal::stored(block)/>
                }
            })}
        </section>
        <ConnectionTestCard created token_pick main=Signal::derive(move || main.get().or_else(|| sonnet.get())) setup/>
        <section class="card" id="check">
            <h2>{t("cc-check-title")}</h2>
            <p>{t("cc-check-run")} " " <code>"claude"</code> " → " <code>"/status"</code></p>
            <p>{t("cc-check-base-url")} " " <code>{base_url}</code></p>
            <p>{t("cc-check-usage")} " " <a href="/usage">{t("nav-usage")}</a></p>
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
            view! { <span>{t_with("cc-prereq-models", &[("models", s.models.join(", "))])}</span> }
                .into_any(),
        )
    } else if admin {
        (
            false,
            view! {
                <span>{t("cc-prereq-no-model-admin")} " "
                    <a href="/admin/channels">{t("nav-channels")}</a> " · "
                    <a href="/admin/models">{t("nav-pricing")}</a></span>
            }
            .into_any(),
        )
    } else {
        (
            false,
            view! { <span>{t("cc-prereq-no-model-user")}</span> }.into_any(),
        )
    };
    let amount = format_balance(s.balance);
    let balance = match s.has_balance() {
        None => (
            true,
            view! { <span>{t("cc-prereq-billing-off")}</span> }.into_any(),
        ),
        Some(true) => (
            true,
            view! { <span>{t_with("cc-prereq-balance", &[("amount", amount)])}</span> }.into_any(),
        ),
        Some(false) if admin => (
            false,
            view! {
                <span>{t_with("cc-prereq-balance-empty-admin", &[("amount", amount)])} " "
                    <a href="/admin/users">{t("nav-users")}</a></span>
            }
            .into_any(),
        ),
        Some(false) => (
            false,
            view! {
                <span>{t_with("cc-prereq-balance-empty-user", &[("amount", amount)])}</span>
            }
            .into_any(),
        ),
    };
    let locale = use_locale();
    let item = |id: &'static str, ok: bool, body: AnyView| {
        view! {
            <li class=if ok { "prereq ok" } else { "prereq missing" } data-testid=id data-ok=ok.to_string()>
                <span class="mark">{if ok { "✓" } else { "✗" }}</span> {body}
            </li>
        }
    };
    view! {
        <section class="card" id="prerequisites" data-testid="prerequisites">
            <h2>{t("cc-before-title")}</h2>
            <ul class="prereqs">
                {move || {
                    let ok = has_token();
                    view! {
                        <li class=if ok { "prereq ok" } else { "prereq missing" } data-testid="prereq-token" data-ok=ok.to_string()>
                            <span class="mark">{if ok { "✓" } else { "✗" }}</span>
                            " " {if ok { locale.t("cc-prereq-token") } else { locale.t("cc-prereq-no-token") }}
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
                <label>{t("cc-new-token-name")}
                    <input type="text" name="name" maxlength="64" value="claude-code"/>
                </label>
                <Submit action=create label=t("tokens-create-title") busy=t("creating")/>
            </div>
            <ActionError action=create/>
        </ActionForm>
        {move || created.get().map(|t| view! { <ShownOnce token=t/> })}
        <p class="muted">{t("cc-or-pick-token")} " " <a href="/tokens">{t("nav-tokens")}</a></p>
    }
}

#[component]
fn ModelSelect(
    #[prop(into)] label: String,
    name: &'static str,
    value: RwSignal<Option<String>>,
    models: Vec<String>,
    #[prop(into)] none: String,
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
            <h2>{t("cc-test-title")}</h2>
            <p class="muted">{t("cc-test-intro")}</p>
            <ActionForm action=test>
                <div class="row">
                    <label>{t("col-token")}
                        <input type="password" name="token" autocomplete="off" placeholder="rlm_…" data-testid="test-token"
                            prop:value=move || known().unwrap_or_default()/>
                        <FieldError action=test field="token"/>
                    </label>
                    <label>{t("col-model")}
                        <select name="model" data-testid="test-model">
                            <ModelOptions models selected=main/>
                        </select>
                        <FieldError action=test field="model"/>
                    </label>
                    <Submit action=test label=t("cc-test-submit") busy=t("testing")/>
                </div>
                <ActionError action=test inline=&["token", "model"]/>
            </ActionForm>
            {move || test.value().get().and_then(Result::ok).map(|r| view! { <TestOutcome outcome=r/> })}
        </section>
    }
}

#[component]
fn TestOutcome(outcome: ConnectionTest) -> impl IntoView {
    let locale = use_locale();
    let timing = locale.t_with(
        "cc-test-timing",
        &[
            ("ttfb", outcome.ttfb_ms.to_string()),
            ("total", outcome.total_ms.to_string()),
        ],
    );
    let request = outcome.request_id.clone().map(
        |id| view! { <p class="muted">{locale.t("cc-test-request-id")} " " <code>{id}</code></p> },
    );
    if outcome.ok() {
        let cost = outcome
            .cost
            .map_or_else(|| locale.t("cc-test-cost-pending"), format_balance);
        return view! {
            <div class="test-result ok" role="status" data-testid="test-result" data-ok="true">
                <p><strong>{locale.t("cc-test-connected")}</strong> " " {locale.t_with("cc-test-answered", &[("model", outcome.model.clone())])} " “" <span data-testid="test-answer">{outcome.answer.clone()}</span> "”"</p>
                <p data-testid="test-timing">{timing}</p>
                <p>{locale.t_with("cc-test-tokens", &[("input", format_count(outcome.input_tokens as i64)), ("output", format_count(outcome.output_tokens as i64))])} " " <span data-testid="test-cost">{cost}</span></p>
                {request}
            </div>
        }
        .into_any();
    }
    let d = outcome.diagnosis.clone().unwrap_or(setup::Diagnosis {
        title: crate::i18n::Msg::new("cc-test-failed"),
        fix: crate::i18n::Msg::new("cc-test-failed-fix"),
        link: None,
    });
    view! {
        <div class="test-result failed" role="alert" data-testid="test-result" data-ok="false">
            <p><strong data-testid="test-diagnosis">{d.title.text(locale)}</strong>{format!(" (HTTP {})", outcome.status)}</p>
            <p data-testid="test-error" translate="no">{outcome.error.clone().unwrap_or_default()}</p>
            <p data-testid="test-fix">{d.fix.text(locale)} " "
                {d.link.clone().map(|(href, text)| view! { <a href=href>{locale.t_with("cc-test-open", &[("page", locale.t(&text))])}</a> })}
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
            <h2>{t("cc-trouble-title")}</h2>
            <dl class="troubleshooting">
                <dt><code>"401 authentication_error"</code></dt>
                <dd>{t("cc-trouble-401")}</dd>
                <dt><code>"404 not_found_error"</code></dt>
                <dd>{t("cc-trouble-404")} " " <a href="/models">{t("nav-models")}</a></dd>
                <dt><code>"402 billing_error"</code></dt>
                <dd>{t("cc-trouble-402")}</dd>
                <dt><code>"429 rate_limit_error"</code></dt>
                <dd>{t("cc-trouble-429")}</dd>
                <dt>{t("cc-trouble-buffered")}</dt>
                <dd>{t("cc-trouble-buffered-fix")} " " <code>"proxy_buffering off;"</code> " · " <code>"proxy_read_timeout 3600s;"</code></dd>
                <dt>{t("cc-trouble-tls")}</dt>
                <dd>{t("cc-trouble-tls-fix")} " " <code>"export NODE_EXTRA_CA_CERTS=/path/to/ca.pem"</code></dd>
            </dl>
        </section>
    }
}
