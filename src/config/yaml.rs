//! YAML parsing with serde-saphyr, turning its errors into `file:line: message` sentences.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_saphyr::{Error, Location, MessageFormatter, PropertySyntax, UserMessageFormatter};

/// Parses `text` into `T`. With `vars`, `${NAME}` / `${NAME:-default}` / `$NAME` in scalar
/// values are expanded (Docker Compose rules: an unset variable is an empty string, `$$` is a
/// literal `$`). Expansion happens per scalar after YAML parsing, so a value containing `#`,
/// `: ` or a leading `*` cannot change the document's structure.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    vars: Option<HashMap<String, String>>,
) -> Result<T, String> {
    let mut options = serde_saphyr::options! { with_snippet: false };
    if let Some(vars) = vars {
        options = serde_saphyr::options! {
            with_snippet: false,
            property_syntax: PropertySyntax::DockerCompose,
        }
        .with_properties(vars);
    }
    serde_saphyr::from_str_with_options(text, options).map_err(|e| describe(&e, text, origin))
}

/// One line: `origin:line: message`, naming the offending key where the parser did not.
fn describe(err: &Error, text: &str, origin: &str) -> String {
    let err = err.without_snippet();
    let location = err.location().filter(|l| *l != Location::UNKNOWN);
    let message = match err {
        // serde-saphyr redacts identifiers once any value was interpolated (it cannot tell a
        // secret from a key); the source text at the error's span is what the user wrote.
        Error::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "unknown key `{}`{}",
            source_at(text, location).unwrap_or(field),
            expected_list(expected)
        ),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let key = key_on_line(text, location);
            format!(
                "unknown value `{}`{}{}",
                source_at(text, location).unwrap_or(variant),
                key.map(|k| format!(" for `{k}`")).unwrap_or_default(),
                expected_list(expected)
            )
        }
        other => {
            let message = UserMessageFormatter.format_message(other);
            match key_on_line(text, location) {
                Some(key) if !message.contains(&format!("`{key}`")) => {
                    format!("`{key}`: {message}")
                }
                _ => message.into_owned(),
            }
        }
    };
    match location {
        Some(l) => format!("{origin}:{}: {message}", l.line()),
        None => format!("{origin}: {message}"),
    }
}

fn expected_list(expected: &[&str]) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!(" (expected one of: {})", expected.join(", "))
    }
}

/// The source text the error points at.
fn source_at(text: &str, location: Option<Location>) -> Option<&str> {
    let span = location?.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?)
        .filter(|s| !s.is_empty())
}

/// The mapping key whose value the error points at: the last `key:` before the error's column
/// (block or flow style). `None` when the error points at a key itself.
fn key_on_line(text: &str, location: Option<Location>) -> Option<&str> {
    let location = location?;
    let line = text
        .lines()
        .nth(usize::try_from(location.line()).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(location.column()).ok()?.checked_sub(1)?;
    let prefix_len = line
        .char_indices()
        .nth(column)
        .map_or(line.len(), |(i, _)| i);
    let before_colon = &line[..prefix_len].trim_end().strip_suffix(':')?;
    let key = before_colon
        .trim_end_matches(['"', '\''])
        .rsplit(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .next()?;
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::RawConfig;

    fn error_of(text: &str, vars: Option<HashMap<String, String>>) -> String {
        match parse::<RawConfig>(text, "gw.yaml", vars) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = error_of("rate_limits:\n  - id: a\n    tokns_per_minute: 3\n", None);
        assert!(
            e.starts_with("gw.yaml:3: unknown key `tokns_per_minute`"),
            "{e}"
        );
        assert!(e.contains("tokens_per_minute"), "{e}");
    }

    #[test]
    fn unknown_key_survives_interpolation_redaction() {
        let vars = HashMap::from([("S".to_string(), "0.5".to_string())]);
        let e = error_of(
            "telemetry:\n  sampling_rate: ${S}\n  exportr: otlp\n",
            Some(vars),
        );
        assert!(e.starts_with("gw.yaml:3: unknown key `exportr`"), "{e}");
    }

    #[test]
    fn bad_variant_names_value_and_key() {
        let vars = HashMap::from([("S".to_string(), "0.5".to_string())]);
        let e = error_of(
            "telemetry:\n  sampling_rate: ${S}\n  exporter: dadog\n",
            Some(vars),
        );
        assert!(
            e.starts_with("gw.yaml:3: unknown value `dadog` for `exporter`"),
            "{e}"
        );
    }

    #[test]
    fn type_error_names_key() {
        let e = error_of(
            "budgets:\n  - id: a\n    limit_usd: lots\n    period: daily\n",
            None,
        );
        assert!(e.starts_with("gw.yaml:3: `limit_usd`: "), "{e}");
        let e = error_of(
            "budgets:\n  - { id: a, limit_usd: lots, period: daily }\n",
            None,
        );
        assert!(e.starts_with("gw.yaml:2: `limit_usd`: "), "{e}");
    }

    #[test]
    fn quoted_and_unset_vars_expand() {
        let vars = HashMap::from([("T".to_string(), "a #b: *c".to_string())]);
        let raw: RawConfig = parse(
            "admin:\n  token: \"${T}\"\n  listen: ${NOPE:-127.0.0.1:9}\nproviders:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: ${UNSET}\n",
            "gw.yaml",
            Some(vars),
        )
        .unwrap();
        assert_eq!(raw.admin.token.as_deref(), Some("a #b: *c"));
        assert_eq!(raw.admin.listen, "127.0.0.1:9");
        assert_eq!(raw.providers["p"].api_key.as_deref(), Some(""));
    }
}
