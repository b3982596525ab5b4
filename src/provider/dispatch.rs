//! One entry point per provider-format job: read a request, prepare it, meter its response.

use bytes::{Bytes, BytesMut};

use super::{anthropic, gemini, openai, Operation, ProviderKind};
use crate::metering::sse::{SseEvent, SseFramer};
use crate::metering::{RequestFacts, ResponseFacts};

/// A request body the gateway cannot read: answered with a 400 in the caller's format.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("request body is not valid JSON or has a field of the wrong type: {0}")]
    Json(String),
    #[error("request body is missing the required field `{0}`")]
    MissingField(&'static str),
}

impl RequestError {
    pub(crate) fn json(e: serde_json::Error) -> Self {
        RequestError::Json(e.to_string())
    }
}

/// Reads what governance needs from a metered request. `path` is provider-relative (Gemini's
/// model is in it); `Operation::Other` reads nothing.
pub fn parse_request(
    kind: ProviderKind,
    op: Operation,
    path: &str,
    body: &[u8],
) -> Result<RequestFacts, RequestError> {
    if !op.is_metered() {
        return Ok(RequestFacts::default());
    }
    match kind {
        ProviderKind::Openai => openai::request::parse(op, body),
        ProviderKind::Anthropic => anthropic::request::parse(body),
        ProviderKind::Gemini => gemini::request::parse(op, path, body),
    }
}

/// The body to send upstream, and whether usage reporting was added to it (then build the
/// `ResponseMeter` with `strip_injected_usage = true`).
pub fn prepare_upstream_body(
    kind: ProviderKind,
    op: Operation,
    facts: &RequestFacts,
    body: Bytes,
) -> (Bytes, bool) {
    if kind == ProviderKind::Openai && openai::request::needs_usage_injection(op, facts) {
        openai::request::inject_usage(body)
    } else {
        (body, false)
    }
}

/// Replaces the top-level `"model"` of a JSON body (policy downgrade). Gemini's model is in
/// the path: use [`rewrite_model_in_path`]; its body is returned unchanged.
pub fn rewrite_model(
    kind: ProviderKind,
    body: &[u8],
    new_model: &str,
) -> Result<Bytes, RequestError> {
    match kind {
        ProviderKind::Gemini => Ok(Bytes::copy_from_slice(body)),
        _ => openai::request::rewrite_model(body, new_model),
    }
}

/// Gemini: the path with its `models/{model}:` segment replaced.
pub fn rewrite_model_in_path(path: &str, new_model: &str) -> Option<String> {
    gemini::request::rewrite_model_in_path(path, new_model)
}

/// Whether a response `Content-Type` is a server-sent-events stream.
pub fn is_event_stream(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
    })
}

/// Non-streaming bodies are copied up to this size for parsing at the end.
pub const MAX_BUFFERED_BODY: usize = 16 * 1024 * 1024;

/// Meters a response as it passes: frames and reads SSE events (or buffers a JSON body),
/// and drops what the gateway itself asked for (OpenAI's injected usage) before the caller.
pub struct ResponseMeter {
    kind: ProviderKind,
    op: Operation,
    facts: ResponseFacts,
    mode: Mode,
}

enum Mode {
    Stream {
        framer: SseFramer,
        strip: Option<Strip>,
    },
    Body {
        buf: Vec<u8>,
        overflowed: bool,
    },
}

/// Raw bytes held back until their events are complete, and the byte ranges to cut from them.
struct Strip {
    held: BytesMut,
    /// Absolute stream offset of `held[0]`.
    held_start: u64,
    cuts: Vec<(u64, u64)>,
}

impl ResponseMeter {
    /// `streaming`: from the response Content-Type ([`is_event_stream`]).
    /// `strip_injected_usage`: the second value of [`prepare_upstream_body`].
    pub fn new(
        kind: ProviderKind,
        op: Operation,
        streaming: bool,
        strip_injected_usage: bool,
    ) -> Self {
        let mode = if streaming {
            let strip = (strip_injected_usage && kind == ProviderKind::Openai).then(|| Strip {
                held: BytesMut::new(),
                held_start: 0,
                cuts: Vec::new(),
            });
            Mode::Stream {
                framer: SseFramer::new(),
                strip,
            }
        } else {
            Mode::Body {
                buf: Vec::new(),
                overflowed: false,
            }
        };
        ResponseMeter {
            kind,
            op,
            facts: ResponseFacts::default(),
            mode,
        }
    }

