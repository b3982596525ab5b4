//! OpenAI request bodies: what governance reads, and the `include_usage` injection.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::metering::json_scan::find_member;
use crate::metering::RequestFacts;
use crate::provider::dispatch::RequestError;
use crate::provider::Operation;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<std::borrow::Cow<'a, str>>,
    stream: Option<bool>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    max_output_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

pub fn parse(op: Operation, body: &[u8]) -> Result<RequestFacts, RequestError> {
    let req: Request<'_> = serde_json::from_slice(body).map_err(RequestError::json)?;
    let model = req.model.map(|m| m.into_owned());
    if model.is_none() {
        return Err(RequestError::MissingField("model"));
    }
    // Chat completions prefers `max_completion_tokens`; `max_tokens` is its deprecated alias.
    let max_tokens = match op {
        Operation::Responses => req.max_output_tokens,
        _ => req.max_completion_tokens.or(req.max_tokens),
    };
    Ok(RequestFacts {
        model,
        stream: req.stream.unwrap_or(false),
        max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        caller_requested_usage: req
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
    })
}

/// Whether a request in this state gets `stream_options.include_usage: true` added.
pub fn needs_usage_injection(op: Operation, facts: &RequestFacts) -> bool {
    matches!(op, Operation::ChatCompletions | Operation::Completions)
        && facts.stream
        && !facts.caller_requested_usage
}

const INJECTED: &[u8] = br#""stream_options":{"include_usage":true}"#;

/// Adds `include_usage: true`: a splice after the opening `{` when the caller sent no
/// `stream_options`, a JSON round trip when it sent some without `include_usage: true`.
/// Returns the body unchanged (and `false`) if it cannot be rewritten safely.
pub fn inject_usage(body: Bytes) -> (Bytes, bool) {
    match find_member(&body, "stream_options") {
        None => {
            let Some(open) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
                return (body, false);
            };
            if body[open] != b'{' {
                return (body, false);
            }
            let rest = &body[open + 1..];
            let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
            let mut out = BytesMut::with_capacity(body.len() + INJECTED.len() + 1);
            out.extend_from_slice(&body[..=open]);
            out.extend_from_slice(INJECTED);
            if !empty {
                out.extend_from_slice(b",");
            }
            out.extend_from_slice(rest);
            (out.freeze(), true)
        }
        Some(_) => {
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return (body, false);
            };
            let Some(obj) = value.as_object_mut() else {
                return (body, false);
            };
            let opts = obj
                .entry("stream_options")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if !opts.is_object() {
                *opts = serde_json::Value::Object(Default::default());
            }
            if let Some(o) = opts.as_object_mut() {
                o.insert("include_usage".to_owned(), serde_json::Value::Bool(true));
            }
            match serde_json::to_vec(&value) {
                Ok(v) => (Bytes::from(v), true),
                Err(_) => (body, false),
            }
        }
    }
}

/// Replaces the top-level `"model"` value, leaving every other byte as sent.
pub fn rewrite_model(body: &[u8], new_model: &str) -> Result<Bytes, RequestError> {
    let m = find_member(body, "model").ok_or(RequestError::MissingField("model"))?;
    let encoded = serde_json::to_string(new_model).map_err(RequestError::json)?;
    let mut out = BytesMut::with_capacity(body.len() + encoded.len());
    out.extend_from_slice(&body[..m.value_start]);
    out.extend_from_slice(encoded.as_bytes());
    out.extend_from_slice(&body[m.value_end..]);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_facts() {
        let f = parse(
            Operation::ChatCompletions,
            br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_completion_tokens":50,"temperature":0.2,"top_p":1,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert_eq!(f.model.as_deref(), Some("gpt-4o"));
        assert!(f.stream && f.caller_requested_usage);
        assert_eq!(f.max_tokens, Some(50));
        assert_eq!(f.top_p, Some(1.0));
        assert!(matches!(
            parse(Operation::ChatCompletions, b"{\"messages\":[]}"),
            Err(RequestError::MissingField("model"))
        ));
        let e = parse(
            Operation::ChatCompletions,
            br#"{"model":"m","max_tokens":"x"}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("max_tokens") || e.to_string().contains("invalid type"),
            "{e}"
        );
        assert!(parse(Operation::ChatCompletions, b"{not json").is_err());
    }

    #[test]
    fn injects_by_splice_or_round_trip() {
        let (b, inj) = inject_usage(Bytes::from_static(br#"{"model":"m","stream":true}"#));
        assert!(inj);
        assert_eq!(
            &b[..],
            br#"{"stream_options":{"include_usage":true},"model":"m","stream":true}"#
        );
        let (b, inj) = inject_usage(Bytes::from_static(
            br#"{"model":"m","stream_options":{"include_usage":false}}"#,
        ));
        assert!(inj);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["model"], "m");
    }

    #[test]
    fn rewrites_model_in_place() {
        let b = rewrite_model(
            br#"{"messages":[{"model":"x"}], "model" : "gpt-4o","n":1}"#,
            "gpt-4o-mini",
        )
        .unwrap();
        assert_eq!(
            &b[..],
            br#"{"messages":[{"model":"x"}], "model" : "gpt-4o-mini","n":1}"#
        );
    }
}
