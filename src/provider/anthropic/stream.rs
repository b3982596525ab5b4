//! Anthropic response reading: Messages stream events and whole message bodies.
//!
//! `message_start` carries the input and cache counts and a placeholder output count (ignored);
//! `message_delta` carries the cumulative output count (it replaces, never adds). Our input
//! count is Anthropic's `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`.

use serde::de::MapAccess;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::metering::json_walk::{
    append_json_str, push_unique, raw, read_object, set_once, skip, Each, Fields, Obj,
};
use crate::metering::{ReportedUsage, ResponseFacts};

#[derive(Deserialize, Debug, Default)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

impl Usage {
    /// Merges a (cumulative) report; `with_output` is false for `message_start`'s placeholder.
    fn apply(&self, out: &mut ReportedUsage, with_output: bool) {
        let cached_prev =
            out.cache_read_input_tokens.unwrap_or(0) + out.cache_creation_input_tokens.unwrap_or(0);
        let uncached_prev = out.input_tokens.map(|t| t.saturating_sub(cached_prev));
        if self.input_tokens.is_some()
            || self.cache_read_input_tokens.is_some()
            || self.cache_creation_input_tokens.is_some()
        {
            let read = self.cache_read_input_tokens.or(out.cache_read_input_tokens);
            let created = self
                .cache_creation_input_tokens
                .or(out.cache_creation_input_tokens);
            let uncached = self.input_tokens.or(uncached_prev).unwrap_or(0);
            out.input_tokens = Some(uncached + read.unwrap_or(0) + created.unwrap_or(0));
            out.cache_read_input_tokens = read;
            out.cache_creation_input_tokens = created;
        }
        if with_output {
            if let Some(o) = self.output_tokens {
                out.output_tokens = Some(o);
            }
        }
    }
}

/// Reads one SSE event's data.
pub fn on_event(data: &[u8], facts: &mut ResponseFacts) {
    let mut ev = Event {
        facts,
        kind: None,
        streaming: true,
    };
    if read_object(data, &mut ev).is_ok() {
        match ev.kind.map(|k| k.get()) {
            Some("\"message_stop\"") => ev.facts.complete = true,
            Some("\"error\"") if ev.facts.stream_error_type.is_none() => {
                ev.facts.stream_error_type = Some("error".to_owned());
            }
            _ => {}
        }
    }
}

/// Reads a whole (non-streaming) message or error body.
pub fn parse_body(body: &[u8], facts: &mut ResponseFacts) {
    let mut ev = Event {
        facts,
        kind: None,
        streaming: false,
    };
    let ok = read_object(body, &mut ev).is_ok();
    facts.complete = ok && facts.stream_error_type.is_none();
}

/// A stream event, or a whole body (which is itself a `message` object).
struct Event<'de, 'f> {
    facts: &'f mut ResponseFacts,
    kind: Option<&'de RawValue>,
    streaming: bool,
}

impl<'de> Fields<'de> for Event<'de, '_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => self.kind = Some(raw(map)?),
            "message" => {
                let mut m = Event {
                    facts: &mut *self.facts,
                    kind: None,
                    streaming: self.streaming,
                };
                map.next_value_seed(Obj(&mut MessageObj(&mut m)))?;
            }
            "delta" => map.next_value_seed(Obj(&mut Delta(self.facts)))?,
            "content_block" => {
                map.next_value_seed(Obj(&mut Block(&mut self.facts.completion_text)))?
            }
            // `message_delta`'s usage: cumulative output.
            "usage" => {
                if let Some(u) = map.next_value::<Option<Usage>>()? {
                    u.apply(&mut self.facts.usage, true);
                }
            }
            "error" => map.next_value_seed(Obj(&mut ErrorObj(self.facts)))?,
            // A whole body is the message object itself.
            _ if !self.streaming => MessageObj(self).field(key, map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// The `message` of `message_start`, or a non-streaming body.
struct MessageObj<'a, 'de, 'f>(&'a mut Event<'de, 'f>);

impl<'de> Fields<'de> for MessageObj<'_, 'de, '_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let facts = &mut *self.0.facts;
        match key {
            "id" => set_once(&mut facts.response_id, raw(map)?),
            "model" => set_once(&mut facts.response_model, raw(map)?),
            "stop_reason" => push_unique(&mut facts.finish_reasons, raw(map)?),
            "usage" => {
                if let Some(u) = map.next_value::<Option<Usage>>()? {
                    u.apply(&mut facts.usage, !self.0.streaming);
                }
            }
            "content" => {
                map.next_value_seed(Each(&mut Block(&mut facts.completion_text)))?;
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A content block (`content_block_start` or a body's `content[]`).
struct Block<'s>(&'s mut String);

impl<'de> Fields<'de> for Block<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" | "thinking" | "name" => {
                append_json_str(raw(map)?, self.0);
            }
            // A tool call's input: `{}` at `content_block_start`, the whole object in a body.
            "input" => {
                let r = raw(map)?;
                if r.get() != "{}" {
                    self.0.push_str(r.get());
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// `content_block_delta`'s and `message_delta`'s `delta`.
struct Delta<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for Delta<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" | "partial_json" | "thinking" => {
                append_json_str(raw(map)?, &mut self.0.completion_text);
            }
            "stop_reason" => push_unique(&mut self.0.finish_reasons, raw(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

struct ErrorObj<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for ErrorObj<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => set_once(&mut self.0.stream_error_type, raw(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cumulative_and_input_sums_cache() {
        let mut f = ResponseFacts::default();
        on_event(br#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"cache_creation":{"ephemeral_5m_input_tokens":200},"output_tokens":1}}}"#, &mut f);
        assert_eq!(f.usage.input_tokens, Some(1210));
        assert_eq!(f.usage.output_tokens, None);
        on_event(br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#, &mut f);
        on_event(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#, &mut f);
        on_event(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#, &mut f);
        assert_eq!(f.usage.output_tokens, Some(9));
        assert_eq!(f.usage.input_tokens, Some(1210));
        assert_eq!(f.finish_reasons, ["end_turn"]);
        assert_eq!(f.response_id.as_deref(), Some("msg_1"));
        on_event(br#"{"type":"message_stop"}"#, &mut f);
        assert!(f.complete);
    }

    #[test]
    fn reads_error_event_and_bodies() {
        let mut f = ResponseFacts::default();
        on_event(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            &mut f,
        );
        assert_eq!(f.stream_error_type.as_deref(), Some("overloaded_error"));

        let mut f = ResponseFacts::default();
        parse_body(br#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"Hello"},{"type":"tool_use","id":"t","name":"get","input":{"a":{"b":1}}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"cache_read_input_tokens":3,"output_tokens":11}}"#, &mut f);
        assert_eq!(f.completion_text, "hmmHelloget{\"a\":{\"b\":1}}");
        assert_eq!(f.usage.input_tokens, Some(8));
        assert_eq!(f.usage.output_tokens, Some(11));
        assert_eq!(f.response_model.as_deref(), Some("claude-haiku-4-5"));
        assert!(f.complete);
    }
}
