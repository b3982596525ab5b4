//! Gemini response reading: `alt=sse` chunks, the JSON-array stream form, and bodies.
//!
//! Every chunk's `usageMetadata` is cumulative: the last one wins. Output is
//! `candidatesTokenCount + thoughtsTokenCount` (thoughts are billed as output), input is
//! `promptTokenCount` (which includes cached tokens) plus `toolUsePromptTokenCount`.

use serde::de::MapAccess;

use crate::metering::json_scan::array_elements;
use crate::metering::json_walk::{
    append_json_str, push_unique, raw, read_object, set_once, skip, Each, Fields, Obj, SkipAll,
};
use crate::metering::{ReportedUsage, ResponseFacts};

/// Reads one chunk (an SSE event's data, or one element of the JSON-array stream).
pub fn on_event(data: &[u8], facts: &mut ResponseFacts) {
    let _ = read_object(data, &mut Chunk(facts));
}

/// Reads a whole body: one object (`generateContent`) or an array of chunks
/// (`streamGenerateContent` without `alt=sse`), complete or cut.
pub fn parse_body(body: &[u8], facts: &mut ResponseFacts) {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        for element in array_elements(body) {
            on_event(element, facts);
        }
    } else {
        let ok = read_object(body, &mut Chunk(facts)).is_ok();
        facts.complete = ok && facts.stream_error_type.is_none();
    }
}

struct Chunk<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for Chunk<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "responseId" => set_once(&mut self.0.response_id, raw(map)?),
            "modelVersion" => set_once(&mut self.0.response_model, raw(map)?),
            "candidates" => {
                map.next_value_seed(Each(&mut Candidate(self.0)))?;
            }
            "usageMetadata" => {
                let mut u = UsageMetadata::default();
                map.next_value_seed(Obj(&mut u))?;
                u.apply(&mut self.0.usage);
            }
            "error" => map.next_value_seed(Obj(&mut ErrorObj(self.0)))?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

struct Candidate<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for Candidate<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "content" => map.next_value_seed(Obj(&mut Content(&mut self.0.completion_text)))?,
            "finishReason" => {
                push_unique(&mut self.0.finish_reasons, raw(map)?);
                // Gemini has no terminal event: the chunk with a finish reason is the last.
                self.0.complete = true;
            }
            "safetyRatings" => {
                map.next_value_seed(Each(&mut SkipAll))?;
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A candidate's `content`, and each of its `parts`.
struct Content<'s>(&'s mut String);

impl<'de> Fields<'de> for Content<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "parts" => {
                map.next_value_seed(Each(self))?;
            }
            "text" => {
                append_json_str(raw(map)?, self.0);
            }
            "functionCall" => {
                let v = map.next_value::<&serde_json::value::RawValue>()?;
                self.0.push_str(v.get());
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct UsageMetadata {
    prompt: Option<u64>,
    candidates: Option<u64>,
    cached: Option<u64>,
    thoughts: Option<u64>,
    tool_use_prompt: Option<u64>,
}

impl<'de> Fields<'de> for UsageMetadata {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let slot = match key {
            "promptTokenCount" => &mut self.prompt,
            "candidatesTokenCount" => &mut self.candidates,
            "cachedContentTokenCount" => &mut self.cached,
            "thoughtsTokenCount" => &mut self.thoughts,
            "toolUsePromptTokenCount" => &mut self.tool_use_prompt,
            // `*TokensDetails` are arrays of flat objects.
            k if k.ends_with("Details") => {
                map.next_value_seed(Each(&mut SkipAll))?;
                return Ok(());
            }
            _ => return skip(map),
        };
        *slot = map.next_value::<Option<u64>>()?;
        Ok(())
    }
}

impl UsageMetadata {
    fn apply(&self, out: &mut ReportedUsage) {
        let Some(prompt) = self.prompt else { return };
        out.input_tokens = Some(prompt + self.tool_use_prompt.unwrap_or(0));
        out.output_tokens = Some(self.candidates.unwrap_or(0) + self.thoughts.unwrap_or(0));
        out.cache_read_input_tokens = self.cached;
        out.reasoning_output_tokens = self.thoughts;
    }
}

/// `{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}}`.
struct ErrorObj<'f>(&'f mut ResponseFacts);

impl<'de> Fields<'de> for ErrorObj<'_> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "status" => set_once(&mut self.0.stream_error_type, raw(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = r#"{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9,"promptTokensDetails":[{"modality":"TEXT","tokenCount":9}]},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;
    const C2: &str = r#"{"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,"thoughtsTokenCount":5,"cachedContentTokenCount":4,"totalTokenCount":16},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;

    #[test]
    fn last_usage_wins() {
        let mut f = ResponseFacts::default();
        on_event(C1.as_bytes(), &mut f);
        on_event(C2.as_bytes(), &mut f);
        assert_eq!(f.completion_text, "Hello");
        assert_eq!(f.usage.input_tokens, Some(9));
        assert_eq!(f.usage.output_tokens, Some(7));
        assert_eq!(f.usage.reasoning_output_tokens, Some(5));
        assert_eq!(f.usage.cache_read_input_tokens, Some(4));
        assert!(f.complete);
    }

    #[test]
    fn reads_json_array_stream_whole_or_cut() {
        let whole = format!("[{C1}\n,\r\n{C2}\n]");
        let mut f = ResponseFacts::default();
        parse_body(whole.as_bytes(), &mut f);
        assert_eq!(f.completion_text, "Hello");
        assert_eq!(f.usage.output_tokens, Some(7));
        let cut = &whole[..whole.len() - 40];
        let mut f = ResponseFacts::default();
        parse_body(cut.as_bytes(), &mut f);
        assert_eq!(f.completion_text, "Hel");
        assert!(!f.complete);
    }
}
