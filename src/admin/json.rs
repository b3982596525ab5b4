//! Admin API responses: JSON bodies, and every admin error mapped to its status in one place.

use http::Response;
use serde_json::{json, Value};

/// Everything an admin call can fail with; [`ApiError::status`] and [`ApiError::kind`] are the
/// only place these become HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("the admin API is disabled: set `admin.token` in the config (e.g. `token: ${{GENOPS_ADMIN_TOKEN}}`) and reload")]
    NoToken,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}")]
    Conflict(String),
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    #[error("the configuration was refused ({} problem(s)); the running configuration stays", .0.len())]
    InvalidConfig(Vec<String>),
    #[error("ledger unavailable: {0}")]
    Ledger(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized(_) => 401,
            ApiError::NoToken => 403,
            ApiError::BadRequest(_) | ApiError::InvalidConfig(_) => 400,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::Internal(_) => 500,
            ApiError::Ledger(_) => 503,
        }
    }

    /// The `error.type` label (low cardinality).
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NoToken => "admin_disabled",
            ApiError::BadRequest(_) => "invalid_request_error",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "request_too_large",
            ApiError::InvalidConfig(_) => "invalid_config",
            ApiError::Ledger(_) => "ledger_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn into_response(self) -> Response<Vec<u8>> {
        let mut error = json!({"message": self.to_string(), "type": self.kind()});
        if let ApiError::InvalidConfig(errors) = &self {
            error["errors"] = json!(errors);
        }
        json_response(self.status(), &json!({ "error": error }))
    }
}

impl From<crate::ledger::LedgerError> for ApiError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        ApiError::Ledger(e.to_string())
    }
}

pub fn json_response(status: u16, body: &Value) -> Response<Vec<u8>> {
    body_response(status, "application/json", body.to_string())
}

pub fn body_response(
    status: u16,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> Response<Vec<u8>> {
    let body = body.into();
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_LENGTH, body.len())
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(body)
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

/// RFC 3339 UTC with seconds (`2026-11-21T10:00:00Z`); `None` outside chrono's range.
pub fn rfc3339_ms(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}
