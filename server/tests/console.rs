//! The console over real HTTP: health, accounts, session rotation, role checks on pages and server
//! fns, CSRF refusal, throttling, token isolation. Realms runs in-process on a fresh SQLite database.

mod common;

use reqwest::{header, redirect, Client, StatusCode};
use serde_json::Value;

use app::core::settings;
use common::{call, client, me, register, start};

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("realms_session=")
                .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
        })
}

#[tokio::test]
async fn health_and_head_probe_answer() {
    let s = start().await;
    let c = client(&s);
    let res = c.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    let res = c.head(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "Claude Code probes HEAD /");

    s.db.close().await;
    let res = c.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn first_user_is_admin_and_cookie_is_hardened() {
    let s = start().await;
    let c = client(&s);
    let res = c
        .post(format!("{}/api/register", s.url))
        .form(&[
            ("email", "Admin@Example.com"),
            ("password", "password123"),
            ("username", "ada"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("realms_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let who = me(&c, &s).await;
    assert_eq!(who["email"], "admin@example.com");
    assert_eq!(who["role"], "admin");

    let other = client(&s);
    register(&other, &s, "user@example.com").await;
    assert_eq!(me(&other, &s).await["role"], "user");
}

#[tokio::test]
async fn login_rotates_the_session_id_and_logout_ends_it() {
    let s = start().await;
    let c = client(&s);
    register(&c, &s, "ann@example.com").await;
    let login = |c: Client| {
        let url = format!("{}/api/login", s.url);
        async move {
            c.post(url)
                .form(&[("email", "ann@example.com"), ("password", "password123")])
                .send()
                .await
                .unwrap()
        }
    };
    let first = login(c.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let id1 = session_cookie(&first).expect("login sets a cookie");
    let second = login(c.clone()).await;
    let id2 = session_cookie(&second).expect("login sets a new cookie");
    assert_ne!(id1, id2, "the session id changes at sign-in");

    // The old session id no longer signs anyone in.
    let stale = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let res = stale
        .post(format!("{}/api/me", s.url))
        .header(header::COOKIE, format!("realms_session={id1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);

    assert_eq!(me(&c, &s).await["email"], "ann@example.com");
    let (status, _) = call(&c, &s, "logout", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&c, &s).await, Value::Null);
    let res = stale
        .post(format!("{}/api/me", s.url))
        .header(header::COOKIE, format!("realms_session={id2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        Value::Null,
        "a signed-out session is gone"
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let s = start().await;
    let c = client(&s);
    register(&c, &s, "ann@example.com").await;
    let other = client(&s);
    for _ in 0..5 {
        let (status, body) = call(
            &other,
            &s,
            "login",
            &[("email", "ann@example.com"), ("password", "nope-nope")],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["Invalid"], "The email or password is incorrect.");
    }
    let (status, body) = call(
        &other,
        &s,
        "login",
        &[("email", "ANN@example.com"), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["Throttled"]
            .as_str()
            .unwrap()
            .contains("Try again in 15 minutes"),
        "{body}"
    );
}

#[tokio::test]
async fn admin_server_fns_refuse_plain_users_and_anonymous_and_change_nothing() {
    let s = start().await;
    let admin = client(&s);
    register(&admin, &s, "admin@example.com").await;
    let user = client(&s);
    register(&user, &s, "user@example.com").await;
    let anon = client(&s);

    let (status, _) = call(&user, &s, "admin/set_registration", &[("open", "false")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&anon, &s, "admin/set_registration", &[("open", "false")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        settings::load(&s.db).await.unwrap().registration_open,
        "nothing changed"
    );
    let (status, _) = call(&user, &s, "admin/settings", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = call(&admin, &s, "admin/set_registration", &[("open", "false")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!settings::load(&s.db).await.unwrap().registration_open);

    // Registration is now closed to newcomers.
    let newcomer = client(&s);
    let (status, body) = call(
        &newcomer,
        &s,
        "register",
        &[("email", "late@example.com"), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["Invalid"]
            .as_str()
            .unwrap()
            .contains("Registration is closed"),
        "{body}"
    );
}

#[tokio::test]
async fn admin_pages_redirect_anonymous_and_forbid_plain_users() {
    let s = start().await;
    let admin = client(&s);
    register(&admin, &s, "admin@example.com").await;
    let user = client(&s);
    register(&user, &s, "user@example.com").await;

    let res = client(&s)
        .get(format!("{}/admin/settings", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        "/login?next=/admin/settings"
    );

    let res = user
        .get(format!("{}/admin/settings", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("403 — Forbidden"));
    assert!(!html.contains("Close registration"));

    let res = admin
        .get(format!("{}/admin/settings", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Close registration"));

    let res = client(&s)
        .get(format!("{}/tokens", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "console pages need a sign-in"
    );
    let res = user.get(format!("{}/login", s.url)).send().await.unwrap();
    assert_eq!(
        res.headers()[header::LOCATION],
        "/",
        "signed-in users skip the sign-in page"
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let s = start().await;
    let evil = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let res = evil
        .post(format!("{}/api/register", s.url))
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("email", "x@example.com"), ("password", "password123")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app::core::users::count(&s.db).await.unwrap(),
        0,
        "nothing was created"
    );
}

#[tokio::test]
async fn tokens_are_shown_once_and_private_to_their_owner() {
    let s = start().await;
    let ann = client(&s);
    register(&ann, &s, "ann@example.com").await;
    let bob = client(&s);
    register(&bob, &s, "bob@example.com").await;

    let (status, created) = call(
        &ann,
        &s,
        "create_token",
        &[("name", "laptop"), ("expires_in_days", "7")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("rlm_"));
    let id = created["token"]["id"].as_i64().unwrap().to_string();

    let (_, page) = call(&ann, &s, "tokens", &[]).await;
    assert_eq!(page["tokens"][0]["hint"], &secret[secret.len() - 4..]);
    assert_eq!(
        page["fresh"],
        Value::Null,
        "scripted creation does not leave the value in the session"
    );
    assert!(
        !page.to_string().contains(&secret),
        "lists never carry the value"
    );
    let html = ann
        .get(format!("{}/tokens", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&secret));

    let (_, bobs) = call(&bob, &s, "tokens", &[]).await;
    assert_eq!(bobs["tokens"], serde_json::json!([]));
    let (status, _) = call(&bob, &s, "revoke_token", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&client(&s), &s, "tokens", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = call(&ann, &s, "revoke_token", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = call(&ann, &s, "tokens", &[]).await;
    assert_eq!(page["tokens"][0]["status"], "revoked");
}

#[tokio::test]
async fn plain_form_posts_redirect_back_with_the_error_or_to_the_target() {
    let s = start().await;
    let c = client(&s);
    register(&c, &s, "ann@example.com").await;
    let browser = client(&s);
    let post = |form: &'static [(&'static str, &'static str)]| {
        let req = browser
            .post(format!("{}/api/login", s.url))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, format!("{}/login", s.url))
            .form(form);
        async move { req.send().await.unwrap() }
    };
    let res = post(&[("email", "ann@example.com"), ("password", "wrong-password")]).await;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "the browser is sent back to the form"
    );
    let location = res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.contains("/login?") && location.contains("__err="),
        "{location}"
    );

    let res = post(&[
        ("email", "ann@example.com"),
        ("password", "password123"),
        ("next", "/tokens"),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[header::LOCATION], "/tokens");
}

#[tokio::test]
async fn a_token_created_by_a_plain_form_is_shown_on_the_next_page_only() {
    let s = start().await;
    let c = client(&s);
    register(&c, &s, "ann@example.com").await;
    let res = c
        .post(format!("{}/api/create_token", s.url))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{}/tokens", s.url))
        .form(&[("name", "server"), ("expires_in_days", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let page = |c: Client| {
        let url = format!("{}/tokens", s.url);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let first = page(c.clone()).await;
    let at = first
        .find("data-testid=\"new-token\"")
        .expect("the new token is shown");
    let secret: String = first[at..]
        .split("rlm_")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(secret.len() >= 32, "{secret}");
    let second = page(c.clone()).await;
    assert!(!second.contains("data-testid=\"new-token\""));
    assert!(
        !second.contains(&secret),
        "the value is gone after it was shown"
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_not_cached() {
    let s = start().await;
    let c = client(&s);
    let res = c.get(format!("{}/login", s.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
}

#[tokio::test]
async fn oversized_console_requests_are_refused_before_they_are_read() {
    let s = start().await;
    let c = client(&s);
    let huge = "a".repeat(1024 * 1024);
    let res = c
        .post(format!("{}/api/login", s.url))
        .form(&[("email", huge.as_str()), ("password", "password123")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Within the cap, a long email is refused as a sign-in failure without being hashed or kept.
    let long = format!("{}@example.com", "a".repeat(10_000));
    let (status, body) = call(
        &c,
        &s,
        "login",
        &[("email", &long), ("password", "password123")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(s.state.throttle.account.is_empty(), "nothing kept for it");
}
