//! The admin API end to end in process: a gateway from a temp config file, requests as the
//! listener would parse them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{AdminApp, AdminRequest};
use crate::gateway::{Gateway, Generation};
use crate::governance::keys::KeyRing;
use crate::governance::ratelimit::GovernorBackend;
use crate::ledger::memory::MemoryLedger;
use crate::ledger::SpendRecord;
use crate::telemetry::Telemetry;

pub const TOKEN: &str = "t0ken";

/// A config with a token, one provider on loopback, one config key and one budget.
pub fn yaml(extra: &str) -> String {
    format!(
        r#"listen: 127.0.0.1:18080
admin:
  listen: 127.0.0.1:18081
  token: {TOKEN}
providers:
  openai: {{kind: openai, base_url: "http://127.0.0.1:9", api_key: sk-test}}
auth: {{mode: virtual_keys}}
keys:
  - name: cfg-key
    key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    team: search
ledger: {{backend: memory}}
telemetry: {{exporter: none}}
{extra}"#
    )
}

/// A fresh folder under the system temp dir for one test's config.
pub fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "genops-admin-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A gateway loaded from `text` written to `dir/gateway.yaml` (so reload can re-read it).
pub fn gateway_from(dir: &Path, text: &str) -> Arc<Gateway> {
    let path = dir.join("gateway.yaml");
    std::fs::write(&path, text).unwrap();
    let config = crate::config::load_file(&path).unwrap();
    let keys = KeyRing::new(&config.raw.keys, &[]).unwrap();
    let generation = Generation::build(config, Arc::new(GovernorBackend::default())).unwrap();
    Arc::new(Gateway::new(
        generation,
        Telemetry::disabled(),
        Arc::new(MemoryLedger::new()),
        Arc::new(keys),
    ))
}

struct Api {
    app: AdminApp,
}

impl Api {
    fn new(extra: &str) -> Api {
        let dir = temp_dir("api");
        Api {
            app: AdminApp {
                gateway: gateway_from(&dir, &yaml(extra)),
            },
        }
    }

    async fn call(&self, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(method, target, body, Some(&format!("Bearer {TOKEN}")))
            .await
    }

    async fn call_as(
        &self,
        method: &str,
        target: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> (u16, Value) {
        let (status, text) = self.raw(method, target, body, authorization).await;
        let value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        (status, value)
    }

    async fn raw(
        &self,
        method: &str,
        target: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (target, None),
        };
        let request = AdminRequest {
            method: method.parse().unwrap(),
            path: path.to_string(),
            query,
            authorization: authorization.map(str::to_string),
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        };
        let response = self.app.handle(&request).await;
        (response.status().as_u16(), response.into_body())
    }
}

#[tokio::test]
async fn admin_calls_need_the_token() {
    let api = Api::new("");
    let (s, body) = api.call_as("GET", "/admin/keys", None, None).await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["type"], "unauthorized");
    let (s, _) = api
        .call_as("GET", "/admin/keys", None, Some("Bearer nope"))
        .await;
    assert_eq!(s, 401);
    // Health, readiness and metrics need none.
    assert_eq!(api.call_as("GET", "/healthz", None, None).await.0, 200);
    assert_eq!(api.call_as("GET", "/metrics", None, None).await.0, 200);
    // Unknown paths and methods.
    assert_eq!(api.call("GET", "/admin/nope", None).await.0, 404);
    assert_eq!(api.call("PUT", "/admin/keys", None).await.0, 405);
    assert_eq!(api.call("GET", "/admin/reload", None).await.0, 405);
}

