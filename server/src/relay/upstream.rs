//! The request to an upstream and the headers that cross Realms in each direction.

use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};
use bytes::Bytes;
use http_body_util::Full;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::core::cache::Cache;
use app::core::catalog::CatalogCredential;

use app::core::upstream_url::join;

use super::client::UpstreamRequest;
use super::route::Attempt;

/// Request headers never forwarded upstream: the client's credentials and cookies, hop-by-hop
/// headers, the host, and what Realms sets itself.
const DROP_REQUEST: &[&str] = &[
    "authorization",
    "x-api-key",
    "cookie",
    "host",
    "content-length",
    "accept-encoding",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
    "cf-connecting-ip",
    "true-client-ip",
    "x-client-ip",
    "content-encoding",
];

/// Response headers never passed back to the client.
const DROP_RESPONSE: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "alt-svc",
    "content-length",
    "location",
    "www-authenticate",
    "anthropic-organization-id",
];

pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// The client's headers that may go upstream: all but [`DROP_REQUEST`], the headers the client's
/// `Connection` names, and those whose name starts with one of `drop_prefixes`.
fn forwarded(client: &HeaderMap, drop_prefixes: &[&str]) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(client.len() + 4);
    // Headers the client's `Connection` names are hop-by-hop too.
    let named: Vec<&str> = client
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for (name, value) in client {
        let name_str = name.as_str();
        if !DROP_REQUEST.contains(&name_str)
            && !named.iter().any(|n| n.eq_ignore_ascii_case(name_str))
            && !drop_prefixes.iter().any(|p| name_str.starts_with(p))
        {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    out
}

/// The headers to send an Anthropic upstream: the client's (minus [`DROP_REQUEST`]), the channel key
/// as both `x-api-key` and `Authorization: Bearer`, `anthropic-version` defaulted, an uncompressed
/// answer.
pub fn anthropic_headers(client: &HeaderMap, key: &CatalogCredential) -> HeaderMap {
    const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
    const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    let mut out = forwarded(client, &[]);
    if !out.contains_key(&ANTHROPIC_VERSION) {
        out.insert(
            ANTHROPIC_VERSION,
            HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
        );
    }
    if let Some(v) = &key.header {
        out.insert(X_API_KEY, v.clone());
    }
    if let Some(v) = &key.bearer {
        out.insert(header::AUTHORIZATION, v.clone());
    }
    out
}

/// The headers to send an OpenAI-compatible upstream: the client's (minus [`DROP_REQUEST`], and
/// minus Anthropic's headers and the client's own OpenAI organization and project, which belong to
/// the client's account, not the channel's), the channel key as `Authorization: Bearer`.
pub fn openai_headers(client: &HeaderMap, key: &CatalogCredential) -> HeaderMap {
    let mut out = forwarded(
        client,
        &["anthropic-", "openai-organization", "openai-project"],
    );
    if let Some(v) = &key.bearer {
        out.insert(header::AUTHORIZATION, v.clone());
    }
    out
}

/// The upstream's response headers that go back to the client.
pub fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        if !DROP_RESPONSE.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// An endpoint's base URL, checked against the egress rules, in the parts each upstream URI is
/// built from.
#[derive(Clone)]
struct Base {
    scheme: Scheme,
    authority: Authority,
    /// The base's path, without a trailing `/` (often empty).
    prefix: Arc<str>,
    /// The URIs of the paths clients call nearly always ([`COMMON_PATHS`]), built once.
    common: Arc<[(&'static str, Uri)]>,
}

/// The API paths (and the query Claude Code adds) whose upstream URI each base builds once instead
/// of per request.
const COMMON_PATHS: [&str; 6] = [
    "/v1/messages?beta=true",
    "/v1/messages",
    "/v1/messages/count_tokens?beta=true",
    "/v1/messages/count_tokens",
    "/v1/chat/completions",
    "/v1/responses",
];

impl Base {
    fn parse(base: &str) -> Result<Base, String> {
        let url = url::Url::parse(base).map_err(|e| format!("not a URL: {e}"))?;
        app::core::egress::check_url(&url)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("not an http(s) URL: {}", url.scheme()));
        }
        let parts = Uri::try_from(url.as_str())
            .map_err(|e| format!("not a URL: {e}"))?
            .into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err("the URL has no host".into());
        };
        let mut base = Base {
            scheme,
            authority,
            prefix: url.path().trim_end_matches('/').into(),
            common: Arc::new([]),
        };
        base.common = COMMON_PATHS
            .iter()
            .map(|path| base.build(path).map(|uri| (*path, uri)))
            .collect::<Result<Vec<_>, _>>()?
            .into();
        Ok(base)
    }

    /// The URI of `path_and_query` (the client's, with its query) on this base.
    fn uri(&self, path_and_query: &str) -> Result<Uri, String> {
        match self.common.iter().find(|(path, _)| *path == path_and_query) {
            Some((_, uri)) => Ok(uri.clone()),
            None => self.build(path_and_query),
        }
    }

    fn build(&self, path_and_query: &str) -> Result<Uri, String> {
        let path = PathAndQuery::try_from(join(&self.prefix, path_and_query))
            .map_err(|e| format!("not a path: {e}"))?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| format!("not a URL: {e}"))
    }
}

