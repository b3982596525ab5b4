//! Reading a metered request body whole, bounded by `limits.max_body_bytes`.

use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;

use crate::error::GatewayError;

/// Reads the caller's body to the end. A declared or actual size over `max` is refused (413)
/// without reading further.
pub async fn read_bounded(session: &mut Session, max: u64) -> Result<Bytes, GatewayError> {
    let declared = session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(GatewayError::BodyTooLarge(max));
    }
    let expects_continue = session
        .req_header()
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects_continue && !session.downstream_session.is_http2() {
        session
            .downstream_session
            .write_continue_response()
            .await
            .map_err(|e| GatewayError::BadRequest(format!("could not acknowledge Expect: {e}")))?;
    }
    let capacity = declared.unwrap_or(16 * 1024).min(max) as usize;
    let mut first: Option<Bytes> = None;
    let mut buf: Option<BytesMut> = None;
    loop {
        let chunk = session
            .downstream_session
            .read_request_body()
            .await
            .map_err(|e| {
                GatewayError::BadRequest(format!("could not read the request body: {e}"))
            })?;
        let Some(chunk) = chunk else { break };
        let so_far = buf.as_ref().map_or(0, |b| b.len()) + first.as_ref().map_or(0, |b| b.len());
        if (so_far + chunk.len()) as u64 > max {
            return Err(GatewayError::BodyTooLarge(max));
        }
        // A body that arrives in one read is kept as is; only multi-read bodies are copied.
        match (&mut first, &mut buf) {
            (None, None) => first = Some(chunk),
            (Some(f), None) => {
                let mut b = BytesMut::with_capacity(capacity.max(f.len() + chunk.len()));
                b.extend_from_slice(f);
                b.extend_from_slice(&chunk);
                first = None;
                buf = Some(b);
            }
            (_, Some(b)) => b.extend_from_slice(&chunk),
        }
    }
    Ok(match (first, buf) {
        (_, Some(b)) => b.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}
