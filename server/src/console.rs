//! The console's HTTP glue: sessions, who is signed in, which pages they may open, and the
//! same-origin rule for state-changing requests.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::cookie::{Cookie, Key, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use app::core::sessions::DbSessionStore;
use app::core::state::{AppState, FreshToken, Viewer, SESSION_FRESH_TOKEN_KEY, SESSION_USER_KEY};
use app::core::users;
use app::i18n::{self, Locale, Msg, LOCALE_COOKIE};
use app::pages::routes::{access_of, Access};
use app::types::NewToken;

/// The largest console request body (forms and server fns); larger ones get 413 before being read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "realms_session";

/// Database-backed sessions in a signed, HttpOnly, SameSite=Lax cookie (Secure when asked), expiring
/// after 14 days without use.
pub fn session_layer(
    state: &AppState,
    cookie_key: &[u8; 64],
    secure: bool,
) -> SessionManagerLayer<DbSessionStore, tower_sessions::service::SignedCookie> {
    SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)))
        .with_signed(Key::from(cookie_key))
}

/// Loads the signed-in user once per console request and puts a [`Viewer`] in its extensions.
/// Disabled or deleted accounts count as signed out. Console assets under `/pkg/` are skipped.
pub async fn load_viewer(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    // Static assets need no account: skip the session and user lookups for them.
    if req.uri().path().starts_with("/pkg/") {
        return next.run(req).await;
    }
    let user = match session.get::<i64>(SESSION_USER_KEY).await {
        Ok(Some(id)) => match users::get(&state.db, id).await {
            Ok(user) => user.filter(|u| !u.is_disabled()),
            Err(e) => {
                tracing::error!(error = %e, "could not load the signed-in user");
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-database-down",
                    req.headers(),
                );
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session");
            None
        }
    };
    let locale = request_locale(req.headers(), user.as_ref().and_then(|u| u.locale));
    req.extensions_mut().insert(locale);
    req.extensions_mut().insert(Viewer(user));
    next.run(req).await
}

/// The language of a console request: the account's saved choice, then the language cookie, then
/// `Accept-Language` (see [`app::i18n::choose`]).
fn request_locale(headers: &axum::http::HeaderMap, saved: Option<Locale>) -> Locale {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == LOCALE_COOKIE)
        .map(|c| c.value().to_string());
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    i18n::choose(saved, cookie.as_deref(), accept)
}

/// A plain-text refusal of a console request, in the language its cookie or browser asks for.
pub fn refusal(status: StatusCode, id: &'static str, headers: &axum::http::HeaderMap) -> Response {
    (status, Msg::new(id).text(request_locale(headers, None))).into_response()
}

/// The language switcher's form: `lang` (a locale tag) and `next` (where to go back to).
#[derive(serde::Deserialize)]
pub struct LanguageChoice {
    lang: String,
    #[serde(default)]
    next: String,
}

