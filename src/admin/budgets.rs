//! `GET /admin/budgets`: every configured budget with its current period's counters, in USD.

use http::Response;
use serde_json::{json, Map, Value};

use super::json::{json_response, ApiError};
use crate::config::schema::Scope;
use crate::gateway::Gateway;
use crate::record::CallRecord;

pub async fn list(gateway: &Gateway) -> Result<Response<Vec<u8>>, ApiError> {
    let generation = gateway.current.load_full();
    let statuses = generation
        .budgets
        .list(gateway.ledger.as_ref(), gateway.clock.as_ref())
        .await?;
    let budgets: Vec<Value> = statuses
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "scope": scope(&s.scope),
                "limit_usd": CallRecord::usd(s.limit),
                "consumed_usd": CallRecord::usd(s.consumed),
                "reserved_usd": CallRecord::usd(s.reserved),
                "remaining_usd": CallRecord::usd(s.remaining),
                "period": s.period,
                "resets_at": s.resets_at,
            })
        })
        .collect();
    Ok(json_response(200, &json!({ "budgets": budgets })))
}

/// The selector as the config writes it: only the attributes it sets (`{}` = every call).
fn scope(s: &Scope) -> Value {
    let fields = [
        ("key", &s.key),
        ("team", &s.team),
        ("project", &s.project),
        ("customer_id", &s.customer_id),
        ("cost_center", &s.cost_center),
        ("feature", &s.feature),
        ("environment", &s.environment),
    ];
    let map: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), json!(v))))
        .collect();
    Value::Object(map)
}
