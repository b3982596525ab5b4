//! STUB (replaced by the telemetry branch).
use crate::record::CallRecord;
use std::time::SystemTime;
#[derive(Clone, Default)]
pub struct Telemetry;
pub struct CallSpan;
impl Telemetry {
    pub fn disabled() -> Telemetry {
        Telemetry
    }
    pub fn start_call(&self, _tp: Option<&str>, _s: SystemTime) -> CallSpan {
        CallSpan
    }
    pub fn finish_call(&self, _s: CallSpan, _r: &CallRecord) {}
    pub fn render_prometheus(&self) -> String {
        String::new()
    }
    pub fn shutdown(&self) {}
}
impl CallSpan {
    pub fn traceparent(&self) -> Option<String> {
        None
    }
    pub fn trace_id_hex(&self) -> String {
        String::new()
    }
    pub fn span_id_hex(&self) -> String {
        String::new()
    }
}
