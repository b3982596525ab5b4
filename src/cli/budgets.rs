//! `budgets`: every budget and how much of it this period has used.

use serde_json::Value;

use super::table::Table;
use super::{print_json, AdminArgs, ClientError, View};

pub fn run(admin: &AdminArgs, format: View) -> Result<(), ClientError> {
    let answer = admin.client()?.get_json("/admin/budgets")?;
    match format {
        View::Json => print_json(&answer),
        View::Table => print!("{}", table(&answer)),
    }
    Ok(())
}

fn table(answer: &Value) -> String {
    let mut t = Table::new(&[
        ("BUDGET", false),
        ("SCOPE", false),
        ("PERIOD", false),
        ("LIMIT", true),
        ("CONSUMED", true),
        ("RESERVED", true),
        ("REMAINING", true),
        ("USED", true),
        ("RESETS", false),
    ]);
    for b in answer["budgets"].as_array().into_iter().flatten() {
        let limit = b["limit_usd"].as_f64().unwrap_or(0.0);
        let consumed = b["consumed_usd"].as_f64().unwrap_or(0.0);
        let used = if limit > 0.0 {
            format!("{:.1}%", consumed / limit * 100.0)
        } else {
            "-".to_string()
        };
        t.row(vec![
            b["id"].as_str().unwrap_or_default().to_string(),
            scope(&b["scope"]),
            b["period"].as_str().unwrap_or_default().to_string(),
            usd(&b["limit_usd"]),
            usd(&b["consumed_usd"]),
            usd(&b["reserved_usd"]),
            usd(&b["remaining_usd"]),
            used,
            b["resets_at"].as_str().unwrap_or("-").to_string(),
        ]);
    }
    t.render()
}

fn scope(v: &Value) -> String {
    match v.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" "),
        _ => "global".to_string(),
    }
}

/// Dollars to the cent; below a cent to eight places (single calls cost fractions of one).
pub fn usd(v: &Value) -> String {
    let x = v.as_f64().unwrap_or(0.0);
    if x != 0.0 && x.abs() < 0.01 {
        let text = format!("{x:.8}");
        format!("${}", text.trim_end_matches('0'))
    } else {
        format!("${x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_budgets() {
        let answer = json!({"budgets": [{"id": "search-monthly", "scope": {"team": "search"},
            "limit_usd": 1000.0, "consumed_usd": 250.5, "reserved_usd": 0.000029,
            "remaining_usd": 749.49997, "period": "monthly", "resets_at": "2026-12-01T00:00:00Z"}]});
        let out = table(&answer);
        assert!(out.contains("team=search"), "{out}");
        assert!(out.contains("$1000.00"), "{out}");
        assert!(out.contains("$0.000029"), "{out}");
        assert!(out.contains("25.1%"), "{out}");
    }
}
