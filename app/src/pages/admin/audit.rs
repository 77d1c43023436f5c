//! The audit log: every administrative change, newest first, 100 per page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::admin::audit_log;
use crate::i18n::{t, use_locale};
use crate::pages::layout::Console;
use crate::types::format_time_in;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Console>
            <Audit/>
        </Console>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    let before = Memo::new(move |_| {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    });
    let entries = Resource::new(move || before.get(), audit_log);
    let locale = use_locale();
    view! {
        <h1>{t("nav-audit")}</h1>
        <p class="muted">{t("audit-intro")}</p>
        <Transition fallback=|| view! { <p class="loading">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">{locale.t("audit-empty")}</p> }.into_any(),
                    Ok(list) => {
                        let older = (list.len() == 100).then(|| list.last().map(|e| e.id)).flatten();
                        view! {
                            <table class="list" data-testid="audit-table">
                                <thead><tr><th>{locale.t("col-when")}</th><th>{locale.t("col-who")}</th><th>{locale.t("col-action")}</th><th>{locale.t("col-target")}</th><th>{locale.t("col-detail")}</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{format_time_in(locale, e.created_at)}</td>
                                            <td translate="no">{e.actor}</td>
                                            <td><code>{e.action}</code></td>
                                            <td translate="no">{e.target}</td>
                                            <td translate="no">{e.detail}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {older.map(|id| view! { <p><a href=format!("/admin/audit?before={id}")>{locale.t("audit-older")}</a></p> })}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="form-error" role="alert">{e.say()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
