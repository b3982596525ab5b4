//! Header rules at the gateway boundary: hop-by-hop removal, credentials, gateway headers.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::{Error, ErrorType, Result};

use crate::provider::ProviderKind;

/// RFC 9110 §7.6.1 connection-specific headers, plus `proxy-connection` that old clients send.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that carry a caller credential, in every provider's style.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-api-key", "x-goog-api-key"];

fn is_hop_by_hop(name: &HeaderName, connection_listed: &[String]) -> bool {
    let n = name.as_str();
    HOP_BY_HOP.contains(&n) || connection_listed.iter().any(|c| c == n)
}

/// Header names the `Connection` header declares hop-by-hop for this message.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// What to change in the caller's request on its way upstream.
pub struct UpstreamRequestPlan<'a> {
    pub method: &'a http::Method,
    pub path_and_query: &'a str,
    pub authority: &'a str,
    pub provider_kind: ProviderKind,
    /// Replace the caller's credential with this provider key.
    pub provider_key: Option<&'a str>,
    /// Drop the caller's credential even without a replacement (virtual keys).
    pub strip_caller_credential: bool,
    /// `Some(len)`: the body is sent whole with this length; `None`: streamed as the caller sent it.
    pub body_len: Option<usize>,
    /// The gateway must read the response, so it asks for an uncompressed one.
    pub identity_encoding: bool,
    pub traceparent: Option<&'a str>,
}

fn internal(e: impl std::fmt::Display) -> Box<Error> {
    Error::explain(ErrorType::InternalError, e.to_string())
}

/// The request header sent upstream.
pub fn upstream_request(
    caller: &RequestHeader,
    plan: &UpstreamRequestPlan<'_>,
) -> Result<RequestHeader> {
    let mut req = RequestHeader::build(
        plan.method.clone(),
        plan.path_and_query.as_bytes(),
        Some(caller.headers.len() + 4),
    )?;
    let listed = connection_listed(&caller.headers);
    let replace_credential = plan.provider_key.is_some() || plan.strip_caller_credential;
    for (name, value) in caller.headers.iter() {
        let n = name.as_str();
        if is_hop_by_hop(name, &listed)
            || n == "host"
            || n.starts_with("x-genops-")
            || n == "traceparent"
            || (plan.body_len.is_some() && (n == "content-length" || n == "expect"))
            || (plan.identity_encoding && n == "accept-encoding")
            || (replace_credential && CREDENTIAL_HEADERS.contains(&n))
        {
            continue;
        }
        req.append_header(name.clone(), value.clone())?;
    }
    req.insert_header(http::header::HOST, plan.authority)?;
    if let Some(len) = plan.body_len {
        if len > 0 || plan.method != http::Method::GET {
            req.insert_header(http::header::CONTENT_LENGTH, len.to_string())?;
        }
    } else if caller
        .headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some()
    {
        req.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
    }
    if let Some(tp) = plan.traceparent {
        req.insert_header("traceparent", tp)?;
    }
    if let Some(key) = plan.provider_key {
        match plan.provider_kind {
            ProviderKind::Openai => {
                req.insert_header(http::header::AUTHORIZATION, format!("Bearer {key}"))?
            }
            ProviderKind::Anthropic => req.insert_header("x-api-key", key)?,
            ProviderKind::Gemini => req.insert_header("x-goog-api-key", key)?,
        }
    }
    Ok(req)
}

/// Removes Gemini's `key=` query parameter when the gateway replaces the credential.
pub fn strip_key_param(query: &str) -> Option<String> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("key=") && !p.is_empty())
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(kept.join("&"))
    }
}

/// The response header sent to the caller, built from the upstream's.
pub fn downstream_response(
    upstream: &ResponseHeader,
    body_rewritten: bool,
    downstream_is_h2: bool,
) -> Result<ResponseHeader> {
    let mut resp = ResponseHeader::build(upstream.status, Some(upstream.headers.len() + 6))?;
    let listed = connection_listed(&upstream.headers);
    for (name, value) in upstream.headers.iter() {
        if is_hop_by_hop(name, &listed) || (body_rewritten && name == http::header::CONTENT_LENGTH)
        {
            continue;
        }
        resp.append_header(name.clone(), value.clone())?;
    }
    if !downstream_is_h2
        && resp.headers.get(http::header::CONTENT_LENGTH).is_none()
        && body_allowed(upstream.status.as_u16())
    {
        resp.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
    }
    Ok(resp)
}

fn body_allowed(status: u16) -> bool {
    !(status == 204 || status == 304 || (100..200).contains(&status))
}

/// Adds a header the gateway owns (`x-genops-*`), ignoring values that are not valid header text.
pub fn set_gateway_header(resp: &mut ResponseHeader, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        let _ = resp.insert_header(name, v);
    }
}

/// A JSON response the gateway writes itself.
pub fn json_response(status: u16, body_len: usize) -> Result<ResponseHeader> {
    let mut resp = ResponseHeader::build(status, Some(4)).map_err(internal)?;
    resp.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    resp.insert_header(http::header::CONTENT_LENGTH, body_len.to_string())?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> RequestHeader {
        let mut r = RequestHeader::build("POST", b"/openai/v1/chat/completions", None).unwrap();
        for (k, v) in [
            ("host", "gw:8080"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("authorization", "Bearer sk-caller"),
            ("x-genops-team", "search"),
            ("content-length", "12"),
            ("accept-encoding", "gzip"),
            ("openai-organization", "org-1"),
        ] {
            r.append_header(k, v).unwrap();
        }
        r
    }

    #[test]
    fn drops_hop_by_hop_and_gateway_headers() {
        let plan = UpstreamRequestPlan {
            method: &http::Method::POST,
            path_and_query: "/v1/chat/completions",
            authority: "api.openai.com",
            provider_kind: ProviderKind::Openai,
            provider_key: None,
            strip_caller_credential: false,
            body_len: Some(40),
            identity_encoding: true,
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        };
        let up = upstream_request(&caller(), &plan).unwrap();
        let h = &up.headers;
        assert!(h.get("connection").is_none());
        assert!(h.get("x-custom-hop").is_none());
        assert!(h.get("keep-alive").is_none());
        assert!(h.get("x-genops-team").is_none());
        assert!(h.get("accept-encoding").is_none());
        assert_eq!(h.get("authorization").unwrap(), "Bearer sk-caller");
        assert_eq!(h.get("host").unwrap(), "api.openai.com");
        assert_eq!(h.get("content-length").unwrap(), "40");
        assert_eq!(h.get("openai-organization").unwrap(), "org-1");
        assert!(h.get("traceparent").is_some());
    }

    #[test]
    fn provider_key_replaces_caller_credential() {
        let plan = UpstreamRequestPlan {
            method: &http::Method::POST,
            path_and_query: "/v1/messages",
            authority: "api.anthropic.com",
            provider_kind: ProviderKind::Anthropic,
            provider_key: Some("sk-ant-real"),
            strip_caller_credential: true,
            body_len: Some(2),
            identity_encoding: false,
            traceparent: None,
        };
        let up = upstream_request(&caller(), &plan).unwrap();
        assert!(up.headers.get("authorization").is_none());
        assert_eq!(up.headers.get("x-api-key").unwrap(), "sk-ant-real");
    }

    #[test]
    fn key_param_is_removed() {
        assert_eq!(
            strip_key_param("key=abc&alt=sse").as_deref(),
            Some("alt=sse")
        );
        assert_eq!(strip_key_param("key=abc"), None);
    }
}
