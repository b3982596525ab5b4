//! Proves the stream meter allocates nothing per content-delta event in steady state.
//!
//! A counting global allocator (per thread, so parallel tests do not interfere) counts fresh
//! allocations; reallocations are counted apart: they are the completion text's amortised
//! growth (O(log n) over a stream), not per-event work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use genops_gateway::provider::dispatch::ResponseMeter;
use genops_gateway::provider::{Operation, ProviderKind};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = REALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counts() -> (u64, u64) {
    (ALLOCS.with(Cell::get), REALLOCS.with(Cell::get))
}

/// Feeds `warm` events then `n` more (pre-built chunks, a few events per chunk, split at odd
/// places); returns (allocations, reallocations) during the last `n`.
fn measure(kind: ProviderKind, op: Operation, strip: bool, event: &str, n: usize) -> (u64, u64) {
    let stream: String = event.repeat(n);
    let warm: String = event.repeat(200);
    let chunks: Vec<Bytes> = stream
        .as_bytes()
        .chunks(301)
        .map(Bytes::copy_from_slice)
        .collect();
    let warm_chunks: Vec<Bytes> = warm
        .as_bytes()
        .chunks(301)
        .map(Bytes::copy_from_slice)
        .collect();
    let mut m = ResponseMeter::new(kind, op, true, strip);
    for c in warm_chunks {
        drop(m.on_chunk(c));
    }
    let before = counts();
    for c in chunks {
        drop(m.on_chunk(c));
    }
    let after = counts();
    assert!(m.output_chars() > n);
    (after.0 - before.0, after.1 - before.1)
}

const OPENAI_DELTA: &str = "data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_06737a9306\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" \\\"quoted\\\" text\\n\\u00e9\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";
const ANTHROPIC_DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" some \\\"text\\\"\\n\"}}\n\n";
const RESPONSES_DELTA: &str = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":5,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" word\\n\",\"logprobs\":[]}\n\n";
const GEMINI_DELTA: &str = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" mot \\\"x\\\"\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":3,\"totalTokenCount\":12,\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":9}]},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n";

const N: usize = 10_000;

#[test]
fn zero_allocations_per_content_delta_event() {
    for (name, kind, op, event) in [
        (
            "openai chat",
            ProviderKind::Openai,
            Operation::ChatCompletions,
            OPENAI_DELTA,
        ),
        (
            "anthropic",
            ProviderKind::Anthropic,
            Operation::Messages,
            ANTHROPIC_DELTA,
        ),
        (
            "openai responses",
            ProviderKind::Openai,
            Operation::Responses,
            RESPONSES_DELTA,
        ),
        (
            "gemini",
            ProviderKind::Gemini,
            Operation::StreamGenerateContent,
            GEMINI_DELTA,
        ),
    ] {
        let (allocs, reallocs) = measure(kind, op, false, event, N);
        println!("{name}: {allocs} allocations, {reallocs} reallocations over {N} events");
        assert_eq!(allocs, 0, "{name}: allocations per event");
        assert!(
            reallocs <= 32,
            "{name}: {reallocs} reallocations is not amortised growth"
        );
    }
}

#[test]
fn stripping_allocates_at_most_per_chunk_never_per_event() {
    let (allocs, reallocs) = measure(
        ProviderKind::Openai,
        Operation::ChatCompletions,
        true,
        OPENAI_DELTA,
        N,
    );
    println!(
        "openai chat, stripping: {allocs} allocations, {reallocs} reallocations over {N} events"
    );
    assert!(
        allocs < (N as u64) / 10,
        "{allocs} allocations for {N} events"
    );
}
