//! Exact decimal USD prices to integer nano-USD, and integer cost arithmetic.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use thiserror::Error;

use crate::record::NanoUsd;

/// Nano-USD in one USD.
const NANO_PER_USD: u64 = 1_000_000_000;
/// Prices are quoted per million tokens.
const TOKENS_PER_MTOK: u128 = 1_000_000;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error(
        "`{0}` is not a decimal number of USD (digits, an optional point and up to 9 decimals)"
    )]
    NotDecimal(String),
    #[error("`{0}` has more than 9 decimals (finer than one nano-USD)")]
    TooPrecise(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Parses a non-negative decimal USD amount (`2.50`, `0.075`, `10`) into nano-USD, exactly.
pub fn parse_usd(text: &str) -> Result<NanoUsd, MoneyError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits_ok(whole) || !digits_ok(frac) {
        return Err(MoneyError::NotDecimal(text.to_string()));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 9 {
        return Err(MoneyError::TooPrecise(text.to_string()));
    }
    let too_large = || MoneyError::TooLarge(text.to_string());
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut frac_nano: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_nano += u64::from(b - b'0') * 10u64.pow(8 - i as u32);
    }
    whole
        .checked_mul(NANO_PER_USD)
        .and_then(|n| n.checked_add(frac_nano))
        .ok_or_else(too_large)
}

/// `tokens × price_per_mtok`, the numerator of a cost before dividing by a million tokens.
pub fn cost_numerator(tokens: u64, per_mtok: NanoUsd) -> u128 {
    u128::from(tokens) * u128::from(per_mtok)
}

/// Divides a cost numerator by a million tokens, rounding half up; saturates at `u64::MAX`.
pub fn settle(numerator: u128) -> NanoUsd {
    clamp((numerator + TOKENS_PER_MTOK / 2) / TOKENS_PER_MTOK)
}

/// Divides a cost numerator by a million tokens, rounding up: for reservations (upper bounds).
pub fn settle_ceil(numerator: u128) -> NanoUsd {
    clamp(numerator.div_ceil(TOKENS_PER_MTOK))
}

fn clamp(v: u128) -> NanoUsd {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// A price in nano-USD per million tokens, read from the decimal text of a YAML scalar so that
/// `0.075` is exactly 75_000_000 and never goes through a binary float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(pub NanoUsd);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(PriceVisitor)
    }
}

struct PriceVisitor;

impl Visitor<'_> for PriceVisitor {
    type Value = Price;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a non-negative decimal USD price per million tokens")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Price, E> {
        parse_usd(v).map(Price).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Price, E> {
        v.checked_mul(NANO_PER_USD)
            .map(Price)
            .ok_or_else(|| E::custom(MoneyError::TooLarge(v.to_string())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Price, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(MoneyError::NotDecimal(v.to_string()))),
        }
    }

    // Only reached with deserializers that have already turned the text into a float: the
    // shortest round-trip rendering recovers the decimal that was written.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Price, E> {
        self.visit_str(&v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_usd("2.50"), Ok(2_500_000_000));
        assert_eq!(parse_usd("0.075"), Ok(75_000_000));
        assert_eq!(parse_usd("0.005"), Ok(5_000_000));
        assert_eq!(parse_usd("10"), Ok(10_000_000_000));
        assert_eq!(parse_usd(".5"), Ok(500_000_000));
        assert_eq!(parse_usd("0"), Ok(0));
        assert_eq!(parse_usd("0.000000001"), Ok(1));
        assert_eq!(parse_usd("1.2500000000"), Ok(1_250_000_000));
    }

    #[test]
    fn rejects_bad_prices() {
        assert!(matches!(parse_usd("-1"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(parse_usd("abc"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(parse_usd("."), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(parse_usd("1e3"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(
            parse_usd("0.0000000001"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_usd("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn settles_with_rounding() {
        assert_eq!(settle(1_499_999), 1);
        assert_eq!(settle(1_500_000), 2);
        assert_eq!(settle_ceil(1_000_001), 2);
        assert_eq!(settle_ceil(1_000_000), 1);
        assert_eq!(settle(u128::MAX / 2), u64::MAX);
    }
}
