//! Spend reports from spend records: group by dimensions, sum over a time range.

use std::collections::BTreeMap;

use super::{LedgerError, SpendQuery, SpendRecord, SpendRow};

/// The dimensions `/admin/spend?group_by=` accepts.
pub const GROUP_BY: [&str; 9] = [
    "key",
    "team",
    "project",
    "customer_id",
    "cost_center",
    "feature",
    "environment",
    "provider",
    "model",
];

/// The record's value for one `group_by` dimension; an error names an unknown dimension.
pub fn group_value<'a>(
    record: &'a SpendRecord,
    dimension: &str,
) -> Result<Option<&'a str>, LedgerError> {
    Ok(match dimension {
        "key" => record.key.as_deref(),
        "team" => record.team.as_deref(),
        "project" => record.project.as_deref(),
        "customer_id" => record.customer_id.as_deref(),
        "cost_center" => record.cost_center.as_deref(),
        "feature" => record.feature.as_deref(),
        "environment" => record.environment.as_deref(),
        "provider" => Some(record.provider.as_str()),
        "model" => record.model.as_deref(),
        other => {
            return Err(LedgerError::Other(format!(
                "cannot group spend by '{other}'; use any of {}",
                GROUP_BY.join(", ")
            )))
        }
    })
}

/// Sums the records with `from_ms <= time_ms < to_ms` per group; rows ordered by group values.
pub fn aggregate<'a>(
    records: impl Iterator<Item = &'a SpendRecord>,
    query: &SpendQuery,
) -> Result<Vec<SpendRow>, LedgerError> {
    // Refuse an unknown dimension even when no record falls in the range.
    for dimension in &query.group_by {
        group_value(&SpendRecord::default(), dimension)?;
    }
    let mut rows: BTreeMap<Vec<Option<String>>, SpendRow> = BTreeMap::new();
    for record in records.filter(|r| query.from_ms <= r.time_ms && r.time_ms < query.to_ms) {
        let group = query
            .group_by
            .iter()
            .map(|d| group_value(record, d).map(|v| v.map(str::to_string)))
            .collect::<Result<Vec<_>, _>>()?;
        let row = rows.entry(group.clone()).or_insert_with(|| SpendRow {
            group,
            ..SpendRow::default()
        });
        row.calls += 1;
        row.input_tokens = row.input_tokens.saturating_add(record.input_tokens);
        row.output_tokens = row.output_tokens.saturating_add(record.output_tokens);
        row.cost = row.cost.saturating_add(record.cost);
    }
    Ok(rows.into_values().collect())
}
