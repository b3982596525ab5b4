//! A blocking HTTP client for a running gateway's admin API.

use std::time::Duration;

use serde_json::Value;

/// What can go wrong talking to the admin API, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the gateway's admin API at {url}: {reason}\n  is the gateway running? point --admin-url (or GENOPS_ADMIN_URL) at its admin listener")]
    Unreachable { url: String, reason: String },
    #[error("{message} (HTTP {status}){hint}")]
    Api {
        status: u16,
        message: String,
        /// Extra lines: every config error on a refused reload, or how to pass the token.
        hint: String,
    },
    #[error("unexpected answer from {url}: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
}

pub struct AdminClient {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl AdminClient {
    pub fn new(base: &str, token: Option<String>) -> Result<AdminClient, ClientError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(AdminClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
            http,
        })
    }

    pub fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        let text = self.send(reqwest::Method::GET, path, None)?;
        self.parse(path, &text)
    }

    /// The raw body (CSV reports).
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        self.send(reqwest::Method::GET, path, None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let text = self.send(reqwest::Method::POST, path, Some(body))?;
        self.parse(path, &text)
    }

    pub fn delete(&self, path: &str) -> Result<Value, ClientError> {
        let text = self.send(reqwest::Method::DELETE, path, None)?;
        self.parse(path, &text)
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: root_cause(&e),
        })?;
        let status = response.status().as_u16();
        let text = response.text().map_err(|e| ClientError::BadAnswer {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(api_error(status, &text, self.token.is_some()))
        }
    }

    fn parse(&self, path: &str, text: &str) -> Result<Value, ClientError> {
        serde_json::from_str(text).map_err(|e| ClientError::BadAnswer {
            url: format!("{}{path}", self.base),
            reason: format!("not JSON: {e}"),
        })
    }
}

fn api_error(status: u16, text: &str, sent_token: bool) -> ClientError {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let message = body["error"]["message"]
        .as_str()
        .map_or_else(|| text.trim().to_string(), str::to_string);
    let mut hint = String::new();
    if let Some(errors) = body["error"]["errors"].as_array() {
        for e in errors {
            hint.push_str("\n  error: ");
            hint.push_str(e.as_str().unwrap_or_default());
        }
    }
    if status == 401 && !sent_token {
        hint.push_str("\n  pass the admin token with --token or GENOPS_ADMIN_TOKEN");
    }
    ClientError::Api {
        status,
        message,
        hint,
    }
}

/// reqwest's top-level message is "error sending request"; the cause says why.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
