//! The prompt text of a request body (every message's text, any role), for content checks.
//!
//! Read per provider format: OpenAI `messages[].content` (string or text parts),
//! `prompt`, `input` (Responses items, embeddings strings) and `instructions`; Anthropic `system`
//! and `messages[].content` (text and `tool_result` blocks); Gemini `contents[].parts[].text` and
//! `systemInstruction`. Pieces are joined with a newline so a detector never matches across two
//! messages. Images, audio and token-id arrays are skipped. A body that is not JSON yields "".

use serde_json::Value;

use crate::provider::ProviderKind;

/// The top-level fields that carry prompt text, per wire format.
fn fields(provider: ProviderKind) -> &'static [&'static str] {
    match provider {
        ProviderKind::Openai => &["instructions", "messages", "prompt", "input"],
        ProviderKind::Anthropic => &["system", "messages"],
        ProviderKind::Gemini => &["systemInstruction", "system_instruction", "contents"],
    }
}

/// All prompt text of `body`, newline-separated.
pub fn extract(provider: ProviderKind, body: &[u8]) -> String {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let mut out = String::new();
    for field in fields(provider) {
        if let Some(v) = root.get(*field) {
            collect(v, &mut out);
        }
    }
    out
}

/// Walks the shapes every format shares: a string, a list, or an object whose text sits under
/// `text` (a part or block), `content` (a message, a tool result), `parts` (Gemini) or `output`
/// (a Responses tool output). Depth is bounded by serde_json's recursion limit.
fn collect(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => push(out, s),
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(map) => {
            if let Some(Value::String(s)) = map.get("text") {
                push(out, s);
            }
            for key in ["content", "parts"] {
                if let Some(inner) = map.get(key) {
                    collect(inner, out);
                }
            }
            if let Some(Value::String(s)) = map.get("output") {
                push(out, s);
            }
        }
        _ => {}
    }
}

fn push(out: &mut String, s: &str) {
    if s.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(s);
}
