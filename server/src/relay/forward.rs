//! The forward phase: the upstream's answer to the client, whole (read completely first, so a
//! break can still fail over) or as a stream relayed chunk by chunk, metered on the way.

use std::convert::Infallible;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use app::core::usage_log::TokenCounts;

use super::client::UpstreamBody;
use super::context::{Answer, Ctx, ErrorClass, Outcome, StreamStart};
use super::error::{RelayError, REQUEST_ID_HEADER};
use super::{meter, upstream, Relay, Reply};

/// The largest whole (not streamed) upstream answer Realms reads.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What reading the next piece of an answer gave.
enum Read {
    Chunk(Bytes),
    End,
    Broke(hyper::Error),
    /// Nothing within the idle time.
    Idle,
    /// The deadline passed.
    Late,
    /// Realms is shutting down.
    Stopped,
}

/// The most a stream may send before its first event is complete.
const MAX_FIRST_EVENT_BYTES: usize = 1024 * 1024;

/// The failure of a stream that ended (or went on) without the answer being complete.
fn truncated(how: &str) -> RelayError {
    RelayError::StreamTruncated(format!(
        "The upstream's event stream {how}: the answer is incomplete. Retry the request."
    ))
}

impl Relay {
    /// Takes the upstream's answer: a success event stream is handed on to be relayed chunk by
    /// chunk; anything else is read whole, each piece within the idle time and all of it by
    /// `deadline` (for a stream, only its headers count against the first-byte time).
    pub(super) async fn receive(
        &self,
        ctx: &mut Ctx,
        res: http::Response<Incoming>,
        deadline: Instant,
    ) -> Result<Answer, RelayError> {
        let (parts, body) = res.into_parts();
        let mut res = UpstreamBody::new(body);
        let status = parts.status;
        let mut headers = upstream::response_headers(&parts.headers);
        if let Ok(id) = HeaderValue::from_str(&ctx.who.request_id) {
            headers.insert(REQUEST_ID_HEADER, id);
        }
        let is_sse = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_sse && status.is_success() {
            return self.first_event(ctx, res, headers, deadline).await;
        }
        ctx.ttfb = Some(ctx.who.started.elapsed());
        let mut buf = bytes::BytesMut::new();
        loop {
            match self.read_by(&mut res, deadline).await {
                Read::Late => {
                    return Err(RelayError::UpstreamTimeout(format!(
                        "The upstream did not finish its answer within {} seconds.",
                        self.config.request_timeout.as_secs()
                    )))
                }
                Read::Stopped => return Err(shutting_down()),
                Read::Chunk(chunk) => {
                    if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
                        tracing::error!(request_id = %ctx.who.request_id, limit = MAX_ANSWER_BYTES, "the upstream answer is larger than Realms accepts");
                        return Err(RelayError::UpstreamUnreachable(
                            "The upstream's answer was larger than this Realms instance accepts."
                                .into(),
                        ));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Read::End => return Ok(Answer::Whole(headers, buf.freeze())),
                Read::Broke(e) => {
                    tracing::warn!(request_id = %ctx.who.request_id, error = %e, "the upstream answer broke off");
                    return Err(RelayError::UpstreamUnreachable(
                        "The upstream connection broke before the answer was complete. Retry the request.".into(),
                    ));
                }
                Read::Idle => {
                    return Err(RelayError::UpstreamTimeout(format!(
                        "The upstream sent nothing for {} seconds in the middle of its answer.",
                        self.config.idle_timeout.as_secs()
                    )))
                }
            }
        }
    }

    /// Reads a stream up to its first event (each piece within the idle time and all of it by
    /// `deadline`): an error there, or a stream that ends before any event, is still a failure
    /// that can fail over, since nothing reached the client yet.
    async fn first_event(
        &self,
        ctx: &mut Ctx,
        mut res: UpstreamBody,
        headers: HeaderMap,
        deadline: Instant,
    ) -> Result<Answer, RelayError> {
        let mut first = meter::FirstEvent::new(ctx.who.protocol.dialect());
        let mut buf = bytes::BytesMut::new();
        loop {
            match self.read_by(&mut res, deadline).await {
                Read::Late => {
                    return Err(RelayError::UpstreamTimeout(format!(
                    "The upstream did not start its answer within {} seconds. Retry the request.",
                    self.config.first_byte_timeout.as_secs()
                )))
                }
                Read::Stopped => return Err(shutting_down()),
                Read::Chunk(chunk) => {
                    if ctx.ttfb.is_none() {
                        ctx.ttfb = Some(ctx.who.started.elapsed());
                    }
                    let prefix = if buf.is_empty() {
                        chunk
                    } else {
                        buf.extend_from_slice(&chunk);
                        buf.split().freeze()
                    };
                    if let Some(first_error) = first.read(&prefix) {
                        return Ok(Answer::Stream {
                            start: StreamStart {
                                res,
                                headers,
                                prefix,
                            },
                            first_error,
                        });
                    }
                    if prefix.len() > MAX_FIRST_EVENT_BYTES {
                        return Err(truncated("sent more than 1 MiB without a complete event"));
                    }
                    buf = bytes::BytesMut::from(prefix);
                }
                Read::End => return Err(truncated("ended before its first event")),
                Read::Broke(e) => {
                    tracing::warn!(request_id = %ctx.who.request_id, error = %e, "the upstream stream broke off before its first event");
                    return Err(RelayError::UpstreamUnreachable(
                        "The upstream connection broke before the answer started. Retry the request.".into(),
                    ));
                }
                // Before its first event a stream is bound by the first-byte time only.
                Read::Idle => continue,
            }
        }
    }

    /// The next piece of an answer being read before anything goes to the client: within the idle
    /// time, and by `deadline`.
    async fn read_by(&self, res: &mut UpstreamBody, deadline: Instant) -> Read {
        let now = Instant::now();
        if now >= deadline {
            return Read::Late;
        }
        let wait = (deadline - now).min(self.config.idle_timeout);
        tokio::select! {
            next = tokio::time::timeout(wait, res.chunk()) => match next {
                Ok(Ok(Some(chunk))) => Read::Chunk(chunk),
                Ok(Ok(None)) => Read::End,
                Ok(Err(e)) => Read::Broke(e),
                Err(_) if Instant::now() >= deadline => Read::Late,
                Err(_) => Read::Idle,
            },
            () = self.stop.cancelled() => Read::Stopped,
        }
    }

    /// Sends a whole answer to the client; a billable one is settled (stored) first.
    pub(super) async fn send_whole(
        &self,
        ctx: &mut Ctx,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        reply: &mut Reply,
    ) -> Outcome {
        let tokens = if status.is_success() {
            ctx.who.protocol.whole_tokens(&body)
        } else {
            TokenCounts::default()
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let outcome = |gone: bool| Outcome {
            status,
            error_class: if gone {
                Some(ErrorClass::ClientDisconnected)
            } else {
                ErrorClass::of_status(status)
            },
            tokens,
            estimated: false,
            disconnected: gone,
        };
        if !tokens.is_zero() {
            // A billable answer is stored before it goes out: a crash after this point loses
            // nothing the client received.
            let outcome = outcome(reply.is_gone());
            self.settle(ctx, outcome.clone()).await;
            reply.send(response);
            return outcome;
        }
        let delivered = reply.send(response);
        outcome(!delivered)
    }

    /// Forwards an event stream chunk by chunk as it arrives, reading usage on the way. After the
    /// first byte nothing fails over: a broken upstream becomes the protocol's in-stream error
    /// event. When the client goes away the upstream is still read for a bounded time to learn the
    /// final usage. With `withhold` (a chat stream whose usage Realms asked for, not the client),
    /// complete events are forwarded one by one and the usage chunk is kept back.
    pub(super) async fn relay_stream(
        &self,
        ctx: &mut Ctx,
        start: StreamStart,
        status: StatusCode,
        reply: &mut Reply,
        withhold: bool,
    ) -> Outcome {
        let StreamStart {
            mut res,
            mut headers,
            prefix,
        } = start;
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        self.metrics.open_streams.inc();
        let _open = OpenStream(&self.metrics);
        let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
        let mut response = Response::new(Body::from_stream(ReceiverStream::new(rx)));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let mut gone = !reply.send(response);
        let drain = self.config.disconnect_drain;
        let mut drain_until = gone.then(|| Instant::now() + drain);
        let mut tap = meter::SseTap::new(ctx.who.protocol.dialect());
        let mut pending = bytes::BytesMut::new();
        let mut failure: Option<RelayError> = None;
        let running = self.running.enter(ctx.who.owner.token_id);
        // What was read to see the first event goes first.
        let mut prefix = Some(prefix);
        loop {
            let wait = match drain_until {
                Some(until) => until
                    .saturating_duration_since(Instant::now())
                    .min(self.config.idle_timeout),
                None => self.config.idle_timeout,
            };
            let next = if let Some(read) = prefix.take() {
                Ok(Ok(Some(read)))
            } else {
                tokio::select! {
                next = tokio::time::timeout(wait, res.chunk()) => next,
                () = self.stop.cancelled() => {
                    failure = Some(shutting_down());
                    break;
                }
                () = running.ended.cancelled() => {
                    failure = Some(RelayError::Revoked(
                        "This Realms token was revoked (or its account disabled) while the answer was streaming; the rest of the answer was not sent.".into(),
                    ));
                    break;
                }
                _ = tx.closed(), if !gone => {
                    gone = true;
                    drain_until = Some(Instant::now() + drain);
                    continue;
                }
                }
            };
            match next {
                Ok(Ok(Some(chunk))) => {
                    let pieces = if withhold {
                        pending.extend_from_slice(&chunk);
                        complete_events(&mut pending)
                    } else {
                        vec![chunk]
                    };
                    for piece in pieces {
                        tap.feed_relayed(&piece, !gone);
                        let kept_back = withhold && tap.usage.usage_only;
                        if tap.usage.stopped && !ctx.settled {
                            // The answer is complete: store it before its last bytes go out.
                            let (tokens, estimated) = tap.usage.billed();
                            let outcome = Outcome {
                                status,
                                error_class: stream_class(gone, None, &tap.usage),
                                tokens,
                                estimated,
                                disconnected: gone,
                            };
                            self.settle(ctx, outcome).await;
                        }
                        if !kept_back && !gone && tx.send(Ok(piece)).await.is_err() {
                            gone = true;
                            drain_until = Some(Instant::now() + drain);
                        }
                    }
                }
                Ok(Ok(None)) => {
                    // What followed the last complete event goes out as it came.
                    if !pending.is_empty() && !gone {
                        let _ = tx.send(Ok(pending.split().freeze())).await;
                    }
                    // An end without the final event (and without an error event the client
                    // already has) is a cut answer, not a complete one.
                    if !tap.usage.stopped && tap.usage.error.is_none() {
                        tracing::warn!(request_id = %ctx.who.request_id, "the upstream stream ended before the answer was complete");
                        failure = Some(truncated("ended before its final event"));
                    }
                    break;
                }
                Ok(Err(e)) => {
                    tracing::warn!(request_id = %ctx.who.request_id, error = %e, "the upstream stream broke off");
                    failure = Some(RelayError::UpstreamUnreachable(
                        "The upstream connection broke during the answer. Retry the request."
                            .into(),
                    ));
                    break;
                }
                Err(_) if drain_until.is_some() => break,
                Err(_) => {
                    failure = Some(RelayError::UpstreamTimeout(format!(
                        "The upstream sent nothing for {} seconds.",
                        self.config.idle_timeout.as_secs()
                    )));
                    break;
                }
            }
        }
        if let (Some(e), false) = (&failure, gone) {
            let _ = tx
                .send(Ok(Bytes::from(ctx.who.protocol.error_event(e))))
                .await;
        }
        drop(tx);
        let error_class = stream_class(gone, failure.as_ref(), &tap.usage);
        let (tokens, estimated) = tap.usage.billed();
        Outcome {
            status,
            error_class,
            tokens,
            estimated,
            disconnected: gone,
        }
    }
}

pub(super) fn shutting_down() -> RelayError {
    RelayError::ShuttingDown(
        "Realms is restarting and ended this request. Retry it in a few seconds.".into(),
    )
}

/// Counts a stream as open until dropped.
struct OpenStream<'a>(&'a crate::metrics::Metrics);

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.0.open_streams.dec();
    }
}

