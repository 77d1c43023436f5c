//! The landing page after sign-in.

use leptos::prelude::*;

use super::layout::{Access, Console};
use super::use_auth;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Console access=Access::SignedIn>
            <h1>"Dashboard"</h1>
            <Suspense>
                {move || Suspend::new(async move {
                    auth.me.await.ok().flatten().map(|u| view! {
                        <p>"Signed in as " <strong>{u.display_name().to_string()}</strong>
                           " (" {u.role.as_str()} ")."</p>
                    })
                })}
            </Suspense>
            <section class="card">
                <h2>"Connect Claude Code"</h2>
                <ol>
                    <li><a href="/tokens">"Create a token"</a>" — it starts with " <code>"rlm_"</code> "."</li>
                    <li>"Point Claude Code at this server:"
                        <pre><code>"export ANTHROPIC_BASE_URL=<this server's address>\nexport ANTHROPIC_AUTH_TOKEN=rlm_…\nclaude"</code></pre>
                    </li>
                </ol>
            </section>
        </Console>
    }
}
