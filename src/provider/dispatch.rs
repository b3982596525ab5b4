//! STUB (replaced by the metering branch).
use super::{Operation, ProviderKind};
use crate::metering::{RequestFacts, ResponseFacts};
use bytes::Bytes;
#[derive(Debug)]
pub struct RequestError(pub String);
impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub fn parse_request(
    _k: ProviderKind,
    _o: Operation,
    _p: &str,
    body: &[u8],
) -> Result<RequestFacts, RequestError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| RequestError(e.to_string()))?;
    Ok(RequestFacts {
        model: v["model"].as_str().map(String::from),
        stream: v["stream"].as_bool().unwrap_or(false),
        ..Default::default()
    })
}
pub fn prepare_upstream_body(
    _k: ProviderKind,
    _o: Operation,
    _f: &RequestFacts,
    body: Bytes,
) -> (Bytes, bool) {
    (body, false)
}
pub fn rewrite_model(_k: ProviderKind, body: &[u8], _m: &str) -> Result<Bytes, RequestError> {
    Ok(Bytes::copy_from_slice(body))
}
pub fn is_event_stream(ct: Option<&str>) -> bool {
    ct.is_some_and(|c| c.starts_with("text/event-stream"))
}
pub struct ResponseMeter {
    facts: ResponseFacts,
}
impl ResponseMeter {
    pub fn new(_k: ProviderKind, _o: Operation, _s: bool, _strip: bool) -> Self {
        ResponseMeter {
            facts: ResponseFacts::default(),
        }
    }
    pub fn on_chunk(&mut self, chunk: Bytes) -> Bytes {
        chunk
    }
    pub fn on_end(&mut self) -> Bytes {
        Bytes::new()
    }
    pub fn facts(&self) -> &ResponseFacts {
        &self.facts
    }
    pub fn into_facts(self) -> ResponseFacts {
        self.facts
    }
    pub fn output_chars(&self) -> usize {
        0
    }
}
pub fn stream_termination_event(_k: ProviderKind, _o: Operation, _m: &str) -> Bytes {
    Bytes::new()
}
pub fn error_type_from_body(_k: ProviderKind, _b: &[u8]) -> Option<String> {
    None
}
