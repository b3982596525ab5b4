//! One model's prices and the integer arithmetic that turns token counts into nano-USD.

use crate::metering::TokenCounts;
use crate::record::{CostBreakdown, NanoUsd};

use super::money::{cost_numerator, settle, settle_ceil};

/// The prices of one catalog model, in nano-USD per million tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceRow {
    /// The catalog's `provider` (`openai`, `anthropic`, `gemini`, or any name a custom file uses).
    pub provider: String,
    /// The catalog's model name (the family, not the dated snapshot that was asked for).
    pub model: String,
    pub input_per_mtok: NanoUsd,
    pub cached_input_per_mtok: NanoUsd,
    pub cache_write_per_mtok: NanoUsd,
    pub output_per_mtok: NanoUsd,
    /// The model's output cap, for reservations when a request sets no `max_tokens`.
    pub max_output_tokens: Option<u64>,
}

impl PriceRow {
    /// Prices a finished call. `tokens.input` includes cache reads and cache writes; the rest of
    /// the input is priced at the plain input rate. Output (reasoning included, as providers bill
    /// it) is priced at the output rate. Each side is rounded half up to a whole nano-USD once.
    pub fn cost(&self, tokens: &TokenCounts) -> CostBreakdown {
        let cached = tokens.cache_read_input;
        let written = tokens.cache_creation_input;
        let uncached = tokens.input.saturating_sub(cached.saturating_add(written));
        let input = cost_numerator(uncached, self.input_per_mtok)
            + cost_numerator(cached, self.cached_input_per_mtok)
            + cost_numerator(written, self.cache_write_per_mtok);
        let output = cost_numerator(tokens.output, self.output_per_mtok);
        CostBreakdown {
            input: settle(input),
            output: settle(output),
            price_provider: self.provider.clone(),
            price_model: self.model.clone(),
        }
    }

    /// The most a call can cost: every input token at the dearest input rate (a cache write can
    /// cost more than plain input) and `output_cap` output tokens. Rounded up.
    pub fn reservation(&self, input_tokens_upper: u64, output_cap: u64) -> NanoUsd {
        let input_rate = self
            .input_per_mtok
            .max(self.cached_input_per_mtok)
            .max(self.cache_write_per_mtok);
        settle_ceil(
            cost_numerator(input_tokens_upper, input_rate)
                + cost_numerator(output_cap, self.output_per_mtok),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(input: u64, cached: u64, write: u64, output: u64) -> PriceRow {
        PriceRow {
            provider: "test".into(),
            model: "m".into(),
            input_per_mtok: input,
            cached_input_per_mtok: cached,
            cache_write_per_mtok: write,
            output_per_mtok: output,
            max_output_tokens: Some(100),
        }
    }

    #[test]
    fn splits_input_by_cache_state() {
        // $3 input, $0.30 cache read, $3.75 cache write, $15 output per million.
        let r = row(3_000_000_000, 300_000_000, 3_750_000_000, 15_000_000_000);
        let t = TokenCounts {
            input: 1_000 + 2_000 + 4_000,
            cache_read_input: 2_000,
            cache_creation_input: 4_000,
            output: 10,
            ..TokenCounts::default()
        };
        let c = r.cost(&t);
        // 1000 × $3 + 2000 × $0.30 + 4000 × $3.75 per million = $0.003 + $0.0006 + $0.015
        assert_eq!(c.input, 3_000_000 + 600_000 + 15_000_000);
        assert_eq!(c.output, 150_000);
        assert_eq!(c.total(), 18_750_000);
    }

    #[test]
    fn inconsistent_cache_counts_do_not_underflow() {
        let r = row(1_000_000_000, 100_000_000, 1_000_000_000, 0);
        let t = TokenCounts {
            input: 10,
            cache_read_input: 50,
            ..TokenCounts::default()
        };
        // Cache reads are priced as reported; the uncached remainder is zero, not negative.
        assert_eq!(r.cost(&t).input, 5_000);
    }

    #[test]
    fn reservation_uses_dearest_input_rate_and_rounds_up() {
        let r = row(3_000_000_000, 300_000_000, 3_750_000_000, 15_000_000_000);
        assert_eq!(r.reservation(1, 1), 3_750 + 15_000);
        // 1 token at 1 nano-USD per million tokens is a millionth of a nano-USD: reserve 1.
        assert_eq!(row(1, 0, 0, 0).reservation(1, 0), 1);
        assert_eq!(r.reservation(1_000_000, 0), 3_750_000_000);
        assert_eq!(r.reservation(u64::MAX, u64::MAX), u64::MAX);
    }
}
