//! genops-gateway command line: serve, check.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use genops_gateway::config;
use genops_gateway::{server, startup};

#[derive(Parser)]
#[command(
    name = "genops-gateway",
    version,
    about = "LLM gateway: governs, meters, prices and traces every call"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (embedded default config without --config).
    Serve {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Worker threads for the proxy listener (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Validate a config file; exit 1 listing every problem.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        config: None,
        threads: None,
    }) {
        Command::Serve { config, threads } => serve(config, threads),
        Command::Check { config } => {
            let (ok, report) = config::check_report(config.as_deref());
            println!("{report}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// JSON lines when stderr is not a terminal (containers, log shippers), readable text when it
/// is; `GENOPS_LOG_FORMAT=json|text` decides explicitly.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match std::env::var("GENOPS_LOG_FORMAT").ok().as_deref() {
        Some("json") => true,
        Some("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.init();
    }
}

fn serve(path: Option<PathBuf>, threads: Option<usize>) -> ExitCode {
    let loaded = match &path {
        Some(p) => config::load_file(p),
        None => config::load_embedded_default(),
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("genops-gateway: the configuration is invalid:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match startup::background_runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("genops-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let gateway = match startup::build(cfg, &runtime) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("genops-gateway: cannot start:\n{e}");
            return ExitCode::FAILURE;
        }
    };
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    server::run(gateway.clone(), threads);
    gateway.telemetry.shutdown();
    drop(runtime);
    ExitCode::SUCCESS
}
