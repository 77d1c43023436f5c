//! The read phase: the request body, bounded in size and in how long it may stall, then parsed in
//! one pass ([`super::request`]).

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;

use super::error::RelayError;
use super::request::{self, ClientRequest};
use super::RelayConfig;

/// Reads and parses the request.
pub(super) async fn read(
    body: Body,
    headers: &HeaderMap,
    config: &RelayConfig,
) -> Result<ClientRequest, RelayError> {
    let bytes = read_body(
        body,
        headers,
        config.max_body_bytes,
        config.client_read_timeout,
    )
    .await?;
    request::parse(&bytes)
}

/// Reads the body up to `limit` bytes; each piece must arrive within `idle` of the one before.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    idle: Duration,
) -> Result<Bytes, RelayError> {
    use http_body_util::BodyExt;
    let too_large = || {
        RelayError::TooLarge(format!(
            "The request body is larger than this Realms instance accepts ({} MiB).",
            limit / (1024 * 1024)
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = http_body_util::Limited::new(body, limit);
    let mut buf = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => {
                return Err(RelayError::RequestTimeout(format!(
                    "The request body stopped arriving for {} seconds.",
                    idle.as_secs()
                )))
            }
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => {
                return Err(if e.is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    RelayError::InvalidRequest(
                        "The request body could not be read completely.".into(),
                    )
                });
            }
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
