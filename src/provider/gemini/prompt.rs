//! Counts a Gemini request's prompt text (`systemInstruction`, `contents[].parts[].text`).
//!
//! Inline data (images, audio, files) is ignored; each content is charged 3 framing tokens.

use serde_json::Value;

const TOKENS_PER_CONTENT: u64 = 3;

pub fn count(body: &[u8], count: &dyn Fn(&str) -> u64) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    let mut n = parts(&v["systemInstruction"]["parts"], count);
    for c in v["contents"].as_array().into_iter().flatten() {
        n += TOKENS_PER_CONTENT + parts(&c["parts"], count);
    }
    n
}

fn parts(p: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    p.as_array()
        .into_iter()
        .flatten()
        .map(|part| {
            let mut n = part["text"].as_str().map_or(0, count);
            if part["functionCall"].is_object() {
                n += count(&part["functionCall"].to_string());
            }
            if part["functionResponse"].is_object() {
                n += count(&part["functionResponse"].to_string());
            }
            n
        })
        .sum()
}
