//! Which configured model a requested model falls under, for `downgrade.models`.

use std::collections::BTreeMap;

/// A budget past its `downgrade.at` fraction swaps the call to a cheaper model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downgrade {
    pub budget_id: String,
    /// The configured model the request matched (`gpt-4o` for `gpt-4o-2024-08-06`).
    pub from_model: String,
    pub to_model: String,
}

/// The replacement for `requested`: an exact entry, else the longest entry it is a dated or
/// numbered snapshot of.
pub(super) fn lookup<'a>(
    models: &'a BTreeMap<String, String>,
    requested: &str,
) -> Option<(&'a str, &'a str)> {
    if let Some((from, to)) = models.get_key_value(requested) {
        return Some((from, to));
    }
    models
        .iter()
        .filter(|(listed, _)| is_snapshot_of(requested, listed))
        .max_by_key(|(listed, _)| listed.len())
        .map(|(from, to)| (from.as_str(), to.as_str()))
}

/// `gpt-4o-2024-08-06`, `claude-opus-4-1-20250805`, `gemini-1.5-pro-002` and `gpt-4o-latest` are
/// snapshots of the name before the suffix; `gpt-4o-mini` (another model) and `claude-opus-4-1`
/// (another version of `claude-opus-4`) are not.
fn is_snapshot_of(requested: &str, listed: &str) -> bool {
    let Some(suffix) = requested
        .strip_prefix(listed)
        .and_then(|rest| rest.strip_prefix('-'))
    else {
        return false;
    };
    if suffix == "latest" {
        return true;
    }
    let leading_digits = suffix.chars().take_while(char::is_ascii_digit).count();
    // A one- or two-digit suffix is a version number of a different model, not a snapshot.
    leading_digits >= 3 && suffix.chars().all(|c| c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> BTreeMap<String, String> {
        [
            ("gpt-4o", "gpt-4o-mini"),
            ("claude-opus-4", "claude-sonnet-4"),
            ("claude-opus-4-1", "claude-sonnet-4-5"),
            ("gemini-1.5-pro", "gemini-1.5-flash"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    #[test]
    fn exact_and_snapshot_names_match() {
        let m = map();
        assert_eq!(lookup(&m, "gpt-4o"), Some(("gpt-4o", "gpt-4o-mini")));
        assert_eq!(
            lookup(&m, "gpt-4o-2024-08-06"),
            Some(("gpt-4o", "gpt-4o-mini"))
        );
        assert_eq!(lookup(&m, "gpt-4o-latest"), Some(("gpt-4o", "gpt-4o-mini")));
        assert_eq!(
            lookup(&m, "claude-opus-4-1-20250805"),
            Some(("claude-opus-4-1", "claude-sonnet-4-5"))
        );
        assert_eq!(
            lookup(&m, "claude-opus-4-20250514"),
            Some(("claude-opus-4", "claude-sonnet-4"))
        );
        assert_eq!(
            lookup(&m, "gemini-1.5-pro-002"),
            Some(("gemini-1.5-pro", "gemini-1.5-flash"))
        );
    }

    #[test]
    fn other_models_of_the_family_do_not_match() {
        let m = map();
        assert_eq!(lookup(&m, "gpt-4o-mini"), None);
        assert_eq!(lookup(&m, "gpt-4o-mini-2024-07-18"), None);
        assert_eq!(lookup(&m, "gpt-4"), None);
        assert_eq!(lookup(&m, "gpt-4o2"), None);
        let only_opus_4: BTreeMap<String, String> =
            [("claude-opus-4".to_string(), "x".to_string())].into();
        assert_eq!(lookup(&only_opus_4, "claude-opus-4-1"), None);
    }
}
