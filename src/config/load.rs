//! The loading pipeline: read, expand `${VAR}`, parse, apply environment overrides, validate.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::env::{process_env, referenced_vars, EnvLookup};
use super::problems::Problems;
use super::schema::RawConfig;
use super::{
    export, policy_load, resolve_against, unbuilt, validate, yaml, Config, ConfigErrors,
    ConfigSource,
};

/// The embedded default configuration (passthrough OpenAI + Anthropic).
pub const DEFAULT_YAML: &str = include_str!("default.yaml");

const EMBEDDED_ORIGIN: &str = "<embedded default>";

/// Loads and validates a config file, reading the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![format!("{origin}: cannot read: {e}")]))?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let source = ConfigSource::File(path.to_path_buf());
    build(&text, &origin, source, absolute(folder), &process_env)
}

/// The embedded default, reading the process environment; paths resolve against the
/// current directory.
pub fn load_embedded_default() -> Result<Config, ConfigErrors> {
    let base_dir = absolute(Path::new("."));
    build(
        DEFAULT_YAML,
        EMBEDDED_ORIGIN,
        ConfigSource::Embedded,
        base_dir,
        &process_env,
    )
}

/// Loads config text with an injected environment (tests, `check`). `origin` names the text in
/// messages and becomes the source's path.
pub fn load_str(
    text: &str,
    origin: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let source = ConfigSource::File(PathBuf::from(origin));
    build(text, origin, source, base_dir.to_path_buf(), env)
}

fn build(
    text: &str,
    origin: &str,
    source: ConfigSource,
    base_dir: PathBuf,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigErrors> {
    let vars = referenced_vars(text, env);
    let mut raw: RawConfig =
        yaml::parse(text, origin, Some(vars)).map_err(|e| ConfigErrors(vec![e]))?;
    clear_empty_secrets(&mut raw);
    let mut p = Problems::new(origin);
    let export = export::resolve(&mut raw.telemetry, env, &mut p);
    validate::check(&raw, &mut p);
    let auth_mode = validate::auth_mode(&raw, &mut p);
    let default_provider = validate::default_provider(&raw, &mut p);
    let budget_ids: HashSet<&str> = raw.budgets.iter().map(|b| b.id.as_str()).collect();
    let resolve = |f: &str| resolve_against(&base_dir, f);
    let policy_rules = policy_load::load(&raw.policies.files, resolve, &budget_ids, &mut p);
    let key_names: HashSet<&str> = raw.keys.iter().map(|k| k.name.as_str()).collect();
    for rule in &policy_rules {
        let at = format!("policy rule `{}`", rule.id);
        validate::check_scope(&at, &rule.scope, &key_names, &mut p);
    }
    unbuilt::apply(&mut raw, &mut p);
    if !p.errors.is_empty() {
        return Err(ConfigErrors(p.errors));
    }
    Ok(Config {
        raw,
        source,
        base_dir,
        auth_mode,
        default_provider,
        exporter: export.exporter,
        otlp_endpoint: export.otlp_endpoint,
        otlp_headers: export.otlp_headers,
        datadog_api_key: export.datadog_api_key,
        datadog_site: export.datadog_site,
        resource_attributes: export.resource_attributes,
        policy_rules,
        warnings: p.warnings,
    })
}

/// A `${VAR}` that expanded to nothing means the secret is not set.
fn clear_empty_secrets(raw: &mut RawConfig) {
    for provider in raw.providers.values_mut() {
        provider.api_key = provider.api_key.take().filter(|k| !k.is_empty());
    }
    raw.admin.token = raw.admin.token.take().filter(|t| !t.is_empty());
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
