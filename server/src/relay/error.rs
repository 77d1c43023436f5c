//! The data plane's one error type. It knows its cause and its status, and renders the error shape
//! of the API the client called, in one place: Anthropic's
//! `{"type":"error","error":{"type":…,"message":…}}` or OpenAI's
//! `{"error":{"message":…,"type":…,"param":null,"code":…}}`, as a body or as an in-stream event.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub use app::claude_code::{ERROR_CLASS_HEADER, REQUEST_ID_HEADER};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayError {
    /// Missing, unknown, revoked or expired token, or a disabled user.
    Unauthenticated(String),
    /// The token stopped being valid while its answer was streaming.
    Revoked(String),
    /// The request itself is wrong (malformed JSON, missing model).
    InvalidRequest(String),
    /// The model is unknown or not enabled.
    NotFound(String),
    /// The body is over the size limit.
    TooLarge(String),
    /// The client stopped sending its request body.
    RequestTimeout(String),
    /// The balance cannot cover the request.
    PaymentRequired(String),
    /// The request is not allowed (a model without prices while billing is on).
    Forbidden(String),
    /// The token (or its user) does not accept this client.
    ClientRefused(String),
    /// A limit of the token or user was reached.
    RateLimited {
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// No channel can take the request now.
    Unavailable(String),
    /// Realms is stopping and ended the request.
    ShuttingDown(String),
    /// Every attempt failed to reach an upstream (connection errors).
    UpstreamUnreachable(String),
    /// The upstream did not answer in time.
    UpstreamTimeout(String),
    /// The upstream's event stream ended before the answer was complete (no final event).
    StreamTruncated(String),
    /// A fault in Realms itself.
    Internal(String),
}

