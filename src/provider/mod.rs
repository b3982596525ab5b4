//! Provider wire formats: which operation a path is, how its request and response are read.

pub mod anthropic;
pub mod dispatch;
pub mod gemini;
pub mod openai;

use serde::Deserialize;

/// The wire format a configured provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Openai,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    /// The `gen_ai.provider.name` value OpenTelemetry uses for this wire format.
    pub fn otel_name(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gcp.gemini",
        }
    }
}

/// What a request does, decided from the provider kind, method and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    ChatCompletions,
    Completions,
    Embeddings,
    Responses,
    Messages,
    GenerateContent,
    StreamGenerateContent,
    /// Anything else under a provider (e.g. `GET /models`): forwarded, traced, never priced.
    Other,
}

impl Operation {
    pub fn is_metered(self) -> bool {
        !matches!(self, Operation::Other)
    }

    /// `gen_ai.operation.name`.
    pub fn otel_name(self) -> &'static str {
        match self {
            Operation::ChatCompletions | Operation::Messages | Operation::Responses => "chat",
            Operation::Completions => "text_completion",
            Operation::Embeddings => "embeddings",
            Operation::GenerateContent | Operation::StreamGenerateContent => "generate_content",
            Operation::Other => "http",
        }
    }

    /// Classifies a provider-relative path (`/v1/chat/completions`, query string removed).
    pub fn classify(kind: ProviderKind, method: &str, path: &str) -> Operation {
        if !method.eq_ignore_ascii_case("POST") {
            return Operation::Other;
        }
        let path = path.trim_end_matches('/');
        match kind {
            ProviderKind::Openai => {
                if path.ends_with("/chat/completions") {
                    Operation::ChatCompletions
                } else if path.ends_with("/completions") {
                    Operation::Completions
                } else if path.ends_with("/embeddings") {
                    Operation::Embeddings
                } else if path.ends_with("/responses") {
                    Operation::Responses
                } else {
                    Operation::Other
                }
            }
            ProviderKind::Anthropic => {
                if path.ends_with("/messages") {
                    Operation::Messages
                } else {
                    Operation::Other
                }
            }
            ProviderKind::Gemini => {
                if path.ends_with(":streamGenerateContent") {
                    Operation::StreamGenerateContent
                } else if path.ends_with(":generateContent") {
                    Operation::GenerateContent
                } else {
                    Operation::Other
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_metered_paths() {
        let k = ProviderKind::Openai;
        assert_eq!(
            Operation::classify(k, "POST", "/v1/chat/completions"),
            Operation::ChatCompletions
        );
        assert_eq!(
            Operation::classify(k, "POST", "/v1/completions"),
            Operation::Completions
        );
        assert_eq!(
            Operation::classify(k, "GET", "/v1/models"),
            Operation::Other
        );
        assert_eq!(
            Operation::classify(ProviderKind::Anthropic, "POST", "/v1/messages"),
            Operation::Messages
        );
        assert_eq!(
            Operation::classify(
                ProviderKind::Gemini,
                "POST",
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
            ),
            Operation::StreamGenerateContent
        );
    }
}
