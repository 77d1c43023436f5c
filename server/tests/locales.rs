//! The console's languages over HTTP: every page of the route table rendered in Chinese shows no
//! English a person reads, the language follows the account, then the cookie, then
//! `Accept-Language`, the switcher works as a plain form post, and server fns answer in the
//! language of the request.

mod common;

use reqwest::{header, Client, StatusCode};
use scraper::{Html, Node};

use app::core::{models, users};
use app::pages::routes::{Access, PAGES};
use common::setup::*;
use common::{call, client, register};

/// Words that stay as they are in a Chinese page: names of products, systems and formats, the
/// term "token" as Chinese operators write it, and the data this test stores (lowercase names).
const KEPT: &[&str] = &[
    "Realms",
    "Claude",
    "Code",
    "Anthropic",
    "OpenAI",
    "English",
    "Shell",
    "PowerShell",
    "Windows",
    "macOS",
    "Linux",
    "Node",
    "Opus",
    "Sonnet",
    "Haiku",
    "Warmup",
    "LiteLLM",
    "API",
    "CSV",
    "TTFB",
    "HTTP",
    "URL",
    "ID",
    "USD",
    "UTC",
    "TLS",
    "CA",
    "OK",
    "nginx",
    "bash",
    "zsh",
    "fish",
    "cmd",
    "setx",
    "claude",
    "token",
    "beta",
    "location",
    "primary",
    "cli",
    "User-Agent",
];