/// `POST /lang`: keeps the chosen language in a cookie for a year and, for a signed-in user, on the
/// account, then goes back to the page the switcher was on (a path of this site only).
pub async fn set_language(
    secure_cookies: bool,
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<Viewer>,
    axum::Form(choice): axum::Form<LanguageChoice>,
) -> Response {
    let Some(locale) = Locale::from_tag(&choice.lang) else {
        return (
            StatusCode::BAD_REQUEST,
            Msg::new("error-unknown-language").to_string(),
        )
            .into_response();
    };
    if let Some(user) = &viewer.0 {
        if let Err(e) = users::set_locale(&state.db, user.id, locale).await {
            tracing::error!(error = %e, "could not save the language choice");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::new("error-database-down").text(locale),
            )
                .into_response();
        }
    }
    let cookie = Cookie::build((LOCALE_COOKIE, locale.tag()))
        .path("/")
        .max_age(time::Duration::days(365))
        .same_site(SameSite::Lax)
        .secure(secure_cookies)
        .http_only(true)
        .build();
    let mut res = Redirect::to(&local_path(&choice.next)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `next` when it is a path on this site, else the dashboard: never another origin (`//host`,
/// `/\host` and schemes are refused).
fn local_path(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// Takes a token value handed over by a no-script form out of the session when the tokens page or
/// the Claude Code setup page is loaded, and gives it to that page load only (in the request's
/// extensions): it is shown once.
pub async fn take_fresh_token(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if req.method() == Method::GET && (path == "/tokens" || path == "/claude-code") {
        match session.remove::<NewToken>(SESSION_FRESH_TOKEN_KEY).await {
            Ok(Some(sealed)) => {
                let aad = app::core::state::fresh_token_aad(sealed.token.id);
                match state.cipher.decrypt(aad, &sealed.secret) {
                    Ok(secret) => {
                        req.extensions_mut().insert(FreshToken(NewToken {
                            secret,
                            token: sealed.token,
                        }));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not open the new token"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the new token from the session"),
        }
    }
    next.run(req).await
}

/// Headers on every console response: no framing, no sniffing, no referrer to other sites, a
/// content security policy (scripts and styles only from this origin, plus the inline hydration
/// bootstrap and WebAssembly), HSTS when served over https, and `no-store` on everything but the
/// built assets (pages show balances, usage and, once, new tokens).
pub async fn security_headers(State(https): State<bool>, req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, axum::http::HeaderValue::from_static(value));
    };
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
    );
    if https {
        set(h, "strict-transport-security", "max-age=31536000");
    }
    if !asset {
        set(h, "cache-control", "no-store");
    }
    res
}

/// Enforces the page table (`app::pages::routes`) on page loads: anonymous visitors go to sign in,
/// plain users get 403 on admin pages (the page renders a "forbidden" notice with that status).
pub async fn guard_pages(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let signed_in = req
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.as_ref())
        .map(|u| u.is_admin_role());
    let path = req.uri().path().to_string();
    match (access_of(&path), signed_in) {
        (Some(Access::GuestOnly), Some(_)) => Redirect::to("/").into_response(),
        (Some(Access::SignedIn | Access::Admin), None) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/login?next={}", encode_query_value(target))).into_response()
        }
        (Some(Access::Admin), Some(false)) => {
            let mut res = next.run(req).await;
            *res.status_mut() = StatusCode::FORBIDDEN;
            res
        }
        _ => next.run(req).await,
    }
}

fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Caps a console request's body: [`MAX_BODY_BYTES`], or for a price file upload
/// [`crate::price_upload::MAX_UPLOAD_BYTES`]. A declared length above the cap is refused with 413
/// before anything is read; a body that runs past it stops being read there.
pub async fn limit_body(req: Request, next: Next) -> Response {
    let max = if req.uri().path() == crate::price_upload::PATH {
        crate::price_upload::MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "error-body-too-large",
            req.headers(),
        );
    }
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, max));
    next.run(Request::from_parts(parts, limited)).await
}

/// Refuses state-changing console requests that come from another site (CSRF defence on top of
/// SameSite=Lax cookies): the `Origin` must match `Host`, and `Sec-Fetch-Site` must not be cross-site.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if cross_site(req.headers()) {
        return refusal(StatusCode::FORBIDDEN, "error-cross-site", req.headers());
    }
    next.run(req).await
}

pub fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (get(header::ORIGIN.as_str()), get(header::HOST.as_str())) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            !authority.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_posts_are_detected() {
        assert!(!cross_site(&headers(&[("host", "realms.local:8080")])));
        assert!(!cross_site(&headers(&[
            ("host", "realms.local:8080"),
            ("origin", "http://realms.local:8080")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "realms.local:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "realms.local"),
            ("origin", "null")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "realms.local"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    #[test]
    fn language_switch_goes_back_only_to_this_site() {
        assert_eq!(local_path("/tokens?x=1"), "/tokens?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path(""), "/");
        assert_eq!(local_path("/a\r\nSet-Cookie: x"), "/");
    }

    #[test]
    fn request_language_follows_account_then_cookie_then_browser() {
        let h = headers(&[
            ("cookie", "realms_session=abc; realms_lang=zh-CN"),
            ("accept-language", "en-US,en;q=0.9"),
        ]);
        assert_eq!(request_locale(&h, None), Locale::ZhCn);
        assert_eq!(request_locale(&h, Some(Locale::En)), Locale::En);
        let h = headers(&[("accept-language", "zh-CN,zh;q=0.9")]);
        assert_eq!(request_locale(&h, None), Locale::ZhCn);
        assert_eq!(request_locale(&headers(&[]), None), Locale::En);
    }

    #[test]
    fn next_parameter_is_encoded() {
        assert_eq!(encode_query_value("/tokens?a=1&b"), "/tokens%3Fa%3D1%26b");
    }
}
