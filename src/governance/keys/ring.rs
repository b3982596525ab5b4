//! The set of virtual keys, looked up by SHA-256 digest; changed at runtime by the admin API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use super::entry::{KeyEntry, KeySource};
use crate::config::schema::KeyConfig;
use crate::error::GatewayError;
use crate::ledger::StoredKey;

type DigestBytes = [u8; 32];

/// The keys by digest (authentication) and by name (admin API), kept in step.
#[derive(Clone, Default)]
struct Entries {
    by_digest: HashMap<DigestBytes, Arc<KeyEntry>>,
    by_name: HashMap<String, DigestBytes>,
}

const MISSING: &str = "missing API key: send your gateway key as `Authorization: Bearer <key>`, \
`x-api-key: <key>`, `x-goog-api-key: <key>` or `?key=<key>`";
const UNKNOWN: &str = "unknown API key: send a key issued by this gateway (not a provider key)";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    #[error("key {name}: key_sha256 must be 64 hex characters (the SHA-256 of the key)")]
    InvalidDigest { name: String },
    #[error("key {name}: {reason}")]
    InvalidEntry { name: String, reason: String },
    #[error("key name {0} is used twice")]
    DuplicateName(String),
    #[error("keys {first} and {second} have the same key_sha256")]
    DuplicateDigest { first: String, second: String },
}

/// Every key the gateway accepts (and the revoked ones, to say so). Reads are lock-free; writes
/// (admin API, reload) copy the map and swap it whole.
pub struct KeyRing {
    entries: ArcSwap<Entries>,
    writer: Mutex<()>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.len())
            .finish()
    }
}

/// The lower-case hex SHA-256 of a key's text, as `key_sha256` holds it.
pub fn digest_hex(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn parse_digest(name: &str, digest: &str) -> Result<DigestBytes, KeyRingError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(digest.trim(), &mut out).map_err(|_| KeyRingError::InvalidDigest {
        name: name.to_string(),
    })?;
    Ok(out)
}

impl KeyRing {
    /// Config keys first, then keys minted earlier through the admin API. A stored key whose
    /// name or digest the config already uses is skipped with a warning (the config wins).
    pub fn new(config: &[KeyConfig], stored: &[StoredKey]) -> Result<KeyRing, Vec<KeyRingError>> {
        let mut entries = config_entries(config)?;
        for key in stored {
            if let Err(e) = add_stored(&mut entries, key) {
                tracing::warn!(error = %e, "stored virtual key skipped");
            }
        }
        Ok(KeyRing {
            entries: ArcSwap::from_pointee(entries),
            writer: Mutex::new(()),
        })
    }

    /// Replaces the config-defined keys (reload); admin-minted keys stay.
    pub fn reload_config(&self, config: &[KeyConfig]) -> Result<(), Vec<KeyRingError>> {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = config_entries(config)?;
        for (digest, entry) in self.entries.load().by_digest.iter() {
            if entry.source == KeySource::Admin {
                if let Err(e) = insert_unique(&mut entries, *digest, entry.clone()) {
                    tracing::warn!(error = %e, "admin key shadowed by the reloaded config");
                }
            }
        }
        self.entries.store(Arc::new(entries));
        Ok(())
    }

    /// Adds a key minted through the admin API (or loaded from the ledger).
    pub fn insert(&self, key: &StoredKey) -> Result<Arc<KeyEntry>, KeyRingError> {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = (**self.entries.load()).clone();
        let entry = add_stored(&mut entries, key)?;
        self.entries.store(Arc::new(entries));
        Ok(entry)
    }

    /// Marks the named key revoked; false when no key has that name.
    pub fn revoke(&self, name: &str) -> bool {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = (**self.entries.load()).clone();
        let Some(slot) = entries
            .by_name
            .get(name)
            .copied()
            .and_then(|digest| entries.by_digest.get_mut(&digest))
        else {
            return false;
        };
        let mut revoked = (**slot).clone();
        revoked.revoked = true;
        *slot = Arc::new(revoked);
        self.entries.store(Arc::new(entries));
        true
    }

    /// The key the caller presented, or the 401 it gets. The key text is never echoed.
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Arc<KeyEntry>, GatewayError> {
        let presented = presented.ok_or_else(|| GatewayError::InvalidKey(MISSING.to_string()))?;
        let digest: DigestBytes = Sha256::digest(presented.as_bytes()).into();
        let entry = self
            .entries
            .load()
            .by_digest
            .get(&digest)
            .cloned()
            .ok_or_else(|| GatewayError::InvalidKey(UNKNOWN.to_string()))?;
        if entry.revoked {
            return Err(GatewayError::InvalidKey(format!(
                "this key ({}) was revoked; ask your gateway admin for a new one",
                entry.name
            )));
        }
        Ok(entry)
    }

    pub fn get(&self, name: &str) -> Option<Arc<KeyEntry>> {
        let entries = self.entries.load();
        let digest = entries.by_name.get(name)?;
        entries.by_digest.get(digest).cloned()
    }

    /// Every key, revoked ones included, sorted by name.
    pub fn entries(&self) -> Vec<Arc<KeyEntry>> {
        let mut all: Vec<_> = self.entries.load().by_digest.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    pub fn len(&self) -> usize {
        self.entries.load().by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn config_entries(config: &[KeyConfig]) -> Result<Entries, Vec<KeyRingError>> {
    let mut entries = Entries::default();
    let mut errors = Vec::new();
    for key in config {
        let entry = KeyEntry::from_config(key);
        let result = entry
            .validate()
            .map_err(|reason| KeyRingError::InvalidEntry {
                name: key.name.clone(),
                reason,
            })
            .and_then(|()| parse_digest(&key.name, &key.key_sha256))
            .and_then(|digest| insert_unique(&mut entries, digest, Arc::new(entry)));
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn add_stored(entries: &mut Entries, key: &StoredKey) -> Result<Arc<KeyEntry>, KeyRingError> {
    let entry = KeyEntry::from_stored(key);
    entry
        .validate()
        .map_err(|reason| KeyRingError::InvalidEntry {
            name: key.name.clone(),
            reason,
        })?;
    let digest = parse_digest(&key.name, &key.key_sha256)?;
    let entry = Arc::new(entry);
    insert_unique(entries, digest, entry.clone())?;
    Ok(entry)
}

fn insert_unique(
    entries: &mut Entries,
    digest: DigestBytes,
    entry: Arc<KeyEntry>,
) -> Result<(), KeyRingError> {
    if entries.by_name.contains_key(&entry.name) {
        return Err(KeyRingError::DuplicateName(entry.name.clone()));
    }
    if let Some(other) = entries.by_digest.get(&digest) {
        return Err(KeyRingError::DuplicateDigest {
            first: other.name.clone(),
            second: entry.name.clone(),
        });
    }
    entries.by_name.insert(entry.name.clone(), digest);
    entries.by_digest.insert(digest, entry);
    Ok(())
}