/// The error class of a stream's usage event.
fn stream_class(
    gone: bool,
    failure: Option<&RelayError>,
    usage: &meter::StreamUsage,
) -> Option<ErrorClass> {
    if gone {
        Some(ErrorClass::ClientDisconnected)
    } else if let Some(e) = failure {
        Some(ErrorClass::of(e))
    } else {
        usage.error.clone().map(ErrorClass::UpstreamEvent)
    }
}

/// Takes the complete events (each ending in a blank line) off the front of `pending`.
fn complete_events(pending: &mut bytes::BytesMut) -> Vec<Bytes> {
    let mut out = Vec::new();
    loop {
        let end = pending.windows(2).enumerate().find_map(|(i, w)| match w {
            b"\n\n" => Some(i + 2),
            b"\r\n" if pending[i..].starts_with(b"\r\n\r\n") => Some(i + 4),
            _ => None,
        });
        match end {
            Some(end) => out.push(pending.split_to(end).freeze()),
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_taken_whole_whatever_the_line_ends() {
        let mut p = bytes::BytesMut::from(&b"data: a\n\ndata: b\r\n\r\ndata: c"[..]);
        let events = complete_events(&mut p);
        assert_eq!(
            events,
            vec![
                Bytes::from_static(b"data: a\n\n"),
                Bytes::from_static(b"data: b\r\n\r\n")
            ]
        );
        assert_eq!(&p[..], b"data: c");
        p.extend_from_slice(b"\n\n");
        assert_eq!(
            complete_events(&mut p),
            vec![Bytes::from_static(b"data: c\n\n")]
        );
        assert!(p.is_empty());
    }
}
