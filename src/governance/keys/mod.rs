//! Virtual keys: find the presented key, look it up by digest, bind its governance attributes.

mod entry;
mod presented;
mod ring;
mod secret;

#[cfg(test)]
mod tests;

pub use entry::{KeyEntry, KeySource};
pub use presented::presented_key;
pub use ring::{digest_hex, KeyRing, KeyRingError};
pub use secret::Secret;

use rand::distr::{Alphanumeric, SampleString};

/// Prefix of keys the gateway mints, so leaked keys are recognisable in scanners and logs.
pub const MINTED_PREFIX: &str = "gk-";

/// Characters after the prefix: 43 base62 characters carry 256 bits of entropy.
const MINTED_LEN: usize = 43;

/// A new random key (`gk-` + 43 base62 characters, from the OS-seeded thread CSPRNG) and its
/// SHA-256 hex digest, for the admin API. Store only the digest; show the key once.
pub fn mint() -> (Secret, String) {
    let mut text = String::with_capacity(MINTED_PREFIX.len() + MINTED_LEN);
    text.push_str(MINTED_PREFIX);
    Alphanumeric.append_string(&mut rand::rng(), &mut text, MINTED_LEN);
    let digest = digest_hex(&text);
    (Secret::new(text), digest)
}
