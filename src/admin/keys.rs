//! `/admin/keys`: mint (stored in the ledger as a digest, live at once), list, revoke.

use std::collections::HashMap;

use http::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::json::{json_response, rfc3339_ms, ApiError};
use super::request::AdminRequest;
use crate::gateway::Gateway;
use crate::governance::context::{validate_value, Dimension, GovernanceContext};
use crate::governance::keys::{mint, KeyEntry, KeySource};
use crate::ledger::StoredKey;

/// Key changes await the ledger between checking and applying; one at a time keeps the ledger
/// and the ring in step (two mints of one name cannot both reach the ledger).
static WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    team: Option<String>,
    project: Option<String>,
    customer_id: Option<String>,
    cost_center: Option<String>,
    feature: Option<String>,
    environment: Option<String>,
    providers: Option<Vec<String>>,
}

/// `POST /admin/keys`: 201 with the key text, shown this once.
pub async fn create(
    gateway: &Gateway,
    request: &AdminRequest,
) -> Result<Response<Vec<u8>>, ApiError> {
    let new: NewKey = request.json()?;
    validate(gateway, &new)?;
    let _one_at_a_time = WRITER.lock().await;
    if gateway.keys.get(&new.name).is_some() {
        return Err(ApiError::Conflict(format!(
            "a key named {} already exists (names are never reused, even after revoking)",
            new.name
        )));
    }
    let (secret, key_sha256) = mint();
    let stored = StoredKey {
        name: new.name,
        key_sha256,
        team: new.team,
        project: new.project,
        customer_id: new.customer_id,
        cost_center: new.cost_center,
        feature: new.feature,
        environment: new.environment,
        providers: new.providers,
        revoked: false,
        created_at_ms: gateway.clock.now_ms(),
    };
    // Ledger first: a key the ring accepts but the ledger lost would vanish at restart.
    gateway.ledger.put_key(stored.clone()).await?;
    let entry = gateway
        .keys
        .insert(&stored)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let mut out = describe(&entry, Some(stored.created_at_ms));
    out.insert("key".into(), json!(secret.expose()));
    out.insert("key_sha256".into(), json!(stored.key_sha256));
    Ok(json_response(201, &Value::Object(out)))
}

fn validate(gateway: &Gateway, new: &NewKey) -> Result<(), ApiError> {
    validate_value(Dimension::Key, &new.name)
        .map_err(|e| ApiError::BadRequest(format!("name: {e}")))?;
    let values = [
        (Dimension::Team, &new.team),
        (Dimension::Project, &new.project),
        (Dimension::CustomerId, &new.customer_id),
        (Dimension::CostCenter, &new.cost_center),
        (Dimension::Feature, &new.feature),
        (Dimension::Environment, &new.environment),
    ];
    for (dimension, value) in values {
        if let Some(v) = value {
            validate_value(dimension, v)
                .map_err(|e| ApiError::BadRequest(format!("{}: {e}", dimension.name())))?;
        }
    }
    if let Some(providers) = &new.providers {
        let generation = gateway.current.load();
        for p in providers {
            if generation.routes.get(p).is_none() {
                let mut known: Vec<_> = generation
                    .routes
                    .upstreams()
                    .map(|u| u.name.as_str())
                    .collect();
                known.sort_unstable();
                return Err(ApiError::BadRequest(format!(
                    "providers: no provider named {p} (configured: {})",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// `GET /admin/keys`: every key, config and admin, revoked ones too; never a key or digest.
pub async fn list(gateway: &Gateway) -> Result<Response<Vec<u8>>, ApiError> {
    let created: HashMap<String, i64> = match gateway.ledger.list_keys().await {
        Ok(stored) => stored
            .into_iter()
            .map(|k| (k.name, k.created_at_ms))
            .collect(),
        Err(e) => {
            tracing::warn!("GET /admin/keys: creation times unavailable: {e}");
            HashMap::new()
        }
    };
    let keys: Vec<Value> = gateway
        .keys
        .entries()
        .iter()
        .map(|e| Value::Object(describe(e, created.get(&e.name).copied())))
        .collect();
    Ok(json_response(200, &json!({ "keys": keys })))
}

/// `DELETE /admin/keys/{name}`: the key gets 401 from the next request on.
pub async fn revoke(gateway: &Gateway, name: &str) -> Result<Response<Vec<u8>>, ApiError> {
    let _one_at_a_time = WRITER.lock().await;
    let entry = gateway
        .keys
        .get(name)
        .ok_or_else(|| ApiError::NotFound(format!("no key named {name}")))?;
    if entry.source == KeySource::Config {
        return Err(ApiError::Conflict(format!(
            "key {name} is defined in the config file: remove it from `keys:` and reload"
        )));
    }
    if !gateway.ledger.revoke_key(name).await? {
        tracing::warn!(key = name, "revoked key was not in the ledger");
    }
    gateway.keys.revoke(name);
    Ok(json_response(200, &json!({"name": name, "revoked": true})))
}

fn describe(entry: &KeyEntry, created_at_ms: Option<i64>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("name".into(), json!(entry.name));
    out.extend(attributes(&entry.attributes));
    out.insert("providers".into(), json!(entry.providers));
    out.insert("revoked".into(), json!(entry.revoked));
    out.insert(
        "created_at".into(),
        json!(created_at_ms.and_then(rfc3339_ms)),
    );
    let source = match entry.source {
        KeySource::Config => "config",
        KeySource::Admin => "admin",
    };
    out.insert("source".into(), json!(source));
    out
}

fn attributes(ctx: &GovernanceContext) -> Map<String, Value> {
    Dimension::ATTRIBUTES
        .iter()
        .map(|d| (d.name().to_string(), json!(ctx.get(*d))))
        .collect()
}
