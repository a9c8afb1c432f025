//! Every error the service answers, as JSON with a stable `code`:
//! `{"code": "…", "message": "…"}`, plus what the code needs (the line and
//! JSON path of a bad event, the diagnostics of a policy that does not check).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::data::InputError;

/// An error, ready to be answered.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// More fields of the body (`line`, `error`, `diagnostics`, …).
    pub extra: Option<Value>,
    /// Seconds to wait before retrying, for 503.
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
            retry_after: None,
        }
    }

    /// A request that breaks the data contract, at its JSON path.
    pub fn input(e: InputError) -> ApiError {
        let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", e.to_string());
        err.extra = Some(json!({"error": {"path": e.path, "message": e.message}}));
        err
    }

    /// A bad line of a batch: the batch is refused whole.
    pub fn line(line: usize, e: InputError) -> ApiError {
        ApiError::input(e).at_line(line)
    }

    /// The same error, said of line `line` of a batch.
    pub fn at_line(mut self, line: usize) -> ApiError {
        self.message = format!("line {line}: {}", self.message);
        let mut extra = self.extra.take().unwrap_or_else(|| json!({}));
        extra["line"] = json!(line);
        self.extra = Some(extra);
        if self.code == "invalid_input" {
            self.code = "invalid_line";
        }
        self
    }

    /// An id already stored with other content.
    pub fn conflict(what: &str, id: &str) -> ApiError {
        let mut err = ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("{what} \"{id}\" is already stored with other content"),
        );
        err.extra = Some(json!({"id": id, "kind": what}));
        err
    }

    /// The store failed (a full disk, an I/O error): nothing was acknowledged.
    pub fn storage(message: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", message)
    }

    /// Too much at once: try again shortly.
    pub fn overloaded(message: impl Into<String>) -> ApiError {
        let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message);
        err.retry_after = Some(1);
        err
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs a bearer token (Authorization: Bearer …)",
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token may not use this endpoint",
        )
    }

    /// A merchant unknown, or not the caller's: one answer for both.
    pub fn no_merchant() -> ApiError {
        ApiError::not_found("no such merchant")
    }

    pub fn no_policy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_policy",
            "no policy is loaded: PUT /v1/policy first",
        )
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"code": self.code, "message": self.message});
        if let (Some(Value::Object(extra)), Value::Object(b)) = (&self.extra, &mut body) {
            for (k, v) in extra {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
