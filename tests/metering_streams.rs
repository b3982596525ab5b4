//! Recorded provider streams through `ResponseMeter`: same facts for every split and line ending,
//! and stripping the injected usage yields exactly the stream the caller asked for.

use bytes::Bytes;
use genops_gateway::metering::tokens::final_counts;
use genops_gateway::metering::{ResponseFacts, TokenSource};
use genops_gateway::provider::dispatch::ResponseMeter;
use genops_gateway::provider::{Operation, ProviderKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// LF, CRLF and CR versions of an SSE fixture.
fn line_endings(sse: &[u8]) -> Vec<Vec<u8>> {
    let lf = String::from_utf8(sse.to_vec())
        .unwrap()
        .replace("\r\n", "\n");
    vec![
        lf.clone().into_bytes(),
        lf.replace('\n', "\r\n").into_bytes(),
        lf.replace('\n', "\r").into_bytes(),
    ]
}

struct Case {
    kind: ProviderKind,
    op: Operation,
    streaming: bool,
    strip: bool,
}

fn run(c: &Case, input: &[u8], sizes: &[usize]) -> (Vec<u8>, ResponseFacts) {
    let input = Bytes::copy_from_slice(input);
    let mut m = ResponseMeter::new(c.kind, c.op, c.streaming, c.strip);
    let mut out = Vec::new();
    let (mut i, mut k) = (0, 0);
    while i < input.len() {
        let n = sizes[k % sizes.len()].min(input.len() - i);
        out.extend_from_slice(&m.on_chunk(input.slice(i..i + n)));
        i += n;
        k += 1;
    }
    out.extend_from_slice(&m.on_end());
    (out, m.into_facts())
}

const SPLITS: &[&[usize]] = &[
    &[1],
    &[2],
    &[3],
    &[1, 2, 3],
    &[17, 64, 5],
    &[256, 1024, 300],
    &[1460],
];

/// Feeds every split; returns the whole-input output and facts after checking they never vary.
fn every_split(c: &Case, input: &[u8]) -> (Vec<u8>, ResponseFacts) {
    let whole = run(c, input, &[input.len().max(1)]);
    for sizes in SPLITS {
        let got = run(c, input, sizes);
        assert_eq!(got.1, whole.1, "facts differ for split {sizes:?}");
        assert_eq!(got.0, whole.0, "output differs for split {sizes:?}");
    }
    whole
}

fn openai_chat(strip: bool) -> Case {
    Case {
        kind: ProviderKind::Openai,
        op: Operation::ChatCompletions,
        streaming: true,
        strip,
    }
}

#[test]
fn openai_chat_injected_usage_is_read_and_stripped_byte_for_byte() {
    let with = line_endings(&fixture("openai_chat_include_usage.sse"));
    let plain = line_endings(&fixture("openai_chat_plain.sse"));
    for (w, p) in with.iter().zip(&plain) {
        let (out, f) = every_split(&openai_chat(true), w);
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(p));
        assert_eq!(
            f.completion_text,
            "The capital of France is **Paris**.\n\nIt's known for the \"Eiffel Tower\" — 🗼."
        );
        assert_eq!(
            (f.usage.input_tokens, f.usage.output_tokens),
            (Some(24), Some(21))
        );
        assert_eq!(f.usage.cache_read_input_tokens, Some(0));
        assert_eq!(f.finish_reasons, ["stop"]);
        assert_eq!(f.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(
            f.response_id.as_deref(),
            Some("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG")
        );
        assert!(f.complete);
        // Without stripping the caller gets the upstream bytes unchanged.
        let (out, f2) = every_split(&openai_chat(false), w);
        assert_eq!(&out, w);
        assert_eq!(f2, f);
    }
}

#[test]
fn openai_tool_calls_with_cached_and_reasoning_tokens() {
    for s in line_endings(&fixture("openai_chat_tool_calls.sse")) {
        let (out, f) = every_split(&openai_chat(false), &s);
        assert_eq!(out, s);
        assert_eq!(
            f.completion_text,
            "get_weather{\"location\":\"Paris, France\"}"
        );
        assert_eq!(f.usage.input_tokens, Some(1200));
        assert_eq!(f.usage.cache_read_input_tokens, Some(1024));
        assert_eq!(f.usage.reasoning_output_tokens, Some(128));
        assert_eq!(f.finish_reasons, ["tool_calls"]);
        let c = final_counts(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            Some("o4-mini"),
            b"{}",
            &f,
        );
        assert_eq!(
            (c.input, c.output, c.source),
            (1200, 150, TokenSource::Usage)
        );
    }
}

#[test]
fn openai_legacy_completions_stripped() {
    let case = Case {
        kind: ProviderKind::Openai,
        op: Operation::Completions,
        streaming: true,
        strip: true,
    };
    for s in line_endings(&fixture("openai_completions_include_usage.sse")) {
        let (out, f) = every_split(&case, &s);
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("usage"), "{out}");
        assert!(
            out.ends_with("[DONE]\n\n")
                || out.ends_with("[DONE]\r\n\r\n")
                || out.ends_with("[DONE]\r\r")
        );
        assert_eq!(f.completion_text, "\n\nOnce upon a time");
        assert_eq!(
            (f.usage.input_tokens, f.usage.output_tokens),
            (Some(5), Some(6))
        );
        assert_eq!(f.finish_reasons, ["length"]);
    }
}