/// Endpoint base URLs, each parsed and checked once (parsing an origin costs more than the rest of
/// a request's routing), kept as every `app::core::cache::Cache` is.
pub struct BaseUrls(Cache<Arc<str>, Base>);

impl Default for BaseUrls {
    fn default() -> Self {
        BaseUrls(Cache::new(Self::TTL, Self::MAX))
    }
}

impl BaseUrls {
    /// At most this many bases are kept; endpoints are few, so reaching it means many were edited.
    const MAX: usize = 1024;
    /// A base is checked against the egress rules again after this long.
    const TTL: Duration = Duration::from_secs(3600);

    /// The upstream URI for `path_and_query` on `base`, or why it may not be used.
    pub fn join(&self, base: &Arc<str>, path_and_query: &str) -> Result<Uri, String> {
        let now = Instant::now();
        if let Some(parsed) = self.0.get(base, (), now) {
            return parsed.uri(path_and_query);
        }
        let parsed = Base::parse(base)?;
        let uri = parsed.uri(path_and_query)?;
        self.0.insert(base.clone(), parsed, (), now);
        Ok(uri)
    }
}

/// The request for one attempt: same path and query on the channel's endpoint, the headers the
/// protocol gives, the body with the upstream model name; or why the endpoint may not be used.
pub fn build(
    bases: &BaseUrls,
    attempt: &Attempt,
    path_and_query: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<UpstreamRequest, String> {
    let uri = bases.join(&attempt.endpoint, path_and_query)?;
    let mut request = UpstreamRequest::new(Full::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_joins_like_the_text_form() {
        for base in [
            "https://api.anthropic.com",
            "https://openrouter.ai/api",
            "http://203.0.113.7:9000",
            "https://gw.example/proxy/deeper",
        ] {
            let parsed = Base::parse(base).unwrap();
            // The paths built once per base, and paths built per request.
            for path in COMMON_PATHS.into_iter().chain([
                "/v1/messages/count_tokens?beta=true&x=%20y",
                "/v1/messages?beta=false",
                "v1/models",
                "/",
            ]) {
                assert_eq!(
                    parsed.uri(path).unwrap().to_string(),
                    url::Url::parse(&join(base, path)).unwrap().as_str(),
                    "{base} + {path}"
                );
            }
        }
    }

    #[test]
    fn bases_the_egress_rules_refuse_are_not_used() {
        for base in ["http://169.254.169.254", "ftp://example.com", "not a url"] {
            assert!(Base::parse(base).is_err(), "{base}");
        }
    }

    #[test]
    fn client_credentials_never_cross_and_the_key_is_injected() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer rlm_client"),
            ("x-api-key", "rlm_client"),
            ("cookie", "realms_session=abc"),
            ("host", "realms.local"),
            ("connection", "keep-alive"),
            ("accept-encoding", "gzip, br"),
            (
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            ),
            ("x-app", "cli"),
            ("user-agent", "claude-cli/2.1"),
            ("x-forwarded-for", "10.0.0.1"),
            ("via", "1.1 proxy"),
            ("cf-connecting-ip", "10.0.0.2"),
            ("true-client-ip", "10.0.0.3"),
            ("content-encoding", "gzip"),
            ("x-secret-hop", "private"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = anthropic_headers(&h, &CatalogCredential::new(1, "sk-upstream"));
        assert_eq!(out["x-api-key"], "sk-upstream");
        assert_eq!(out["authorization"], "Bearer sk-upstream");
        assert_eq!(out["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
        assert_eq!(
            out["anthropic-beta"],
            "claude-code-20250219,interleaved-thinking-2025-05-14"
        );
        assert_eq!(out["accept-encoding"], "identity");
        assert_eq!(out["x-app"], "cli");
        h.insert(
            HeaderName::from_static("connection"),
            HeaderValue::from_static("keep-alive, X-Secret-Hop"),
        );
        let out = anthropic_headers(&h, &CatalogCredential::new(1, "sk-upstream"));
        for gone in [
            "cookie",
            "host",
            "connection",
            "x-forwarded-for",
            "via",
            "cf-connecting-ip",
            "true-client-ip",
            "content-encoding",
            "x-secret-hop",
        ] {
            assert!(!out.contains_key(gone), "{gone} is not forwarded");
        }
        assert!(!format!("{out:?}").contains("rlm_client"));

        let mut given = HeaderMap::new();
        given.insert("anthropic-version", HeaderValue::from_static("2024-01-01"));
        assert_eq!(
            anthropic_headers(&given, &CatalogCredential::new(1, "k"))["anthropic-version"],
            "2024-01-01"
        );
    }

    #[test]
    fn hop_by_hop_and_cookies_do_not_come_back() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert("request-id", HeaderValue::from_static("req_1"));
        h.insert("set-cookie", HeaderValue::from_static("upstream=1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("location", HeaderValue::from_static("https://elsewhere/"));
        h.insert(
            "anthropic-organization-id",
            HeaderValue::from_static("org-1"),
        );
        let out = response_headers(&h);
        assert!(!out.contains_key("location"));
        assert!(!out.contains_key("anthropic-organization-id"));
        assert_eq!(out["content-type"], "text/event-stream");
        assert_eq!(out["request-id"], "req_1");
        assert!(!out.contains_key("set-cookie"));
        assert!(!out.contains_key("transfer-encoding"));
    }
}
