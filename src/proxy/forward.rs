//! The upstream exchange: send the (already decided) call, stream the answer back through the
//! meter. The gateway makes this exchange itself because pingora cannot replay a request body
//! over 64 KiB that `request_filter` has read (docs/architecture.md).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::connectors::http::Connector;
use pingora::protocols::http::client::HttpSession;
use pingora::proxy::Session;
use pingora::upstreams::peer::HttpPeer;
use pingora::ErrorType;

use crate::accounting;
use crate::error::GatewayError;
use crate::gateway::{Gateway, Generation};
use crate::provider::dispatch::{self, ResponseMeter};
use crate::provider::{Operation, ProviderKind};
use crate::proxy::ctx::CallCtx;
use crate::proxy::headers::{self, UpstreamRequestPlan};
use crate::proxy::respond;
use crate::proxy::route::Route;
use crate::proxy::stream_guard::{self, StreamGuard};
use crate::proxy::upstream;

/// A non-streaming metered answer larger than this is relayed as it arrives, without the
/// cost headers that need the whole body first.
const MAX_BUFFERED_RESPONSE: usize = 32 * 1024 * 1024;

/// What to send upstream.
pub struct Outbound {
    /// `Some`: the whole body (metered calls); `None`: relay the caller's body as it arrives.
    pub body: Option<Bytes>,
    /// The gateway added `stream_options.include_usage`; strip what it adds from the answer.
    pub injected_usage: bool,
    /// Replace the caller's credential with the provider key / drop it (virtual keys).
    pub strip_caller_credential: bool,
}

fn upstream_error(e: &pingora::Error, host: &str) -> GatewayError {
    match e.etype() {
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            GatewayError::UpstreamTimeout(format!(
                "upstream {host} timed out ({})",
                e.etype().as_str()
            ))
        }
        _ => GatewayError::UpstreamUnreachable(format!(
            "upstream {host} failed: {}",
            e.etype().as_str()
        )),
    }
}

fn error_label(e: &pingora::Error) -> &'static str {
    match e.etype() {
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            "timeout"
        }
        _ => "upstream_reset",
    }
}

/// Forwards the call. `Err` means nothing was written to the caller yet: answer with the error.
pub async fn forward(
    session: &mut Session,
    ctx: &mut CallCtx,
    gateway: &Gateway,
    generation: &Generation,
    route: &Route,
    outbound: Outbound,
) -> Result<(), GatewayError> {
    let up = &route.upstream;
    let addr = gateway
        .resolver
        .resolve(&up.host, up.port)
        .await
        .map_err(GatewayError::UpstreamUnreachable)?;
    let peer = upstream::peer(up, addr, &generation.timeouts);
    ctx.record.server_address = Some(up.host.clone());
    ctx.record.server_port = Some(up.port);

    let caller = session.req_header();
    let query = caller.uri.query();
    let query = if up.api_key.is_some() || outbound.strip_caller_credential {
        query.and_then(headers::strip_key_param)
    } else {
        query.map(str::to_string)
    };
    let path_and_query = route.upstream_path_and_query(query.as_deref());
    let traceparent = ctx.span.as_ref().and_then(|s| s.traceparent());
    let plan = UpstreamRequestPlan {
        method: &caller.method,
        path_and_query: &path_and_query,
        authority: &up.authority,
        provider_kind: up.kind,
        provider_key: up.api_key.as_deref(),
        strip_caller_credential: outbound.strip_caller_credential,
        body_len: outbound.body.as_ref().map(Bytes::len),
        identity_encoding: route.operation.is_metered(),
        traceparent: traceparent.as_deref(),
    };
    let request = headers::upstream_request(caller, &plan)
        .map_err(|e| GatewayError::BadRequest(format!("cannot forward this request: {e}")))?;

    let mut conn = send_request(
        session,
        &gateway.connector,
        &peer,
        request,
        &outbound,
        generation,
        &up.host,
    )
    .await?;
    relay_response(
        session, ctx, gateway, generation, route, &mut conn, &outbound,
    )
    .await;
    if conn.response_done() {
        gateway
            .connector
            .release_http_session(conn, &peer, Some(Duration::from_secs(60)))
            .await;
    } else {
        conn.shutdown().await;
    }
    Ok(())
}

/// Connects, sends header and body, and reads the response header. A pooled connection that
/// the upstream closed meanwhile is retried once on a fresh one when the body can be resent.
async fn send_request(
    session: &mut Session,
    connector: &Connector,
    peer: &HttpPeer,
    request: pingora::http::RequestHeader,
    outbound: &Outbound,
    generation: &Generation,
    host: &str,
) -> Result<HttpSession, GatewayError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (mut conn, reused) = connector
            .get_http_session(peer)
            .await
            .map_err(|e| upstream_error(&e, host))?;
        let result = exchange_once(session, &mut conn, request.clone(), outbound, generation).await;
        match result {
            Ok(()) => return Ok(conn),
            Err(e) => {
                let retryable = reused
                    && attempt == 1
                    && outbound.body.is_some()
                    && e.etype() != &ErrorType::ReadTimedout;
                if !retryable {
                    return Err(upstream_error(&e, host));
                }
            }
        }
    }
}