/// The text a person reads on a page (text nodes and the `placeholder` and `aria-label` of
/// controls), leaving out scripts, styles, code, SVG titles and anything marked `translate="no"`.
fn readable(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut out = Vec::new();
    for node in doc.tree.nodes() {
        let skipped = node.ancestors().chain(std::iter::once(node)).any(|a| {
            a.value().as_element().is_some_and(|e| {
                matches!(
                    e.name(),
                    "script" | "style" | "code" | "pre" | "title" | "template"
                ) || e.attr("translate") == Some("no")
            })
        });
        if skipped {
            continue;
        }
        match node.value() {
            // What browsers without script show is markup inside `<noscript>`, parsed here as text.
            Node::Text(t)
                if node
                    .parent()
                    .and_then(|p| p.value().as_element().map(|e| e.name() == "noscript"))
                    .unwrap_or(false) =>
            {
                out.extend(readable(&t.text));
            }
            Node::Text(t) => out.push(t.text.to_string()),
            Node::Element(e) => {
                for a in ["placeholder", "aria-label"] {
                    if let Some(v) = e.attr(a) {
                        out.push(v.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The English words in `text`: plain words of two letters or more that are not kept names.
/// Identifiers (with digits, `_ . / @ :` or all in lowercase with hyphens) and capitals-only
/// abbreviations are not words.
fn english_words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_./@:'".contains(c))) {
        let chunk = chunk.trim_matches(|c: char| ".:'-".contains(c));
        if chunk.is_empty()
            || chunk
                .chars()
                .any(|c| c.is_ascii_digit() || "_/@".contains(c))
            || chunk.contains('.')
            || chunk.contains(':')
        {
            continue;
        }
        if KEPT.contains(&chunk)
            || (chunk.contains('-') && chunk.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        {
            continue;
        }
        for word in chunk.split('-') {
            let word = word.trim_matches('\'');
            let letters = word.chars().filter(|c| c.is_ascii_alphabetic()).count();
            let caps = word.chars().all(|c| c.is_ascii_uppercase());
            if letters >= 2 && !caps && !KEPT.contains(&word) {
                found.push(word.to_string());
            }
        }
    }
    found
}

/// A client that has chosen `lang` with the switcher (and, signed in, saved it on the account).
async fn choose(c: &Client, t: &Setup, lang: &str) {
    let res = c
        .post(format!("{}/lang", t.s.url))
        .form(&[("lang", lang), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "POST /lang");
    assert_eq!(res.headers()["location"], "/");
}

async fn page(c: &Client, t: &Setup, path: &str) -> (StatusCode, String) {
    fetch(c.get(format!("{}{path}", t.s.url))).await
}

async fn page_with(c: &Client, t: &Setup, path: &str, accept: &str) -> (StatusCode, String) {
    fetch(
        c.get(format!("{}{path}", t.s.url))
            .header(header::ACCEPT_LANGUAGE, accept),
    )
    .await
}

async fn fetch(req: reqwest::RequestBuilder) -> (StatusCode, String) {
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

fn lang_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = scraper::Selector::parse("html").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn every_page_in_chinese_shows_no_english() {
    let t = Setup::new().await;
    // Something on every page: a request in the usage log, a ledger entry, an audit entry.
    let res = t.messages(body("claude-test", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    t.settled().await;
    let admin = client(&t.s);
    register(&admin, &t.s, "root@example.com").await;
    choose(&admin, &t, "zh-CN").await;
    let dev = users::find_by_email(&t.s.db, "dev@example.com")
        .await
        .unwrap()
        .unwrap();
    let model = models::find_by_public_id(&t.s.db, "claude-test")
        .await
        .unwrap()
        .unwrap();
    let guest = client(&t.s);
    choose(&guest, &t, "zh-CN").await;
    let mut leftovers = Vec::new();
    for p in PAGES {
        let path = match p.path {
            "/admin/channels/:id" => format!("/admin/channels/{}", t.primary().await),
            "/admin/models/:id" => format!("/admin/models/{}", model.id),
            "/admin/users/:id" => format!("/admin/users/{}", dev.id),
            other => other.to_string(),
        };
        let who = if p.access == Access::GuestOnly {
            &guest
        } else {
            &admin
        };
        let (status, html) = page(who, &t, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(lang_of(&html), "zh-CN", "{path}");
        assert!(
            !html.contains("class=\"form-error\""),
            "{path} rendered an error"
        );
        for text in readable(&html) {
            let words = english_words(&text);
            if !words.is_empty() {
                leftovers.push(format!("{path}: {words:?} in {:?}", text.trim()));
            }
        }
    }
    assert!(
        leftovers.is_empty(),
        "English left in Chinese pages:\n{}",
        leftovers.join("\n")
    );
}

#[test]
fn the_english_finder_finds_english() {
    assert_eq!(english_words("渠道 Channels"), vec!["Channels"]);
    assert_eq!(english_words("请 Sign in 继续"), vec!["Sign", "in"]);
    assert!(english_words("令牌 rlm_abcd claude-test-upstream $0.001 2026年12月2日").is_empty());
    assert!(english_words("Claude Code 配置（ANTHROPIC_MODEL）").is_empty());
    assert!(english_words("打开 ~/.claude/settings.json 和 /status").is_empty());
}

#[tokio::test]
async fn the_language_follows_the_account_then_the_cookie_then_the_browser() {
    let t = Setup::new().await;
    // The browser's language, for a visitor who chose nothing.
    let zh_browser = client(&t.s);
    let (_, html) = page_with(&zh_browser, &t, "/login", "zh-CN,zh;q=0.9,en;q=0.5").await;
    assert_eq!(lang_of(&html), "zh-CN");
    assert!(html.contains("登录 Realms"));
    let (_, html) = page_with(&zh_browser, &t, "/login", "fr-FR,fr").await;
    assert_eq!(
        lang_of(&html),
        "en",
        "a language the console lacks falls back to English"
    );
    // The cookie beats the browser.
    choose(&zh_browser, &t, "en").await;
    let (_, html) = page_with(&zh_browser, &t, "/login", "zh-CN").await;
    assert_eq!(lang_of(&html), "en");
    assert!(html.contains("Sign in to Realms"));

    // A signed-in user's choice is saved on the account and follows them to a new browser.
    let first = client(&t.s);
    register(&first, &t.s, "ann@example.com").await;
    choose(&first, &t, "zh-CN").await;
    let ann = users::find_by_email(&t.s.db, "ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.locale, Some(app::i18n::Locale::ZhCn));
    let elsewhere = client(&t.s);
    let (status, _) = call(
        &elsewhere,
        &t.s,
        "login",
        &[("email", "ann@example.com"), ("password", "password123")],
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    let (_, html) = page_with(&elsewhere, &t, "/", "en-US,en").await;
    assert_eq!(
        lang_of(&html),
        "zh-CN",
        "the account's choice beats the browser"
    );
    assert!(html.contains("仪表盘"));
}

#[tokio::test]
async fn server_fns_answer_in_the_language_of_the_request() {
    let t = Setup::new().await;
    let c = client(&t.s);
    choose(&c, &t, "zh-CN").await;
    let (status, body) = call(
        &c,
        &t.s,
        "login",
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong-password"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert!(body.to_string().contains("邮箱或密码不正确"), "{body}");
    let en = client(&t.s);
    let (_, body) = call(
        &en,
        &t.s,
        "login",
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong-password"),
        ],
    )
    .await;
    assert!(
        body.to_string()
            .contains("The email or password is incorrect."),
        "{body}"
    );
}

#[tokio::test]
async fn the_switcher_refuses_other_sites_and_unknown_languages() {
    let t = Setup::new().await;
    let c = client(&t.s);
    let res = c
        .post(format!("{}/lang", t.s.url))
        .form(&[("lang", "zh-CN"), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
    let res = c
        .post(format!("{}/lang", t.s.url))
        .form(&[("lang", "xx"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // From another site, the switch is refused like any console post.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/lang", t.s.url))
        .header(header::ORIGIN, "http://evil.example")
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[("lang", "zh-CN"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.text().await.unwrap(),
        "控制台拒绝来自其他站点的请求。",
        "refusals before any page speak the browser's language too"
    );
}
