//! The admin listener: health, readiness, metrics and the token-guarded admin API (`/admin/*`).

mod auth;
mod budgets;
mod health;
pub mod json;
mod keys;
pub mod request;
mod router;
mod spend;
#[cfg(test)]
pub(crate) mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::gateway::Gateway;
pub use request::AdminRequest;

pub struct AdminApp {
    pub gateway: Arc<Gateway>,
}

impl AdminApp {
    /// Answers one request already read (the tests drive the API through this).
    pub async fn handle(&self, request: &AdminRequest) -> Response<Vec<u8>> {
        router::route(&self.gateway, request).await
    }
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        match AdminRequest::read(session).await {
            Ok(request) => self.handle(&request).await,
            Err(e) => {
                // The rest of the body is unread: the connection cannot carry another request.
                session.set_keepalive(None);
                e.into_response()
            }
        }
    }
}
