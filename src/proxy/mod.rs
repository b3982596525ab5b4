//! The pingora proxy: one request read top-down, each phase a call into the module owning it.

pub mod access_log;
pub mod body;
pub mod ctx;
pub mod decide;
pub mod forward;
pub mod headers;
pub mod request_id;
pub mod respond;
pub mod route;
pub mod stream_guard;
pub mod upstream;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::proxy::{ProxyHttp, Session};

use crate::config::AuthMode;
use crate::error::{ErrorFormat, GatewayError};
use crate::gateway::Gateway;
use crate::governance::keys::{self, Secret};
use crate::governance::{context, settle};
use crate::provider::dispatch;
use crate::record::CallRecord;
use ctx::CallCtx;
use forward::Outbound;

pub struct GatewayProxy {
    pub gateway: Arc<Gateway>,
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = CallCtx;

    fn new_ctx(&self) -> CallCtx {
        CallCtx::new(CallRecord::new(
            String::new(),
            SystemTime::now(),
            String::new(),
            String::new(),
        ))
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut CallCtx) -> Result<bool> {
        begin(&self.gateway, session, ctx);
        if let Err(e) = handle(&self.gateway, session, ctx).await {
            respond::refuse(session, ctx, &e).await;
        }
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut CallCtx,
    ) -> Result<Box<HttpPeer>> {
        // Every call is answered from `request_filter`; pingora never reaches this phase.
        Err(Error::explain(
            ErrorType::InternalError,
            "calls are forwarded from request_filter",
        ))
    }

    async fn logging(
        &self,
        _session: &mut Session,
        _e: Option<&pingora::Error>,
        ctx: &mut CallCtx,
    ) {
        if let (Some(admitted), Some(generation)) = (ctx.admitted.take(), ctx.generation.clone()) {
            settle::settle(&self.gateway, &generation, admitted, &mut ctx.record).await;
        }
        ctx.record.end = SystemTime::now();
        access_log::log_call(&ctx.record, ctx.span.as_ref());
        if let Some(span) = ctx.span.take() {
            self.gateway.telemetry.finish_call(span, &ctx.record);
        }
    }
}

/// Opens the call's record and span before anything can fail.
fn begin(gateway: &Gateway, session: &Session, ctx: &mut CallCtx) {
    let req = session.req_header();
    ctx.record.request_id = request_id::new_id();
    ctx.record.method = req.method.as_str().to_string();
    ctx.record.path = req.uri.path().to_string();
    let traceparent = req.headers.get("traceparent").and_then(|v| v.to_str().ok());
    ctx.span = Some(gateway.telemetry.start_call(traceparent, ctx.record.start));
    if req.headers.contains_key("anthropic-version") {
        ctx.format = ErrorFormat::Anthropic;
    }
}

/// accept → route → authenticate → context → body → understand → decide → forward.
async fn handle(
    gateway: &Gateway,
    session: &mut Session,
    ctx: &mut CallCtx,
) -> Result<(), GatewayError> {
    let generation = gateway.current.load_full();
    ctx.generation = Some(generation.clone());
    let route = generation
        .routes
        .resolve(&ctx.record.method, &ctx.record.path)
        .map_err(|e| GatewayError::UnknownProvider(e.prefix))?;
    ctx.format = ErrorFormat::for_provider(route.upstream.kind);
    ctx.record.provider_name = Some(route.upstream.name.clone());
    ctx.record.provider_kind = Some(route.upstream.kind);
    ctx.record.operation = route.operation;

    let virtual_keys = generation.config.auth_mode == AuthMode::VirtualKeys;
    ctx.record.governance = authenticate(
        gateway,
        session,
        virtual_keys,
        &route.upstream.name,
        &mut ctx.record.governance,
    )?;

    let outbound = if route.operation.is_metered() {
        let body = body::read_bounded(session, generation.max_body_bytes).await?;
        let facts = dispatch::parse_request(
            route.upstream.kind,
            route.operation,
            &route.provider_path,
            &body,
        )
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
        ctx.record.request = facts;
        ctx.request_body = body.clone();
        let body = decide::decide(gateway, &generation, ctx, body).await?;
        let (upstream_body, injected_usage) = dispatch::prepare_upstream_body(
            route.upstream.kind,
            route.operation,
            &ctx.record.request,
            body,
        );
        Outbound {
            body: Some(upstream_body),
            injected_usage,
            strip_caller_credential: virtual_keys,
        }
    } else {
        Outbound {
            body: None,
            injected_usage: false,
            strip_caller_credential: virtual_keys,
        }
    };
    ctx.record.policy.response_time = ctx.started.elapsed();
    forward::forward(session, ctx, gateway, &generation, &route, outbound).await
}

/// The caller's governance context: key-bound attributes first, then `x-genops-*` headers.
fn authenticate(
    gateway: &Gateway,
    session: &Session,
    virtual_keys: bool,
    provider: &str,
    bound: &mut crate::governance::context::GovernanceContext,
) -> Result<crate::governance::context::GovernanceContext, GatewayError> {
    let req = session.req_header();
    if !virtual_keys {
        return context::from_headers(&req.headers);
    }
    let presented = keys::presented_key(&req.headers, req.uri.query());
    let entry = gateway
        .keys
        .authenticate(presented.as_ref().map(Secret::expose))?;
    let mut governance = entry.bind();
    // The span of a refused call still names the key and its team.
    *bound = governance.clone();
    entry.check_provider(provider)?;
    let mut contradicted = 0;
    context::fill_from_headers(&mut governance, &req.headers, &mut contradicted)?;
    if contradicted > 0 {
        tracing::debug!(key = %entry.name, contradicted, "ignored x-genops headers contradicting the key");
    }
    Ok(governance)
}