#[test]
fn openai_responses_api() {
    let case = Case {
        kind: ProviderKind::Openai,
        op: Operation::Responses,
        streaming: true,
        strip: false,
    };
    for s in line_endings(&fixture("openai_responses.sse")) {
        let (out, f) = every_split(&case, &s);
        assert_eq!(out, s);
        assert_eq!(f.completion_text, "Hi there, I'm a \"bot\"\nOK");
        assert_eq!(
            (f.usage.input_tokens, f.usage.output_tokens),
            (Some(37), Some(11))
        );
        assert_eq!(f.usage.cache_read_input_tokens, Some(12));
        assert_eq!(f.response_model.as_deref(), Some("gpt-4.1-2025-04-14"));
        assert_eq!(f.finish_reasons, ["completed"]);
        assert!(f.complete);
    }
}

fn anthropic() -> Case {
    Case {
        kind: ProviderKind::Anthropic,
        op: Operation::Messages,
        streaming: true,
        strip: false,
    }
}

#[test]
fn anthropic_thinking_cache_and_tool_use() {
    for s in line_endings(&fixture("anthropic_thinking_cache.sse")) {
        let (out, f) = every_split(&anthropic(), &s);
        assert_eq!(out, s);
        assert_eq!(
            f.completion_text,
            "Let me think about 2+2.\nIt is 4.The answer is **4**.record{\"value\": 4}"
        );
        assert_eq!(f.usage.input_tokens, Some(25 + 512 + 2048));
        assert_eq!(f.usage.cache_read_input_tokens, Some(2048));
        assert_eq!(f.usage.cache_creation_input_tokens, Some(512));
        assert_eq!(f.usage.output_tokens, Some(89));
        assert_eq!(f.finish_reasons, ["tool_use"]);
        assert!(f.complete);
        let c = final_counts(
            ProviderKind::Anthropic,
            Operation::Messages,
            Some("claude-sonnet-4-5"),
            b"{}",
            &f,
        );
        assert_eq!(
            (c.input, c.output, c.cache_creation_input, c.source),
            (2585, 89, 512, TokenSource::Usage)
        );
    }
}

#[test]
fn anthropic_cut_counts_output_with_the_tokenizer() {
    for s in line_endings(&fixture("anthropic_cut.sse")) {
        let (_, f) = every_split(&anthropic(), &s);
        assert!(!f.complete);
        assert_eq!(f.usage.input_tokens, Some(2585));
        assert_eq!(f.usage.output_tokens, None);
        let c = final_counts(
            ProviderKind::Anthropic,
            Operation::Messages,
            Some("claude-sonnet-4-5"),
            b"{}",
            &f,
        );
        assert_eq!(c.source, TokenSource::Mixed);
        assert_eq!(c.input, 2585);
        assert!(c.output > 5, "{c:?}");
    }
}

#[test]
fn gemini_sse_and_json_array_agree() {
    let sse = Case {
        kind: ProviderKind::Gemini,
        op: Operation::StreamGenerateContent,
        streaming: true,
        strip: false,
    };
    let mut seen = Vec::new();
    for s in line_endings(&fixture("gemini_stream.sse")) {
        let (out, f) = every_split(&sse, &s);
        assert_eq!(out, s);
        assert_eq!(f.completion_text, "**Plan** okBonjour le monde ! ✨");
        assert_eq!(
            (f.usage.input_tokens, f.usage.output_tokens),
            (Some(42), Some(38))
        );
        assert_eq!(f.usage.reasoning_output_tokens, Some(30));
        assert_eq!(f.usage.cache_read_input_tokens, Some(32));
        assert_eq!(f.finish_reasons, ["STOP"]);
        assert!(f.complete);
        seen.push(f);
    }
    let arr = Case {
        kind: ProviderKind::Gemini,
        op: Operation::StreamGenerateContent,
        streaming: false,
        strip: false,
    };
    let body = fixture("gemini_stream_array.json");
    let (out, f) = every_split(&arr, &body);
    assert_eq!(out, body);
    assert_eq!(f, seen[0]);
}

#[test]
fn compatible_server_without_usage_falls_back_to_tokenizer() {
    for s in line_endings(&fixture("openai_compat_no_usage.sse")) {
        // The gateway asked for usage; the server ignored it: nothing to strip.
        let (out, f) = every_split(&openai_chat(true), &s);
        assert_eq!(out, s);
        assert_eq!(f.completion_text, "Hello! How can I help?");
        assert_eq!(f.usage.input_tokens, None);
        assert!(f.complete);
        let req = br#"{"model":"llama-3.1-8b-instruct","messages":[{"role":"user","content":"Hi"}],"stream":true}"#;
        let c = final_counts(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            Some("llama-3.1-8b-instruct"),
            req,
            &f,
        );
        assert_eq!(c.source, TokenSource::Tokenizer);
        assert!(c.output >= 7 && c.input >= 7, "{c:?}");
    }
}

#[test]
fn openai_stream_cut_mid_event() {
    for s in line_endings(&fixture("openai_chat_cut.sse")) {
        let (out, f) = every_split(&openai_chat(true), &s);
        assert!(!f.complete);
        assert_eq!(f.usage.input_tokens, None);
        assert_eq!(f.completion_text, "The capital of");
        // Complete events lose their `"usage":null`; the cut-off tail is passed on as it came.
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("\"usage\":null}"), "{text}");
        let c = final_counts(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            Some("gpt-4o-mini"),
            b"{}",
            &f,
        );
        assert_eq!((c.output, c.source), (3, TokenSource::Tokenizer));
    }
}
