//! One admin request as the handlers see it: method, path, query, token header, bounded body.

use pingora::protocols::http::ServerSession;

use super::json::ApiError;

/// Admin bodies are small JSON documents; anything bigger is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct AdminRequest {
    pub method: http::Method,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl AdminRequest {
    /// Reads the head and up to [`MAX_BODY_BYTES`] of body.
    pub async fn read(session: &mut ServerSession) -> Result<AdminRequest, ApiError> {
        let head = session.req_header();
        let mut request = AdminRequest {
            method: head.method.clone(),
            path: head.uri.path().to_string(),
            query: head.uri.query().map(str::to_string),
            authorization: head
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: Vec::new(),
        };
        loop {
            match session.read_request_body().await {
                Ok(Some(chunk)) => {
                    if request.body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
                    }
                    request.body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(request),
                Err(e) => return Err(ApiError::BadRequest(format!("cannot read the body: {e}"))),
            }
        }
    }

    /// The query parameters, decoded.
    pub fn params(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The body as JSON of type `T`, naming the bad field when it does not fit.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}
