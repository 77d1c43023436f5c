//! The data plane's upstream HTTP client: hyper-util's pooling client driven directly, so a
//! request costs no URL re-parse and no redirect layer (redirects are never followed anyway).
//! Its settings are those of the console's client (`app::core::egress::upstream_client`): names
//! resolved through the egress guard, the connect timeout, TCP keep-alive probes, pooled
//! connections kept 90 s, no Nagle delay, HTTP/1.1 over plain TCP or rustls with the webpki roots.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// A request to an upstream: its body is the bytes Realms sends, whole.
pub type UpstreamRequest = http::Request<Full<Bytes>>;

/// The pooled upstream client of one data plane.
pub struct UpstreamClient(Client<HttpsConnector<HttpConnector<Guarded>>, Full<Bytes>>);

impl UpstreamClient {
    /// How long a pooled connection may stay idle.
    const IDLE: Duration = Duration::from_secs(90);
    /// TCP keep-alive probes on upstream connections (a stream can be quiet for minutes).
    const KEEPALIVE: Duration = Duration::from_secs(15);

    pub fn new(connect_timeout: Duration) -> Result<UpstreamClient, rustls::Error> {
        let mut tcp = HttpConnector::new_with_resolver(Guarded);
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_keepalive(Some(Self::KEEPALIVE));
        tcp.set_keepalive_interval(Some(Self::KEEPALIVE));
        tcp.set_keepalive_retries(Some(3));
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Self::IDLE)
            .build(tls);
        Ok(UpstreamClient(client))
    }

    /// Sends a request; the answer's headers arrive when the future does.
    pub fn send(&self, request: UpstreamRequest) -> ResponseFuture {
        self.0.request(request)
    }
}

/// An upstream's answer body, read a piece at a time.
pub struct UpstreamBody(Incoming);

impl UpstreamBody {
    pub fn new(body: Incoming) -> UpstreamBody {
        UpstreamBody(body)
    }

    /// The next piece of data, `None` at the end (trailers are not data and are skipped).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, hyper::Error> {
        loop {
            match self.0.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(e),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

/// An error with the causes under it, for logs (`client error (Connect): tcp connect error:
/// Connection refused (os error 111)`).
pub fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// The resolver of the data plane's connections: `app::core::egress::guarded_lookup`.
#[derive(Clone, Copy, Debug)]
pub struct Guarded;

type Lookup = Pin<
    Box<
        dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, Box<dyn StdError + Send + Sync>>>
            + Send,
    >,
>;

impl tower_service::Service<Name> for Guarded {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = Lookup;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Lookup {
        Box::pin(async move {
            let kept = app::core::egress::guarded_lookup(name.as_str()).await?;
            Ok(kept.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_described_with_its_causes_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        assert_eq!(describe(&e), "client error (Connect): Connection refused");
    }

    #[tokio::test]
    async fn names_resolving_to_refused_addresses_are_not_connected() {
        app::core::egress::allow_private(false);
        let mut resolver = Guarded;
        let name: Name = "localhost".parse().unwrap();
        let err = tower_service::Service::call(&mut resolver, name)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("Realms will not connect to localhost"),
            "{err}"
        );
    }
}
