//! OpenAI response reading: chat / completions chunks, Responses API events, JSON bodies.
//!
//! Everything walks borrowed JSON (`metering::json_walk`): nothing is allocated per event
//! except the amortised growth of the completion text.

use serde::de::MapAccess;
use serde_json::value::RawValue;

use super::usage::Usage;
use crate::metering::json_walk::{
    append_json_str, push_unique, raw, read_object, set_once, skip, Each, Fields, Obj,
};
use crate::metering::ResponseFacts;
use crate::provider::Operation;

/// What the meter should do with a chunk's SSE event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkKind {
    /// Pass it on.
    Normal,
    /// The `choices: []` + `usage` chunk that `include_usage` adds at the end.
    UsageOnly,
}

/// Reads one SSE event of an OpenAI-format stream.
pub fn on_event(op: Operation, data: &[u8], facts: &mut ResponseFacts) -> ChunkKind {
    if data == b"[DONE]" {
        facts.complete = true;
        return ChunkKind::Normal;
    }
    if op == Operation::Responses {
        let mut ev = ResponsesEvent::new(facts);
        if read_object(data, &mut ev).is_ok() {
            ev.finish();
        }
        return ChunkKind::Normal;
    }
    let mut chunk = Chunk::new(facts);
    if read_object(data, &mut chunk).is_err() {
        return ChunkKind::Normal;
    }
    if chunk.choices == Some(0) && chunk.usage_present {
        ChunkKind::UsageOnly
    } else {
        ChunkKind::Normal
    }
}

/// Reads a whole (non-streaming) JSON body.
pub fn parse_body(op: Operation, body: &[u8], facts: &mut ResponseFacts) {
    let ok = if op == Operation::Responses {
        // The body is the response object itself.
        let mut r = ResponseObject { facts };
        read_object(body, &mut r).is_ok()
    } else {
        read_object(body, &mut Chunk::new(facts)).is_ok()
    };
    facts.complete = ok && facts.stream_error_type.is_none();
}

/// A chat.completion(.chunk), text_completion or embeddings object.
struct Chunk<'f> {
    facts: &'f mut ResponseFacts,
    choices: Option<usize>,
    usage_present: bool,
}

impl<'f> Chunk<'f> {
    fn new(facts: &'f mut ResponseFacts) -> Self {
        Chunk {
            facts,
            choices: None,
            usage_present: false,
        }
    }
}

impl<'de> Fields<'de> for Chunk<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => set_once(&mut self.facts.response_id, raw(map)?),
            "model" => set_once(&mut self.facts.response_model, raw(map)?),
            "choices" => self.choices = Some(map.next_value_seed(Each(&mut Choice(self.facts)))?),
            "usage" => {
                if let Some(u) = map.next_value::<Option<Usage>>()? {
                    u.apply(&mut self.facts.usage);
                    self.usage_present = true;
                }
            }
            "error" => map.next_value_seed(Obj(&mut ErrorObj(self.facts)))?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// One element of `choices`.
