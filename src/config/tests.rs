//! Loader tests: the spec's full example, the embedded default, and every kind of refusal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    load_str(text, "gw.yaml", &fixtures(), &env_of(vars))
}

fn errors(text: &str) -> Vec<String> {
    match load(text, &[]) {
        Ok(c) => panic!("expected errors, loaded {c:?}"),
        Err(e) => e.0,
    }
}

const MINIMAL: &str =
    "providers:\n  openai:\n    kind: openai\n    base_url: https://api.openai.com\n";

#[test]
fn spec_example_loads_verbatim() {
    let text = std::fs::read_to_string(fixtures().join("full.yaml")).unwrap();
    let vars = [
        ("GENOPS_ADMIN_TOKEN", "admin-secret"),
        ("OPENAI_API_KEY", "sk-test"),
        ("DATADOG_API_KEY", "dd-key"),
    ];
    let c = load(&text, &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.auth_mode, AuthMode::VirtualKeys);
    assert_eq!(c.default_provider.as_deref(), Some("openai"));
    assert_eq!(c.raw.providers.len(), 3);
    assert_eq!(
        c.raw.providers["openai"].api_key.as_deref(),
        Some("sk-test")
    );
    assert_eq!(
        c.raw.providers["anthropic"].api_key, None,
        "unset var = not set"
    );
    assert_eq!(c.raw.admin.token.as_deref(), Some("admin-secret"));
    assert_eq!(c.exporter, ExporterKind::Datadog);
    assert_eq!(c.datadog_api_key.as_deref(), Some("dd-key"));
    assert_eq!(c.datadog_site, "datadoghq.com");
    assert_eq!(c.raw.budgets[0].downgrade.as_ref().unwrap().models.len(), 2);
    assert_eq!(c.raw.telemetry.batch.max_batch, 512);
    assert_eq!(c.ledger_path(), fixtures().join("data/ledger"));
    assert_eq!(c.catalog_paths(), vec![fixtures().join("pricing/")]);
    let ids: Vec<&str> = c.policy_rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "no-frontier-models-for-interns",
            "pii-guard",
            "customer-attribution",
            "frontier-only-for-research",
            "cap-output",
            "cap-input",
            "internal-ids",
            "cheaper-when-tight",
        ]
    );
    let pii = &c.policy_rules[1].check;
    let PolicyCheck::Content(content) = pii else {
        panic!("{pii:?}")
    };
    assert_eq!(content.on, [ContentPhase::Request, ContentPhase::Response]);
    // local-vllm has no key, which virtual-key mode warns about.
    assert!(
        c.warnings.iter().any(|w| w.contains("local-vllm")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn embedded_default_loads() {
    let c = load(DEFAULT_YAML, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.auth_mode, AuthMode::Passthrough);
    assert_eq!(c.default_provider.as_deref(), Some("openai"));
    assert_eq!(c.exporter, ExporterKind::Otlp);
    assert_eq!(c.otlp_endpoint, DEFAULT_OTLP_ENDPOINT);
    assert!(c.policy_rules.is_empty());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.raw.providers["anthropic"].api_key, None);
    let dd = load(
        DEFAULT_YAML,
        &[("DATADOG_API_KEY", "k"), ("ANTHROPIC_API_KEY", "a")],
    )
    .unwrap();
    assert_eq!(dd.exporter, ExporterKind::Datadog);
    assert_eq!(dd.raw.providers["anthropic"].api_key.as_deref(), Some("a"));
    assert!(load_embedded_default().is_ok());
}

#[test]
fn unknown_keys_name_key_and_line() {
    let cases = [
        ("tokns: 1\n", "gw.yaml:1: unknown key `tokns`"),
        (
            "telemetry:\n  otlp:\n    endpont: http://x\n",
            "gw.yaml:3: unknown key `endpont`",
        ),
        (
            "budgets:\n  - id: b\n    limit_usd: 1\n    period: daily\n    alert: [0.5]\n",
            "gw.yaml:5: unknown key `alert`",
        ),
        (
            "budgets:\n  - id: b\n    scope: { teem: x }\n    limit_usd: 1\n    period: daily\n",
            "gw.yaml:3: unknown key `teem`",
        ),
    ];
    for (text, want) in cases {
        let e = errors(text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(want),
            "{} does not start with {want}",
            e[0]
        );
    }
}

#[test]
fn unknown_keys_in_policy_files_name_file_and_line() {
    let text = format!("{MINIMAL}policies:\n  files: [bad-policies/unknown_key.yaml, bad-policies/scope_typo.yaml]\n");
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].ends_with("unknown_key.yaml:9: unknown key `denied_modles` (expected one of: id, scope, enforcement, allowed_models, denied_models, max_output_tokens, max_input_tokens, content, require, downgrade)"), "{}", e[0]);
    assert!(
        e[1].contains("scope_typo.yaml:3: unknown key `teem`"),
        "{}",
        e[1]
    );
}