#[tokio::test]
async fn without_a_configured_token_the_api_is_off() {
    let dir = temp_dir("notoken");
    let text = yaml("").replace(&format!("  token: {TOKEN}\n"), "");
    let api = Api {
        app: AdminApp {
            gateway: gateway_from(&dir, &text),
        },
    };
    let (s, body) = api.call("GET", "/admin/keys", None).await;
    assert_eq!(s, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin.token"));
}

#[tokio::test]
async fn mint_list_revoke() {
    let api = Api::new("");
    let (s, minted) = api
        .call(
            "POST",
            "/admin/keys",
            Some(json!({"name": "ads-bot", "team": "ads", "providers": ["openai"]})),
        )
        .await;
    assert_eq!(s, 201, "{minted}");
    let key = minted["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("gk-"));
    assert_eq!(
        minted["key_sha256"],
        crate::governance::keys::digest_hex(&key)
    );
    assert_eq!(minted["team"], "ads");
    assert_eq!(minted["source"], "admin");
    assert!(minted["created_at"].as_str().unwrap().ends_with('Z'));

    let gw = &api.app.gateway;
    assert_eq!(gw.keys.authenticate(Some(&key)).unwrap().name, "ads-bot");
    assert_eq!(gw.ledger.list_keys().await.unwrap().len(), 1);

    let (s, again) = api
        .call("POST", "/admin/keys", Some(json!({"name": "ads-bot"})))
        .await;
    assert_eq!(s, 409, "{again}");
    let (s, _) = api
        .call("POST", "/admin/keys", Some(json!({"name": "cfg-key"})))
        .await;
    assert_eq!(s, 409);

    let (s, listed) = api.call("GET", "/admin/keys", None).await;
    assert_eq!(s, 200);
    let text = listed.to_string();
    assert!(
        !text.contains(&key) && !text.contains("key_sha256"),
        "{text}"
    );
    let names: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ads-bot", "cfg-key"]);
    assert_eq!(listed["keys"][1]["source"], "config");
    assert_eq!(listed["keys"][1]["created_at"], Value::Null);

    let (s, _) = api.call("DELETE", "/admin/keys/ads-bot", None).await;
    assert_eq!(s, 200);
    assert_eq!(gw.keys.authenticate(Some(&key)).unwrap_err().status(), 401);
    assert!(gw.ledger.list_keys().await.unwrap()[0].revoked);
    assert_eq!(api.call("DELETE", "/admin/keys/nobody", None).await.0, 404);
    assert_eq!(api.call("DELETE", "/admin/keys/cfg-key", None).await.0, 409);
    let (_, listed) = api.call("GET", "/admin/keys", None).await;
    assert_eq!(listed["keys"][0]["revoked"], true);
}

#[tokio::test]
async fn mint_refuses_bad_input() {
    let api = Api::new("");
    for (body, needle) in [
        (json!({"name": "a b"}), "name"),
        (json!({"name": "ok", "team": "x;y"}), "team"),
        (json!({"name": "ok", "colour": "red"}), "colour"),
        (json!({"team": "ads"}), "name"),
        (json!({"name": "ok", "providers": ["nope"]}), "nope"),
    ] {
        let (s, err) = api.call("POST", "/admin/keys", Some(body)).await;
        assert_eq!(s, 400, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    assert!(api.app.gateway.ledger.list_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn budgets_and_spend() {
    let api = Api::new(
        "budgets:\n  - {id: search-monthly, scope: {team: search}, limit_usd: 10, period: monthly}\n",
    );
    let (s, body) = api.call("GET", "/admin/budgets", None).await;
    assert_eq!(s, 200);
    let b = &body["budgets"][0];
    assert_eq!(b["id"], "search-monthly");
    assert_eq!(b["scope"], json!({"team": "search"}));
    assert_eq!(b["limit_usd"], 10.0);
    assert_eq!(b["remaining_usd"], 10.0);
    assert_eq!(b["period"], "monthly");
    assert!(b["resets_at"].is_string());

    let gw = &api.app.gateway;
    let now = gw.clock.now_ms();
    let record = SpendRecord {
        request_id: "r1".into(),
        time_ms: now - 1000,
        key: Some("cfg-key".into()),
        team: Some("search".into()),
        provider: "openai".into(),
        model: Some("gpt-4o-mini".into()),
        input_tokens: 27,
        output_tokens: 42,
        cost: 29_250,
        ..SpendRecord::default()
    };
    gw.ledger.settle(None, &[], 29_250, record).await.unwrap();

    let (s, body) = api
        .call("GET", "/admin/spend?group_by=key,model", None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["rows"],
        json!([{"key": "cfg-key", "model": "gpt-4o-mini", "calls": 1, "input_tokens": 27,
                "output_tokens": 42, "cost_usd": 0.00002925}])
    );
    let (s, csv) = api
        .raw(
            "GET",
            "/admin/spend?group_by=team&format=csv",
            None,
            Some(&format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "team,calls,input_tokens,output_tokens,cost_usd\nsearch,1,27,42,0.00002925\n"
    );
    let (s, _) = api.call("GET", "/admin/spend?group_by=colour", None).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn readyz_checks_ledger_and_provider_hosts() {
    let api = Api::new("");
    let (s, body) = api.call_as("GET", "/readyz", None, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "ready");

    let dir = temp_dir("unready");
    let text = yaml("").replace("http://127.0.0.1:9", "http://no-such-host.invalid");
    let api = Api {
        app: AdminApp {
            gateway: gateway_from(&dir, &text),
        },
    };
    let (s, body) = api.call_as("GET", "/readyz", None, None).await;
    assert_eq!(s, 503, "{body}");
    assert!(body["failing"][0]
        .as_str()
        .unwrap()
        .starts_with("provider openai"));
}
