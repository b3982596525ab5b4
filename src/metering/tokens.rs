//! Final token counts of a call: reported usage where present, the tokenizer for the rest.

use super::{tokenizer, ResponseFacts, TokenCounts, TokenSource};
use crate::provider::{Operation, ProviderKind};

/// Counts for pricing and the span. `model` is the request's model (else the response's);
/// without either, counting uses the generic estimate.
pub fn final_counts(
    kind: ProviderKind,
    op: Operation,
    model: Option<&str>,
    request_body: &[u8],
    facts: &ResponseFacts,
) -> TokenCounts {
    let model = model.or(facts.response_model.as_deref()).unwrap_or("");
    let u = &facts.usage;
    let (input, input_reported) = match u.input_tokens {
        Some(n) => (n, true),
        None => (
            tokenizer::count_prompt(kind, op, model, request_body),
            false,
        ),
    };
    let (output, output_reported) = match (op, u.output_tokens) {
        (Operation::Embeddings, _) => (0, true),
        (_, Some(n)) => (n, true),
        (_, None) => (tokenizer::count_text(model, &facts.completion_text), false),
    };
    let source = match (input_reported, output_reported) {
        (true, true) => TokenSource::Usage,
        (false, false) => TokenSource::Tokenizer,
        _ => TokenSource::Mixed,
    };
    TokenCounts {
        input,
        output,
        cache_read_input: u.cache_read_input_tokens.unwrap_or(0),
        cache_creation_input: u.cache_creation_input_tokens.unwrap_or(0),
        reasoning_output: u.reasoning_output_tokens.unwrap_or(0),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metering::ReportedUsage;

    const BODY: &[u8] =
        br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}],"stream":true}"#;

    #[test]
    fn usage_wins_when_reported() {
        let facts = ResponseFacts {
            usage: ReportedUsage {
                input_tokens: Some(10),
                output_tokens: Some(4),
                ..Default::default()
            },
            completion_text: "ignored".into(),
            ..Default::default()
        };
        let c = final_counts(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            Some("gpt-4o-mini"),
            BODY,
            &facts,
        );
        assert_eq!((c.input, c.output, c.source), (10, 4, TokenSource::Usage));
    }

    #[test]
    fn counts_what_is_missing() {
        let facts = ResponseFacts {
            completion_text: "Hello world".into(),
            ..Default::default()
        };
        let c = final_counts(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            Some("gpt-4o-mini"),
            BODY,
            &facts,
        );
        assert_eq!(c.output, 2);
        assert!(c.input > 6);
        assert_eq!(c.source, TokenSource::Tokenizer);

        let facts = ResponseFacts {
            usage: ReportedUsage {
                input_tokens: Some(1210),
                cache_read_input_tokens: Some(1000),
                ..Default::default()
            },
            completion_text: "Hello world".into(),
            ..Default::default()
        };
        let c = final_counts(
            ProviderKind::Anthropic,
            Operation::Messages,
            Some("claude-sonnet-4-5"),
            b"{}",
            &facts,
        );
        assert_eq!(
            (c.input, c.output, c.cache_read_input, c.source),
            (1210, 3, 1000, TokenSource::Mixed)
        );
    }

    #[test]
    fn embeddings_have_no_output() {
        let facts = ResponseFacts {
            usage: ReportedUsage {
                input_tokens: Some(8),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = final_counts(
            ProviderKind::Openai,
            Operation::Embeddings,
            Some("text-embedding-3-small"),
            b"{}",
            &facts,
        );
        assert_eq!((c.input, c.output, c.source), (8, 0, TokenSource::Usage));
    }
}
