//! Errors the gateway answers with itself, mapped in one place to status and the caller's format.

use bytes::Bytes;

use crate::provider::ProviderKind;

/// The body format the caller's SDK expects for an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    OpenAi,
    Anthropic,
    Gemini,
}

impl ErrorFormat {
    pub fn for_provider(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::Openai => ErrorFormat::OpenAi,
            ProviderKind::Anthropic => ErrorFormat::Anthropic,
            ProviderKind::Gemini => ErrorFormat::Gemini,
        }
    }
}

/// Why the gateway refused or failed a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayError {
    InvalidKey(String),
    BudgetExceeded(String),
    PolicyViolation(String),
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    BadRequest(String),
    BodyTooLarge(u64),
    UnknownProvider(String),
    UpstreamUnreachable(String),
    UpstreamTimeout(String),
    /// The governance store cannot be reached and the config says fail closed.
    StoreUnavailable(String),
}

impl GatewayError {
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::InvalidKey(_) => 401,
            GatewayError::BudgetExceeded(_) => 402,
            GatewayError::PolicyViolation(_) => 403,
            GatewayError::RateLimited { .. } => 429,
            GatewayError::BadRequest(_) => 400,
            GatewayError::BodyTooLarge(_) => 413,
            GatewayError::UnknownProvider(_) => 404,
            GatewayError::UpstreamUnreachable(_) => 502,
            GatewayError::UpstreamTimeout(_) => 504,
            GatewayError::StoreUnavailable(_) => 503,
        }
    }

    /// Short, low-cardinality label for `error.type` and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            GatewayError::InvalidKey(_) => "invalid_api_key",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::PolicyViolation(_) => "policy_violation",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::BadRequest(_) => "invalid_request",
            GatewayError::BodyTooLarge(_) => "request_too_large",
            GatewayError::UnknownProvider(_) => "not_found",
            GatewayError::UpstreamUnreachable(_) => "upstream_unreachable",
            GatewayError::UpstreamTimeout(_) => "timeout",
            GatewayError::StoreUnavailable(_) => "store_unavailable",
        }
    }

    pub fn message(&self) -> String {
        match self {
            GatewayError::InvalidKey(m)
            | GatewayError::BudgetExceeded(m)
            | GatewayError::PolicyViolation(m)
            | GatewayError::BadRequest(m)
            | GatewayError::UpstreamUnreachable(m)
            | GatewayError::UpstreamTimeout(m)
            | GatewayError::StoreUnavailable(m) => m.clone(),
            GatewayError::RateLimited { message, .. } => message.clone(),
            GatewayError::BodyTooLarge(limit) => {
                format!("request body exceeds the gateway's limit of {limit} bytes (limits.max_body_bytes)")
            }
            GatewayError::UnknownProvider(p) => format!(
                "no provider is configured for the route prefix '{p}'; use /{{provider}}/... with a configured provider or /v1/..."
            ),
        }
    }

    /// OpenAI's `error.type` and `error.code` for this error (http.md table).
    fn openai_type_and_code(&self) -> (&'static str, &'static str) {
        match self {
            GatewayError::InvalidKey(_) => ("invalid_request_error", "invalid_api_key"),
            GatewayError::BudgetExceeded(_) => ("budget_exceeded", "budget_exceeded"),
            GatewayError::PolicyViolation(_) => ("policy_violation", "policy_violation"),
            GatewayError::RateLimited { .. } => ("rate_limit_exceeded", "rate_limit_exceeded"),
            GatewayError::BadRequest(_) | GatewayError::BodyTooLarge(_) => {
                ("invalid_request_error", "invalid_request_error")
            }
            GatewayError::UnknownProvider(_) => ("not_found", "not_found"),
            GatewayError::UpstreamUnreachable(_) | GatewayError::UpstreamTimeout(_) => {
                ("upstream_error", "upstream_error")
            }
            GatewayError::StoreUnavailable(_) => ("service_unavailable", "service_unavailable"),
        }
    }

    fn anthropic_type(&self) -> &'static str {
        match self {
            GatewayError::InvalidKey(_) => "authentication_error",
            GatewayError::BudgetExceeded(_) => "budget_exceeded",
            GatewayError::PolicyViolation(_) => "permission_error",
            GatewayError::RateLimited { .. } => "rate_limit_error",
            GatewayError::BadRequest(_) => "invalid_request_error",
            GatewayError::BodyTooLarge(_) => "request_too_large",
            GatewayError::UnknownProvider(_) => "not_found_error",
            GatewayError::UpstreamUnreachable(_) | GatewayError::UpstreamTimeout(_) => "api_error",
            GatewayError::StoreUnavailable(_) => "overloaded_error",
        }
    }

    fn gemini_status(&self) -> &'static str {
        match self {
            GatewayError::InvalidKey(_) => "UNAUTHENTICATED",
            GatewayError::BudgetExceeded(_) | GatewayError::RateLimited { .. } => {
                "RESOURCE_EXHAUSTED"
            }
            GatewayError::PolicyViolation(_) => "PERMISSION_DENIED",
            GatewayError::BadRequest(_) | GatewayError::BodyTooLarge(_) => "INVALID_ARGUMENT",
            GatewayError::UnknownProvider(_) => "NOT_FOUND",
            GatewayError::UpstreamUnreachable(_) | GatewayError::StoreUnavailable(_) => {
                "UNAVAILABLE"
            }
            GatewayError::UpstreamTimeout(_) => "DEADLINE_EXCEEDED",
        }
    }

    /// The JSON body in the caller's provider format.
    pub fn body(&self, format: ErrorFormat) -> Bytes {
        let message = self.message();
        let value = match format {
            ErrorFormat::OpenAi => {
                let (kind, code) = self.openai_type_and_code();
                serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
            }
            ErrorFormat::Anthropic => serde_json::json!({
                "type": "error",
                "error": {"type": self.anthropic_type(), "message": message}
            }),
            ErrorFormat::Gemini => serde_json::json!({
                "error": {"code": self.status(), "message": message, "status": self.gemini_status()}
            }),
        };
        Bytes::from(value.to_string())
    }

    /// `genops.policy.reason_code` for refusals the gateway makes.
    pub fn reason_code(&self) -> Option<&'static str> {
        match self {
            GatewayError::InvalidKey(_) => Some("AUTH_INVALID_KEY"),
            GatewayError::BudgetExceeded(_) => Some("BUDGET_EXCEEDED"),
            GatewayError::RateLimited { .. } => Some("RATE_LIMITED"),
            GatewayError::UpstreamUnreachable(_) | GatewayError::UpstreamTimeout(_) => {
                Some("PROVIDER_ERROR_UPSTREAM")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_format_has_type_and_code() {
        let body = GatewayError::UnknownProvider("nope".into()).body(ErrorFormat::OpenAi);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["type"], "not_found");
        assert_eq!(v["error"]["code"], "not_found");
        assert!(v["error"]["param"].is_null());
    }

    #[test]
    fn anthropic_format_matches_table() {
        let body = GatewayError::BodyTooLarge(10).body(ErrorFormat::Anthropic);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "request_too_large");
        assert_eq!(GatewayError::BodyTooLarge(10).status(), 413);
    }
}
