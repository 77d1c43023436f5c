//! Small pieces used on several pages.

use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;
use crate::i18n::{t, use_locale};

/// The error of the last submission of `action`, as an alert next to the form. Errors that belong to
/// one of the `inline` fields are left to that field's [`FieldError`].
#[component]
pub fn ActionError<S>(
    action: ServerAction<S>,
    #[prop(optional)] inline: &'static [&'static str],
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| !e.field().is_some_and(|f| inline.contains(&f)))
            .map(|e| view! { <p class="form-error" role="alert">{e.say()}</p> })
    }
}

/// The error of the last submission of `action` when it concerns the form field `field`.
#[component]
pub fn FieldError<S>(action: ServerAction<S>, field: &'static str) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| e.field() == Some(field))
            .map(|e| {
                view! { <span class="field-error" role="alert" data-field=field>{e.say()}</span> }
            })
    }
}

/// A short confirmation after a successful submission of `action`.
#[component]
pub fn Saved<S>(
    action: ServerAction<S>,
    #[prop(optional, into)] text: Option<String>,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let text = text.unwrap_or_else(|| t("saved"));
    move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .map(|_| view! { <span class="saved" role="status">{text.clone()}</span> })
    }
}

/// A submit button that shows progress while its action is pending.
#[component]
pub fn Submit<S>(
    action: ServerAction<S>,
    #[prop(into)] label: String,
    #[prop(into)] busy: String,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let pending = action.pending();
    view! {
        <button type="submit" class="primary" disabled=move || pending.get()>
            {move || if pending.get() { busy.clone() } else { label.clone() }}
        </button>
    }
}

/// Clears `form` after each successful submission of `action` (so a typed key does not linger).
pub fn reset_on_success<S>(action: ServerAction<S>, form: NodeRef<html::Form>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.value().get().is_some_and(|r| r.is_ok()) {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
}

/// A button that copies `text` to the clipboard (with script) and says so until the text changes.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let copied = RwSignal::new(None::<String>);
    let copy = move |_| {
        let value = text.get_untracked();
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&value);
        }
        copied.set(Some(value));
    };
    let done = move || copied.with(|c| c.as_ref().is_some_and(|c| text.with(|v| c == v)));
    let locale = use_locale();
    view! {
        <button type="button" class="copy" on:click=copy>
            {move || if done() { locale.t("copied") } else { locale.t("copy") }}
        </button>
    }
}

/// A status pill: "enabled" or "disabled".
#[component]
pub fn Status(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="status status-active">{t("status-enabled")}</span> }.into_any()
    } else {
        view! { <span class="status status-disabled">{t("status-disabled")}</span> }.into_any()
    }
}

/// A destructive action behind a confirmation that works without script: the first click opens the
/// question, the form given as `children` (with its own confirm button) does the deed.
#[component]
pub fn Confirm(
    #[prop(into)] summary: String,
    #[prop(into)] question: String,
    children: Children,
) -> impl IntoView {
    view! {
        <details class="confirm">
            <summary class="danger-link">{summary}</summary>
            <div class="confirm-box">
                <p>{question}</p>
                {children()}
            </div>
        </details>
    }
}

/// The fields of a client-rule form (`clients`: any or claude-code; `min_version`), filled from
/// `current`.
#[component]
pub fn ClientsFields<S>(
    action: ServerAction<S>,
    current: crate::clients::ClientRule,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    view! {
        <label class="check">
            <input type="radio" name="clients" value="any" checked=!current.claude_code/>
            " " {t("clients-any")}
        </label>
        <label class="check">
            <input type="radio" name="clients" value="claude-code" checked=current.claude_code/>
            " " {t("clients-claude-code-only")}
        </label>
        <label>{t("clients-min-version")}
            <input type="text" name="min_version" maxlength="32" placeholder="2.1.0" value=current.min_version.clone().unwrap_or_default()/>
            <FieldError action field="min_version"/>
        </label>
    }
}

/// The fields of a limits form (`limits[...]` names), filled from `current`.
#[component]
pub fn LimitsFields<S>(action: ServerAction<S>, current: crate::types::Limits) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let usd = |v: Option<i64>| {
        v.map(|n| crate::money::format_usd(n, crate::money::BALANCE_SCALE))
            .unwrap_or_default()
    };
    let int = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let no_limit = t("limits-none");
    view! {
        <div class="grid limits">
            <label>{t("limits-rpm")}
                <input type="number" min="1" step="1" name="limits[rpm]" placeholder=no_limit.clone() value=int(current.rpm)/>
                <FieldError action field="rpm"/>
            </label>
            <label>{t("limits-concurrency")}
                <input type="number" min="1" step="1" name="limits[concurrency]" placeholder=no_limit.clone() value=int(current.concurrency)/>
                <FieldError action field="concurrency"/>
            </label>
            <label>{t("limits-spend-5h")}
                <input type="text" inputmode="decimal" name="limits[spend_5h]" placeholder=no_limit.clone() value=usd(current.spend_5h)/>
                <FieldError action field="spend_5h"/>
            </label>
            <label>{t("limits-spend-day")}
                <input type="text" inputmode="decimal" name="limits[spend_day]" placeholder=no_limit.clone() value=usd(current.spend_day)/>
                <FieldError action field="spend_day"/>
            </label>
            <label>{t("limits-spend-month")}
                <input type="text" inputmode="decimal" name="limits[spend_month]" placeholder=no_limit.clone() value=usd(current.spend_month)/>
                <FieldError action field="spend_month"/>
            </label>
        </div>
    }
}

/// The limit fields that [`LimitsFields`] shows errors for.
pub const LIMIT_FIELDS: &[&str] = &["rpm", "concurrency", "spend_5h", "spend_day", "spend_month"];
