//! `spend`: the ledger's spend report over a time range, as a table, JSON or CSV.

use clap::{Args, ValueEnum};
use serde_json::Value;

use super::budgets::usd;
use super::table::Table;
use super::{print_json, when, AdminArgs, ClientError};

#[derive(Args, Debug)]
pub struct SpendArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Dimensions to group by, comma-separated: key, team, project, customer_id, cost_center,
    /// feature, environment, provider, model (none: one total).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Start of the range: 30m, 24h, 7d, 2w, a date (2026-11-01) or an RFC 3339 time.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// End of the range (same forms as --since).
    #[arg(long, default_value = "now")]
    pub until: String,
    #[arg(long, value_enum, default_value_t = SpendFormat::Table)]
    pub format: SpendFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error("--{flag}: {message}")]
    Time { flag: &'static str, message: String },
    #[error(transparent)]
    Client(#[from] ClientError),
}

pub fn run(args: &SpendArgs) -> Result<(), SpendError> {
    let now = chrono::Utc::now();
    let time = |flag: &'static str, text: &str| {
        when::parse(text, now)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .map_err(|message| SpendError::Time { flag, message })
    };
    let from = time("since", &args.since)?;
    let to = time("until", &args.until)?;
    let group_by: Vec<&str> = args
        .group_by
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .collect();
    let mut path = format!("/admin/spend?from={from}");
    // `now` is left to the gateway, so calls settled after this clock reading still count.
    if args.until.trim() != "now" {
        path.push_str(&format!("&to={to}"));
    }
    if !group_by.is_empty() {
        path.push_str("&group_by=");
        path.push_str(&group_by.join(","));
    }
    let client = args.admin.client()?;
    match args.format {
        SpendFormat::Csv => print!("{}", client.get_text(&format!("{path}&format=csv"))?),
        SpendFormat::Json => print_json(&client.get_json(&path)?),
        SpendFormat::Table => {
            let answer = client.get_json(&path)?;
            println!("spend {from} .. {to}");
            if answer["rows"].as_array().is_none_or(Vec::is_empty) {
                println!("(no calls in this range)");
            } else {
                print!("{}", table(&group_by, &answer));
            }
        }
    }
    Ok(())
}

/// One line per group, then the total.
fn table(group_by: &[&str], answer: &Value) -> String {
    let mut columns: Vec<(String, bool)> =
        group_by.iter().map(|g| (g.to_uppercase(), false)).collect();
    for c in ["CALLS", "INPUT TOKENS", "OUTPUT TOKENS", "COST USD"] {
        columns.push((c.to_string(), true));
    }
    let names: Vec<(&str, bool)> = columns.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let mut t = Table::new(&names);
    let (mut calls, mut input, mut output, mut cost) = (0u64, 0u64, 0u64, 0f64);
    let rows = answer["rows"].as_array().map_or(&[][..], Vec::as_slice);
    for row in rows {
        let mut cells: Vec<String> = group_by
            .iter()
            .map(|g| row[*g].as_str().unwrap_or("-").to_string())
            .collect();
        let n = |k: &str| row[k].as_u64().unwrap_or(0);
        calls += n("calls");
        input += n("input_tokens");
        output += n("output_tokens");
        cost += row["cost_usd"].as_f64().unwrap_or(0.0);
        cells.extend([
            n("calls").to_string(),
            n("input_tokens").to_string(),
            n("output_tokens").to_string(),
            usd(&row["cost_usd"]),
        ]);
        t.row(cells);
    }
    if !group_by.is_empty() && rows.len() > 1 {
        let mut cells = vec![String::new(); group_by.len()];
        cells[0] = "TOTAL".to_string();
        cells.extend([
            calls.to_string(),
            input.to_string(),
            output.to_string(),
            usd(&serde_json::json!(cost)),
        ]);
        t.row(cells);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_with_total() {
        let answer = json!({"rows": [
            {"team": "ads", "calls": 2, "input_tokens": 54, "output_tokens": 84, "cost_usd": 0.0000585},
            {"team": null, "calls": 10, "input_tokens": 1000, "output_tokens": 2000, "cost_usd": 1.5}
        ]});
        assert_eq!(
            table(&["team"], &answer),
            "TEAM   CALLS  INPUT TOKENS  OUTPUT TOKENS    COST USD\n\
             ads        2            54             84  $0.0000585\n\
             -         10          1000           2000       $1.50\n\
             TOTAL     12          1054           2084       $1.50\n"
        );
    }
}
