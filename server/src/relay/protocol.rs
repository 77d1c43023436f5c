//! The protocol seam: everything that differs between the APIs Realms serves — Anthropic messages
//! (and their token counting), OpenAI chat completions and OpenAI responses. The pipeline asks the
//! protocol and never names an API itself; adding one is a variant here and its meter.
//!
//! A protocol says which request fields carry the output limit and the session, what body goes
//! upstream (a chat stream always asks the upstream for its usage), which headers carry the channel
//! key, how its answers are metered (whole and streamed), which error shape the client reads (as a
//! body and inside a stream), and which channel type may carry it.

use axum::http::HeaderMap;
use bytes::Bytes;

use app::core::catalog::CatalogCredential;
use app::core::usage_log::TokenCounts;
use app::types::ChannelKind;

use super::error::{RelayError, Shape};
use super::meter::{self, Dialect};
use super::request::{self, ClientRequest};
use super::upstream;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/responses`.
    Responses,
}

impl Protocol {
    /// The API's name in the usage log and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Messages => "messages",
            Protocol::CountTokens => "count_tokens",
            Protocol::ChatCompletions => "chat.completions",
            Protocol::Responses => "responses",
        }
    }

    /// The path clients call (and the upstream is called on, after its base URL).
    pub fn path(self) -> &'static str {
        match self {
            Protocol::Messages => "/v1/messages",
            Protocol::CountTokens => "/v1/messages/count_tokens",
            Protocol::ChatCompletions => "/v1/chat/completions",
            Protocol::Responses => "/v1/responses",
        }
    }

    /// The only channel type that may carry it (until protocols are translated).
    pub fn channel_kind(self) -> ChannelKind {
        match self {
            Protocol::Messages | Protocol::CountTokens => ChannelKind::Anthropic,
            Protocol::ChatCompletions | Protocol::Responses => ChannelKind::Openai,
        }
    }

    /// Whether its answers cost anything (token counting never does).
    pub fn billed(self) -> bool {
        self != Protocol::CountTokens
    }

    pub fn shape(self) -> Shape {
        match self.channel_kind() {
            ChannelKind::Anthropic => Shape::Anthropic,
            ChannelKind::Openai => Shape::OpenAi,
        }
    }

    /// Whether the request asks for a stream.
    pub fn streams(self, req: &ClientRequest) -> bool {
        req.stream && self != Protocol::CountTokens
    }

    /// The most output tokens the request allows, as the API names the field.
    pub fn max_output(self, req: &ClientRequest) -> Option<u64> {
        match self {
            Protocol::Messages | Protocol::CountTokens => req.max_tokens,
            Protocol::ChatCompletions => req.max_completion_tokens.or(req.max_tokens),
            Protocol::Responses => req.max_output_tokens,
        }
    }

    /// The session the request belongs to, for sticky routing.
    pub fn session(self, headers: &HeaderMap, req: &ClientRequest) -> Option<String> {
        match self {
            Protocol::Messages | Protocol::CountTokens => request::session_id(headers, req),
            Protocol::ChatCompletions | Protocol::Responses => None,
        }
    }

    /// True when Realms asks the upstream for the usage of a chat stream the client did not ask
    /// it for: the usage chunk is then read and kept from the client.
    pub fn withholds_usage(self, req: &ClientRequest) -> bool {
        self == Protocol::ChatCompletions && req.stream && !req.include_usage
    }

    /// The body for the upstream.
    pub fn body_for(self, req: &ClientRequest, upstream_model: &str) -> Bytes {
        if self.withholds_usage(req) {
            req.body_with_usage(upstream_model)
        } else {
            req.body_for(upstream_model)
        }
    }

    /// The headers for the upstream, carrying the channel's key as the API expects it.
    pub fn upstream_headers(self, client: &HeaderMap, key: &CatalogCredential) -> HeaderMap {
        match self.channel_kind() {
            ChannelKind::Anthropic => upstream::anthropic_headers(client, key),
            ChannelKind::Openai => upstream::openai_headers(client, key),
        }
    }

    pub fn dialect(self) -> Dialect {
        match self {
            Protocol::Messages | Protocol::CountTokens => Dialect::Anthropic,
            Protocol::ChatCompletions => Dialect::Chat,
            Protocol::Responses => Dialect::Responses,
        }
    }

    /// The token counts of a whole successful answer.
    pub fn whole_tokens(self, body: &[u8]) -> TokenCounts {
        match self {
            Protocol::Messages => meter::from_message(body),
            Protocol::CountTokens => TokenCounts::default(),
            Protocol::ChatCompletions => meter::openai::from_chat(body),
            Protocol::Responses => meter::openai::from_response(body),
        }
    }

    /// The event that tells a streaming client its answer failed after it started.
    pub fn error_event(self, e: &RelayError) -> String {
        match self {
            Protocol::Messages | Protocol::CountTokens => e.sse_event(),
            Protocol::ChatCompletions => format!("data: {}\n\n", e.openai_body()),
            Protocol::Responses => {
                let (_, code) = e.openai_kind();
                let data = serde_json::json!({
                    "type": "error", "code": code.unwrap_or("server_error"),
                    "message": e.message(), "param": null,
                });
                format!("event: error\ndata: {data}\n\n")
            }
        }
    }

    /// The error response in this API's shape.
    pub fn error_response(
        self,
        e: RelayError,
        request_id: Option<&str>,
    ) -> axum::response::Response {
        e.response_in(self.shape(), request_id)
    }

    /// What an API's channel type is called in messages.
    pub fn kind_label(kind: ChannelKind) -> &'static str {
        match kind {
            ChannelKind::Anthropic => "Anthropic",
            ChannelKind::Openai => "OpenAI",
        }
    }
}
