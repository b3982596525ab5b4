//! `serve` (run the gateway until a shutdown signal) and `check` (validate a config file).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{config, reload, server, startup};

pub fn check(path: Option<PathBuf>) -> ExitCode {
    let (ok, report) = config::check_report(path.as_deref());
    println!("{report}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn serve(path: Option<PathBuf>, threads: Option<usize>) -> ExitCode {
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
    // Kept alive until the server stops: store connections and the SIGHUP listener live here.
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
    if let Err(e) = reload::spawn_sighup_listener(gateway.clone(), &runtime) {
        eprintln!("genops-gateway: cannot listen for SIGHUP: {e}");
        return ExitCode::FAILURE;
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    server::run(gateway.clone(), threads);
    gateway.telemetry.shutdown();
    drop(runtime);
    ExitCode::SUCCESS
}
