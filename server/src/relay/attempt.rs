//! The attempt phase: the planned attempts in order, failing over to the next only while nothing
//! has reached the client; each failure cools its key or endpoint down, a good answer heals them
//! and keeps the session on its channel.

use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

use app::core::catalog::{CatalogModel, Snapshot};

use super::context::{Answer, Ctx, ErrorClass, Outcome, Tried};
use super::error::RelayError;
use super::health::HealthKey;
use super::protocol::Protocol;
use super::request::ClientRequest;
use super::route::Attempt;
use super::{client, filter, forward, meter, resolve, thinking, upstream, Relay, Reply};

/// What the client asked, as the attempts send it on.
pub(super) struct Asked<'a> {
    pub parts: &'a Parts,
    pub req: &'a ClientRequest,
    pub session: Option<&'a str>,
    pub path_and_query: &'a str,
}

/// The attempts planned for a model.
pub(super) struct Plan<'a> {
    pub model: &'a CatalogModel,
    pub attempts: Vec<Attempt>,
}

/// Statuses after which another channel is tried (while nothing was written to the client).
fn fails_over(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        401 | 403 | 408 | 429 | 500 | 502 | 503 | 504 | 529
    )
}

/// The error type of an answer that is an error sent with a success status.
fn fake_success(protocol: Protocol, status: StatusCode, answer: &Answer) -> Option<String> {
    match answer {
        Answer::Stream { first_error, .. } => first_error.clone(),
        Answer::Whole(_, body) if status.is_success() => {
            meter::error_in_success(protocol.dialect(), body)
        }
        Answer::Whole(..) => None,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl Relay {
    /// Tries the planned attempts in order. An `Err` has not been sent to the client yet.
    pub(super) async fn attempt(
        &self,
        ctx: &mut Ctx,
        snapshot: &Snapshot,
        plan: &Plan<'_>,
        asked: Asked<'_>,
        reply: &mut Reply,
    ) -> Result<Outcome, RelayError> {
        let protocol = ctx.who.protocol;
        let attempts = &plan.attempts;
        let mut last_error = None;
        'attempts: for (i, attempt) in attempts.iter().enumerate() {
            let last_try = i + 1 == attempts.len();
            ctx.tried = Some(Tried {
                attempts: i64::try_from(i + 1).unwrap_or(i64::MAX),
                upstream_model: attempt.upstream_model.to_string(),
                channel_id: attempt.channel.id,
                credential_id: attempt.credential.id,
            });
            let filter = &attempt.channel.filter;
            let mut body = filter::drop_fields(
                &protocol.body_for(asked.req, &attempt.upstream_model),
                filter,
            );
            // Sent at most twice: once more without earlier thinking blocks when the upstream
            // refuses their signatures.
            let mut repaired = false;
            loop {
                let send = match upstream::build(
                    &self.bases,
                    attempt,
                    asked.path_and_query,
                    {
                        let mut headers =
                            protocol.upstream_headers(&asked.parts.headers, &attempt.credential);
                        filter::drop_betas(&mut headers, filter);
                        headers
                    },
                    body.clone(),
                ) {
                    Ok(request) => self.http.send(request),
                    Err(why) => {
                        tracing::error!(request_id = %ctx.who.request_id, channel = %attempt.channel.name, endpoint = %attempt.endpoint, why, "an endpoint of this channel cannot be used");
                        last_error = Some(RelayError::UpstreamUnreachable(
                        "This Realms channel's upstream address cannot be used. Ask an administrator to check the channel.".into(),
                    ));
                        continue 'attempts;
                    }
                };
                // A stream must start within the first-byte time; a whole answer must be complete
                // within the request time, counted from this attempt.
                let attempt_started = Instant::now();
                let wait = if ctx.stream() {
                    self.config.first_byte_timeout
                } else {
                    self.config.request_timeout
                };
                let endpoint_key =
                    HealthKey::Endpoint(attempt.channel.id, attempt.endpoint.clone());
                let credential_key = HealthKey::Credential(attempt.credential.id);
                let answered = tokio::select! {
                    answered = tokio::time::timeout(wait, send) => answered,
                    () = self.stop.cancelled() => return Err(forward::shutting_down()),
                };
                match answered {
                    Err(_) => {
                        self.cool_down(endpoint_key, None);
                        self.failed_over(ctx, attempt, "no answer in time");
                        last_error = Some(RelayError::UpstreamTimeout(format!(
                            "The upstream did not answer within {} seconds. Retry the request.",
                            wait.as_secs()
                        )));
                    }
                    Ok(Err(e)) => {
                        self.cool_down(endpoint_key, None);
                        self.failed_over(
                            ctx,
                            attempt,
                            &format!("connection failed: {}", client::describe(&e)),
                        );
                        last_error = Some(RelayError::UpstreamUnreachable(format!(
                        "Realms could not reach an upstream for {} (tried {} channel{}). Retry shortly.",
                        ctx.model(),
                        i + 1,
                        if i == 0 { "" } else { "s" }
                    )));
                    }
                    Ok(Ok(res)) => {
                        let status = res.status();
                        // count_tokens has rate limits of its own upstream: its 429 says nothing about
                        // the key's messages, so it neither cools the key down nor fails over.
                        let own_limit = protocol == Protocol::CountTokens
                            && status == StatusCode::TOO_MANY_REQUESTS;
                        if own_limit {
                            // Passed to the client as the upstream sent it.
                        } else if fails_over(status) {
                            self.cool_down(credential_key.clone(), retry_after(res.headers()));
                            if !last_try {
                                self.failed_over(ctx, attempt, &format!("status {status}"));
                                continue 'attempts;
                            }
                            if matches!(status.as_u16(), 401 | 403) {
                                tracing::error!(request_id = %ctx.who.request_id, channel = %attempt.channel.name, credential_id = attempt.credential.id, %status, "the upstream refused the channel's key");
                                return Err(RelayError::UpstreamUnreachable(
                                "The upstream refused this Realms channel's API key. Ask an administrator to check the channel.".into(),
                            ));
                            }
                        }
                        let mut healthy = !own_limit && !fails_over(status);
                        // A whole answer is read before anything goes to the client: if it breaks
                        // off or stalls, the next channel can still answer.
                        let answer = match self.receive(ctx, res, attempt_started + wait).await {
                            Ok(answer) => answer,
                            Err(e) if matches!(e, RelayError::ShuttingDown(_)) => return Err(e),
                            Err(e) => {
                                self.cool_down(endpoint_key, None);
                                if last_try {
                                    return Err(e);
                                }
                                self.failed_over(ctx, attempt, e.message());
                                last_error = Some(e);
                                continue 'attempts;
                            }
                        };
                        // Thinking blocks signed by another upstream: the same attempt once more
                        // without them.
                        if !repaired && status == StatusCode::BAD_REQUEST {
                            if let Some(stripped) = match &answer {
                                Answer::Whole(_, refused)
                                    if thinking::refused_signature(refused) =>
                                {
                                    thinking::without_thinking(&body)
                                }
                                _ => None,
                            } {
                                tracing::info!(request_id = %ctx.who.request_id, channel = %attempt.channel.name, "the upstream refused earlier thinking blocks' signatures: sending the request again without them");
                                body = stripped;
                                repaired = true;
                                ctx.thinking_stripped = true;
                                continue;
                            }
                        }
                        // An error sent as a success (an error body with status 200, or a stream
                        // whose first event is an error) fails over like a 5xx; the last attempt's
                        // goes to the client as an error.
                        let mut status = status;
                        if let Some(kind) = fake_success(protocol, status, &answer) {
                            self.cool_down(credential_key.clone(), None);
                            healthy = false;
                            if !last_try {
                                self.failed_over(
                                    ctx,
                                    attempt,
                                    &format!("an error ({kind}) sent as a success"),
                                );
                                last_error = Some(RelayError::UpstreamUnreachable(format!(
                                "The upstream answered with an error ({kind}). Retry the request."
                            )));
                                continue 'attempts;
                            }
                            if matches!(answer, Answer::Whole(..)) {
                                status = meter::status_of_error_type(&kind);
                            }
                        } else if let (true, Some(s)) = (status.is_success(), asked.session) {
                            self.sticky.set(s, attempt.sticky_target(), Instant::now());
                        }
                        let outcome = match answer {
                            Answer::Stream { start, .. } => {
                                let withhold = protocol.withholds_usage(asked.req);
                                self.relay_stream(ctx, start, status, reply, withhold).await
                            }
                            Answer::Whole(headers, body) => {
                                self.send_whole(ctx, status, headers, body, reply).await
                            }
                        };
                        // Health is judged on the whole answer: an upstream that breaks off its
                        // streams cools down (and backs off further each time) like one that fails
                        // before the first byte, instead of keeping its share of traffic.
                        let broke = outcome
                            .error_class
                            .as_ref()
                            .is_some_and(ErrorClass::is_upstream_break);
                        if broke {
                            self.cool_down(endpoint_key, None);
                        } else if healthy {
                            self.health.success(&credential_key);
                            self.health.success(&endpoint_key);
                        }
                        return Ok(outcome);
                    }
                }
                continue 'attempts;
            }
        }
        Err(last_error.unwrap_or_else(|| resolve::no_route(snapshot, plan.model, protocol)))
    }

    fn failed_over(&self, ctx: &Ctx, attempt: &Attempt, why: &str) {
        self.metrics.failovers.inc();
        tracing::warn!(
            request_id = %ctx.who.request_id,
            channel = %attempt.channel.name,
            credential_id = attempt.credential.id,
            attempt = ctx.tried.as_ref().map_or(0, |t| t.attempts),
            why,
            "upstream attempt failed"
        );
    }

    fn cool_down(&self, key: HealthKey, retry_after: Option<Duration>) {
        self.metrics.cooldowns.inc();
        self.health.failure(key, Instant::now(), retry_after);
    }
}
