//! The `genops-gateway` command line: run or check a gateway, and operate a running one over
//! its admin API (keys, spend, budgets, reload), so every ledger backend works the same way.

mod budgets;
mod client;
mod keys;
mod serve;
mod spend;
mod table;
mod when;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use client::{AdminClient, ClientError};

#[derive(Parser, Debug)]
#[command(
    name = "genops-gateway",
    version,
    about = "LLM gateway: governs, meters, prices and traces every call",
    long_about = "LLM gateway: governs, meters, prices and traces every call.\n\n\
        `serve` and `check` work on a config file; `keys`, `spend`, `budgets` and `reload` \
        talk to a running gateway's admin API (--admin-url, --token)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway (the embedded default config without --config).
    Serve {
        /// The YAML config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Worker threads for the proxy listener (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Validate a config file; exit 1 listing every problem.
    Check {
        /// The YAML config file (the embedded default without it).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Mint, list and revoke virtual keys on a running gateway.
    Keys {
        #[command(flatten)]
        admin: AdminArgs,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Spend report from the ledger, grouped by any governance dimension.
    Spend(spend::SpendArgs),
    /// Every budget with its spend this period.
    Budgets {
        #[command(flatten)]
        admin: AdminArgs,
        #[arg(long, value_enum, default_value_t = View::Table)]
        format: View,
    },
    /// Reload the running gateway's config file (same as SIGHUP).
    Reload {
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Mint a key; it is printed once and never shown again.
    Create(keys::CreateArgs),
    /// Every key (config and minted, revoked ones too); never the key itself.
    List {
        #[arg(long, value_enum, default_value_t = View::Table)]
        format: View,
    },
    /// Revoke a minted key: it gets 401 from the next request on.
    Revoke {
        /// The key's name.
        name: String,
    },
}

/// Where the running gateway's admin API is.
#[derive(Args, Debug, Clone)]
pub struct AdminArgs {
    /// The gateway's admin listener.
    #[arg(
        long,
        env = "GENOPS_ADMIN_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    pub admin_url: String,
    /// The admin token (`admin.token` in the gateway's config).
    #[arg(
        long,
        env = "GENOPS_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
}

impl AdminArgs {
    fn client(&self) -> Result<AdminClient, ClientError> {
        AdminClient::new(&self.admin_url, self.token.clone())
    }
}

/// How a listing is printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// An aligned table for people.
    Table,
    /// The admin API's JSON, for scripts.
    Json,
}

/// Runs a parsed command line; the exit code says whether it worked.
pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve {
        config: None,
        threads: None,
    });
    let result = match command {
        Command::Serve { config, threads } => return serve::serve(config, threads),
        Command::Check { config } => return serve::check(config),
        Command::Keys { admin, action } => keys::run(&admin, action).map_err(|e| e.to_string()),
        Command::Spend(args) => spend::run(&args).map_err(|e| e.to_string()),
        Command::Budgets { admin, format } => {
            budgets::run(&admin, format).map_err(|e| e.to_string())
        }
        Command::Reload { admin } => reload(&admin).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genops-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn reload(admin: &AdminArgs) -> Result<(), ClientError> {
    let answer = admin
        .client()?
        .post_json("/admin/reload", &serde_json::json!({}))?;
    println!("configuration reloaded");
    for w in answer["warnings"].as_array().into_iter().flatten() {
        println!("  warning: {}", w.as_str().unwrap_or_default());
    }
    Ok(())
}

/// Pretty JSON for `--format json`.
fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_admin_commands() {
        let cli = Cli::try_parse_from([
            "genops-gateway",
            "keys",
            "create",
            "--name",
            "bot",
            "--team",
            "ads",
            "--provider",
            "openai",
            "--provider",
            "anthropic",
            "--token",
            "t",
        ])
        .unwrap();
        let Some(Command::Keys {
            admin,
            action: KeysAction::Create(args),
        }) = cli.command
        else {
            panic!("not keys create");
        };
        assert_eq!(admin.token.as_deref(), Some("t"));
        assert_eq!(args.provider, ["openai", "anthropic"]);

        let cli = Cli::try_parse_from([
            "genops-gateway",
            "spend",
            "--group-by",
            "team,model",
            "--since",
            "7d",
            "--format",
            "csv",
        ])
        .unwrap();
        let Some(Command::Spend(args)) = cli.command else {
            panic!("not spend");
        };
        assert_eq!(args.group_by, ["team", "model"]);
    }
}
