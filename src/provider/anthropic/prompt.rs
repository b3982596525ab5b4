//! Counts an Anthropic request's prompt text (system, messages, tool definitions).
//!
//! Text and thinking blocks, tool inputs and tool results count; image and document blocks are
//! ignored. Anthropic's own framing per message is unknown, so each message is charged OpenAI's
//! 3 tokens; the model-family estimate in `metering::tokenizer` scales the total.

use serde_json::Value;

const TOKENS_PER_MESSAGE: u64 = 3;

pub fn count(body: &[u8], count: &dyn Fn(&str) -> u64) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    let mut n = blocks(&v["system"], count);
    for m in v["messages"].as_array().into_iter().flatten() {
        n += TOKENS_PER_MESSAGE + blocks(&m["content"], count);
    }
    if v["tools"].as_array().is_some_and(|t| !t.is_empty()) {
        n += count(&v["tools"].to_string());
    }
    n
}

fn blocks(c: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match c {
        Value::String(s) => count(s),
        Value::Array(bs) => bs
            .iter()
            .map(|b| {
                let mut n = 0;
                n += b["text"].as_str().map_or(0, count);
                n += b["thinking"].as_str().map_or(0, count);
                if b["input"].is_object() {
                    n += count(&b["input"].to_string());
                }
                n + blocks(&b["content"], count)
            })
            .sum(),
        _ => 0,
    }
}
