use super::*;
use crate::config::schema::KeyConfig;
use crate::ledger::StoredKey;

fn config_key(name: &str, key: &str, team: Option<&str>) -> KeyConfig {
    KeyConfig {
        name: name.into(),
        key_sha256: digest_hex(key),
        team: team.map(String::from),
        project: None,
        customer_id: None,
        cost_center: None,
        feature: None,
        environment: None,
        providers: None,
    }
}

fn stored_key(name: &str, key: &str) -> StoredKey {
    StoredKey {
        name: name.into(),
        key_sha256: digest_hex(key),
        team: Some("ads".into()),
        providers: Some(vec!["openai".into()]),
        ..Default::default()
    }
}

fn ring() -> KeyRing {
    KeyRing::new(
        &[config_key("search-prod", "gk-search", Some("search"))],
        &[stored_key("ads-bot", "gk-ads")],
    )
    .unwrap()
}

#[test]
fn digest_matches_config_example() {
    // config.md's example digest is SHA-256("test").
    assert_eq!(
        digest_hex("test"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
}

#[test]
fn authenticates_config_and_stored_keys_by_digest() {
    let ring = ring();
    let e = ring.authenticate(Some("gk-search")).unwrap();
    assert_eq!(e.name, "search-prod");
    assert_eq!(e.source, KeySource::Config);
    assert_eq!(e.bind().team.as_deref(), Some("search"));
    let e = ring.authenticate(Some("gk-ads")).unwrap();
    assert_eq!(e.name, "ads-bot");
    assert_eq!(e.source, KeySource::Admin);
    assert!(!e.allows_provider("anthropic"));
}

#[test]
fn upper_case_digest_in_config_is_accepted() {
    let mut k = config_key("a", "gk-a", None);
    k.key_sha256 = k.key_sha256.to_uppercase();
    let ring = KeyRing::new(&[k], &[]).unwrap();
    assert!(ring.authenticate(Some("gk-a")).is_ok());
}

#[test]
fn missing_unknown_and_revoked_are_401_without_the_key() {
    let ring = ring();
    let missing = ring.authenticate(None).unwrap_err();
    assert_eq!(missing.status(), 401);
    assert!(missing.message().starts_with("missing API key"));
    assert!(missing.message().contains("Authorization: Bearer"));

    let unknown = ring.authenticate(Some("sk-not-a-gateway-key")).unwrap_err();
    assert_eq!(unknown.status(), 401);
    assert!(unknown.message().starts_with("unknown API key"));
    assert!(!unknown.message().contains("sk-not-a-gateway-key"));

    assert!(ring.revoke("ads-bot"));
    let revoked = ring.authenticate(Some("gk-ads")).unwrap_err();
    assert_eq!(revoked.status(), 401);
    assert!(revoked.message().contains("revoked"));
    assert!(!revoked.message().contains("gk-ads"));
    assert!(!ring.revoke("nobody"));
}

#[test]
fn stored_revoked_key_is_refused_at_startup() {
    let mut k = stored_key("old", "gk-old");
    k.revoked = true;
    let ring = KeyRing::new(&[], &[k]).unwrap();
    assert!(ring.authenticate(Some("gk-old")).is_err());
    assert!(ring.get("old").unwrap().revoked);
}

#[test]
fn minted_key_can_be_inserted_and_used() {
    let ring = ring();
    let (key, digest) = mint();
    assert!(key.expose().starts_with(MINTED_PREFIX));
    assert_eq!(key.expose().len(), MINTED_PREFIX.len() + 43);
    assert_eq!(digest, digest_hex(key.expose()));
    let (other, _) = mint();
    assert_ne!(key, other);

    let stored = StoredKey {
        name: "new-key".into(),
        key_sha256: digest,
        ..Default::default()
    };
    ring.insert(&stored).unwrap();
    assert_eq!(
        ring.authenticate(Some(key.expose())).unwrap().name,
        "new-key"
    );
    assert_eq!(
        ring.insert(&stored).unwrap_err(),
        KeyRingError::DuplicateName("new-key".into())
    );
    assert_eq!(ring.len(), 3);
}

#[test]
fn config_errors_are_all_reported() {
    let mut bad = config_key("bad", "x", None);
    bad.key_sha256 = "nothex".into();
    let dup = config_key("search-prod", "gk-other", None);
    let errors = KeyRing::new(
        &[config_key("search-prod", "gk-search", None), bad, dup],
        &[],
    )
    .unwrap_err();
    assert_eq!(errors.len(), 2);
    assert!(errors.contains(&KeyRingError::InvalidDigest { name: "bad".into() }));
    assert!(errors.contains(&KeyRingError::DuplicateName("search-prod".into())));
}

#[test]
fn stored_key_clashing_with_config_is_skipped() {
    let ring = KeyRing::new(
        &[config_key("search-prod", "gk-search", None)],
        &[stored_key("search-prod", "gk-else")],
    )
    .unwrap();
    assert_eq!(ring.len(), 1);
    assert!(ring.authenticate(Some("gk-else")).is_err());
}

#[test]
fn reload_replaces_config_keys_and_keeps_admin_keys() {
    let ring = ring();
    ring.reload_config(&[config_key("new-cfg", "gk-new", None)])
        .unwrap();
    assert!(ring.authenticate(Some("gk-search")).is_err());
    assert!(ring.authenticate(Some("gk-new")).is_ok());
    assert!(ring.authenticate(Some("gk-ads")).is_ok());
}

#[test]
fn debug_output_never_contains_a_key() {
    let ring = ring();
    let (key, _) = mint();
    let entry = ring.authenticate(Some("gk-search")).unwrap();
    let printed = format!("{ring:?} {entry:?} {key:?} {key}");
    assert!(!printed.contains("gk-search"));
    assert!(!printed.contains(key.expose()));
    assert!(!printed.contains(&digest_hex("gk-search")));
}

#[test]
fn header_to_entry_end_to_end() {
    let ring = ring();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-api-key", "gk-search".parse().unwrap());
    let presented = presented_key(&headers, None);
    let entry = ring
        .authenticate(presented.as_ref().map(Secret::expose))
        .unwrap();
    assert_eq!(entry.name, "search-prod");
}
