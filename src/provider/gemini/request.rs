//! Gemini request bodies: the model is in the path, sampling in `generationConfig`.

use serde::Deserialize;

use crate::metering::RequestFacts;
use crate::provider::dispatch::RequestError;
use crate::provider::Operation;

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "generationConfig")]
    generation_config: Option<GenerationConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    max_output_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
}

pub fn parse(op: Operation, path: &str, body: &[u8]) -> Result<RequestFacts, RequestError> {
    let model = model_from_path(path).ok_or(RequestError::MissingField("model (in the path)"))?;
    let req: Request = serde_json::from_slice(body).map_err(RequestError::json)?;
    let cfg = req.generation_config;
    Ok(RequestFacts {
        model: Some(model.to_owned()),
        stream: op == Operation::StreamGenerateContent,
        max_tokens: cfg.as_ref().and_then(|c| c.max_output_tokens),
        temperature: cfg.as_ref().and_then(|c| c.temperature),
        top_p: cfg.as_ref().and_then(|c| c.top_p),
        caller_requested_usage: false,
    })
}

/// `/v1beta/models/gemini-2.5-flash:generateContent?alt=sse` → `gemini-2.5-flash`.
pub fn model_from_path(path: &str) -> Option<&str> {
    let path = path.split('?').next()?;
    let last = path.rsplit('/').next()?;
    let model = last.split(':').next()?;
    (!model.is_empty() && last.contains(':')).then_some(model)
}

/// The path with its model segment replaced (Gemini's model is not in the body).
pub fn rewrite_model_in_path(path: &str, new_model: &str) -> Option<String> {
    let old = model_from_path(path)?;
    let colon = path.find(&format!("{old}:"))?;
    Some(format!(
        "{}{}{}",
        &path[..colon],
        new_model,
        &path[colon + old.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_model_from_path_and_config() {
        let f = parse(
            Operation::StreamGenerateContent,
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            br#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":100,"temperature":0.5,"topP":0.9}}"#,
        )
        .unwrap();
        assert_eq!(f.model.as_deref(), Some("gemini-2.5-flash"));
        assert!(f.stream);
        assert_eq!(f.max_tokens, Some(100));
        assert_eq!(
            rewrite_model_in_path(
                "/v1beta/models/gemini-2.5-pro:generateContent?x=1",
                "gemini-2.5-flash"
            )
            .as_deref(),
            Some("/v1beta/models/gemini-2.5-flash:generateContent?x=1")
        );
        assert!(parse(Operation::GenerateContent, "/v1beta/models", b"{}").is_err());
    }
}
