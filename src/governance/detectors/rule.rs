//! A detector rule: a pattern, the finding it raises, and an optional check on each match.

use std::borrow::Cow;

/// Extra check on a match (`text`, byte range): Luhn, mod-97, word boundaries, ...
pub(crate) type Validate = fn(&str, usize, usize) -> bool;

pub(crate) struct RuleSpec {
    pub name: Cow<'static, str>,
    pub pattern: Cow<'static, str>,
    pub validate: Option<Validate>,
}

impl RuleSpec {
    pub fn new(name: &'static str, pattern: &'static str, validate: Option<Validate>) -> Self {
        RuleSpec {
            name: Cow::Borrowed(name),
            pattern: Cow::Borrowed(pattern),
            validate,
        }
    }
}

/// The byte before `start` and the byte at `end` (if any) are not in `forbidden`: regex has no
/// look-around, so "not part of a longer token" is checked here.
pub(crate) fn isolated(text: &str, start: usize, end: usize, forbidden: fn(u8) -> bool) -> bool {
    let b = text.as_bytes();
    let before_ok = start == 0 || !forbidden(b[start - 1]);
    let after_ok = end >= b.len() || !forbidden(b[end]);
    before_ok && after_ok
}

pub(crate) fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Characters of base64url / key bodies: a match next to one is a slice of something longer.
pub(crate) fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
