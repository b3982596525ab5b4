//! One structured log line per call, correlated with its trace (Datadog `dd.*` fields).

use crate::record::CallRecord;
use crate::telemetry::CallSpan;

/// Logs the finished call at info under the `genops::access` target (silence it with
/// `RUST_LOG=info,genops::access=off`). Never logs keys, prompts or completions.
pub fn log_call(record: &CallRecord, span: Option<&CallSpan>) {
    if !tracing::enabled!(target: "genops::access", tracing::Level::INFO) {
        return;
    }
    let (dd_trace_id, dd_span_id) = span.map_or((0, 0), CallSpan::dd_ids);
    let trace_id = span.map(CallSpan::trace_id_hex).unwrap_or_default();
    let duration_ms = record
        .end
        .duration_since(record.start)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let tokens = record.tokens.as_ref();
    tracing::info!(
        target: "genops::access",
        request_id = %record.request_id,
        method = %record.method,
        path = %record.path,
        status = record.status,
        provider = record.provider_name.as_deref().unwrap_or(""),
        model = record.request.model.as_deref().unwrap_or(""),
        team = record.governance.team.as_deref().unwrap_or(""),
        key = record.governance.key_name.as_deref().unwrap_or(""),
        input_tokens = tokens.map_or(0, |t| t.input),
        output_tokens = tokens.map_or(0, |t| t.output),
        cost_usd = record.cost.as_ref().map_or(0.0, |c| CallRecord::usd(c.total())),
        policy_result = record.policy.result.as_str(),
        policy_name = record.policy.name.as_deref().unwrap_or(""),
        error_type = record.error_type.as_deref().unwrap_or(""),
        duration_ms,
        trace_id = %trace_id,
        "dd.trace_id" = dd_trace_id,
        "dd.span_id" = dd_span_id,
        "call"
    );
}
