//! Small pieces used on several pages.

use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

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
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
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
                view! { <span class="field-error" role="alert" data-field=field>{e.to_string()}</span> }
            })
    }
}

/// A short confirmation after a successful submission of `action`.
#[component]
pub fn Saved<S>(
    action: ServerAction<S>,
    #[prop(default = "Saved.")] text: &'static str,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .map(|_| view! { <span class="saved" role="status">{text}</span> })
    }
}

/// A submit button that shows progress while its action is pending.
#[component]
pub fn Submit<S>(action: ServerAction<S>, label: &'static str, busy: &'static str) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let pending = action.pending();
    view! {
        <button type="submit" class="primary" disabled=move || pending.get()>
            {move || if pending.get() { busy } else { label }}
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

/// A status pill: "enabled" or "disabled".
#[component]
pub fn Status(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="status status-active">"enabled"</span> }.into_any()
    } else {
        view! { <span class="status status-disabled">"disabled"</span> }.into_any()
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
