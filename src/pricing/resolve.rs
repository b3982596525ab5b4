//! Model-name resolution: a requested name (snapshot, alias, prefixed) to its catalog family.
//!
//! Rules, in order: lower-case; keep the part after the last `/` (`openai/gpt-4o`,
//! `models/gemini-2.5-flash`); exact name or alias; else the longest known family that the name
//! extends with a *snapshot suffix*. A snapshot suffix is `-` (or `@`) followed by tokens that are
//! all digits or one of [`SNAPSHOT_WORDS`], and whose first token, when numeric, has 3+ digits
//! (a date `2024-08-06`/`20250929`, a Gemini revision `001`). So `gpt-4o-mini-2024-07-18` never
//! falls back to `gpt-4o` (`mini` is not a snapshot word) and `claude-opus-4-5` never falls back
//! to `claude-opus-4` (`5` is a version, not a snapshot).

use std::borrow::Borrow;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;

/// Words that mark a release channel of the same model, priced like the family.
pub const SNAPSHOT_WORDS: &[&str] = &["latest", "preview", "exp", "experimental"];

/// Lower-cases and strips any `provider/` or `models/` prefix.
pub fn normalize(model: &str) -> Cow<'_, str> {
    let model = model.trim();
    let model = model.rsplit('/').next().unwrap_or(model);
    if model.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(model.to_ascii_lowercase())
    } else {
        Cow::Borrowed(model)
    }
}

/// Finds `name` (already normalized) in `map`: exact, else the longest family it is a snapshot of.
pub fn resolve<'m, K, V>(map: &'m HashMap<K, V>, name: &str) -> Option<&'m V>
where
    K: Borrow<str> + Hash + Eq,
{
    if let Some(v) = map.get(name) {
        return Some(v);
    }
    // Cut points from the right, so the longest family is tried first.
    for (i, b) in name.bytes().enumerate().rev() {
        if (b == b'-' || b == b'@') && i > 0 && is_snapshot_suffix(&name[i + 1..]) {
            if let Some(v) = map.get(&name[..i]) {
                return Some(v);
            }
        }
    }
    None
}

fn is_snapshot_suffix(suffix: &str) -> bool {
    let mut tokens = suffix.split(['-', '@']);
    let first_ok = match tokens.next() {
        Some(t) if is_digits(t) => t.len() >= 3,
        Some(t) => SNAPSHOT_WORDS.contains(&t),
        None => false,
    };
    first_ok && tokens.all(|t| is_digits(t) || SNAPSHOT_WORDS.contains(&t))
}

fn is_digits(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families() -> HashMap<String, &'static str> {
        [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4",
            "gpt-4-turbo",
            "gpt-4.1",
            "gpt-5",
            "o1",
            "claude-sonnet-4-5",
            "claude-opus-4",
            "claude-3-5-haiku",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
        ]
        .into_iter()
        .map(|f| (f.to_string(), f))
        .collect()
    }

    fn r(name: &str) -> Option<&'static str> {
        resolve(&families(), &normalize(name)).copied()
    }

    #[test]
    fn snapshot_table() {
        let table: &[(&str, Option<&str>)] = &[
            ("gpt-4o", Some("gpt-4o")),
            ("GPT-4o", Some("gpt-4o")),
            ("gpt-4o-2024-08-06", Some("gpt-4o")),
            ("gpt-4o-mini-2024-07-18", Some("gpt-4o-mini")),
            ("openai/gpt-4o", Some("gpt-4o")),
            ("gpt-4-0613", Some("gpt-4")),
            ("gpt-4-turbo-2024-04-09", Some("gpt-4-turbo")),
            ("gpt-4.1-2025-04-14", Some("gpt-4.1")),
            ("gpt-5-2025-08-07", Some("gpt-5")),
            ("o1-preview", Some("o1")),
            ("claude-sonnet-4-5-20250929", Some("claude-sonnet-4-5")),
            ("claude-sonnet-4-5@20250929", Some("claude-sonnet-4-5")),
            ("claude-opus-4-20250514", Some("claude-opus-4")),
            ("claude-3-5-haiku-latest", Some("claude-3-5-haiku")),
            (
                "anthropic/claude-3-5-haiku-20241022",
                Some("claude-3-5-haiku"),
            ),
            ("gemini-2.5-flash-preview-05-20", Some("gemini-2.5-flash")),
            ("gemini-2.5-flash-001", Some("gemini-2.5-flash")),
            ("models/gemini-2.5-flash", Some("gemini-2.5-flash")),
            (
                "gemini-2.5-flash-lite-preview-06-17",
                Some("gemini-2.5-flash-lite"),
            ),
            // Different models that merely share a prefix.
            ("gpt-4o-audio-preview", None),
            ("gpt-4o-realtime-preview-2024-12-17", None),
            ("o1-mini", None),
            ("gpt-5.1", None),
            ("gpt-4.5-preview", None),
            ("claude-opus-4-5", None),
            ("claude-opus-4-5-20251101", None),
            ("gemini-2.5-flash-image-preview", None),
            ("gemini-2.5-flash-8b", None),
            ("llama-3", None),
            ("", None),
            ("-", None),
        ];
        for (name, want) in table {
            assert_eq!(r(name), *want, "{name}");
        }
    }

    #[test]
    fn mini_snapshot_never_falls_back_to_the_bigger_family() {
        let mut m = families();
        m.remove("gpt-4o-mini");
        assert_eq!(resolve(&m, "gpt-4o-mini-2024-07-18"), None);
        assert_eq!(resolve(&m, "gpt-4o-mini"), None);
    }
}