#[test]
fn bad_policy_rules_are_all_reported() {
    let text =
        format!("{MINIMAL}policies:\n  files: [bad-policies/checks.yaml, policies/more.yml]\n");
    let e = errors(&text);
    let has = |rule: &str, words: &str| {
        e.iter()
            .any(|m| m.contains(&format!("rule `{rule}`")) && m.contains(words))
    };
    assert!(has("no-check", "found none"), "{e:#?}");
    assert!(
        has("two-checks", "found max_output_tokens, max_input_tokens"),
        "{e:#?}"
    );
    assert!(has("bad-values", "when_budget_at"), "{e:#?}");
    assert!(has("bad-values", "no-such-budget"), "{e:#?}");
    assert!(has("bad-regex", "(unclosed"), "{e:#?}");
    assert!(has("cap-output", "nationality"), "{e:#?}");
    assert!(has("cap-output", "already defined"), "{e:#?}");
    assert!(has("cheaper-when-tight", "team-search-monthly"), "{e:#?}");
    assert_eq!(e.len(), 8, "{e:#?}");
}

#[test]
fn missing_policy_path_is_an_error() {
    let e = errors(&format!("{MINIMAL}policies:\n  files: [nowhere/]\n"));
    assert!(e[0].contains("`nowhere/`"), "{e:?}");
}

