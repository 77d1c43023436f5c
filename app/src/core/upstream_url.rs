//! Endpoint base URLs: what an admin may enter, how it is stored, and how request paths are appended.
//!
//! A base URL is an http(s) origin, optionally with a path prefix (for gateways that serve the API
//! under one). It is stored without a trailing `/` and without a trailing `/v1`, so appending the
//! client's path (`/v1/messages?beta=true`) never doubles `/v1`.

use crate::i18n::Msg;

/// Checks and normalizes a base URL, or says what is wrong with it.
pub fn normalize_base_url(raw: &str) -> Result<String, Msg> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Msg::new("error-enter-base-url"));
    }
    let parsed = url::Url::parse(raw).map_err(|_| Msg::new("error-base-url-not-valid"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Msg::new("error-base-url-scheme"));
    }
    match parsed.host() {
        None => return Err(Msg::new("error-base-url-no-host")),
        Some(host) => super::egress::check_host(&host, super::egress::private_allowed())?,
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Msg::new("error-base-url-credentials"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Msg::new("error-base-url-query"));
    }
    let mut path = parsed.path().trim_end_matches('/').to_string();
    if path.ends_with("/v1") {
        path.truncate(path.len() - 3);
    }
    let path = path.trim_end_matches('/');
    let origin = parsed.origin().ascii_serialization();
    Ok(format!("{origin}{path}"))
}

/// The upstream URL for a client path (with its query string) on a normalized base URL.
pub fn join(base: &str, path_and_query: &str) -> String {
    let base = base.trim_end_matches('/');
    if path_and_query.starts_with('/') {
        format!("{base}{path_and_query}")
    } else {
        format!("{base}/{path_and_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_normalize() {
        let cases = [
            ("https://api.anthropic.com", "https://api.anthropic.com"),
            ("https://api.anthropic.com/", "https://api.anthropic.com"),
            ("https://api.anthropic.com/v1", "https://api.anthropic.com"),
            ("https://api.anthropic.com/v1/", "https://api.anthropic.com"),
            (
                "  HTTPS://API.Example.com:8443  ",
                "https://api.example.com:8443",
            ),
            ("http://gw.example:9000", "http://gw.example:9000"),
            ("https://openrouter.ai/api/v1", "https://openrouter.ai/api"),
            ("https://gw.example/proxy/", "https://gw.example/proxy"),
            ("https://api.example.com:443", "https://api.example.com"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_base_url(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn refused_forms_say_why() {
        for (raw, says) in [
            ("", "Enter"),
            ("api.anthropic.com", "not a valid URL"),
            ("ftp://example.com", "http:// or https://"),
            ("https://user:pw@example.com", "credentials"),
            ("https://example.com/?a=1", "query"),
            ("https://example.com/#x", "fragment"),
            ("file:///etc/passwd", "http:// or https://"),
            ("http://169.254.169.254/latest", "will not send requests"),
        ] {
            let err = normalize_base_url(raw).unwrap_err();
            assert!(err.to_string().contains(says), "{raw}: {err}");
        }
    }

    #[test]
    fn paths_are_appended_without_doubling_v1() {
        let base = normalize_base_url("https://api.anthropic.com/v1").unwrap();
        assert_eq!(
            join(&base, "/v1/messages?beta=true"),
            "https://api.anthropic.com/v1/messages?beta=true"
        );
        assert_eq!(
            join("https://openrouter.ai/api", "/v1/chat/completions"),
            "https://openrouter.ai/api/v1/chat/completions"
        );
        assert_eq!(join("http://h:1/", "v1/models"), "http://h:1/v1/models");
    }
}
