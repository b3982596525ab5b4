//! Anthropic request bodies: what governance reads.

use serde::Deserialize;

use crate::metering::RequestFacts;
use crate::provider::dispatch::RequestError;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<std::borrow::Cow<'a, str>>,
    stream: Option<bool>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
}

pub fn parse(body: &[u8]) -> Result<RequestFacts, RequestError> {
    let req: Request<'_> = serde_json::from_slice(body).map_err(RequestError::json)?;
    let Some(model) = req.model else {
        return Err(RequestError::MissingField("model"));
    };
    Ok(RequestFacts {
        model: Some(model.into_owned()),
        stream: req.stream.unwrap_or(false),
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        caller_requested_usage: false,
    })
}
