//! Checks of the main file's values and cross-references; resolves auth mode and default provider.

use std::collections::HashSet;
use std::net::SocketAddr;

use url::Url;

use super::problems::Problems;
use super::schema::{AuthMode, BudgetConfig, LedgerBackend, RateLimitConfig, RawConfig, Scope};
use crate::provider::ProviderKind;

/// Route prefixes a provider may not take (http.md routes `/v1/*` to the default provider).
const RESERVED_PROVIDER_NAMES: [&str; 1] = ["v1"];

/// Runs every check on `raw`, pushing each problem found.
pub fn check(raw: &RawConfig, p: &mut Problems) {
    check_listen(raw, p);
    check_providers(raw, p);
    check_keys(raw, p);
    let key_names: HashSet<&str> = raw.keys.iter().map(|k| k.name.as_str()).collect();
    check_unique("budgets", raw.budgets.iter().map(|b| b.id.as_str()), p);
    for b in &raw.budgets {
        check_budget(b, p);
        check_scope(&format!("budgets[{}]", b.id), &b.scope, &key_names, p);
    }
    check_unique(
        "rate_limits",
        raw.rate_limits.iter().map(|r| r.id.as_str()),
        p,
    );
    for r in &raw.rate_limits {
        check_rate_limit(r, p);
        check_scope(&format!("rate_limits[{}]", r.id), &r.scope, &key_names, p);
    }
    check_ledger(raw, p);
    check_limits(raw, p);
}

/// `auth.mode`, or `virtual_keys` when keys are configured, else `passthrough`.
pub fn auth_mode(raw: &RawConfig, p: &mut Problems) -> AuthMode {
    let mode = raw.auth.mode.unwrap_or(if raw.keys.is_empty() {
        AuthMode::Passthrough
    } else {
        AuthMode::VirtualKeys
    });
    match mode {
        AuthMode::Passthrough if !raw.keys.is_empty() => {
            p.warn("auth.mode is passthrough: the configured keys are not used");
        }
        AuthMode::VirtualKeys => {
            for (name, provider) in &raw.providers {
                if provider.api_key.is_none() {
                    p.warn(format!(
                        "providers.{name} has no api_key: with virtual keys, calls to it are \
                         forwarded without provider credentials"
                    ));
                }
            }
        }
        AuthMode::Passthrough => {}
    }
    mode
}

/// `default_provider` when it names a configured provider; unset: the provider named `openai`,
/// else the only provider of kind openai, else none (then `/v1/*` answers 404).
pub fn default_provider(raw: &RawConfig, p: &mut Problems) -> Option<String> {
    if let Some(name) = &raw.default_provider {
        if raw.providers.contains_key(name) {
            return Some(name.clone());
        }
        p.error(format!(
            "default_provider `{name}` is not a configured provider ({})",
            list(raw.providers.keys())
        ));
        return None;
    }
    if raw.providers.contains_key("openai") {
        return Some("openai".to_string());
    }
    let mut openai_kind = raw
        .providers
        .iter()
        .filter(|(_, c)| c.kind == ProviderKind::Openai);
    match (openai_kind.next(), openai_kind.next()) {
        (Some((name, _)), None) => Some(name.clone()),
        _ => None,
    }
}

fn check_listen(raw: &RawConfig, p: &mut Problems) {
    let proxy = parse_addr("listen", &raw.listen, p);
    let admin = parse_addr("admin.listen", &raw.admin.listen, p);
    if proxy.is_some() && proxy == admin {
        p.error("listen and admin.listen must differ");
    }
}

fn parse_addr(key: &str, value: &str, p: &mut Problems) -> Option<SocketAddr> {
    let addr = value.parse().ok();
    if addr.is_none() {
        p.error(format!(
            "{key} `{value}` is not an address:port (e.g. 0.0.0.0:8080)"
        ));
    }
    addr
}

fn check_providers(raw: &RawConfig, p: &mut Problems) {
    for (name, provider) in &raw.providers {
        let path_safe = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !path_safe || RESERVED_PROVIDER_NAMES.contains(&name.as_str()) {
            p.error(format!(
                "providers.{name}: the name is the route prefix: use letters, digits, `-`, `_`, \
                 `.`, and not `v1`"
            ));
        }
        match Url::parse(&provider.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => p.error(format!(
                "providers.{name}.base_url `{}` is not an http(s) URL",
                provider.base_url
            )),
        }
    }
}

