//! Model names as policies see them: globs, and dated snapshots counted as their family.
//!
//! A rule naming `gpt-4o` also covers `gpt-4o-2024-08-06` (and Anthropic's `-20250805`,
//! Vertex's `@20250805`, `-latest`, Gemini's `-001`), so a dated id cannot slip past a deny list;
//! `gpt-4o-mini` is another model and is not covered. Gemini's `models/` path prefix is ignored.
//! Matching is ASCII case-insensitive.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The `allowed_models` / `denied_models` globs of one rule.
#[derive(Debug)]
pub(super) struct ModelGlobs {
    set: GlobSet,
    pub patterns: Vec<String>,
}

impl ModelGlobs {
    pub fn new(patterns: &[String]) -> Result<ModelGlobs, String> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let glob = GlobBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("bad model glob `{p}`: {e}"))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| format!("model globs: {e}"))?;
        Ok(ModelGlobs {
            set,
            patterns: patterns.to_vec(),
        })
    }

    /// The model, without its path prefix, or its family matches one of the globs.
    pub fn matches(&self, model: &str) -> bool {
        let bare = without_prefix(model);
        self.set.is_match(model) || self.set.is_match(bare) || self.set.is_match(family(bare))
    }
}

/// True when `requested` is `configured` or one of its dated snapshots.
pub(super) fn same_model(requested: &str, configured: &str) -> bool {
    let bare = without_prefix(requested);
    let configured = without_prefix(configured);
    bare.eq_ignore_ascii_case(configured) || family(bare).eq_ignore_ascii_case(configured)
}

fn without_prefix(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// The model without one snapshot suffix (the model itself when it has none).
fn family(model: &str) -> &str {
    if let Some(base) = model.strip_suffix("-latest") {
        return base;
    }
    let Some(cut) = model.rfind(['-', '@']) else {
        return model;
    };
    let (base, tail) = (&model[..cut], &model[cut + 1..]);
    if base.is_empty() {
        return model;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // `-2024-08-06`: the cut found `-06`; look two more dashes back.
    if tail.len() == 2 && digits(tail) {
        let parts: Vec<&str> = model.rsplitn(4, '-').collect();
        if let [day, month, year, rest] = parts[..] {
            if year.len() == 4 && digits(year) && month.len() == 2 && digits(month) && digits(day) {
                return rest;
            }
        }
        return model;
    }
    // `-20250805` / `@20250805` (date), `-0613` / `-2407` (month-day or year-month), `-001`.
    if digits(tail) && matches!(tail.len(), 3 | 4 | 8) {
        return base;
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_belong_to_their_family() {
        assert_eq!(family("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(family("gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
        assert_eq!(family("claude-opus-4-1-20250805"), "claude-opus-4-1");
        assert_eq!(family("claude-3-5-sonnet@20240620"), "claude-3-5-sonnet");
        assert_eq!(family("claude-3-5-sonnet-latest"), "claude-3-5-sonnet");
        assert_eq!(family("gpt-4-0613"), "gpt-4");
        assert_eq!(family("gemini-1.5-pro-001"), "gemini-1.5-pro");
        // Not snapshots: version numbers and names stay whole.
        assert_eq!(family("gpt-4o"), "gpt-4o");
        assert_eq!(family("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(family("claude-opus-4-1"), "claude-opus-4-1");
        assert_eq!(family("claude-sonnet-4-5"), "claude-sonnet-4-5");
        assert_eq!(family("o1"), "o1");
        assert_eq!(family("-2024"), "-2024");
    }

    #[test]
    fn same_model_is_exact_or_snapshot() {
        assert!(same_model("gpt-4o", "gpt-4o"));
        assert!(same_model("gpt-4o-2024-08-06", "gpt-4o"));
        assert!(same_model("GPT-4o", "gpt-4o"));
        assert!(!same_model("gpt-4o-mini", "gpt-4o"));
        assert!(!same_model("gpt-4o-mini-2024-07-18", "gpt-4o"));
        assert!(!same_model("gpt-4", "gpt-4o"));
        assert!(same_model("models/gemini-2.5-pro", "gemini-2.5-pro"));
        assert!(same_model("claude-opus-4-1-20250805", "claude-opus-4-1"));
    }

    #[test]
    fn globs_see_the_family_and_ignore_case() {
        let g = ModelGlobs::new(&["gpt-4o".into(), "claude-opus-*".into()]).unwrap();
        assert!(g.matches("gpt-4o"));
        assert!(g.matches("GPT-4O"));
        assert!(g.matches("gpt-4o-2024-08-06"));
        assert!(!g.matches("gpt-4o-mini"));
        assert!(g.matches("claude-opus-4-1-20250805"));
        assert!(!g.matches("claude-sonnet-4-5"));
        let gem = ModelGlobs::new(&["gemini-2.5-flash*".into()]).unwrap();
        assert!(gem.matches("models/gemini-2.5-flash-lite"));
        assert!(ModelGlobs::new(&["[".into()]).is_err());
    }
}