#[test]
fn several_errors_are_all_reported() {
    let text = "\
listen: nope
providers:
  openai: { kind: openai, base_url: 'api.openai.com' }
  v1: { kind: openai, base_url: http://x }
default_provider: azure
keys:
  - { name: a, key_sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 }
  - { name: a, key_sha256: abc, providers: [gemini] }
budgets:
  - { id: b, limit_usd: 0, period: daily, alert_at: [0, 1.5] }
  - { id: b, limit_usd: 5, period: daily, downgrade: { at: 2, models: {} } }
rate_limits:
  - { id: r, requests_per_minute: 0 }
telemetry:
  sampling_rate: -1
  exporter: datadog
";
    let e = errors(text);
    let want = [
        "listen `nope`",
        "providers.openai.base_url",
        "providers.v1: the name",
        "default_provider `azure`",
        "keys[a].key_sha256 must be 64 lowercase hex",
        "keys: `a` is defined twice",
        "keys[a].providers: `gemini`",
        "budgets[b].limit_usd must be > 0",
        "budgets[b].alert_at must be in (0, 1] (got 0)",
        "budgets[b].alert_at must be in (0, 1] (got 1.5)",
        "budgets: `b` is defined twice",
        "budgets[b].downgrade.at",
        "budgets[b].downgrade.models is empty",
        "rate_limits[r] needs",
        "telemetry.sampling_rate",
        "no API key",
    ];
    for w in want {
        assert!(e.iter().any(|m| m.contains(w)), "missing `{w}` in {e:#?}");
    }
    assert!(e.iter().all(|m| m.starts_with("gw.yaml: ")), "{e:#?}");
    // both bad digests (uppercase and short) are reported
    assert_eq!(
        e.iter().filter(|m| m.contains("64 lowercase hex")).count(),
        2
    );
    assert_eq!(e.len(), want.len() + 1, "{e:#?}");
}

#[test]
fn env_expansion_with_defaults() {
    let text = "\
listen: ${LISTEN:-127.0.0.1:9090}
providers:
  openai:
    kind: openai
    base_url: ${BASE:-https://api.openai.com}
    api_key: \"${KEY}\"
budgets:
  - { id: b, limit_usd: '${LIMIT:-25}', period: daily }
";
    let c = load(text, &[("KEY", "sk-1"), ("LIMIT", "")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.raw.listen, "127.0.0.1:9090");
    assert_eq!(c.raw.providers["openai"].base_url, "https://api.openai.com");
    assert_eq!(c.raw.providers["openai"].api_key.as_deref(), Some("sk-1"));
    assert_eq!(c.raw.budgets[0].limit_usd, 25.0);
    let c = load(text, &[("LISTEN", "0.0.0.0:1"), ("LIMIT", "7.5")]).unwrap();
    assert_eq!(c.raw.listen, "0.0.0.0:1");
    assert_eq!(c.raw.budgets[0].limit_usd, 7.5);
    assert_eq!(c.raw.providers["openai"].api_key, None);
}

#[test]
fn ddog_gov_is_refused_pointing_at_the_agent() {
    let text = "telemetry:\n  exporter: datadog\n  datadog: { site: ddog-gov.com, api_key: k }\n";
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("Datadog Agent") && e[0].contains("exporter: otlp"),
        "{}",
        e[0]
    );
}

#[test]
fn auth_mode_and_default_provider_resolution() {
    let key = "keys:\n  - { name: k, key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }\n";
    let c = load(&format!("{MINIMAL}{key}"), &[]).unwrap();
    assert_eq!(c.auth_mode, AuthMode::VirtualKeys);
    let c = load(
        &format!("{MINIMAL}{key}auth: {{ mode: passthrough }}\n"),
        &[],
    )
    .unwrap();
    assert_eq!(c.auth_mode, AuthMode::Passthrough);
    assert!(
        c.warnings[0].contains("keys are not used"),
        "{:?}",
        c.warnings
    );
    let only = "providers:\n  vllm: { kind: openai, base_url: http://10.0.0.5:8000 }\n  claude: { kind: anthropic, base_url: https://api.anthropic.com }\n";
    assert_eq!(
        load(only, &[]).unwrap().default_provider.as_deref(),
        Some("vllm")
    );
    let none = "providers:\n  claude: { kind: anthropic, base_url: https://api.anthropic.com }\n";
    assert_eq!(load(none, &[]).unwrap().default_provider, None);
}

#[test]
fn grpc_loads_with_a_warning_and_falls_back() {
    let c = load("telemetry:\n  otlp: { protocol: grpc }\n", &[]).unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert!(
        c.warnings[0].contains("grpc is not built"),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.raw.telemetry.otlp.protocol, OtlpProtocol::HttpProtobuf);
}

#[test]
fn files_resolve_relative_to_their_folder() {
    let c = load_file(&fixtures().join("full.yaml"));
    // Real environment: DATADOG_API_KEY is normally unset here, so the datadog exporter is
    // refused; either way the policy folder next to the file was found.
    match c {
        Ok(c) => assert_eq!(c.base_dir, fixtures()),
        Err(e) => assert!(e.0.iter().all(|m| !m.contains("policies")), "{e}"),
    }
    let e = load_file(Path::new("/nonexistent/gw.yaml")).unwrap_err();
    assert!(
        e.0[0].starts_with("/nonexistent/gw.yaml: cannot read"),
        "{e}"
    );
}

#[test]
fn check_report_lists_summary_or_errors() {
    let (ok, text) = check_report(None);
    assert!(ok, "{text}");
    assert!(
        text.contains("provider openai") && text.contains("default provider: openai"),
        "{text}"
    );
    let (ok, text) = check_report(Some(Path::new("/nonexistent/gw.yaml")));
    assert!(!ok);
    assert!(text.contains("1 problem"), "{text}");
}
