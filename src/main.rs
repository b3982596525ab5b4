//! genops-gateway command line: serve, check, and operating a running gateway (see `cli`).

use std::process::ExitCode;

use clap::Parser;

use genops_gateway::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end so buffered log lines are flushed on exit.
    let _log_flush = init_logging();
    cli::run(cli)
}

/// JSON lines when stderr is not a terminal (containers, log shippers), readable text when it
/// is; `GENOPS_LOG_FORMAT=json|text` decides explicitly. Lines are written by a background
/// thread (lossy when it falls behind): a slow log consumer never stalls a request.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match std::env::var("GENOPS_LOG_FORMAT").ok().as_deref() {
        Some("json") => true,
        Some("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.init();
    }
    guard
}