impl RelayError {
    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::Unauthenticated(_) | RelayError::Revoked(_) => StatusCode::UNAUTHORIZED,
            RelayError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            RelayError::NotFound(_) => StatusCode::NOT_FOUND,
            RelayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            RelayError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            RelayError::Forbidden(_) | RelayError::ClientRefused(_) => StatusCode::FORBIDDEN,
            RelayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            RelayError::Unavailable(_) | RelayError::ShuttingDown(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RelayError::UpstreamUnreachable(_) | RelayError::StreamTruncated(_) => {
                StatusCode::BAD_GATEWAY
            }
            RelayError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            RelayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error.type` of Anthropic's error shape.
    pub fn kind(&self) -> &'static str {
        match self {
            RelayError::Unauthenticated(_) | RelayError::Revoked(_) => "authentication_error",
            RelayError::InvalidRequest(_) => "invalid_request_error",
            RelayError::NotFound(_) => "not_found_error",
            RelayError::TooLarge(_) => "request_too_large",
            RelayError::RequestTimeout(_) => "timeout_error",
            RelayError::PaymentRequired(_) => "billing_error",
            RelayError::Forbidden(_) | RelayError::ClientRefused(_) => "permission_error",
            RelayError::RateLimited { .. } => "rate_limit_error",
            RelayError::Unavailable(_) | RelayError::ShuttingDown(_) => "overloaded_error",
            RelayError::UpstreamUnreachable(_) | RelayError::StreamTruncated(_) => "api_error",
            RelayError::UpstreamTimeout(_) => "timeout_error",
            RelayError::Internal(_) => "api_error",
        }
    }

    /// The error class recorded in the usage log.
    pub fn class(&self) -> &'static str {
        match self {
            RelayError::Unauthenticated(_) => "authentication",
            RelayError::Revoked(_) => "token_revoked",
            RelayError::InvalidRequest(_) => "invalid_request",
            RelayError::NotFound(_) => "model_not_found",
            RelayError::TooLarge(_) => "request_too_large",
            RelayError::RequestTimeout(_) => "client_timeout",
            RelayError::PaymentRequired(_) => "insufficient_balance",
            RelayError::Forbidden(_) => "model_unpriced",
            RelayError::ClientRefused(_) => "client_refused",
            RelayError::RateLimited { .. } => "rate_limited",
            RelayError::Unavailable(_) => "no_channel",
            RelayError::ShuttingDown(_) => "shutdown",
            RelayError::UpstreamUnreachable(_) => "upstream_unreachable",
            RelayError::UpstreamTimeout(_) => "upstream_timeout",
            RelayError::StreamTruncated(_) => "stream_truncated",
            RelayError::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            RelayError::Unauthenticated(m)
            | RelayError::Revoked(m)
            | RelayError::InvalidRequest(m)
            | RelayError::NotFound(m)
            | RelayError::TooLarge(m)
            | RelayError::RequestTimeout(m)
            | RelayError::PaymentRequired(m)
            | RelayError::Forbidden(m)
            | RelayError::ClientRefused(m)
            | RelayError::RateLimited { message: m, .. }
            | RelayError::Unavailable(m)
            | RelayError::ShuttingDown(m)
            | RelayError::UpstreamUnreachable(m)
            | RelayError::UpstreamTimeout(m)
            | RelayError::StreamTruncated(m)
            | RelayError::Internal(m) => m,
        }
    }

    /// The JSON body in Anthropic's shape, fields in Anthropic's order.
    pub fn body(&self) -> String {
        #[derive(serde::Serialize)]
        struct Detail<'a> {
            r#type: &'a str,
            message: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            r#type: &'a str,
            error: Detail<'a>,
        }
        serde_json::to_string(&Body {
            r#type: "error",
            error: Detail {
                r#type: self.kind(),
                message: self.message(),
            },
        })
        .unwrap_or_else(|_| {
            r#"{"type":"error","error":{"type":"api_error","message":"Internal error."}}"#
                .to_string()
        })
    }

    /// The SSE `error` event sent when a stream fails after bytes were written.
    pub fn sse_event(&self) -> String {
        format!("event: error\ndata: {}\n\n", self.body())
    }

    /// OpenAI's `error.type` and `error.code`.
    pub fn openai_kind(&self) -> (&'static str, Option<&'static str>) {
        match self {
            RelayError::Unauthenticated(_) | RelayError::Revoked(_) => {
                ("invalid_request_error", Some("invalid_api_key"))
            }
            RelayError::InvalidRequest(_) => ("invalid_request_error", None),
            RelayError::NotFound(_) => ("invalid_request_error", Some("model_not_found")),
            RelayError::TooLarge(_) => ("invalid_request_error", Some("request_too_large")),
            RelayError::RequestTimeout(_) => ("invalid_request_error", Some("timeout")),
            RelayError::PaymentRequired(_) => ("insufficient_quota", Some("insufficient_quota")),
            RelayError::Forbidden(_) => ("permission_error", Some("model_unpriced")),
            RelayError::ClientRefused(_) => ("permission_error", Some("client_refused")),
            RelayError::RateLimited { .. } => ("rate_limit_error", Some("rate_limit_exceeded")),
            RelayError::Unavailable(_) | RelayError::ShuttingDown(_) => {
                ("server_error", Some("service_unavailable"))
            }
            RelayError::UpstreamUnreachable(_) | RelayError::StreamTruncated(_) => {
                ("server_error", Some("upstream_error"))
            }
            RelayError::UpstreamTimeout(_) => ("server_error", Some("timeout")),
            RelayError::Internal(_) => ("server_error", None),
        }
    }

    /// The JSON body in OpenAI's shape.
    pub fn openai_body(&self) -> String {
        let (kind, code) = self.openai_kind();
        serde_json::json!({
            "error": { "message": self.message(), "type": kind, "param": null, "code": code }
        })
        .to_string()
    }

    /// The response in `shape`, tagged with Realms' request id when there is one.
    pub fn response_in(self, shape: Shape, request_id: Option<&str>) -> Response {
        let body = match shape {
            Shape::Anthropic => self.body(),
            Shape::OpenAi => self.openai_body(),
        };
        self.respond(body, request_id)
    }

    /// The response, tagged with Realms' request id when there is one.
    pub fn into_response_with_id(self, request_id: Option<&str>) -> Response {
        let body = self.body();
        self.respond(body, request_id)
    }

    fn respond(self, body: String, request_id: Option<&str>) -> Response {
        let mut res = (
            self.status(),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            res.headers_mut().insert(REQUEST_ID_HEADER, id);
        }
        res.headers_mut()
            .insert(ERROR_CLASS_HEADER, HeaderValue::from_static(self.class()));
        if let RelayError::RateLimited {
            retry_after: Some(wait),
            ..
        } = &self
        {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// Which error shape a caller reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Anthropic,
    OpenAi,
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        self.into_response_with_id(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_in_anthropic_shape() {
        let e = RelayError::NotFound("The model x is not available.".into());
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            e.body(),
            r#"{"type":"error","error":{"type":"not_found_error","message":"The model x is not available."}}"#
        );
        let sse = RelayError::UpstreamUnreachable("gone".into()).sse_event();
        assert!(sse.starts_with("event: error\ndata: {"));
        assert!(sse.ends_with("}\n\n"));
        assert_eq!(
            RelayError::TooLarge(String::new()).kind(),
            "request_too_large"
        );
        assert_eq!(RelayError::TooLarge(String::new()).status().as_u16(), 413);
    }

    #[test]
    fn errors_render_in_openai_shape() {
        let e = RelayError::Unauthenticated("The Realms token is not valid.".into());
        let v: serde_json::Value = serde_json::from_str(&e.openai_body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({ "error": { "message": "The Realms token is not valid.",
                "type": "invalid_request_error", "param": null, "code": "invalid_api_key" } })
        );
        let e = RelayError::PaymentRequired("x".into());
        assert_eq!(
            e.openai_kind(),
            ("insufficient_quota", Some("insufficient_quota"))
        );
        assert_eq!(
            RelayError::NotFound("x".into()).openai_kind().1,
            Some("model_not_found")
        );
    }
}
