//! OpenAI `usage` objects (chat, completions, embeddings and Responses API spellings).

use serde::Deserialize;

use crate::metering::ReportedUsage;

#[derive(Deserialize, Debug, Default)]
pub struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
}

#[derive(Deserialize, Debug, Default)]
struct Details {
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Overwrites `out` with this report: OpenAI's counts are cumulative, the last one wins.
    /// OpenAI's input counts already include cached tokens, output counts reasoning tokens.
    pub fn apply(&self, out: &mut ReportedUsage) {
        let input = self.prompt_tokens.or(self.input_tokens);
        if input.is_none() {
            return;
        }
        out.input_tokens = input;
        out.output_tokens = self.completion_tokens.or(self.output_tokens);
        let input_details = self
            .prompt_tokens_details
            .as_ref()
            .or(self.input_tokens_details.as_ref());
        let output_details = self
            .completion_tokens_details
            .as_ref()
            .or(self.output_tokens_details.as_ref());
        out.cache_read_input_tokens = input_details.and_then(|d| d.cached_tokens);
        out.reasoning_output_tokens = output_details.and_then(|d| d.reasoning_tokens);
    }
}