fn check_keys(raw: &RawConfig, p: &mut Problems) {
    check_unique("keys", raw.keys.iter().map(|k| k.name.as_str()), p);
    let mut digests = HashSet::new();
    for key in &raw.keys {
        let d = &key.key_sha256;
        let is_digest = d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_digest {
            p.error(format!(
                "keys[{}].key_sha256 must be 64 lowercase hex characters (a SHA-256 digest of the key)",
                key.name
            ));
        } else if !digests.insert(d.as_str()) {
            p.error(format!(
                "keys[{}].key_sha256 is the digest of another key",
                key.name
            ));
        }
        for provider in key.providers.iter().flatten() {
            if !raw.providers.contains_key(provider) {
                p.error(format!(
                    "keys[{}].providers: `{provider}` is not a configured provider ({})",
                    key.name,
                    list(raw.providers.keys())
                ));
            }
        }
    }
}

fn check_budget(b: &BudgetConfig, p: &mut Problems) {
    let at = format!("budgets[{}]", b.id);
    if !(b.limit_usd.is_finite() && b.limit_usd > 0.0) {
        p.error(format!("{at}.limit_usd must be > 0 (got {})", b.limit_usd));
    }
    for a in &b.alert_at {
        check_fraction(&format!("{at}.alert_at"), *a, p);
    }
    if let Some(d) = &b.downgrade {
        check_fraction(&format!("{at}.downgrade.at"), d.at, p);
        if d.models.is_empty() {
            p.error(format!("{at}.downgrade.models is empty"));
        }
    }
}

fn check_rate_limit(r: &RateLimitConfig, p: &mut Problems) {
    let rpm = r.requests_per_minute.unwrap_or(0);
    let tpm = r.tokens_per_minute.unwrap_or(0);
    if rpm == 0 && tpm == 0 {
        p.error(format!(
            "rate_limits[{}] needs requests_per_minute or tokens_per_minute > 0",
            r.id
        ));
    }
}

/// A fraction of a budget: in (0, 1].
pub fn check_fraction(key: &str, value: f64, p: &mut Problems) {
    if !(value > 0.0 && value <= 1.0) {
        p.error(format!("{key} must be in (0, 1] (got {value})"));
    }
}

/// Keys can also be minted at run time (`POST /admin/keys`), so an unknown key in a scope
/// is only a warning.
pub fn check_scope(at: &str, scope: &Scope, key_names: &HashSet<&str>, p: &mut Problems) {
    if let Some(key) = &scope.key {
        if !key_names.contains(key.as_str()) {
            p.warn(format!(
                "{at}.scope.key `{key}` is not in keys: (fine if it is minted through the admin API)"
            ));
        }
    }
}

fn check_ledger(raw: &RawConfig, p: &mut Problems) {
    let l = &raw.ledger;
    match l.backend {
        LedgerBackend::Embedded if l.path.is_empty() => p.error("ledger.path is empty"),
        LedgerBackend::Redis => match Url::parse(&l.redis_url) {
            Ok(url) if matches!(url.scheme(), "redis" | "rediss" | "unix" | "redis+unix") => {}
            _ => p.error(format!(
                "ledger.redis_url `{}` is not a redis:// or rediss:// URL",
                l.redis_url
            )),
        },
        _ => {}
    }
}

fn check_limits(raw: &RawConfig, p: &mut Problems) {
    let l = &raw.limits;
    for (key, value) in [
        ("max_body_bytes", l.max_body_bytes),
        ("upstream_connect_timeout_ms", l.upstream_connect_timeout_ms),
        (
            "upstream_first_byte_timeout_ms",
            l.upstream_first_byte_timeout_ms,
        ),
        ("upstream_idle_timeout_ms", l.upstream_idle_timeout_ms),
    ] {
        if value == 0 {
            p.error(format!("limits.{key} must be > 0"));
        }
    }
}

/// Ids must be non-empty and unique within `section`.
pub fn check_unique<'a>(section: &str, ids: impl Iterator<Item = &'a str>, p: &mut Problems) {
    let mut seen = HashSet::new();
    for id in ids {
        if id.trim().is_empty() {
            p.error(format!("{section}: an entry has an empty id/name"));
        } else if !seen.insert(id) {
            p.error(format!("{section}: `{id}` is defined twice"));
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none configured".to_string()
    } else {
        format!("configured: {}", names.join(", "))
    }
}
