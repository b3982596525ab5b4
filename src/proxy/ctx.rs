//! Per-request state carried through pingora's phases.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::error::ErrorFormat;
use crate::gateway::Generation;
use crate::governance::admit::Admitted;
use crate::governance::policy::ResponseGuard;
use crate::record::CallRecord;
use crate::telemetry::CallSpan;

pub struct CallCtx {
    pub record: CallRecord,
    pub span: Option<CallSpan>,
    /// Monotonic start, for durations; `record.start` is the wall-clock one.
    pub started: Instant,
    pub generation: Option<Arc<Generation>>,
    /// The format errors are answered in (the route's provider, or a guess before routing).
    pub format: ErrorFormat,
    /// The metered request body as the caller sent it (for the tokenizer fallback).
    pub request_body: Bytes,
    /// What governance holds for this call until it settles (reservation, rate-limit grant).
    pub admitted: Option<Admitted>,
    /// Headers the gateway adds to the response (rate limits, downgrade notice).
    pub extra_headers: Vec<(&'static str, String)>,
    /// Content rules that watch the completion (`on: [response]`).
    pub response_guard: Option<ResponseGuard>,
}

impl CallCtx {
    pub fn new(record: CallRecord) -> CallCtx {
        CallCtx {
            record,
            span: None,
            started: Instant::now(),
            generation: None,
            format: ErrorFormat::OpenAi,
            request_body: Bytes::new(),
            admitted: None,
            extra_headers: Vec::new(),
            response_guard: None,
        }
    }
}
