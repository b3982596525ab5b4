//! Which handler answers which admin request; the token guard in front of `/admin/*`.

use std::sync::Arc;

use http::{Method, Response};
use serde_json::json;

use super::json::{json_response, ApiError};
use super::request::AdminRequest;
use super::{auth, budgets, health, keys, spend};
use crate::gateway::Gateway;

pub async fn route(gateway: &Arc<Gateway>, request: &AdminRequest) -> Response<Vec<u8>> {
    match request.path.as_str() {
        "/healthz" => return health::healthz(),
        "/readyz" => return health::readyz(gateway).await,
        "/metrics" => return health::metrics(gateway),
        _ => {}
    }
    let result = match request.path.strip_prefix("/admin/") {
        Some(rest) => admin(gateway, request, rest).await,
        None => Err(not_found(&request.path)),
    };
    result.unwrap_or_else(ApiError::into_response)
}

async fn admin(
    gateway: &Arc<Gateway>,
    request: &AdminRequest,
    rest: &str,
) -> Result<Response<Vec<u8>>, ApiError> {
    // The token is read from the running generation, so a reload can rotate it.
    let token = gateway.current.load().config.raw.admin.token.clone();
    auth::check(token.as_deref(), request.authorization.as_deref())?;
    let method = &request.method;
    match rest.trim_end_matches('/') {
        "keys" => match *method {
            Method::POST => keys::create(gateway, request).await,
            Method::GET => keys::list(gateway).await,
            _ => Err(not_allowed(request)),
        },
        "budgets" if *method == Method::GET => budgets::list(gateway).await,
        "spend" if *method == Method::GET => spend::report(gateway, request).await,
        "reload" if *method == Method::POST => reload(gateway).await,
        "budgets" | "spend" | "reload" => Err(not_allowed(request)),
        other => match other.strip_prefix("keys/") {
            Some(name) if !name.is_empty() && !name.contains('/') => {
                if *method == Method::DELETE {
                    keys::revoke(gateway, &percent_decode(name)).await
                } else {
                    Err(not_allowed(request))
                }
            }
            _ => Err(not_found(&request.path)),
        },
    }
}

async fn reload(gateway: &Arc<Gateway>) -> Result<Response<Vec<u8>>, ApiError> {
    let gw = gateway.clone();
    // Reading files and compiling rules must not stall the admin listener's reactor.
    let outcome = tokio::task::spawn_blocking(move || crate::reload::reload(&gw))
        .await
        .map_err(|e| ApiError::Internal(format!("reload task failed: {e}")))?;
    match outcome {
        Ok(report) => Ok(json_response(
            200,
            &json!({"reloaded": true, "warnings": report.warnings}),
        )),
        Err(errors) => Err(ApiError::InvalidConfig(errors)),
    }
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("n={segment}").as_bytes())
        .next()
        .map_or_else(|| segment.to_string(), |(_, v)| v.into_owned())
}

fn not_found(path: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no admin endpoint at {path}; see /admin/keys, /admin/budgets, /admin/spend, /admin/reload"
    ))
}

fn not_allowed(request: &AdminRequest) -> ApiError {
    ApiError::MethodNotAllowed {
        method: request.method.to_string(),
        path: request.path.clone(),
    }
}
