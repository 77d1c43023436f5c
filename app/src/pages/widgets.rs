//! Small pieces used on several pages.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// The error of the last submission of `action`, as an alert next to the form.
#[component]
pub fn ActionError<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().and_then(Result::err).map(|e| {
            view! { <p class="form-error" role="alert">{e.to_string()}</p> }
        })
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
