//! The human sentence a refused or warned call carries (http.md's 402 message).

use crate::record::NanoUsd;

const NANO_PER_USD: u64 = 1_000_000_000;
const NANO_PER_CENT: u64 = 10_000_000;

/// `$1000.00`: whole cents, rounded down so a budget never reads as spent before it is.
pub fn dollars(nano: NanoUsd) -> String {
    format!(
        "${}.{:02}",
        nano / NANO_PER_USD,
        (nano % NANO_PER_USD) / NANO_PER_CENT
    )
}

/// "budget team-search-monthly: $1000.00 of $1000.00 spent this month; resets 2026-12-01T00:00:00Z"
pub fn exhausted(
    budget_id: &str,
    consumed: NanoUsd,
    limit: NanoUsd,
    phrase: &str,
    resets_at: Option<&str>,
) -> String {
    let spent = format!(
        "budget {budget_id}: {} of {} spent {phrase}",
        dollars(consumed),
        dollars(limit)
    );
    match resets_at {
        Some(at) => format!("{spent}; resets {at}"),
        None => spent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(1_000 * NANO_PER_USD), "$1000.00");
        assert_eq!(dollars(1_234_567_890), "$1.23");
        assert_eq!(dollars(999_999_999), "$0.99");
        assert_eq!(dollars(50_000_000), "$0.05");
    }

    #[test]
    fn message_matches_the_contract() {
        assert_eq!(
            exhausted(
                "team-search-monthly",
                1_000 * NANO_PER_USD,
                1_000 * NANO_PER_USD,
                "this month",
                Some("2026-12-01T00:00:00Z")
            ),
            "budget team-search-monthly: $1000.00 of $1000.00 spent this month; resets 2026-12-01T00:00:00Z"
        );
        assert_eq!(
            exhausted("lifetime", 5, NANO_PER_USD, "in total", None),
            "budget lifetime: $0.00 of $1.00 spent in total"
        );
    }
}
