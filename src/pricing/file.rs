//! The on-disk shape of one catalog file (`pricing/*.yaml`) and its validation into rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::money::Price;
use super::row::PriceRow;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogFile {
    provider: String,
    currency: String,
    models: BTreeMap<String, RawModel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    input: Price,
    cached_input: Option<Price>,
    cache_write: Option<Price>,
    output: Price,
    max_output_tokens: Option<u64>,
    #[serde(default)]
    aliases: Vec<String>,
}

/// One validated model of a catalog file.
#[derive(Debug)]
pub(crate) struct ParsedModel {
    pub row: Arc<PriceRow>,
    /// Lower-cased extra names.
    pub aliases: Vec<String>,
}

/// A validated catalog file.
#[derive(Debug)]
pub(crate) struct ParsedFile {
    pub provider: String,
    pub models: Vec<ParsedModel>,
}

/// Parses and validates one file's text. Every problem is returned, each prefixed with `origin`.
pub(crate) fn parse(origin: &str, text: &str) -> Result<ParsedFile, Vec<String>> {
    let raw: RawCatalogFile =
        serde_saphyr::from_str(text).map_err(|e| vec![format!("{origin}: {e}")])?;
    let mut errors = Vec::new();
    let provider = raw.provider.trim().to_ascii_lowercase();
    if provider.is_empty() {
        errors.push(format!("{origin}: `provider` is empty"));
    }
    if raw.currency != "USD" {
        errors.push(format!(
            "{origin}: currency `{}` is not supported (only USD)",
            raw.currency
        ));
    }
    let mut models = Vec::with_capacity(raw.models.len());
    for (name, m) in raw.models {
        let model = name.trim().to_ascii_lowercase();
        if model.is_empty() || model.contains('/') {
            errors.push(format!(
                "{origin}: model name `{name}` must be non-empty and contain no `/`"
            ));
            continue;
        }
        if m.max_output_tokens == Some(0) {
            errors.push(format!(
                "{origin}: model `{name}`: max_output_tokens must be positive (or null)"
            ));
        }
        let aliases: Vec<String> = m
            .aliases
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        if aliases.iter().any(|a| a.is_empty() || a.contains('/')) {
            errors.push(format!(
                "{origin}: model `{name}`: aliases must be non-empty and contain no `/`"
            ));
        }
        let input = m.input.0;
        models.push(ParsedModel {
            row: Arc::new(PriceRow {
                provider: provider.clone(),
                model,
                input_per_mtok: input,
                cached_input_per_mtok: m.cached_input.map_or(input, |p| p.0),
                cache_write_per_mtok: m.cache_write.map_or(input, |p| p.0),
                output_per_mtok: m.output.0,
                max_output_tokens: m.max_output_tokens,
            }),
            aliases,
        });
    }
    if errors.is_empty() {
        Ok(ParsedFile { provider, models })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let text = "provider: openai\ncurrency: USD\nmodels:\n  gpt-4o:\n    input: 2.50\n    cached_input: 1.25\n    cache_write: null\n    output: 10.00\n    max_output_tokens: 16384\n    aliases: [GPT-4O-Alias]\n";
        let f = parse("t.yaml", text).unwrap();
        assert_eq!(f.provider, "openai");
        let m = &f.models[0];
        assert_eq!(m.row.input_per_mtok, 2_500_000_000);
        assert_eq!(m.row.cached_input_per_mtok, 1_250_000_000);
        assert_eq!(m.row.cache_write_per_mtok, 2_500_000_000);
        assert_eq!(m.row.output_per_mtok, 10_000_000_000);
        assert_eq!(m.row.max_output_tokens, Some(16384));
        assert_eq!(m.aliases, vec!["gpt-4o-alias".to_string()]);
    }

    #[test]
    fn unknown_fields_are_errors_with_a_line() {
        let text =
            "provider: openai\ncurrency: USD\nmodels:\n  gpt-4o:\n    input: 2.50\n    ouput: 10\n";
        let errs = parse("t.yaml", text).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("t.yaml: "), "{errs:?}");
        assert!(errs[0].contains("ouput"), "{errs:?}");
        assert!(errs[0].contains("line 6"), "{errs:?}");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let text = "provider: openai\ncurrency: EUR\nmodels:\n  a:\n    input: 1\n    output: 1\n    max_output_tokens: 0\n";
        let errs = parse("t.yaml", text).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        let text = "provider: openai\ncurrency: USD\nmodels:\n  a:\n    input: -1\n    output: 1\n";
        let errs = parse("t.yaml", text).unwrap_err();
        assert!(errs[0].contains("decimal"), "{errs:?}");
    }
}
