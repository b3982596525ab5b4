//! Token counting for when a provider reports no usage (tiktoken-rs, one encoder per process).
//!
//! Encoders: `o200k_base` for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4 and gpt-oss;
//! `cl100k_base` for older OpenAI models (gpt-4, gpt-3.5, text-embedding-*, davinci/babbage).
//! Other families (claude, gemini, llama, mistral, ...) have no public tokenizer here: they are
//! estimated as `ceil(cl100k_base count × 1.1)`, since their vocabularies are somewhat smaller
//! than cl100k's on English text and code; the estimate errs on the high side.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::provider::{anthropic, gemini, openai, Operation, ProviderKind};

/// Which counting rule a model name gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    O200k,
    Cl100k,
    /// cl100k_base × 1.1, rounded up.
    Estimate,
}

impl Encoding {
    /// From a model name; provider prefixes (`openai/`, `ft:`) are ignored.
    pub fn for_model(model: &str) -> Encoding {
        let m = model.strip_prefix("ft:").unwrap_or(model);
        let m = m.rsplit('/').next().unwrap_or(m).to_ascii_lowercase();
        let o200k = [
            "gpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
            "chatgpt-4o",
            "o1",
            "o3",
            "o4",
            "codex",
        ];
        let cl100k = [
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-",
            "davinci",
            "babbage",
        ];
        if o200k.iter().any(|p| m.starts_with(p)) {
            Encoding::O200k
        } else if cl100k.iter().any(|p| m.starts_with(p)) {
            Encoding::Cl100k
        } else {
            Encoding::Estimate
        }
    }
}

static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn o200k() -> Option<&'static CoreBPE> {
    O200K
        .get_or_init(|| tiktoken_rs::o200k_base().ok())
        .as_ref()
}

fn cl100k() -> Option<&'static CoreBPE> {
    CL100K
        .get_or_init(|| tiktoken_rs::cl100k_base().ok())
        .as_ref()
}

/// Builds both encoders now (~0.2 s each) so the first fallback count does not pay for it.
pub fn warm_up() {
    let _ = o200k();
    let _ = cl100k();
}

/// Tokens in `text` for `model`. Should an encoder fail to build, bytes / 4 rounded up.
pub fn count_text(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let fallback = || (text.len() as u64).div_ceil(4);
    match Encoding::for_model(model) {
        Encoding::O200k => o200k().map_or_else(fallback, |b| b.count_ordinary(text) as u64),
        Encoding::Cl100k => cl100k().map_or_else(fallback, |b| b.count_ordinary(text) as u64),
        Encoding::Estimate => {
            cl100k().map_or_else(fallback, |b| estimate(b.count_ordinary(text) as u64))
        }
    }
}

/// `ceil(n × 1.1)` in integers.
fn estimate(n: u64) -> u64 {
    (n * 11).div_ceil(10)
}

/// An upper bound on a request's prompt tokens from its body size alone, for reservations:
/// every token covers at least one byte of UTF-8, JSON escapes only lengthen text, and the
/// JSON syntax around each message outweighs the per-message framing tokens.
pub fn prompt_upper_bound_tokens(body_len: usize) -> u64 {
    body_len as u64
}

/// Prompt tokens of a request body, counted with the model's tokenizer (see each provider's
/// `prompt` module for what is counted). Non-OpenAI families get the ×1.1 estimate on the
/// whole count.
pub fn count_prompt(kind: ProviderKind, op: Operation, model: &str, request_body: &[u8]) -> u64 {
    let enc = Encoding::for_model(model);
    let exact = |s: &str| -> u64 {
        let bpe = match enc {
            Encoding::O200k => o200k(),
            _ => cl100k(),
        };
        bpe.map_or_else(
            || (s.len() as u64).div_ceil(4),
            |b| b.count_ordinary(s) as u64,
        )
    };
    let n = match kind {
        ProviderKind::Openai => openai::prompt::count(op, request_body, &exact),
        ProviderKind::Anthropic => anthropic::prompt::count(request_body, &exact),
        ProviderKind::Gemini => gemini::prompt::count(request_body, &exact),
    };
    if enc == Encoding::Estimate {
        estimate(n)
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_encodings() {
        assert_eq!(Encoding::for_model("gpt-4o-mini"), Encoding::O200k);
        assert_eq!(Encoding::for_model("o3-mini"), Encoding::O200k);
        assert_eq!(
            Encoding::for_model("ft:gpt-4.1-nano:org::id"),
            Encoding::O200k
        );
        assert_eq!(Encoding::for_model("openai/gpt-5"), Encoding::O200k);
        assert_eq!(Encoding::for_model("gpt-4-turbo"), Encoding::Cl100k);
        assert_eq!(Encoding::for_model("gpt-3.5-turbo"), Encoding::Cl100k);
        assert_eq!(
            Encoding::for_model("text-embedding-3-small"),
            Encoding::Cl100k
        );
        assert_eq!(Encoding::for_model("claude-sonnet-4-5"), Encoding::Estimate);
        assert_eq!(Encoding::for_model("gemini-2.5-flash"), Encoding::Estimate);
    }

    #[test]
    fn counts_text() {
        assert_eq!(count_text("gpt-4o", ""), 0);
        assert_eq!(count_text("gpt-4o", "Hello world"), 2);
        assert_eq!(count_text("gpt-4", "Hello world"), 2);
        assert_eq!(count_text("claude-3-haiku", "Hello world"), 3);
    }

    #[test]
    fn counts_chat_prompt_like_openai() {
        // OpenAI's cookbook accounting: 3 per message + role + content, +3 priming.
        let body = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are helpful."},{"role":"user","name":"bob","content":[{"type":"text","text":"Hello world"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#;
        let t = |s: &str| count_text("gpt-4o", s);
        let want = 3
            + (3 + t("system") + t("You are helpful."))
            + (3 + t("user") + t("Hello world") + t("bob") + 1);
        let got = count_prompt(
            ProviderKind::Openai,
            Operation::ChatCompletions,
            "gpt-4o",
            body,
        );
        assert_eq!(got, want);
        assert!(got <= prompt_upper_bound_tokens(body.len()));
    }

    #[test]
    fn encoder_is_built_once() {
        let a = o200k().map(|b| b as *const CoreBPE);
        let b = o200k().map(|b| b as *const CoreBPE);
        assert_eq!(a, b);
    }
}
