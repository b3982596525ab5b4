//! Finds the key a caller presents, wherever its provider's SDK puts it.

use super::secret::Secret;

/// The presented key, looked for in this order: `Authorization: Bearer` (OpenAI; recent
/// Anthropic SDKs), `x-api-key` (Anthropic), `x-goog-api-key`, then the `key` query parameter
/// (Gemini). An `Authorization` header with another scheme is skipped, not an error.
pub fn presented_key(headers: &http::HeaderMap, query: Option<&str>) -> Option<Secret> {
    bearer(headers)
        .or_else(|| header_value(headers, "x-api-key"))
        .or_else(|| header_value(headers, "x-goog-api-key"))
        .map(Secret::new)
        .or_else(|| query.and_then(query_key))
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn header_value<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
}

fn query_key(query: &str) -> Option<Secret> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name == "key" && !value.is_empty())
        .map(|(_, value)| Secret::new(value.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    fn key(h: &http::HeaderMap, q: Option<&str>) -> Option<String> {
        presented_key(h, q).map(|s| s.expose().to_string())
    }

    #[test]
    fn openai_bearer() {
        let h = headers(&[("authorization", "Bearer gk-abc")]);
        assert_eq!(key(&h, None).as_deref(), Some("gk-abc"));
        let h = headers(&[("authorization", "bearer   gk-abc ")]);
        assert_eq!(key(&h, None).as_deref(), Some("gk-abc"));
    }

    #[test]
    fn anthropic_x_api_key() {
        let h = headers(&[("x-api-key", "gk-ant")]);
        assert_eq!(key(&h, None).as_deref(), Some("gk-ant"));
    }

    #[test]
    fn gemini_header_and_query() {
        let h = headers(&[("x-goog-api-key", "gk-goog")]);
        assert_eq!(key(&h, None).as_deref(), Some("gk-goog"));
        let h = http::HeaderMap::new();
        assert_eq!(
            key(&h, Some("alt=sse&key=gk-q%2B1")).as_deref(),
            Some("gk-q+1")
        );
    }

    #[test]
    fn other_schemes_and_empty_values_are_skipped() {
        let h = headers(&[
            ("authorization", "Basic Zm9vOmJhcg=="),
            ("x-api-key", "gk-x"),
        ]);
        assert_eq!(key(&h, None).as_deref(), Some("gk-x"));
        let h = headers(&[("authorization", "Bearer "), ("x-api-key", " ")]);
        assert_eq!(key(&h, Some("key=")), None);
        assert_eq!(key(&http::HeaderMap::new(), Some("alt=sse")), None);
    }

    #[test]
    fn bearer_wins_over_other_places() {
        let h = headers(&[("authorization", "Bearer gk-1"), ("x-api-key", "gk-2")]);
        assert_eq!(key(&h, Some("key=gk-3")).as_deref(), Some("gk-1"));
    }
}
