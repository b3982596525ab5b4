use std::sync::Arc;

use super::*;
use crate::admin::tests::{gateway_from, temp_dir, yaml};

#[test]
fn a_valid_file_swaps_the_generation_and_keeps_old_ones_alive() {
    let dir = temp_dir("reload-ok");
    let gw = gateway_from(&dir, &yaml(""));
    let before = gw.current.load_full();
    assert!(before.budgets.is_empty());

    let budget = "budgets:\n  - {id: all, scope: {}, limit_usd: 1, period: total}\n";
    std::fs::write(dir.join("gateway.yaml"), yaml(budget)).unwrap();
    let report = reload(&gw).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let after = gw.current.load_full();
    assert!(after.budgets.get("all").is_some());
    // A request that loaded the old generation still holds it, whole.
    assert!(before.budgets.is_empty());
    assert!(!Arc::ptr_eq(&before, &after));
    // Rate-limit counters carry over.
    assert!(Arc::ptr_eq(
        &before.rate_limits.backend(),
        &after.rate_limits.backend()
    ));
}

#[test]
fn a_broken_file_changes_nothing_and_lists_every_error() {
    let dir = temp_dir("reload-bad");
    let gw = gateway_from(&dir, &yaml(""));
    let before = gw.current.load_full();
    let broken = yaml("")
        .replace("kind: openai", "kind: nope")
        .replace("telemetry:", "colour: red\ntelemetry:");
    std::fs::write(dir.join("gateway.yaml"), broken).unwrap();
    let errors = reload(&gw).unwrap_err();
    assert!(!errors.is_empty());
    assert!(Arc::ptr_eq(&before, &gw.current.load_full()));
}

#[test]
fn semantic_errors_from_every_stage_are_reported_together() {
    let dir = temp_dir("reload-many");
    let gw = gateway_from(&dir, &yaml(""));
    let before = gw.current.load_full();
    let bad = yaml("pricing: {catalogs: [missing-folder/]}\n").replace(
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "not-hex",
    );
    std::fs::write(dir.join("gateway.yaml"), bad).unwrap();
    let errors = reload(&gw).unwrap_err();
    let all = errors.join("\n");
    assert!(all.contains("key_sha256"), "{all}");
    assert!(Arc::ptr_eq(&before, &gw.current.load_full()));
    // The config key is still accepted.
    assert!(gw.keys.authenticate(Some("test")).is_ok());
}

#[test]
fn restart_only_settings_are_warned_about() {
    let dir = temp_dir("reload-warn");
    let gw = gateway_from(&dir, &yaml(""));
    let changed = yaml("").replace("127.0.0.1:18080", "127.0.0.1:18090");
    std::fs::write(dir.join("gateway.yaml"), changed).unwrap();
    let report = reload(&gw).unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].starts_with("listen changed"));
}

#[test]
fn reloaded_config_keys_replace_the_old_ones_and_admin_keys_stay() {
    let dir = temp_dir("reload-keys");
    let gw = gateway_from(&dir, &yaml(""));
    let (secret, digest) = crate::governance::keys::mint();
    gw.keys
        .insert(&crate::ledger::StoredKey {
            name: "minted".into(),
            key_sha256: digest,
            ..Default::default()
        })
        .unwrap();
    let renamed = yaml("").replace("name: cfg-key", "name: cfg-key-2");
    std::fs::write(dir.join("gateway.yaml"), renamed).unwrap();
    reload(&gw).unwrap();
    assert_eq!(
        gw.keys.authenticate(Some("test")).unwrap().name,
        "cfg-key-2"
    );
    assert!(gw.keys.get("cfg-key").is_none());
    assert!(gw.keys.authenticate(Some(secret.expose())).is_ok());
}
