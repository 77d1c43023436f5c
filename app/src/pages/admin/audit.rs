//! The audit log: every administrative change, newest first, 100 per page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::admin::audit_log;
use crate::pages::layout::Console;
use crate::types::format_time;

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
    view! {
        <h1>"Audit log"</h1>
        <p class="muted">"Every change made by an administrator in the console or with the CLI."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing recorded yet."</p> }.into_any(),
                    Ok(list) => {
                        let older = (list.len() == 100).then(|| list.last().map(|e| e.id)).flatten();
                        view! {
                            <table class="list" data-testid="audit-table">
                                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{format_time(e.created_at)}</td>
                                            <td>{e.actor}</td>
                                            <td><code>{e.action}</code></td>
                                            <td>{e.target}</td>
                                            <td>{e.detail}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {older.map(|id| view! { <p><a href=format!("/admin/audit?before={id}")>"Older entries →"</a></p> })}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
