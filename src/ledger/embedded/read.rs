//! Reads from the embedded ledger's file: spend reports summed in SQL, and the stored keys.

use rusqlite::{params, Connection};

use super::to_u64;
use crate::ledger::report::group_value;
use crate::ledger::{LedgerError, SpendQuery, SpendRecord, SpendRow, StoredKey};

/// The `spend` column behind a `group_by` dimension.
fn column(dimension: &str) -> Result<&'static str, LedgerError> {
    // Validates the name against the one list the other backends use, then maps it.
    group_value(&SpendRecord::default(), dimension)?;
    Ok(match dimension {
        "key" => "api_key",
        "team" => "team",
        "project" => "project",
        "customer_id" => "customer_id",
        "cost_center" => "cost_center",
        "feature" => "feature",
        "environment" => "environment",
        "provider" => "provider",
        _ => "model",
    })
}

fn failed(e: rusqlite::Error) -> LedgerError {
    LedgerError::Unavailable(format!("ledger read failed: {e}"))
}

pub(super) fn spend(conn: &Connection, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError> {
    let columns = query
        .group_by
        .iter()
        .map(|d| column(d))
        .collect::<Result<Vec<_>, _>>()?;
    // Column names come from the fixed list above, never from the query text.
    let group = columns.join(", ");
    let select = if columns.is_empty() {
        String::new()
    } else {
        format!("{group}, ")
    };
    let tail = if columns.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {group} ORDER BY {group}")
    };
    let sql = format!(
        "SELECT {select}COUNT(*), COALESCE(SUM(input_tokens), 0),
                COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost), 0)
         FROM spend WHERE time_ms >= ?1 AND time_ms < ?2{tail}"
    );
    let n = columns.len();
    let mut stmt = conn.prepare_cached(&sql).map_err(failed)?;
    let rows = stmt
        .query_map(params![query.from_ms, query.to_ms], |r| {
            let group = (0..n)
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SpendRow {
                group,
                calls: to_u64(r.get(n)?),
                input_tokens: to_u64(r.get(n + 1)?),
                output_tokens: to_u64(r.get(n + 2)?),
                cost: to_u64(r.get(n + 3)?),
            })
        })
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    // No record in range: an ungrouped sum still yields one row of zeros; the others yield none.
    Ok(rows.into_iter().filter(|r| r.calls > 0).collect())
}

pub(super) fn keys(conn: &Connection) -> Result<Vec<StoredKey>, LedgerError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, key_sha256, team, project, customer_id, cost_center, feature,
                    environment, providers, revoked, created_at_ms
             FROM stored_keys ORDER BY name",
        )
        .map_err(failed)?;
    let rows = stmt
        .query_map([], |r| {
            let providers: Option<String> = r.get(8)?;
            Ok(StoredKey {
                name: r.get(0)?,
                key_sha256: r.get(1)?,
                team: r.get(2)?,
                project: r.get(3)?,
                customer_id: r.get(4)?,
                cost_center: r.get(5)?,
                feature: r.get(6)?,
                environment: r.get(7)?,
                providers: providers.and_then(|p| serde_json::from_str(&p).ok()),
                revoked: r.get(9)?,
                created_at_ms: r.get(10)?,
            })
        })
        .map_err(failed)?;
    rows.collect::<Result<_, _>>().map_err(failed)
}