async fn exchange_once(
    session: &mut Session,
    conn: &mut HttpSession,
    request: pingora::http::RequestHeader,
    outbound: &Outbound,
    generation: &Generation,
) -> pingora::Result<()> {
    conn.set_write_timeout(Some(generation.timeouts.idle));
    conn.write_request_header(Box::new(request)).await?;
    match &outbound.body {
        Some(body) => {
            if !body.is_empty() {
                conn.write_request_body(body.clone(), true).await?;
            }
            conn.finish_request_body().await?;
        }
        None => {
            while let Some(chunk) = session.downstream_session.read_request_body().await? {
                conn.write_request_body(chunk, false).await?;
            }
            conn.finish_request_body().await?;
        }
    }
    conn.set_read_timeout(Some(generation.timeouts.first_byte));
    conn.read_response_header().await?;
    // Informational answers (100 Continue, 103 Early Hints) precede the real one.
    while conn
        .response_header()
        .is_some_and(|h| h.status.is_informational() && h.status.as_u16() != 101)
    {
        conn.read_response_header().await?;
    }
    Ok(())
}

/// Streams the response to the caller through the meter and records what happened.
async fn relay_response(
    session: &mut Session,
    ctx: &mut CallCtx,
    gateway: &Gateway,
    generation: &Generation,
    route: &Route,
    conn: &mut HttpSession,
    outbound: &Outbound,
) {
    let Some(upstream_resp) = conn.response_header().cloned() else {
        return;
    };
    let status = upstream_resp.status.as_u16();
    ctx.record.status = status;
    let content_type = upstream_resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let metered = route.operation.is_metered();
    let streaming = dispatch::is_event_stream(content_type)
        || route.operation == Operation::StreamGenerateContent;
    let strip = outbound.injected_usage && status < 300;
    let mut meter =
        metered.then(|| ResponseMeter::new(route.upstream.kind, route.operation, streaming, strip));
    conn.set_read_timeout(Some(generation.timeouts.idle));
    let is_h2 = session.downstream_session.is_http2();

    let mut pending: Vec<Bytes> = Vec::new();
    let mut upstream_failed: Option<&'static str> = None;
    if metered && !streaming {
        // Buffer the (bounded) JSON answer so its cost can go in the response headers.
        let mut size = 0usize;
        loop {
            match conn.read_response_body().await {
                Ok(Some(chunk)) => {
                    size += chunk.len();
                    let out = meter.as_mut().map_or(chunk.clone(), |m| m.on_chunk(chunk));
                    pending.push(out);
                    if size > MAX_BUFFERED_RESPONSE {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    upstream_failed = Some(error_label(&e));
                    break;
                }
            }
        }
        if conn.response_done() || upstream_failed.is_some() {
            if let Some(m) = meter.as_mut() {
                let tail = m.on_end();
                if !tail.is_empty() {
                    pending.push(tail);
                }
            }
            if let Some(m) = meter.take() {
                accounting::account(
                    &mut ctx.record,
                    generation,
                    &ctx.request_body,
                    m.into_facts(),
                );
            }
            // A whole completion can still be withheld when a content rule blocks it.
            if let Some(rg) = ctx.response_guard.as_mut() {
                let text = std::mem::take(&mut ctx.record.response.completion_text);
                if let Some(hit) = rg.push(&text) {
                    record_guard_hit(ctx, &hit);
                }
                ctx.record.response.completion_text = text;
            }
            finish_response_guard(ctx);
            if ctx.record.policy.result == crate::record::PolicyResult::Blocked {
                let reason = ctx.record.policy.reason.clone().unwrap_or_default();
                ctx.record.stream_terminated = Some(stream_guard::POLICY.to_string());
                respond::refuse(session, ctx, &GatewayError::PolicyViolation(reason)).await;
                return;
            }
            let total: usize = pending.iter().map(Bytes::len).sum();
            let Ok(mut resp) = headers::downstream_response(&upstream_resp, true, is_h2) else {
                return;
            };
            let _ = resp.insert_header(http::header::CONTENT_LENGTH, total.to_string());
            if is_h2 || resp.headers.get(http::header::TRANSFER_ENCODING).is_some() {
                resp.remove_header(&http::header::TRANSFER_ENCODING);
            }
            decorate(&mut resp, ctx, true);
            if let Some(kind) = upstream_failed {
                ctx.record.error_type = Some(kind.to_string());
            } else if status >= 400 {
                let mut joined = BytesMut::with_capacity(total);
                for p in &pending {
                    joined.extend_from_slice(p);
                }
                ctx.record.error_type =
                    dispatch::error_type_from_body(route.upstream.kind, &joined)
                        .or_else(|| Some(status.to_string()));
            }
            if session
                .write_response_header(Box::new(resp), total == 0)
                .await
                .is_err()
            {
                ctx.record
                    .error_type
                    .get_or_insert_with(|| "client_closed".to_string());
                return;
            }
            let n = pending.len();
            for (i, chunk) in pending.into_iter().enumerate() {
                if ctx.record.time_to_first_chunk.is_none() {
                    ctx.record.time_to_first_chunk = Some(ctx.started.elapsed());
                }
                if session
                    .write_response_body(Some(chunk), i + 1 == n)
                    .await
                    .is_err()
                {
                    ctx.record
                        .error_type
                        .get_or_insert_with(|| "client_closed".to_string());
                    return;
                }
            }
            return;
        }
        // Too large to buffer: fall through and relay what is held, then the rest.
    }

    let rewritten = meter.is_some() && strip;
    let Ok(mut resp) = headers::downstream_response(&upstream_resp, rewritten, is_h2) else {
        return;
    };
    decorate(&mut resp, ctx, false);
    if status >= 400 {
        ctx.record.error_type = Some(status.to_string());
    }
    if session
        .write_response_header(Box::new(resp), false)
        .await
        .is_err()
    {
        ctx.record.error_type = Some("client_closed".to_string());
        finish_metering(ctx, generation, meter);
        return;
    }
    let mut client_gone = false;
    for chunk in pending {
        if !write_chunk(session, ctx, chunk).await {
            client_gone = true;
            break;
        }
    }
    let mut error_body = BytesMut::new();
    let mut guard = if streaming && status < 300 {
        StreamGuard::for_call(ctx.admitted.as_ref())
    } else {
        None
    };
    let mut terminated: Option<&'static str> = None;
    let mut scanned = 0usize;
    while !client_gone {
        match conn.read_response_body().await {
            Ok(Some(chunk)) => {
                if status >= 400 && error_body.len() < 64 * 1024 {
                    error_body.extend_from_slice(&chunk);
                }
                let out = match meter.as_mut() {
                    Some(m) => m.on_chunk(chunk),
                    None => chunk,
                };
                // Content rules see the completion before the caller does.
                if let (Some(rg), Some(m)) = (ctx.response_guard.as_mut(), meter.as_ref()) {
                    let text = &m.facts().completion_text;
                    if text.len() > scanned {
                        let hit = rg.push(&text[scanned..]);
                        scanned = text.len();
                        if let Some(hit) = hit {
                            record_guard_hit(ctx, &hit);
                            terminated = Some(stream_guard::POLICY);
                            break;
                        }
                    }
                }
                if !out.is_empty() && !write_chunk(session, ctx, out).await {
                    client_gone = true;
                }
                if let (Some(g), Some(m), Some(admitted)) =
                    (guard.as_mut(), meter.as_ref(), ctx.admitted.as_mut())
                {
                    if let Some(reason) = g.check(gateway, generation, admitted, m).await {
                        terminated = Some(reason);
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                upstream_failed = Some(error_label(&e));
                break;
            }
        }
    }
    if client_gone {
        ctx.record.error_type = Some("client_closed".to_string());
        finish_metering(ctx, generation, meter);
        return;
    }
    let mut tail = meter
        .as_mut()
        .map(ResponseMeter::on_end)
        .unwrap_or_default();
    if let Some(reason) = terminated {
        ctx.record.stream_terminated = Some(reason.to_string());
        let message = match reason {
            stream_guard::BUDGET_EXHAUSTED => {
                "the gateway ended this stream: the budget in scope is exhausted"
            }
            _ => "the gateway ended this stream because of a policy",
        };
        let event =
            dispatch::stream_termination_event(route.upstream.kind, route.operation, message);
        let mut joined = BytesMut::with_capacity(tail.len() + event.len());
        joined.extend_from_slice(&tail);
        joined.extend_from_slice(&event);
        tail = joined.freeze();
    } else if let Some(kind) = upstream_failed {
        ctx.record.error_type = Some(kind.to_string());
        if streaming && meter.is_some() {
            let event = upstream_failure_event(route);
            let mut joined = BytesMut::with_capacity(tail.len() + event.len());
            joined.extend_from_slice(&tail);
            joined.extend_from_slice(&event);
            tail = joined.freeze();
        }
    } else if status >= 400 {
        ctx.record.error_type = dispatch::error_type_from_body(route.upstream.kind, &error_body)
            .or_else(|| Some(status.to_string()));
    }
    if let Some(facts) = meter.as_ref().map(|m| m.facts()) {
        if let Some(err) = &facts.stream_error_type {
            ctx.record.error_type.get_or_insert_with(|| err.clone());
        }
    }
    let tail = (!tail.is_empty()).then_some(tail);
    if session.write_response_body(tail, true).await.is_err() {
        ctx.record
            .error_type
            .get_or_insert_with(|| "client_closed".to_string());
    }
    finish_metering(ctx, generation, meter);
}

/// Records a response content rule that blocked the completion.
fn record_guard_hit(ctx: &mut CallCtx, hit: &crate::governance::policy::GuardHit) {
    let response_time = ctx.record.policy.response_time;
    ctx.record.policy = hit.outcome();
    ctx.record.policy.response_time = response_time;
}

/// Ends the response content scan and merges its findings into the call's eval.
fn finish_response_guard(ctx: &mut CallCtx) {
    if let Some(mut rg) = ctx.response_guard.take() {
        if let Some(hit) = rg.finish() {
            if ctx.record.policy.result != crate::record::PolicyResult::Blocked {
                record_guard_hit(ctx, &hit);
            }
        }
        rg.eval(&mut ctx.record.eval);
        let now = std::time::SystemTime::now();
        let evaluations = rg.evaluations();
        ctx.record
            .events
            .extend(evaluations.iter().map(|e| e.event(now)));
        // A warn rule that fired on the completion makes the call a warning, like on the prompt.
        if ctx.record.policy.result == crate::record::PolicyResult::Allowed {
            if let Some((e, v)) = evaluations
                .iter()
                .filter(|e| e.result == crate::record::PolicyResult::Warning)
                .find_map(|e| e.violation.as_ref().map(|v| (e, v)))
            {
                ctx.record.policy.result = crate::record::PolicyResult::Warning;
                ctx.record.policy.name = Some(e.rule.to_string());
                ctx.record.policy.reason = Some(v.reason.clone());
                ctx.record.policy.reason_code = Some(v.reason_code.to_string());
            }
        }
    }
}

/// An error event telling the caller's SDK the provider's stream broke off. Unlike a gateway
/// cut-off it carries no `[DONE]`: the stream did not end cleanly and must not look as if it had.
fn upstream_failure_event(route: &Route) -> Bytes {
    let error_type = match route.upstream.kind {
        ProviderKind::Openai => "upstream_error",
        ProviderKind::Anthropic => "api_error",
        ProviderKind::Gemini => "UNAVAILABLE",
    };
    let event = dispatch::stream_termination_event_typed(
        route.upstream.kind,
        route.operation,
        error_type,
        "the upstream connection failed before the response was complete",
    );
    const DONE: &[u8] = b"data: [DONE]\n\n";
    if event.ends_with(DONE) {
        event.slice(..event.len() - DONE.len())
    } else {
        event
    }
}

fn finish_metering(ctx: &mut CallCtx, generation: &Generation, meter: Option<ResponseMeter>) {
    finish_response_guard(ctx);
    if let Some(m) = meter {
        let facts = m.into_facts();
        accounting::account(&mut ctx.record, generation, &ctx.request_body, facts);
    }
}

async fn write_chunk(session: &mut Session, ctx: &mut CallCtx, chunk: Bytes) -> bool {
    if ctx.record.time_to_first_chunk.is_none() {
        ctx.record.time_to_first_chunk = Some(ctx.started.elapsed());
    }
    session
        .write_response_body(Some(chunk), false)
        .await
        .is_ok()
}

/// The headers the gateway adds to every forwarded response.
fn decorate(resp: &mut pingora::http::ResponseHeader, ctx: &CallCtx, with_cost: bool) {
    headers::set_gateway_header(resp, "x-genops-request-id", &ctx.record.request_id);
    headers::set_gateway_header(
        resp,
        "x-genops-policy-result",
        respond::header_result(ctx.record.policy.result),
    );
    if let Some(name) = &ctx.record.policy.name {
        headers::set_gateway_header(resp, "x-genops-policy-name", name);
    }
    if let Some(reason) = &ctx.record.policy.reason {
        headers::set_gateway_header(resp, "x-genops-policy-reason", reason);
    }
    for (name, value) in &ctx.extra_headers {
        headers::set_gateway_header(resp, name, value);
    }
    if with_cost {
        if let Some(tokens) = &ctx.record.tokens {
            headers::set_gateway_header(resp, "x-genops-tokens-total", &tokens.total().to_string());
        }
        if let Some(cost) = &ctx.record.cost {
            let usd = format!("{:.9}", cost.total() as f64 / 1e9);
            headers::set_gateway_header(resp, "x-genops-cost-usd", &usd);
        }
    }
}
