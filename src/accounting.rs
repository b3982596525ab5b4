//! Tokens and cost of a finished exchange, from what the meter read.

use crate::gateway::Generation;
use crate::metering::{tokens, ResponseFacts};
use crate::record::CallRecord;

/// Fills `tokens`, `cost` and `unpriced` on the record from the response facts.
pub fn account(
    record: &mut CallRecord,
    generation: &Generation,
    request_body: &[u8],
    facts: ResponseFacts,
) {
    let Some(kind) = record.provider_kind else {
        record.response = facts;
        return;
    };
    let refused_upstream = record.status >= 400
        && facts.usage.input_tokens.is_none()
        && facts.usage.output_tokens.is_none();
    if !refused_upstream {
        let model = facts
            .response_model
            .as_deref()
            .or(record.request.model.as_deref());
        let counts = tokens::final_counts(kind, record.operation, model, request_body, &facts);
        let price = record
            .request
            .model
            .as_deref()
            .and_then(|m| generation.catalog.lookup(kind, m))
            .or_else(|| {
                facts
                    .response_model
                    .as_deref()
                    .and_then(|m| generation.catalog.lookup(kind, m))
            });
        match price {
            Some(row) => record.cost = Some(row.cost(&counts)),
            None => record.unpriced = true,
        }
        record.tokens = Some(counts);
    }
    record.response = facts;
}
