//! Configuration: the YAML file (or the embedded default), parsed, expanded and validated.
//!
//! `load_*` parse into [`RawConfig`] (unknown keys refused), then validate into an immutable
//! [`Config`], collecting every problem before refusing. Reload builds a new `Config` and the
//! caller swaps it in whole.

pub mod env;
mod export;
mod load;
mod policy_load;
pub mod policy_schema;
mod problems;
mod report;
pub mod schema;
mod unbuilt;
mod validate;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use export::{DATADOG_SITES, DEFAULT_OTLP_ENDPOINT};
pub use load::{load_embedded_default, load_file, load_str, DEFAULT_YAML};
pub use policy_schema::{
    ContentCheck, ContentPhase, Detector, PolicyCheck, PolicyDowngrade, PolicyRule,
};
pub use report::check_report;
pub use schema::*;

/// Where a configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    Embedded,
}

/// A validated configuration. Immutable: a reload builds a new one.
#[derive(Clone)]
pub struct Config {
    /// As parsed, after `${VAR}` expansion, environment overrides (telemetry) and fallbacks for
    /// unbuilt features; empty secrets are `None`.
    pub raw: RawConfig,
    pub source: ConfigSource,
    /// Relative paths (catalogs, policy files, ledger) resolve against this: the config file's
    /// folder, or the current directory for the embedded default.
    pub base_dir: PathBuf,
    pub auth_mode: AuthMode,
    /// Where `/v1/*` goes; `None`: `/v1/*` is not routed.
    pub default_provider: Option<String>,
    pub exporter: ExporterKind,
    /// OTLP base URL without trailing `/` (append `/v1/traces`, `/v1/metrics`).
    pub otlp_endpoint: String,
    pub otlp_headers: Vec<(String, String)>,
    pub datadog_api_key: Option<String>,
    /// One of [`DATADOG_SITES`] when `exporter` is datadog (intake `https://otlp.{site}`).
    pub datadog_site: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, parsed.
    pub resource_attributes: Vec<(String, String)>,
    pub policy_rules: Vec<PolicyRule>,
    /// To log with `tracing::warn!`; the config is usable.
    pub warnings: Vec<String>,
}

impl Config {
    /// A path from the config, made absolute against [`Config::base_dir`].
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        resolve_against(&self.base_dir, p)
    }

    /// The embedded ledger's folder.
    pub fn ledger_path(&self) -> PathBuf {
        self.resolve_path(&self.raw.ledger.path)
    }

    /// The pricing catalogs, in order (later entries override earlier ones).
    pub fn catalog_paths(&self) -> Vec<PathBuf> {
        self.raw
            .pricing
            .catalogs
            .iter()
            .map(|c| self.resolve_path(c))
            .collect()
    }

    /// Loads the same source again (SIGHUP, `POST /admin/reload`), reading the real environment.
    pub fn reload(&self) -> Result<Config, ConfigErrors> {
        match &self.source {
            ConfigSource::File(path) => load_file(path),
            ConfigSource::Embedded => load_embedded_default(),
        }
    }
}

/// Secrets (provider keys, admin token, Datadog key) stay out of logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("source", &self.source)
            .field("base_dir", &self.base_dir)
            .field("auth_mode", &self.auth_mode)
            .field("providers", &self.raw.providers.keys().collect::<Vec<_>>())
            .field("default_provider", &self.default_provider)
            .field("keys", &self.raw.keys.len())
            .field("budgets", &self.raw.budgets.len())
            .field("rate_limits", &self.raw.rate_limits.len())
            .field("policy_rules", &self.policy_rules.len())
            .field("exporter", &self.exporter)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("datadog_site", &self.datadog_site)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// Every problem found, one per line (`file:line: message` where the line is known).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

fn resolve_against(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    base.join(path.strip_prefix(".").unwrap_or(path))
}

#[cfg(test)]
mod tests;
