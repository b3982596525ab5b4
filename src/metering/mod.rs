//! Facts read from a call's request and response: model, parameters, tokens.
//!
//! The provider modules (`provider::*::{request,stream}`) fill these types; pricing, the ledger,
//! governance and telemetry read them.

pub mod json_scan;
pub mod json_walk;
pub mod sse;

/// What the gateway understood of a metered request body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestFacts {
    pub model: Option<String>,
    pub stream: bool,
    /// `max_tokens` / `max_completion_tokens` / `max_output_tokens` (whichever the format uses).
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// OpenAI format: the caller itself sent `stream_options.include_usage: true`.
    pub caller_requested_usage: bool,
}

/// Where the token counts of a call came from (`genops.tokens.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// Reported by the provider.
    #[default]
    Usage,
    /// Counted by the gateway with the model's tokenizer.
    Tokenizer,
    /// Part reported, part counted (e.g. input from a `message_start`, output counted after a cut).
    Mixed,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::Mixed => "mixed",
        }
    }
}

/// Token usage as the provider reported it, normalised. `None` = not reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportedUsage {
    /// All input tokens, cached ones included (Anthropic's three input counts summed).
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub reasoning_output_tokens: Option<u64>,
}

/// What the gateway read from a response (JSON body or stream) as it passed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseFacts {
    pub response_id: Option<String>,
    pub response_model: Option<String>,
    pub finish_reasons: Vec<String>,
    pub usage: ReportedUsage,
    /// Completion text exactly as streamed, kept for the tokenizer fallback.
    pub completion_text: String,
    /// An error event inside a stream (`error.type` / Anthropic `error` event), if any.
    pub stream_error_type: Option<String>,
    /// The stream ended with its terminal event (`[DONE]`, `message_stop`, `response.completed`).
    pub complete: bool,
}

/// Final token counts of a call, as priced and recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Includes cached input tokens.
    pub input: u64,
    pub output: u64,
    pub cache_read_input: u64,
    pub cache_creation_input: u64,
    pub reasoning_output: u64,
    pub source: TokenSource,
}

impl TokenCounts {
    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

pub mod tokenizer;
pub mod tokens;
