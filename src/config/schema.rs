//! The configuration file's shape (config.md), as parsed. Unknown keys are errors.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::provider::ProviderKind;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub default_provider: Option<String>,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    #[serde(default)]
    pub pricing: PricingConfig,
    #[serde(default)]
    pub budgets: Vec<BudgetConfig>,
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    #[serde(default)]
    pub policies: PoliciesConfig,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}

fn default_listen() -> String {
    "0.0.0.0:8080".to_string()
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default = "default_admin_listen")]
    pub listen: String,
    #[serde(default)]
    pub token: Option<String>,
}

fn default_admin_listen() -> String {
    "127.0.0.1:8081".to_string()
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: default_admin_listen(),
            token: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    pub base_url: String,
    #[serde(default)]
    pub api_key: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    VirtualKeys,
    Passthrough,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `None`: `virtual_keys` when `keys:` is configured, else `passthrough`.
    #[serde(default)]
    pub mode: Option<AuthMode>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub name: String,
    pub key_sha256: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub cost_center: Option<String>,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub providers: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownModel {
    Allow,
    #[default]
    Warn,
    Block,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    #[serde(default = "default_catalogs")]
    pub catalogs: Vec<String>,
    #[serde(default)]
    pub unknown_model: UnknownModel,
}

fn default_catalogs() -> Vec<String> {
    vec!["pricing/".to_string()]
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            catalogs: default_catalogs(),
            unknown_model: UnknownModel::default(),
        }
    }
}

/// A selector over the governance context: every listed attribute must match. `{}` = every call.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub cost_center: Option<String>,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Total,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    #[default]
    Block,
    Warn,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnExhausted {
    #[default]
    Block,
    CutStream,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DowngradeConfig {
    pub at: f64,
    pub models: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub id: String,
    #[serde(default)]
    pub scope: Scope,
    pub limit_usd: f64,
    pub period: Period,
    #[serde(default)]
    pub enforcement: Enforcement,
    #[serde(default)]
    pub alert_at: Vec<f64>,
    #[serde(default)]
    pub on_exhausted: OnExhausted,
    #[serde(default)]
    pub downgrade: Option<DowngradeConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub id: String,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    #[serde(default)]
    pub tokens_per_minute: Option<u32>,
    #[serde(default)]
    pub enforcement: Enforcement,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoliciesConfig {
    #[serde(default)]
    pub files: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LedgerBackend {
    #[default]
    Embedded,
    Redis,
    /// Not in config.md's list: state in process memory only (tests, benchmarks).
    Memory,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    #[default]
    FailClosed,
    FailOpen,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    #[serde(default)]
    pub backend: LedgerBackend,
    #[serde(default = "default_ledger_path")]
    pub path: String,
    #[serde(default = "default_redis_url")]
    pub redis_url: String,
    #[serde(default)]
    pub on_unavailable: OnUnavailable,
}

fn default_ledger_path() -> String {
    "./data/ledger".to_string()
}

fn default_redis_url() -> String {
    "redis://127.0.0.1:6379".to_string()
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            backend: LedgerBackend::default(),
            path: default_ledger_path(),
            redis_url: default_redis_url(),
            on_unavailable: OnUnavailable::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    #[serde(default = "default_connect_timeout")]
    pub upstream_connect_timeout_ms: u64,
    #[serde(default = "default_first_byte_timeout")]
    pub upstream_first_byte_timeout_ms: u64,
    #[serde(default = "default_idle_timeout")]
    pub upstream_idle_timeout_ms: u64,
}

fn default_max_body_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_connect_timeout() -> u64 {
    5_000
}
fn default_first_byte_timeout() -> u64 {
    60_000
}
fn default_idle_timeout() -> u64 {
    60_000
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: default_max_body_bytes(),
            upstream_connect_timeout_ms: default_connect_timeout(),
            upstream_first_byte_timeout_ms: default_first_byte_timeout(),
            upstream_idle_timeout_ms: default_idle_timeout(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExporterKind {
    Datadog,
    #[default]
    Otlp,
    None,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatadogConfig {
    #[serde(default = "default_dd_site")]
    pub site: String,
    #[serde(default)]
    pub api_key: Option<String>,
}

fn default_dd_site() -> String {
    "datadoghq.com".to_string()
}

impl Default for DatadogConfig {
    fn default() -> Self {
        DatadogConfig {
            site: default_dd_site(),
            api_key: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// `None`: `http://127.0.0.1:4318`. `OTEL_EXPORTER_OTLP_ENDPOINT` overrides (config/export.rs).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub protocol: OtlpProtocol,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    #[serde(default = "default_max_queue")]
    pub max_queue: usize,
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
}

fn default_max_queue() -> usize {
    8192
}
fn default_max_batch() -> usize {
    512
}
fn default_interval_ms() -> u64 {
    2000
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue: default_max_queue(),
            max_batch: default_max_batch(),
            interval_ms: default_interval_ms(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default = "default_service_name")]
    pub service_name: String,
    #[serde(default)]
    pub environment: Option<String>,
    /// `None`: `datadog` when a Datadog API key is set (file or `DATADOG_API_KEY`), else `otlp`.
    #[serde(default)]
    pub exporter: Option<ExporterKind>,
    #[serde(default)]
    pub datadog: DatadogConfig,
    #[serde(default)]
    pub otlp: OtlpConfig,
    #[serde(default = "default_sampling_rate")]
    pub sampling_rate: f64,
    #[serde(default)]
    pub capture_content: bool,
    #[serde(default)]
    pub batch: BatchConfig,
    #[serde(default = "default_metrics_interval")]
    pub metrics_interval_ms: u64,
}

fn default_service_name() -> String {
    "genops-gateway".to_string()
}
fn default_sampling_rate() -> f64 {
    1.0
}
fn default_metrics_interval() -> u64 {
    10_000
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            service_name: default_service_name(),
            environment: None,
            exporter: None,
            datadog: DatadogConfig::default(),
            otlp: OtlpConfig::default(),
            sampling_rate: default_sampling_rate(),
            capture_content: false,
            batch: BatchConfig::default(),
            metrics_interval_ms: default_metrics_interval(),
        }
    }
}
