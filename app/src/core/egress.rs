//! Where Realms may send upstream requests (and with them a channel's decrypted key). Link-local
//! addresses — the cloud metadata services among them — and unspecified, multicast and broadcast
//! addresses are never reached. Loopback, private and shared (CGNAT) ranges are reached only when the
//! operator allows them (`--allow-private-upstreams`, for an upstream on the same machine or network).
//! The rule is checked twice: on the base URL when a channel is saved (a clear error for the admin),
//! and on every address a host name resolves to when a connection is made (so a name that later
//! resolves elsewhere cannot get around it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static ALLOW_PRIVATE: AtomicBool = AtomicBool::new(false);

/// Sets, for this process, whether loopback and private upstreams may be reached.
pub fn allow_private(allow: bool) {
    ALLOW_PRIVATE.store(allow, Ordering::Relaxed);
}

pub fn private_allowed() -> bool {
    ALLOW_PRIVATE.load(Ordering::Relaxed)
}

/// Why an address may not be reached, or `None` when it may.
pub fn refusal(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, allow_private),
        IpAddr::V6(v6) => refusal_v6(v6, allow_private),
    }
}

const NEVER: &str = "it is a link-local, metadata, multicast or unspecified address, which Realms never sends keys to";
const PRIVATE: &str = "it is a loopback or private network address; start Realms with --allow-private-upstreams to use upstreams on this machine or network";

fn refusal_v4(ip: Ipv4Addr, allow_private: bool) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || o[0] == 0
    {
        return Some(NEVER);
    }
    let private = ip.is_loopback()
        || ip.is_private()
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19));
    (private && !allow_private).then_some(PRIVATE)
}

fn refusal_v6(ip: Ipv6Addr, allow_private: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    let link_local = (first & 0xffc0) == 0xfe80;
    // fd00:ec2::254 is a cloud metadata address inside the unique-local range.
    let metadata = ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    if link_local || metadata || ip.is_unspecified() || ip.is_multicast() {
        return Some(NEVER);
    }
    let private = ip.is_loopback() || (first & 0xfe00) == 0xfc00;
    (private && !allow_private).then_some(PRIVATE)
}

/// Checks a base URL's host as far as it can be without resolving it: an address literal, or a name
/// that always means this machine or a metadata service.
pub fn check_host(host: &url::Host<&str>, allow_private: bool) -> Result<(), crate::i18n::Msg> {
    let why = match host {
        url::Host::Ipv4(v4) => refusal(IpAddr::V4(*v4), allow_private),
        url::Host::Ipv6(v6) => refusal(IpAddr::V6(*v6), allow_private),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "metadata.google.internal" || name == "metadata" {
                Some(NEVER)
            } else if (name == "localhost" || name.ends_with(".localhost")) && !allow_private {
                Some(PRIVATE)
            } else {
                None
            }
        }
    };
    match why {
        Some(why) => Err(crate::i18n::Msg::new("error-host-refused").phrase(
            "why",
            if why == NEVER {
                "why-never"
            } else {
                "why-private"
            },
        )),
        None => Ok(()),
    }
}

/// Resolves an upstream's host name with the system and keeps only the addresses [`refusal`]
/// allows (under the process setting at the time of the lookup); every upstream client resolves
/// through it.
pub async fn guarded_lookup(host: &str) -> Result<Vec<SocketAddr>, String> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("could not resolve {host}: {e}"))?
        .collect();
    let allow = private_allowed();
    let kept: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|a| refusal(a.ip(), allow).is_none())
        .collect();
    if kept.is_empty() {
        let why = found
            .first()
            .and_then(|a| refusal(a.ip(), allow))
            .unwrap_or("it has no address");
        return Err(format!("Realms will not connect to {host}: {why}."));
    }
    Ok(kept)
}

/// The DNS resolver of the console's upstream client (the channel test): [`guarded_lookup`].
#[derive(Clone, Debug, Default)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let kept = guarded_lookup(&host).await?;
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// The console's HTTP client for upstreams (the channel test; the data plane drives hyper-util's
/// client with the same settings): redirects never followed, names resolved through the egress
/// guard, connections kept alive for 90 s, no Nagle delay. Address literals in URLs are not
/// resolved, so their check is [`check_host`] at save time and [`check_url`] before each request.
pub fn upstream_client(
    connect_timeout: std::time::Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver))
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
}

/// Checks an upstream URL right before it is used (address literals included).
pub fn check_url(url: &url::Url) -> Result<(), String> {
    match url.host() {
        Some(host) => check_host(&host, private_allowed()).map_err(|m| m.to_string()),
        None => Err("The upstream URL has no host.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_are_never_reached() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "fd00:ec2::254",
            "::",
            "ff02::1",
            "::ffff:169.254.169.254",
        ] {
            assert!(refusal(ip(a), true).is_some(), "{a}");
        }
    }

    #[test]
    fn private_ranges_need_the_setting() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(refusal(ip(a), false).is_some(), "{a}");
            assert!(refusal(ip(a), true).is_none(), "{a}");
        }
        for a in [
            "160.79.104.10",
            "8.8.8.8",
            "2606:4700::1",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(refusal(ip(a), false).is_none(), "{a}");
        }
    }

    #[test]
    fn hosts_are_checked_before_resolving() {
        let check =
            |u: &str, allow| check_host(&url::Url::parse(u).unwrap().host().unwrap(), allow);
        assert!(check("http://169.254.169.254/latest", true).is_err());
        assert!(check("http://metadata.google.internal/", true).is_err());
        assert!(check("http://[fe80::1]:8080/", true).is_err());
        assert!(check("http://localhost:8080/", false).is_err());
        assert!(check("http://127.0.0.1:9/", false).is_err());
        assert!(check("http://127.0.0.1:9/", true).is_ok());
        assert!(check("https://api.anthropic.com/", false).is_ok());
    }
}
