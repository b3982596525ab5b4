//! Catalog-level tests: shipped prices, lookups, overrides, embedded copy.

use std::path::PathBuf;

use super::*;
use crate::metering::TokenCounts;
use crate::provider::ProviderKind;

fn shipped() -> Catalog {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pricing");
    Catalog::load(&[dir]).expect("shipped catalog loads")
}

fn tokens(input: u64, output: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        ..TokenCounts::default()
    }
}

#[test]
fn gpt_4o_mini_call_costs_exactly() {
    let row = shipped()
        .lookup(ProviderKind::Openai, "gpt-4o-mini-2024-07-18")
        .unwrap();
    let c = row.cost(&tokens(212, 20));
    // 212 × $0.15 + 20 × $0.60 per million = $0.0000318 + $0.000012 = $0.0000438
    assert_eq!(c.input, 31_800);
    assert_eq!(c.output, 12_000);
    assert_eq!(c.total(), 43_800);
    assert_eq!(c.price_provider, "openai");
    assert_eq!(c.price_model, "gpt-4o-mini");
}

#[test]
fn openai_cached_input_is_cheaper() {
    let row = shipped().lookup(ProviderKind::Openai, "gpt-4o").unwrap();
    let t = TokenCounts {
        input: 2_000,
        cache_read_input: 1_024,
        output: 100,
        ..TokenCounts::default()
    };
    let c = row.cost(&t);
    // 976 × $2.50 + 1024 × $1.25 = 2_440_000 + 1_280_000 nano; 100 × $10 = 1_000_000 nano
    assert_eq!(c.input, 3_720_000);
    assert_eq!(c.output, 1_000_000);
}

#[test]
fn anthropic_cache_write_and_read() {
    let row = shipped()
        .lookup(ProviderKind::Anthropic, "claude-sonnet-4-5-20250929")
        .unwrap();
    assert_eq!(row.model, "claude-sonnet-4-5");
    let t = TokenCounts {
        input: 10 + 3_000 + 5_000,
        cache_creation_input: 3_000,
        cache_read_input: 5_000,
        output: 400,
        ..TokenCounts::default()
    };
    let c = row.cost(&t);
    // 10 × $3 + 3000 × $3.75 + 5000 × $0.30 = 30_000 + 11_250_000 + 1_500_000 nano
    assert_eq!(c.input, 12_780_000);
    // 400 × $15 = 6_000_000 nano
    assert_eq!(c.output, 6_000_000);
}

#[test]
fn gemini_and_embeddings_price() {
    let cat = shipped();
    let flash = cat
        .lookup(
            ProviderKind::Gemini,
            "models/gemini-2.5-flash-preview-05-20",
        )
        .unwrap();
    assert_eq!(flash.model, "gemini-2.5-flash");
    assert_eq!(
        flash.cost(&tokens(1_000_000, 1_000_000)).total(),
        2_800_000_000
    );
    let emb = cat
        .lookup(ProviderKind::Openai, "text-embedding-3-small")
        .unwrap();
    assert_eq!(emb.cost(&tokens(1_000, 0)).total(), 20_000);
    assert_eq!(emb.max_output_tokens, None);
}

#[test]
fn every_requested_model_is_priced() {
    let cat = shipped();
    let cases: &[(ProviderKind, &[&str])] = &[
        (
            ProviderKind::Openai,
            &[
                "gpt-5",
                "gpt-5-mini",
                "gpt-5-nano",
                "gpt-4.1",
                "gpt-4.1-mini",
                "gpt-4.1-nano",
                "gpt-4o",
                "gpt-4o-mini",
                "o1",
                "o3",
                "o3-mini",
                "o4-mini",
                "gpt-3.5-turbo",
                "gpt-4-turbo",
                "gpt-4",
                "text-embedding-3-small",
                "text-embedding-3-large",
                "text-embedding-ada-002",
            ],
        ),
        (
            ProviderKind::Anthropic,
            &[
                "claude-opus-4-1",
                "claude-opus-4",
                "claude-sonnet-4-5",
                "claude-sonnet-4",
                "claude-3-7-sonnet",
                "claude-haiku-4-5",
                "claude-3-5-haiku",
                "claude-3-haiku",
            ],
        ),
        (
            ProviderKind::Gemini,
            &[
                "gemini-2.5-pro",
                "gemini-2.5-flash",
                "gemini-2.5-flash-lite",
                "gemini-2.0-flash",
            ],
        ),
    ];
    for (kind, models) in cases {
        for m in *models {
            let row = cat.lookup(*kind, m).unwrap_or_else(|| panic!("{m}"));
            assert_eq!(row.model, *m);
            assert!(row.input_per_mtok > 0, "{m}");
            assert!(row.cached_input_per_mtok <= row.input_per_mtok, "{m}");
        }
    }
}

