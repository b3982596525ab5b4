//! Credentials: provider API keys, cloud and VCS tokens, private keys, JWTs.

use super::rule::{alnum, isolated, token_char, RuleSpec};

pub(crate) fn rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::new(
            "secrets.anthropic_key",
            r"sk-ant-[A-Za-z0-9_-]{20,}",
            Some(valid_token),
        ),
        // Legacy `sk-…48`, `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`.
        RuleSpec::new(
            "secrets.openai_key",
            r"sk-[A-Za-z0-9_-]{20,}",
            Some(valid_openai_key),
        ),
        RuleSpec::new(
            "secrets.aws_access_key",
            r"(?:AKIA|ASIA)[A-Z0-9]{16}",
            Some(valid_alnum_token),
        ),
        RuleSpec::new(
            "secrets.github_token",
            r"gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}",
            Some(valid_token),
        ),
        RuleSpec::new(
            "secrets.google_api_key",
            r"AIza[0-9A-Za-z_-]{35}",
            Some(valid_token),
        ),
        RuleSpec::new(
            "secrets.slack_token",
            r"xox[abposr]-[0-9A-Za-z-]{10,}|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+",
            Some(valid_slack),
        ),
        RuleSpec::new(
            "secrets.private_key",
            r"-----BEGIN[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----",
            None,
        ),
        RuleSpec::new(
            "secrets.jwt",
            r"ey[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            Some(valid_jwt),
        ),
    ]
}

/// High-entropy key bodies mix letters and digits; prose like `sk-this-is-not-a-key` does not.
fn mixed(body: &str) -> bool {
    body.bytes().any(|b| b.is_ascii_digit()) && body.bytes().any(|b| b.is_ascii_alphabetic())
}

fn valid_token(text: &str, s: usize, e: usize) -> bool {
    isolated(text, s, e, token_char) && mixed(&text[s..e])
}

fn valid_alnum_token(text: &str, s: usize, e: usize) -> bool {
    isolated(text, s, e, alnum)
}

fn valid_openai_key(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    !m.starts_with("sk-ant-") && isolated(text, s, e, token_char) && mixed(&m[3..])
}

fn valid_slack(text: &str, s: usize, e: usize) -> bool {
    text[s..].starts_with("https://") || valid_token(text, s, e)
}

fn valid_jwt(text: &str, s: usize, e: usize) -> bool {
    if !isolated(text, s, e, |b| token_char(b) || b == b'.') {
        return false;
    }
    let mut parts = text[s..e].split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let header_has_alg = base64url_decode(header)
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some_and(serde_json::Value::is_string));
    let payload_is_object = base64url_decode(payload)
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .is_some_and(|p| p.is_object());
    header_has_alg && payload_is_object
}

/// Unpadded base64url (RFC 4648 §5), as JWT segments use.
pub(crate) fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
