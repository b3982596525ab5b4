//! Throughput of the stream meter (bytes/s) on recorded fixtures, and of the tokenizer fallback.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use genops_gateway::metering::tokenizer;
use genops_gateway::provider::dispatch::ResponseMeter;
use genops_gateway::provider::{Operation, ProviderKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap_or_default()
}

/// The fixture repeated into a ~256 KiB stream, pre-split into chunks cycling `sizes`.
fn chunked(body: &[u8], sizes: &[usize]) -> (Vec<Bytes>, u64) {
    let reps = (256 * 1024 / body.len().max(1)).max(1);
    let all = Bytes::from(body.repeat(reps));
    let mut out = Vec::new();
    let (mut i, mut k) = (0, 0);
    while i < all.len() {
        let n = sizes[k % sizes.len()].min(all.len() - i);
        out.push(all.slice(i..i + n));
        i += n;
        k += 1;
    }
    (out, all.len() as u64)
}

fn meter(c: &mut Criterion) {
    let cases = [
        (
            "openai_chat",
            ProviderKind::Openai,
            Operation::ChatCompletions,
            false,
            "openai_chat_include_usage.sse",
        ),
        (
            "openai_chat_strip",
            ProviderKind::Openai,
            Operation::ChatCompletions,
            true,
            "openai_chat_include_usage.sse",
        ),
        (
            "anthropic",
            ProviderKind::Anthropic,
            Operation::Messages,
            false,
            "anthropic_thinking_cache.sse",
        ),
    ];
    let splits: [(&str, &[usize]); 2] = [
        ("realistic", &[512, 1460, 4096, 256]),
        ("1-3_bytes", &[1, 2, 3]),
    ];
    let mut group = c.benchmark_group("sse_meter");
    for (name, kind, op, strip, file) in cases {
        let body = fixture(file);
        for (split, sizes) in splits {
            let (chunks, total) = chunked(&body, sizes);
            group.throughput(Throughput::Bytes(total));
            group.bench_with_input(BenchmarkId::new(name, split), &chunks, |b, chunks| {
                b.iter(|| {
                    let mut m = ResponseMeter::new(kind, op, true, strip);
                    for ch in chunks {
                        black_box(m.on_chunk(ch.clone()));
                    }
                    black_box(m.on_end());
                    black_box(m.output_chars())
                })
            });
        }
    }
    group.finish();
}

fn tokenizer_speed(c: &mut Criterion) {
    tokenizer::warm_up();
    let text = "The gateway meters every stream it forwards; when a provider reports no usage, \
                it counts the completion with the model's tokenizer. Ça marche aussi en français, \
                y también en español. 数字 12345 and code: fn main() { println!(\"hi\"); }\n"
        .repeat(64);
    let tokens = tokenizer::count_text("gpt-4o", &text);
    let mut group = c.benchmark_group("tokenizer");
    group.throughput(Throughput::Elements(tokens));
    for model in ["gpt-4o", "gpt-4", "claude-sonnet-4-5"] {
        group.bench_function(BenchmarkId::new("count_text", model), |b| {
            b.iter(|| tokenizer::count_text(black_box(model), black_box(&text)))
        });
    }
    group.finish();
}

criterion_group!(benches, meter, tokenizer_speed);
criterion_main!(benches);
