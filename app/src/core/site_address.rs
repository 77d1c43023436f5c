//! The address clients use to reach this instance, as the console shows it (the Claude Code setup
//! page's `ANTHROPIC_BASE_URL`), and the local address the console's connection test calls.
//!
//! The public base URL is the configured one (`--public-url`) when there is one; else it is read from
//! the request: its `Host` header, over http, unless the request came from a trusted proxy
//! (`--trusted-proxies`), whose `X-Forwarded-Proto` and `X-Forwarded-Host` are then believed. A
//! header from anyone else is ignored, so a visitor cannot make the page show another address. The
//! base URL never ends in `/` or `/v1` (Claude Code adds `/v1/messages` itself).

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

#[derive(Clone, Debug, Default)]
pub struct SiteAddress {
    public_url: Option<String>,
    trusted_proxies: Vec<IpNet>,
    /// `http://IP:PORT` of this instance's listener, reachable from the instance itself.
    local: Option<String>,
}

impl SiteAddress {
    /// `public_url` as configured (checked: http or https, a host, nothing after the path);
    /// `trusted_proxies` as addresses or networks (`10.0.0.1`, `10.0.0.0/8`, `::1`).
    pub fn new(
        public_url: Option<&str>,
        trusted_proxies: &[String],
        listening: Option<SocketAddr>,
    ) -> Result<SiteAddress, String> {
        let public_url = match public_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(public_base(s)?),
            None => None,
        };
        let trusted_proxies = trusted_proxies
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s} is not an IP address or network (e.g. 10.0.0.0/8)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SiteAddress {
            public_url,
            trusted_proxies,
            local: listening.map(local_url),
        })
    }

    /// The base URL clients should use, for a request from `peer` with `headers`.
    pub fn base_url(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let trusted = peer.is_some_and(|ip| {
            let ip = ip.to_canonical();
            self.trusted_proxies.iter().any(|net| net.contains(&ip))
        });
        let forwarded = |name: &str| {
            trusted
                .then(|| header(headers, name))
                .flatten()
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        let scheme = match forwarded("x-forwarded-proto") {
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        let host = forwarded("x-forwarded-host")
            .filter(|h| valid_host(h))
            .or_else(|| header(headers, "host").filter(|h| valid_host(h)))
            .map(str::to_string)
            .or_else(|| {
                self.local
                    .as_deref()
                    .and_then(|l| l.strip_prefix("http://"))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "localhost".into());
        format!("{scheme}://{host}")
    }

    /// Where the instance itself reaches its own data plane.
    pub fn local_url(&self) -> Option<&str> {
        self.local.as_deref()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A host (and port) fit to show in a shell snippet: a name, IPv4 or bracketed IPv6, with an optional
/// port; nothing a shell or JSON would read specially.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The configured public URL as a base URL: no trailing `/`, no `/v1`.
fn public_base(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("the public URL {s} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "the public URL {s} must be an http or https address with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "the public URL {s} must not carry credentials, a query or a fragment"
        ));
    }
    let mut base = url.as_str().trim_end_matches('/').to_string();
    if let Some(stripped) = base.strip_suffix("/v1") {
        base = stripped.to_string();
    }
    Ok(base)
}

/// `http://IP:PORT` for a listener; an unspecified address (`0.0.0.0`, `::`) is reached on loopback.
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const PROXY: &str = "10.0.0.7";

    fn site() -> SiteAddress {
        SiteAddress::new(None, &["10.0.0.0/8".into()], "0.0.0.0:8080".parse().ok()).unwrap()
    }

    #[test]
    fn the_configured_public_url_wins_and_never_ends_in_v1() {
        for given in [
            "https://ai.example.com",
            "https://ai.example.com/",
            "https://ai.example.com/v1",
            "https://ai.example.com/v1/",
        ] {
            let s = SiteAddress::new(Some(given), &[], None).unwrap();
            let h = headers(&[("host", "evil.example")]);
            assert_eq!(s.base_url(None, &h), "https://ai.example.com", "{given}");
        }
        let s = SiteAddress::new(Some("https://ex.com/realms/"), &[], None).unwrap();
        assert_eq!(s.base_url(None, &HeaderMap::new()), "https://ex.com/realms");
        assert!(SiteAddress::new(Some("ftp://ex.com"), &[], None).is_err());
        assert!(SiteAddress::new(Some("https://u:p@ex.com"), &[], None).is_err());
        assert!(SiteAddress::new(Some("not a url"), &[], None).is_err());
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let h = headers(&[
            ("host", "10.0.0.2:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "ai.example.com"),
        ]);
        let s = site();
        assert_eq!(s.base_url(PROXY.parse().ok(), &h), "https://ai.example.com");
        // The same headers from anyone else are ignored.
        assert_eq!(
            s.base_url("203.0.113.9".parse().ok(), &h),
            "http://10.0.0.2:8080"
        );
        assert_eq!(s.base_url(None, &h), "http://10.0.0.2:8080");
        // An IPv4 peer seen as an IPv6-mapped address is the same peer.
        assert_eq!(
            s.base_url("::ffff:10.0.0.7".parse().ok(), &h),
            "https://ai.example.com"
        );
    }

    #[test]
    fn a_host_that_could_break_a_snippet_is_not_shown() {
        let s = site();
        let h = headers(&[("host", "a.example'; rm -rf ~")]);
        assert_eq!(s.base_url(None, &h), "http://127.0.0.1:8080");
        let h = headers(&[("host", "[::1]:8080")]);
        assert_eq!(s.base_url(None, &h), "http://[::1]:8080");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert!(SiteAddress::new(None, &["10.0.0.1, 192.168.0.0/16,::1".into()], None).is_ok());
        assert!(SiteAddress::new(None, &["nginx".into()], None).is_err());
    }

    #[test]
    fn the_local_url_reaches_an_unspecified_listener_on_loopback() {
        assert_eq!(site().local_url(), Some("http://127.0.0.1:8080"));
        let s = SiteAddress::new(None, &[], "[::]:9000".parse().ok()).unwrap();
        assert_eq!(s.local_url(), Some("http://[::1]:9000"));
    }
}
