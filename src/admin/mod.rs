//! The admin listener: health, readiness and metrics (and, later, the admin API).

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::gateway::Gateway;

pub struct AdminApp {
    pub gateway: Arc<Gateway>,
}

fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response<Vec<u8>> {
    let body = body.into();
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(body)
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_string();
        match path.as_str() {
            "/healthz" => text(200, "application/json", r#"{"status":"ok"}"#),
            "/readyz" => {
                let generation = self.gateway.current.load();
                let body = serde_json::json!({
                    "status": "ready",
                    "providers": generation.routes.upstreams().count(),
                });
                text(200, "application/json", body.to_string())
            }
            "/metrics" => text(
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.gateway.telemetry.render_prometheus(),
            ),
            _ => text(
                404,
                "application/json",
                r#"{"error":{"message":"not found","type":"not_found"}}"#,
            ),
        }
    }
}