    /// Reads a body chunk; returns the bytes to send downstream now (the same `Bytes` unless
    /// something is stripped).
    pub fn on_chunk(&mut self, chunk: Bytes) -> Bytes {
        let (kind, op, facts) = (self.kind, self.op, &mut self.facts);
        match &mut self.mode {
            Mode::Body { buf, overflowed } => {
                if !*overflowed {
                    if buf.len() + chunk.len() > MAX_BUFFERED_BODY {
                        *overflowed = true;
                        *buf = Vec::new();
                    } else {
                        buf.extend_from_slice(&chunk);
                    }
                }
                chunk
            }
            Mode::Stream {
                framer,
                strip: None,
            } => {
                framer.feed(&chunk, &mut |ev| {
                    read_event(kind, op, ev, facts);
                });
                chunk
            }
            Mode::Stream {
                framer,
                strip: Some(strip),
            } => {
                strip.held.extend_from_slice(&chunk);
                let cuts = &mut strip.cuts;
                framer.feed(&chunk, &mut |ev| {
                    if read_event(kind, op, ev, facts) == openai::stream::ChunkKind::UsageOnly {
                        cuts.push((ev.start, ev.end));
                    } else if let Some((a, b)) = usage_null_span(ev) {
                        cuts.push((a, b));
                    }
                });
                strip.release(framer.block_start())
            }
        }
    }

    /// End of the body: reads what is left; returns what is left to send downstream.
    pub fn on_end(&mut self) -> Bytes {
        let (kind, op, facts) = (self.kind, self.op, &mut self.facts);
        match &mut self.mode {
            Mode::Body { buf, overflowed } => {
                if !*overflowed && !buf.is_empty() {
                    parse_body(kind, op, buf, facts);
                }
                *buf = Vec::new();
                Bytes::new()
            }
            Mode::Stream {
                framer,
                strip: None,
            } => {
                framer.finish(&mut |ev| {
                    read_event(kind, op, ev, facts);
                });
                Bytes::new()
            }
            Mode::Stream {
                framer,
                strip: Some(strip),
            } => {
                let cuts = &mut strip.cuts;
                framer.finish(&mut |ev| {
                    if read_event(kind, op, ev, facts) == openai::stream::ChunkKind::UsageOnly {
                        cuts.push((ev.start, ev.end));
                    } else if let Some((a, b)) = usage_null_span(ev) {
                        cuts.push((a, b));
                    }
                });
                strip.release(framer.position())
            }
        }
    }

    pub fn facts(&self) -> &ResponseFacts {
        &self.facts
    }

    pub fn into_facts(self) -> ResponseFacts {
        self.facts
    }

    /// Length of the completion text read so far (bytes of UTF-8), for a running estimate.
    pub fn output_chars(&self) -> usize {
        self.facts.completion_text.len()
    }
}

impl Strip {
    /// Sends every held byte before absolute offset `upto`, minus the cut ranges, compacting
    /// in place so the held buffer's allocation is reused.
    fn release(&mut self, upto: u64) -> Bytes {
        let n = (upto.saturating_sub(self.held_start) as usize).min(self.held.len());
        if n == 0 {
            return Bytes::new();
        }
        let mut write = 0usize;
        let mut read = 0usize;
        self.cuts.sort_unstable();
        for &(a, b) in &self.cuts {
            let a = (a.saturating_sub(self.held_start) as usize).min(n);
            let b = (b.saturating_sub(self.held_start) as usize).min(n);
            if a < read {
                continue;
            }
            self.held.copy_within(read..a, write);
            write += a - read;
            read = b;
        }
        self.held.copy_within(read..n, write);
        write += n - read;
        self.cuts.clear();
        let mut out = self.held.split_to(n);
        out.truncate(write);
        self.held_start += n as u64;
        out.freeze()
    }
}

/// Reads one SSE event with the provider's reader.
fn read_event(
    kind: ProviderKind,
    op: Operation,
    ev: &SseEvent<'_>,
    facts: &mut ResponseFacts,
) -> openai::stream::ChunkKind {
    match kind {
        ProviderKind::Openai => return openai::stream::on_event(op, ev.data, facts),
        ProviderKind::Anthropic => anthropic::stream::on_event(ev.data, facts),
        ProviderKind::Gemini => gemini::stream::on_event(ev.data, facts),
    }
    openai::stream::ChunkKind::Normal
}