struct Choice<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for Choice<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "delta" | "message" => {
                map.next_value_seed(Obj(&mut Message(&mut self.0.completion_text)))?
            }
            "text" => {
                append_json_str(raw(map)?, &mut self.0.completion_text);
            }
            "finish_reason" => push_unique(&mut self.0.finish_reasons, raw(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A `delta` or `message`: every piece of generated text, tool arguments included.
struct Message<'s>(&'s mut String);

impl<'de> Fields<'de> for Message<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "content" | "refusal" | "reasoning_content" | "name" | "arguments" => {
                append_json_str(raw(map)?, self.0);
            }
            "tool_calls" => {
                map.next_value_seed(Each(self))?;
            }
            "function" | "function_call" => map.next_value_seed(Obj(self))?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// `{"error": {...}}` in a stream or body: its code, else its type.
struct ErrorObj<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for ErrorObj<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "code" => {
                let r = raw(map)?;
                let mut code = None;
                set_once(&mut code, r);
                if code.is_some() {
                    self.0.stream_error_type = code;
                }
            }
            "type" => set_once(&mut self.0.stream_error_type, raw(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// One Responses API stream event.
struct ResponsesEvent<'de, 'f> {
    facts: &'f mut ResponseFacts,
    kind: Option<&'de RawValue>,
    delta: Option<&'de RawValue>,
    code: Option<&'de RawValue>,
}

impl<'de, 'f> ResponsesEvent<'de, 'f> {
    fn new(facts: &'f mut ResponseFacts) -> Self {
        ResponsesEvent {
            facts,
            kind: None,
            delta: None,
            code: None,
        }
    }

    fn finish(self) {
        let Some(kind) = self.kind.map(|k| k.get()) else {
            return;
        };
        match kind {
            "\"response.output_text.delta\""
            | "\"response.refusal.delta\""
            | "\"response.function_call_arguments.delta\"" => {
                if let Some(d) = self.delta {
                    append_json_str(d, &mut self.facts.completion_text);
                }
            }
            "\"response.completed\"" | "\"response.incomplete\"" | "\"response.failed\"" => {
                self.facts.complete = true;
            }
            "\"error\"" => {
                if let Some(c) = self.code {
                    let mut code = None;
                    set_once(&mut code, c);
                    self.facts.stream_error_type = code.or(Some("error".to_owned()));
                } else {
                    self.facts.stream_error_type = Some("error".to_owned());
                }
            }
            _ => {}
        }
    }
}

impl<'de> Fields<'de> for ResponsesEvent<'de, '_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => self.kind = Some(raw(map)?),
            "delta" => self.delta = Some(raw(map)?),
            "code" => self.code = Some(raw(map)?),
            "response" => map.next_value_seed(Obj(&mut ResponseObject { facts: self.facts }))?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// The Responses API `response` object (in `response.*` events, or a whole body).
struct ResponseObject<'f> {
    facts: &'f mut ResponseFacts,
}

impl<'de> Fields<'de> for ResponseObject<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => set_once(&mut self.facts.response_id, raw(map)?),
            "model" => set_once(&mut self.facts.response_model, raw(map)?),
            "usage" => {
                if let Some(u) = map.next_value::<Option<Usage>>()? {
                    u.apply(&mut self.facts.usage);
                }
            }
            "status" => {
                let r = raw(map)?;
                if !matches!(r.get(), "\"in_progress\"" | "\"queued\"") {
                    push_unique(&mut self.facts.finish_reasons, r);
                }
            }
            "error" => map.next_value_seed(Obj(&mut ErrorObj(self.facts)))?,
            // A whole body carries its output; streamed events leave it empty until the end,
            // and the deltas already gave the text.
            "output" if self.facts.completion_text.is_empty() => {
                map.next_value_seed(Each(&mut OutputItem(&mut self.facts.completion_text)))?;
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// An `output` item of a Responses body: message content parts and function calls.
struct OutputItem<'s>(&'s mut String);

impl<'de> Fields<'de> for OutputItem<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "content" => {
                map.next_value_seed(Each(self))?;
            }
            "text" | "refusal" | "arguments" => {
                append_json_str(raw(map)?, self.0);
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chat_chunks_and_usage_chunk() {
        let mut f = ResponseFacts::default();
        let k = on_event(
            Operation::ChatCompletions,
            br#"{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi\n"},"finish_reason":null}],"usage":null}"#,
            &mut f,
        );
        assert_eq!(k, ChunkKind::Normal);
        let k = on_event(
            Operation::ChatCompletions,
            br#"{"id":"c1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}}"#,
            &mut f,
        );
        assert_eq!(k, ChunkKind::UsageOnly);
        assert_eq!(f.completion_text, "Hi\n");
        assert_eq!(f.response_id.as_deref(), Some("c1"));
        assert_eq!(f.usage.input_tokens, Some(10));
        assert_eq!(f.usage.cache_read_input_tokens, Some(4));
        assert_eq!(f.usage.reasoning_output_tokens, Some(1));
        on_event(Operation::ChatCompletions, b"[DONE]", &mut f);
        assert!(f.complete);
    }

    #[test]
    fn reads_error_chunk() {
        let mut f = ResponseFacts::default();
        on_event(
            Operation::ChatCompletions,
            br#"{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"#,
            &mut f,
        );
        assert_eq!(f.stream_error_type.as_deref(), Some("server_error"));
    }

    #[test]
    fn reads_non_streaming_bodies() {
        let mut f = ResponseFacts::default();
        parse_body(
            Operation::ChatCompletions,
            br#"{"id":"x","model":"gpt-4o","choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}"#,
            &mut f,
        );
        assert_eq!(f.completion_text, "f{\"a\":1}");
        assert_eq!(f.finish_reasons, ["tool_calls"]);
        assert_eq!(f.usage.output_tokens, Some(7));
        assert!(f.complete);

        let mut f = ResponseFacts::default();
        parse_body(
            Operation::Embeddings,
            br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#,
            &mut f,
        );
        assert_eq!(f.usage.input_tokens, Some(8));
        assert_eq!(f.usage.output_tokens, None);

        let mut f = ResponseFacts::default();
        parse_body(
            Operation::Responses,
            br#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-4.1","output":[{"type":"message","content":[{"type":"output_text","text":"Hello"}]}],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":2},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}}"#,
            &mut f,
        );
        assert_eq!(f.completion_text, "Hello");
        assert_eq!(f.usage.input_tokens, Some(12));
        assert_eq!(f.usage.cache_read_input_tokens, Some(2));
        assert_eq!(f.finish_reasons, ["completed"]);
    }
}
