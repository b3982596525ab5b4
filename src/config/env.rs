//! Environment variables: values for `${VAR}` references, and `k=v,k2=v2` list parsing.

use std::collections::HashMap;

/// Where variables come from: the process environment in production, a map in tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment (a variable that is not valid Unicode counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Looks up a variable, treating an empty value as unset.
pub fn non_empty(env: EnvLookup<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// The values of every variable `text` refers to as `$NAME` or `${NAME...}`, for the YAML
/// parser's interpolation. Variables that are unset are left out (they expand to "").
pub fn referenced_vars(text: &str, env: EnvLookup<'_>) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for (i, _) in text.match_indices('$') {
        let rest = &text[i + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let name = &rest[..len];
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() || vars.contains_key(name) {
            continue;
        }
        if let Some(value) = env(name) {
            vars.insert(name.to_string(), value);
        }
    }
    vars
}

/// Parses the OpenTelemetry list format (`k=v,k2=v2`, values percent-encoded), as used by
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`. Returns the entries that are
/// not `key=value` as the error.
pub fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut pairs = Vec::new();
    let mut bad = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                pairs.push((percent_decode(k.trim()), percent_decode(v.trim())));
            }
            _ => bad.push(entry.to_string()),
        }
    }
    if bad.is_empty() {
        Ok(pairs)
    } else {
        Err(bad)
    }
}

/// Decodes `%XX` escapes; a malformed escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_braced_defaulted_and_bare_references() {
        let env = |n: &str| (n != "MISSING").then(|| format!("v-{n}"));
        let vars = referenced_vars(
            "a: ${A}\nb: ${B:-x}\nc: $C\nd: ${MISSING}\ne: $1 $$ $",
            &env,
        );
        assert_eq!(vars.len(), 3);
        assert_eq!(vars["A"], "v-A");
        assert_eq!(vars["B"], "v-B");
        assert_eq!(vars["C"], "v-C");
    }

    #[test]
    fn pairs_parse_and_decode() {
        let pairs = parse_pairs("api-key=abc, Authorization=Basic%20eA%3D%3D ,,").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("api-key".to_string(), "abc".to_string()),
                ("Authorization".to_string(), "Basic eA==".to_string())
            ]
        );
        assert_eq!(
            parse_pairs("a=1,oops").unwrap_err(),
            vec!["oops".to_string()]
        );
    }

    #[test]
    fn empty_counts_as_unset() {
        let env = |_: &str| Some(String::new());
        assert_eq!(non_empty(&env, "X"), None);
    }
}