/// The raw range of a top-level `"usage":null` member (and its comma) in a one-line event.
fn usage_null_span(ev: &SseEvent<'_>) -> Option<(u64, u64)> {
    let (start, _) = ev.data_span?;
    let m = crate::metering::json_scan::find_member(ev.data, "usage")?;
    (&ev.data[m.value_start..m.value_end] == b"null")
        .then(|| (start + m.remove.0 as u64, start + m.remove.1 as u64))
}

fn parse_body(kind: ProviderKind, op: Operation, body: &[u8], facts: &mut ResponseFacts) {
    match kind {
        ProviderKind::Openai => openai::stream::parse_body(op, body, facts),
        ProviderKind::Anthropic => anthropic::stream::parse_body(body, facts),
        ProviderKind::Gemini => gemini::stream::parse_body(body, facts),
    }
}

/// The error event (and terminator) the gateway appends when it cuts a stream, in the
/// provider's format so the caller's SDK raises its usual error. `error_type` is
/// `budget_exceeded` here; see [`stream_termination_event_typed`] for another.
pub fn stream_termination_event(kind: ProviderKind, op: Operation, message: &str) -> Bytes {
    stream_termination_event_typed(kind, op, "budget_exceeded", message)
}

/// [`stream_termination_event`] with an explicit error type / code.
///
/// - OpenAI chat / completions: `data: {"error":{...}}` — the OpenAI SDKs raise `APIError`
///   for a chunk with an `error` member — then `data: [DONE]`.
/// - OpenAI Responses: an `event: error` with the Responses `error` event body, plus an
///   `error` member so the Python SDK (which raises `APIError` on any event whose data has an
///   `error` mapping) raises instead of yielding a typed error event.
/// - Anthropic: `event: error` — the SDKs raise on it.
/// - Gemini: a chunk with Google's `error` object.
pub fn stream_termination_event_typed(
    kind: ProviderKind,
    op: Operation,
    error_type: &str,
    message: &str,
) -> Bytes {
    let t = json_str(error_type);
    let m = json_str(message);
    let s = match (kind, op) {
        (ProviderKind::Openai, Operation::Responses) => format!(
            "event: error\ndata: {{\"type\":\"error\",\"code\":{t},\"message\":{m},\"param\":null,\"error\":{{\"type\":{t},\"code\":{t},\"message\":{m}}}}}\n\n"
        ),
        (ProviderKind::Openai, _) => format!(
            "data: {{\"error\":{{\"message\":{m},\"type\":{t},\"param\":null,\"code\":{t}}}}}\n\ndata: [DONE]\n\n"
        ),
        (ProviderKind::Anthropic, _) => format!(
            "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":{t},\"message\":{m}}}}}\n\n"
        ),
        (ProviderKind::Gemini, _) => format!(
            "data: {{\"error\":{{\"code\":429,\"message\":{m},\"status\":{t}}}}}\n\n"
        ),
    };
    Bytes::from(s)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A provider error body's type: OpenAI `error.code` (else `error.type`), Anthropic
/// `error.type`, Gemini `error.status` (also inside a one-element array).
pub fn error_type_from_body(kind: ProviderKind, body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let v = match &v {
        serde_json::Value::Array(a) => a.first()?,
        other => other,
    };
    let err = v.get("error")?;
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| err.get(*k).and_then(|x| x.as_str()).map(str::to_owned))
    };
    match kind {
        ProviderKind::Openai => pick(&["code", "type"]),
        ProviderKind::Anthropic => pick(&["type"]),
        ProviderKind::Gemini => {
            pick(&["status"]).or_else(|| err.get("code").map(|c| c.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_detection() {
        assert!(is_event_stream(Some("text/event-stream; charset=utf-8")));
        assert!(is_event_stream(Some("Text/Event-Stream")));
        assert!(!is_event_stream(Some("application/json")));
        assert!(!is_event_stream(None));
    }

    #[test]
    fn error_types() {
        let k = ProviderKind::Openai;
        assert_eq!(
            error_type_from_body(k, br#"{"error":{"message":"x","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#).as_deref(),
            Some("context_length_exceeded")
        );
        assert_eq!(
            error_type_from_body(
                k,
                br#"{"error":{"message":"x","type":"rate_limit_error","code":null}}"#
            )
            .as_deref(),
            Some("rate_limit_error")
        );
        assert_eq!(
            error_type_from_body(
                ProviderKind::Anthropic,
                br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#
            )
            .as_deref(),
            Some("overloaded_error")
        );
        assert_eq!(
            error_type_from_body(
                ProviderKind::Gemini,
                br#"[{"error":{"code":400,"message":"x","status":"INVALID_ARGUMENT"}}]"#
            )
            .as_deref(),
            Some("INVALID_ARGUMENT")
        );
    }

    #[test]
    fn termination_events_are_read_back_as_errors() {
        for (kind, op) in [
            (ProviderKind::Openai, Operation::ChatCompletions),
            (ProviderKind::Openai, Operation::Responses),
            (ProviderKind::Anthropic, Operation::Messages),
            (ProviderKind::Gemini, Operation::StreamGenerateContent),
        ] {
            let mut m = ResponseMeter::new(kind, op, true, false);
            m.on_chunk(stream_termination_event(kind, op, "budget \"x\" spent"));
            m.on_end();
            assert!(m.facts().stream_error_type.is_some(), "{kind:?} {op:?}");
        }
    }

    #[test]
    fn body_mode_buffers_and_parses_at_end() {
        let mut m = ResponseMeter::new(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            false,
            false,
        );
        let body = br#"{"id":"a","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let c = Bytes::from_static(body);
        assert_eq!(m.on_chunk(c.slice(..10)), c.slice(..10));
        m.on_chunk(c.slice(10..));
        assert!(m.on_end().is_empty());
        assert_eq!(m.facts().usage.output_tokens, Some(1));
        assert_eq!(m.output_chars(), 2);
    }

    #[test]
    fn injects_usage_only_when_the_caller_did_not_ask() {
        let k = ProviderKind::Openai;
        let op = Operation::ChatCompletions;
        let body = br#"{"model":"gpt-4o-mini","messages":[],"stream":true}"#;
        let facts = parse_request(k, op, "/v1/chat/completions", body).unwrap();
        let (b, injected) = prepare_upstream_body(k, op, &facts, Bytes::from_static(body));
        assert!(injected);
        assert!(b.starts_with(br#"{"stream_options":{"include_usage":true},"model""#));

        let body =
            br#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#;
        let facts = parse_request(k, op, "/v1/chat/completions", body).unwrap();
        assert!(!prepare_upstream_body(k, op, &facts, Bytes::from_static(body)).1);

        let body = br#"{"model":"gpt-4o-mini","stream":false}"#;
        let facts = parse_request(k, op, "/v1/chat/completions", body).unwrap();
        assert!(!prepare_upstream_body(k, op, &facts, Bytes::from_static(body)).1);

        let a = ProviderKind::Anthropic;
        let body = br#"{"model":"claude-haiku-4-5","max_tokens":10,"stream":true,"messages":[]}"#;
        let facts = parse_request(a, Operation::Messages, "/v1/messages", body).unwrap();
        assert_eq!(facts.max_tokens, Some(10));
        assert!(!prepare_upstream_body(a, Operation::Messages, &facts, Bytes::from_static(body)).1);
        assert!(parse_request(
            a,
            Operation::Messages,
            "/v1/messages",
            b"{\"max_tokens\":1}"
        )
        .is_err());
        assert!(parse_request(k, Operation::Other, "/v1/models", b"").is_ok());
    }

    #[test]
    fn rewrites_model_for_json_formats() {
        let b = rewrite_model(
            ProviderKind::Anthropic,
            br#"{"model":"claude-opus-4-1","max_tokens":5}"#,
            "claude-haiku-4-5",
        )
        .unwrap();
        assert_eq!(&b[..], br#"{"model":"claude-haiku-4-5","max_tokens":5}"#);
        assert!(rewrite_model(ProviderKind::Openai, b"{}", "x").is_err());
    }

    #[test]
    fn gemini_generate_content_body() {
        let mut m = ResponseMeter::new(
            ProviderKind::Gemini,
            Operation::GenerateContent,
            false,
            false,
        );
        m.on_chunk(Bytes::from_static(br#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":5},"modelVersion":"gemini-2.5-pro"}"#));
        m.on_end();
        let f = m.into_facts();
        assert_eq!(
            (f.usage.input_tokens, f.usage.output_tokens),
            (Some(4), Some(1))
        );
        assert_eq!(f.completion_text, "Hi");
        assert!(f.complete);
    }
}