#[test]
fn snapshots_and_aliases_resolve() {
    let cat = shipped();
    let table: &[(ProviderKind, &str, &str)] = &[
        (ProviderKind::Openai, "gpt-4o-2024-08-06", "gpt-4o"),
        (
            ProviderKind::Openai,
            "gpt-4o-mini-2024-07-18",
            "gpt-4o-mini",
        ),
        (ProviderKind::Openai, "openai/gpt-4o", "gpt-4o"),
        (ProviderKind::Openai, "gpt-4-1106-preview", "gpt-4-turbo"),
        (ProviderKind::Openai, "gpt-4-0613", "gpt-4"),
        (ProviderKind::Openai, "gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        (ProviderKind::Openai, "gpt-5-chat-latest", "gpt-5"),
        (ProviderKind::Openai, "o3-mini-2025-01-31", "o3-mini"),
        (
            ProviderKind::Anthropic,
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5",
        ),
        (
            ProviderKind::Anthropic,
            "claude-3-5-haiku-latest",
            "claude-3-5-haiku",
        ),
        (
            ProviderKind::Anthropic,
            "claude-opus-4-1-20250805",
            "claude-opus-4-1",
        ),
        (
            ProviderKind::Anthropic,
            "claude-opus-4-20250514",
            "claude-opus-4",
        ),
        (ProviderKind::Anthropic, "claude-opus-4-0", "claude-opus-4"),
        (
            ProviderKind::Anthropic,
            "claude-haiku-4-5-20251001",
            "claude-haiku-4-5",
        ),
        (
            ProviderKind::Anthropic,
            "claude-3-haiku-20240307",
            "claude-3-haiku",
        ),
        (
            ProviderKind::Gemini,
            "gemini-2.5-flash-preview-05-20",
            "gemini-2.5-flash",
        ),
        (
            ProviderKind::Gemini,
            "gemini-2.5-flash-001",
            "gemini-2.5-flash",
        ),
        (
            ProviderKind::Gemini,
            "models/gemini-2.5-pro",
            "gemini-2.5-pro",
        ),
        (
            ProviderKind::Gemini,
            "gemini-2.5-flash-lite-preview-06-17",
            "gemini-2.5-flash-lite",
        ),
        // Any provider, when the route's own kind has no such model.
        (
            ProviderKind::Openai,
            "claude-sonnet-4-5",
            "claude-sonnet-4-5",
        ),
        (ProviderKind::Openai, "gemini-2.0-flash", "gemini-2.0-flash"),
    ];
    for (kind, name, want) in table {
        let row = cat.lookup(*kind, name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(row.model, *want, "{name}");
    }
}

#[test]
fn unknown_models_are_unpriced() {
    let cat = shipped();
    for name in [
        "llama-3.1-70b",
        "gpt-4o-audio-preview",
        "o1-pro",
        "",
        "ft:gpt-4o:x",
    ] {
        assert!(cat.lookup(ProviderKind::Openai, name).is_none(), "{name}");
    }
}

#[test]
fn later_sources_override_per_model() {
    let dir = std::env::temp_dir().join(format!("genops-pricing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let over = dir.join("override.yaml");
    std::fs::write(
        &over,
        "provider: openai\ncurrency: USD\nmodels:\n  gpt-4o:\n    input: 1\n    output: 2\n  my-model:\n    input: 0.5\n    output: 0.5\n    aliases: [mine]\n",
    )
    .unwrap();
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pricing");
    let cat = Catalog::load(&[base.clone(), over.clone()]).unwrap();
    let gpt4o = cat.lookup(ProviderKind::Openai, "gpt-4o").unwrap();
    assert_eq!(gpt4o.input_per_mtok, 1_000_000_000);
    assert_eq!(gpt4o.cached_input_per_mtok, 1_000_000_000);
    assert_eq!(gpt4o.max_output_tokens, None);
    assert_eq!(
        cat.lookup(ProviderKind::Openai, "mine").unwrap().model,
        "my-model"
    );
    // Untouched models keep the earlier file's price.
    let mini = cat.lookup(ProviderKind::Openai, "gpt-4o-mini").unwrap();
    assert_eq!(mini.input_per_mtok, 150_000_000);
    assert_eq!(cat.len(), shipped().len() + 1);

    // Reversed order: the shipped file wins again.
    let cat = Catalog::load(&[over, base]).unwrap();
    let gpt4o = cat.lookup(ProviderKind::Openai, "gpt-4o").unwrap();
    assert_eq!(gpt4o.input_per_mtok, 2_500_000_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_lists_every_error() {
    let dir = std::env::temp_dir().join(format!("genops-pricing-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "provider: openai\ncurrency: USD\nmodels:\n  x:\n    input: 1\n    output: abc\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.yml"),
        "provider: openai\ncurrency: USD\nmodel: {}\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
    let missing = dir.join("missing.yaml");
    let errs = Catalog::load(&[dir.clone(), missing]).unwrap_err();
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs[0].contains("a.yaml") && errs[0].contains("line"),
        "{errs:#?}"
    );
    assert!(errs[1].contains("b.yml"), "{errs:#?}");
    assert!(errs[2].contains("missing.yaml"), "{errs:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn embedded_catalog_agrees_with_the_files() {
    let embedded = Catalog::embedded();
    let files = shipped();
    assert_eq!(embedded.len(), files.len());
    assert!(embedded.len() >= 30);
    for (provider, rows) in &files.by_provider {
        for (name, row) in rows {
            let e = &embedded.by_provider[provider][name];
            assert_eq!(**e, **row, "{provider}/{name}");
        }
    }
}

#[test]
fn default_folder_rule() {
    use std::path::Path;
    // Only the default entry falls back to the embedded files when missing (the test's working
    // directory is the crate root, where `pricing/` exists, so this load reads the files).
    for p in ["pricing", "pricing/", "./pricing"] {
        assert!(super::catalog::is_default_folder(Path::new(p)), "{p}");
    }
    for p in [
        "/etc/pricing",
        "my/pricing",
        "pricing.yaml",
        "no-such-pricing-dir/",
    ] {
        assert!(!super::catalog::is_default_folder(Path::new(p)), "{p}");
    }
    let cat = Catalog::load(&[PathBuf::from("pricing/")]).unwrap();
    assert_eq!(cat.len(), Catalog::embedded().len());
    // Any other missing source is an error.
    assert!(Catalog::load(&[PathBuf::from("no-such-pricing-dir/")]).is_err());
}

#[test]
fn reservation_for_a_shipped_model() {
    let row = shipped()
        .lookup(ProviderKind::Anthropic, "claude-sonnet-4-5")
        .unwrap();
    // 1000 input tokens at the cache-write rate ($3.75) + 64000 output at $15.
    assert_eq!(
        row.reservation(1_000, row.max_output_tokens.unwrap()),
        3_750_000 + 960_000_000
    );
}

/// Rough lookup cost: `cargo test --lib pricing::tests::time_lookup -- --ignored --nocapture`.
#[test]
#[ignore]
fn time_lookup() {
    let cat = Catalog::embedded();
    let names = [
        (ProviderKind::Openai, "gpt-4o-mini"),
        (ProviderKind::Openai, "gpt-4o-mini-2024-07-18"),
        (ProviderKind::Anthropic, "claude-sonnet-4-5-20250929"),
        (ProviderKind::Openai, "unknown-model-name-2024"),
    ];
    for (kind, name) in names {
        let n = 100_000u32;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(cat.lookup(kind, std::hint::black_box(name)));
        }
        println!("{name}: {:?} per lookup", t.elapsed() / n);
    }
}
