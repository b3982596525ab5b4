//! How spend records and keys are written into Redis (JSON), and reading numbers from replies.

use redis::Value;
use serde_json::{json, Map, Value as Json};

use crate::ledger::{LedgerError, SpendRecord, StoredKey};

fn text(map: &Map<String, Json>, field: &str) -> Option<String> {
    map.get(field).and_then(Json::as_str).map(str::to_string)
}

fn number(map: &Map<String, Json>, field: &str) -> u64 {
    map.get(field).and_then(Json::as_u64).unwrap_or(0)
}

fn object(raw: &str) -> Result<Map<String, Json>, LedgerError> {
    match serde_json::from_str(raw) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(LedgerError::Other(
            "stored entry is not a JSON object".into(),
        )),
        Err(e) => Err(LedgerError::Other(format!("unreadable stored entry: {e}"))),
    }
}

pub fn record_json(r: &SpendRecord) -> String {
    json!({
        "request_id": r.request_id, "time_ms": r.time_ms, "key": r.key, "team": r.team,
        "project": r.project, "customer_id": r.customer_id, "cost_center": r.cost_center,
        "feature": r.feature, "environment": r.environment, "provider": r.provider,
        "model": r.model, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
        "cost": r.cost, "policy_result": r.policy_result,
    })
    .to_string()
}

pub fn record_from_json(raw: &str) -> Result<SpendRecord, LedgerError> {
    let m = object(raw)?;
    Ok(SpendRecord {
        request_id: text(&m, "request_id").unwrap_or_default(),
        time_ms: m.get("time_ms").and_then(Json::as_i64).unwrap_or(0),
        key: text(&m, "key"),
        team: text(&m, "team"),
        project: text(&m, "project"),
        customer_id: text(&m, "customer_id"),
        cost_center: text(&m, "cost_center"),
        feature: text(&m, "feature"),
        environment: text(&m, "environment"),
        provider: text(&m, "provider").unwrap_or_default(),
        model: text(&m, "model"),
        input_tokens: number(&m, "input_tokens"),
        output_tokens: number(&m, "output_tokens"),
        cost: number(&m, "cost"),
        policy_result: text(&m, "policy_result").unwrap_or_default(),
    })
}

/// A key without its `revoked` flag, which lives in a set so revoking is one atomic step.
pub fn key_json(k: &StoredKey) -> String {
    json!({
        "name": k.name, "key_sha256": k.key_sha256, "team": k.team, "project": k.project,
        "customer_id": k.customer_id, "cost_center": k.cost_center, "feature": k.feature,
        "environment": k.environment, "providers": k.providers, "created_at_ms": k.created_at_ms,
    })
    .to_string()
}

pub fn key_from_json(raw: &str, revoked: bool) -> Result<StoredKey, LedgerError> {
    let m = object(raw)?;
    Ok(StoredKey {
        name: text(&m, "name").unwrap_or_default(),
        key_sha256: text(&m, "key_sha256").unwrap_or_default(),
        team: text(&m, "team"),
        project: text(&m, "project"),
        customer_id: text(&m, "customer_id"),
        cost_center: text(&m, "cost_center"),
        feature: text(&m, "feature"),
        environment: text(&m, "environment"),
        providers: m.get("providers").and_then(Json::as_array).map(|list| {
            list.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        }),
        revoked,
        created_at_ms: m.get("created_at_ms").and_then(Json::as_i64).unwrap_or(0),
    })
}

/// A counter from a script reply: an integer, a numeric string, or nil (0).
pub fn amount(v: &Value) -> Result<u64, LedgerError> {
    match v {
        Value::Nil => Ok(0),
        Value::Int(i) => Ok(u64::try_from(*i).unwrap_or(0)),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .map(|i| u64::try_from(i).unwrap_or(0))
            .ok_or_else(|| LedgerError::Other("non-numeric counter in Redis".into())),
        Value::SimpleString(s) => s
            .parse::<i64>()
            .map(|i| u64::try_from(i).unwrap_or(0))
            .map_err(|_| LedgerError::Other("non-numeric counter in Redis".into())),
        other => Err(LedgerError::Other(format!(
            "unexpected Redis reply: {other:?}"
        ))),
    }
}

/// The element at `i` of a script's array reply, as a counter.
pub fn nth(reply: &[Value], i: usize) -> Result<u64, LedgerError> {
    reply
        .get(i)
        .ok_or_else(|| LedgerError::Other("short reply from a Redis script".into()))
        .and_then(amount)
}
