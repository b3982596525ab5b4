//! `GET /admin/spend`: spend grouped by any dimensions over a time range, as JSON or CSV.

use http::Response;
use serde_json::{json, Map, Value};

use super::json::{body_response, json_response, ApiError};
use super::request::AdminRequest;
use crate::gateway::Gateway;
use crate::ledger::report::GROUP_BY;
use crate::ledger::{SpendQuery, SpendRow};
use crate::record::CallRecord;

/// How far back a report reaches when `from` is not given.
const DEFAULT_RANGE_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

pub async fn report(
    gateway: &Gateway,
    request: &AdminRequest,
) -> Result<Response<Vec<u8>>, ApiError> {
    let (query, format) = parse(&request.params(), gateway.clock.now_ms())?;
    let rows = gateway.ledger.spend(&query).await?;
    Ok(match format {
        Format::Json => json_response(200, &to_json(&query.group_by, &rows)),
        Format::Csv => body_response(
            200,
            "text/csv; charset=utf-8",
            to_csv(&query.group_by, &rows),
        ),
    })
}

/// `group_by`, `from`, `to` (RFC 3339), `format` (json | csv); unknown parameters are refused.
pub fn parse(params: &[(String, String)], now_ms: i64) -> Result<(SpendQuery, Format), ApiError> {
    let mut query = SpendQuery {
        group_by: Vec::new(),
        from_ms: now_ms.saturating_sub(DEFAULT_RANGE_MS),
        to_ms: now_ms,
    };
    let mut format = Format::Json;
    for (name, value) in params {
        match name.as_str() {
            "group_by" => {
                for dimension in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    if !GROUP_BY.contains(&dimension) {
                        return Err(ApiError::BadRequest(format!(
                            "group_by: cannot group by '{dimension}'; use any of {}",
                            GROUP_BY.join(", ")
                        )));
                    }
                    if !query.group_by.iter().any(|d| d == dimension) {
                        query.group_by.push(dimension.to_string());
                    }
                }
            }
            "from" => query.from_ms = time(name, value)?,
            "to" => query.to_ms = time(name, value)?,
            "format" => {
                format = match value.as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "format: '{other}' is not json or csv"
                        )))
                    }
                }
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{other}'; use group_by, from, to, format"
                )))
            }
        }
    }
    if query.from_ms > query.to_ms {
        return Err(ApiError::BadRequest("from is after to".to_string()));
    }
    Ok((query, format))
}

fn time(name: &str, value: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "{name}: '{value}' is not an RFC 3339 time like 2026-11-01T00:00:00Z ({e})"
            ))
        })
}

pub fn to_json(group_by: &[String], rows: &[SpendRow]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut out: Map<String, Value> = group_by
                .iter()
                .zip(&row.group)
                .map(|(d, v)| (d.clone(), json!(v)))
                .collect();
            out.insert("calls".into(), json!(row.calls));
            out.insert("input_tokens".into(), json!(row.input_tokens));
            out.insert("output_tokens".into(), json!(row.output_tokens));
            out.insert("cost_usd".into(), json!(CallRecord::usd(row.cost)));
            Value::Object(out)
        })
        .collect();
    json!({ "rows": rows })
}

/// A header line, then one line per row; an absent value is an empty field.
pub fn to_csv(group_by: &[String], rows: &[SpendRow]) -> String {
    let mut out = String::new();
    let header: Vec<&str> = group_by
        .iter()
        .map(String::as_str)
        .chain(["calls", "input_tokens", "output_tokens", "cost_usd"])
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in rows {
        let mut fields: Vec<String> = row
            .group
            .iter()
            .map(|v| csv_field(v.as_deref().unwrap_or("")))
            .collect();
        fields.push(row.calls.to_string());
        fields.push(row.input_tokens.to_string());
        fields.push(row.output_tokens.to_string());
        fields.push(CallRecord::usd(row.cost).to_string());
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting where needed (model names come from callers and may hold anything).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const NOW: i64 = 1_795_000_000_000;

    #[test]
    fn defaults_to_the_last_30_days() {
        let (q, f) = parse(&[], NOW).unwrap();
        assert_eq!(q.to_ms, NOW);
        assert_eq!(q.from_ms, NOW - 30 * 86_400_000);
        assert!(q.group_by.is_empty());
        assert_eq!(f, Format::Json);
    }

    #[test]
    fn parses_group_by_range_and_format() {
        let (q, f) = parse(
            &params(&[
                ("group_by", "team, model,team"),
                ("from", "2026-11-01T00:00:00Z"),
                ("to", "2026-11-02T00:00:00+01:00"),
                ("format", "csv"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(q.group_by, vec!["team", "model"]);
        assert_eq!(q.from_ms, 1_793_491_200_000);
        assert_eq!(q.to_ms, 1_793_491_200_000 + 23 * 3_600_000);
        assert_eq!(f, Format::Csv);
    }

    #[test]
    fn refuses_bad_input_with_a_useful_message() {
        for (p, needle) in [
            (
                params(&[("group_by", "colour")]),
                "cannot group by 'colour'",
            ),
            (params(&[("from", "yesterday")]), "RFC 3339"),
            (params(&[("format", "xml")]), "not json or csv"),
            (params(&[("since", "7d")]), "unknown parameter"),
            (
                params(&[
                    ("from", "2026-11-02T00:00:00Z"),
                    ("to", "2026-11-01T00:00:00Z"),
                ]),
                "after",
            ),
        ] {
            let err = parse(&p, NOW).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    fn rows() -> Vec<SpendRow> {
        vec![
            SpendRow {
                group: vec![Some("search".into()), Some("gpt-4o-mini".into())],
                calls: 2,
                input_tokens: 54,
                output_tokens: 84,
                cost: 58_500,
            },
            SpendRow {
                group: vec![None, Some("odd,\"model\"".into())],
                calls: 1,
                input_tokens: 1,
                output_tokens: 0,
                cost: 0,
            },
        ]
    }

    #[test]
    fn json_rows_carry_group_fields_and_usd() {
        let g = vec!["team".to_string(), "model".to_string()];
        let v = to_json(&g, &rows());
        assert_eq!(
            v["rows"][0],
            json!({"team": "search", "model": "gpt-4o-mini", "calls": 2, "input_tokens": 54,
                   "output_tokens": 84, "cost_usd": 0.0000585})
        );
        assert_eq!(v["rows"][1]["team"], Value::Null);
    }

    #[test]
    fn csv_has_a_header_and_quotes_when_needed() {
        let g = vec!["team".to_string(), "model".to_string()];
        assert_eq!(
            to_csv(&g, &rows()),
            "team,model,calls,input_tokens,output_tokens,cost_usd\n\
             search,gpt-4o-mini,2,54,84,0.0000585\n\
             ,\"odd,\"\"model\"\"\",1,1,0,0\n"
        );
    }
}
