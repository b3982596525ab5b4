//! Counts an OpenAI request's prompt tokens with OpenAI's chat message accounting.
//!
//! Each message costs 3 tokens of framing plus its role and text, a `name` costs 1 more, and the
//! reply is primed with 3. Text content parts are counted; image, audio and file parts are
//! ignored (their price depends on detail and size the body does not always state), so a
//! vision call counted here is an undercount. Tool definitions are counted as their JSON text.

use serde_json::Value;

use crate::provider::Operation;

const TOKENS_PER_MESSAGE: u64 = 3;
const TOKENS_PER_NAME: u64 = 1;
const REPLY_PRIMING: u64 = 3;

/// `count` counts one text; malformed bodies count 0.
pub fn count(op: Operation, body: &[u8], count: &dyn Fn(&str) -> u64) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    match op {
        Operation::ChatCompletions => chat(&v, count),
        Operation::Completions => texts(&v["prompt"], count),
        Operation::Embeddings => texts(&v["input"], count),
        Operation::Responses => responses(&v, count),
        _ => 0,
    }
}

fn chat(v: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    let mut n = REPLY_PRIMING;
    for m in v["messages"].as_array().into_iter().flatten() {
        n += TOKENS_PER_MESSAGE;
        n += m["role"].as_str().map_or(0, count);
        n += content(&m["content"], count);
        if let Some(name) = m["name"].as_str() {
            n += count(name) + TOKENS_PER_NAME;
        }
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            n += call["function"]["name"].as_str().map_or(0, count);
            n += call["function"]["arguments"].as_str().map_or(0, count);
        }
    }
    n + tools(&v["tools"], count)
}

fn responses(v: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    let mut n = REPLY_PRIMING + v["instructions"].as_str().map_or(0, count);
    match &v["input"] {
        Value::String(s) => n += TOKENS_PER_MESSAGE + count(s),
        Value::Array(items) => {
            for item in items {
                n += TOKENS_PER_MESSAGE;
                n += item["role"].as_str().map_or(0, count);
                n += content(&item["content"], count);
                n += item["output"].as_str().map_or(0, count);
                n += item["arguments"].as_str().map_or(0, count);
            }
        }
        _ => {}
    }
    n + tools(&v["tools"], count)
}

/// A string, or an array of parts of which the `text` ones count.
pub fn content(c: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match c {
        Value::String(s) => count(s),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .map(count)
            .sum(),
        _ => 0,
    }
}

/// `prompt` / `input`: a string, strings, or pre-tokenized arrays (counted by length).
fn texts(v: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match v {
        Value::String(s) => count(s),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => count(s),
                Value::Number(_) => 1,
                Value::Array(toks) => toks.len() as u64,
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

fn tools(v: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match v {
        Value::Array(t) if !t.is_empty() => count(&v.to_string()),
        _ => 0,
    }
}
