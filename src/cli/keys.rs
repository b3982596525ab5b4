//! `keys create | list | revoke` over the admin API.

use clap::Args;
use serde_json::{json, Map, Value};

use super::table::Table;
use super::{print_json, AdminArgs, ClientError, KeysAction, View};

const ATTRIBUTES: [&str; 6] = [
    "team",
    "project",
    "customer_id",
    "cost_center",
    "feature",
    "environment",
];

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// A unique name (letters, digits and - _ . : / @ + =); never reused.
    #[arg(long)]
    pub name: String,
    /// Bind this team (headers cannot override it).
    #[arg(long)]
    pub team: Option<String>,
    /// Bind this project.
    #[arg(long)]
    pub project: Option<String>,
    /// Bind this customer id.
    #[arg(long)]
    pub customer_id: Option<String>,
    /// Bind this cost center.
    #[arg(long)]
    pub cost_center: Option<String>,
    /// Bind this feature.
    #[arg(long)]
    pub feature: Option<String>,
    /// Bind this environment (e.g. production).
    #[arg(long)]
    pub environment: Option<String>,
    /// Allow only this provider (repeat for several; every provider without it).
    #[arg(long)]
    pub provider: Vec<String>,
    /// `json` prints the admin API's answer (with the key) for scripts.
    #[arg(long, value_enum, default_value_t = View::Table)]
    pub format: View,
}

pub fn run(admin: &AdminArgs, action: KeysAction) -> Result<(), ClientError> {
    let client = admin.client()?;
    match action {
        KeysAction::Create(args) => {
            let answer = client.post_json("/admin/keys", &body(&args))?;
            match args.format {
                View::Json => print_json(&answer),
                View::Table => print_created(&answer),
            }
        }
        KeysAction::List { format } => {
            let answer = client.get_json("/admin/keys")?;
            match format {
                View::Json => print_json(&answer),
                View::Table => print!("{}", list_table(&answer)),
            }
        }
        KeysAction::Revoke { name } => {
            let path = format!("/admin/keys/{}", encode(&name));
            client.delete(&path)?;
            println!("key {name} revoked");
        }
    }
    Ok(())
}

fn body(args: &CreateArgs) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(args.name));
    let values = [
        &args.team,
        &args.project,
        &args.customer_id,
        &args.cost_center,
        &args.feature,
        &args.environment,
    ];
    for (name, value) in ATTRIBUTES.iter().zip(values) {
        if let Some(v) = value {
            out.insert(name.to_string(), json!(v));
        }
    }
    if !args.provider.is_empty() {
        out.insert("providers".into(), json!(args.provider));
    }
    Value::Object(out)
}

fn print_created(answer: &Value) {
    println!("created key {}", str_of(&answer["name"]));
    let bound = attributes(answer);
    if !bound.is_empty() {
        println!("  binds     {bound}");
    }
    println!("  providers {}", providers(answer));
    println!();
    println!("{}", str_of(&answer["key"]));
    println!();
    println!("Store this key now: it is not shown again (the gateway keeps only its SHA-256).");
}

fn list_table(answer: &Value) -> String {
    let mut table = Table::new(&[
        ("NAME", false),
        ("SOURCE", false),
        ("STATUS", false),
        ("ATTRIBUTES", false),
        ("PROVIDERS", false),
        ("CREATED", false),
    ]);
    for key in answer["keys"].as_array().into_iter().flatten() {
        let status = if key["revoked"].as_bool().unwrap_or(false) {
            "revoked"
        } else {
            "active"
        };
        table.row(vec![
            str_of(&key["name"]),
            str_of(&key["source"]),
            status.to_string(),
            or_dash(attributes(key)),
            providers(key),
            or_dash(str_of(&key["created_at"])),
        ]);
    }
    table.render()
}

/// `team=ads project=x`, only the bound ones.
fn attributes(key: &Value) -> String {
    ATTRIBUTES
        .iter()
        .filter_map(|a| key[*a].as_str().map(|v| format!("{a}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn providers(key: &Value) -> String {
    match key["providers"].as_array() {
        Some(list) => list.iter().map(str_of).collect::<Vec<_>>().join(","),
        None => "all".to_string(),
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn or_dash(s: String) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s
    }
}

/// A key name as one path segment.
fn encode(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keys_as_a_table() {
        let answer = json!({"keys": [
            {"name": "ads-bot", "source": "admin", "revoked": false, "team": "ads",
             "project": null, "providers": ["openai"], "created_at": "2026-11-21T10:00:00Z"},
            {"name": "search", "source": "config", "revoked": true, "team": null,
             "providers": null, "created_at": null}
        ]});
        assert_eq!(
            list_table(&answer),
            "NAME     SOURCE  STATUS   ATTRIBUTES  PROVIDERS  CREATED\n\
             ads-bot  admin   active   team=ads    openai     2026-11-21T10:00:00Z\n\
             search   config  revoked  -           all        -\n"
        );
    }
}
