//! Everything known about one call when it ends: what the span, metrics and ledger are built from.

use std::time::{Duration, SystemTime};

use crate::governance::context::GovernanceContext;
use crate::metering::{RequestFacts, ResponseFacts, TokenCounts};
use crate::provider::{Operation, ProviderKind};

/// `genops.policy.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyResult {
    #[default]
    Allowed,
    Warning,
    Blocked,
    RateLimited,
}

impl PolicyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyResult::Allowed => "allowed",
            PolicyResult::Warning => "warning",
            PolicyResult::Blocked => "blocked",
            PolicyResult::RateLimited => "rate_limited",
        }
    }
}

/// The governance decision taken for a call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyOutcome {
    pub result: PolicyResult,
    pub name: Option<String>,
    pub reason: Option<String>,
    /// GenOps spec v0.1 code: `BUDGET_EXCEEDED`, `RATE_LIMITED`, `POLICY_DENY_MODEL`, ...
    pub reason_code: Option<String>,
    /// Time from authentication to the forward decision.
    pub response_time: Duration,
}

/// Money in nano-USD (1e-9 USD): integers add up exactly.
pub type NanoUsd = u64;

/// The price applied to a call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CostBreakdown {
    pub input: NanoUsd,
    pub output: NanoUsd,
    /// The catalog row used (`genops.cost.provider`, `genops.cost.model`).
    pub price_provider: String,
    pub price_model: String,
}

impl CostBreakdown {
    pub fn total(&self) -> NanoUsd {
        self.input + self.output
    }
}

/// The tightest budget in scope after the call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BudgetSnapshot {
    pub id: String,
    pub period: String,
    pub limit: NanoUsd,
    pub consumed: NanoUsd,
    pub remaining: NanoUsd,
}

/// Detector results (`genops.eval.*`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalOutcome {
    pub performed: bool,
    pub safety: Option<f64>,
    pub compliance: Option<f64>,
    pub findings: Vec<String>,
}

/// An event to put on the span (`genops.budget.alert`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct CallEvent {
    pub name: &'static str,
    pub time: SystemTime,
    pub attributes: Vec<(&'static str, EventValue)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The whole story of one call on the proxy listener.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub request_id: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub method: String,
    pub path: String,
    /// The status the client got.
    pub status: u16,
    /// The configured provider name (route prefix), when the route resolved.
    pub provider_name: Option<String>,
    pub provider_kind: Option<ProviderKind>,
    pub operation: Operation,
    pub server_address: Option<String>,
    pub server_port: Option<u16>,
    pub request: RequestFacts,
    pub response: ResponseFacts,
    /// Set for metered calls that got far enough to be counted.
    pub tokens: Option<TokenCounts>,
    /// Set when the model had a price.
    pub cost: Option<CostBreakdown>,
    /// A metered call whose model has no price.
    pub unpriced: bool,
    pub governance: GovernanceContext,
    pub policy: PolicyOutcome,
    pub budget: Option<BudgetSnapshot>,
    /// Reserved before forwarding and settled after.
    pub reserved: Option<NanoUsd>,
    pub settled: Option<NanoUsd>,
    pub eval: EvalOutcome,
    pub stream_terminated: Option<String>,
    pub error_type: Option<String>,
    pub time_to_first_chunk: Option<Duration>,
    pub events: Vec<CallEvent>,
}

impl CallRecord {
    pub fn new(request_id: String, start: SystemTime, method: String, path: String) -> Self {
        CallRecord {
            request_id,
            start,
            end: start,
            method,
            path,
            status: 0,
            provider_name: None,
            provider_kind: None,
            operation: Operation::Other,
            server_address: None,
            server_port: None,
            request: RequestFacts::default(),
            response: ResponseFacts::default(),
            tokens: None,
            cost: None,
            unpriced: false,
            governance: GovernanceContext::default(),
            policy: PolicyOutcome::default(),
            budget: None,
            reserved: None,
            settled: None,
            eval: EvalOutcome::default(),
            stream_terminated: None,
            error_type: None,
            time_to_first_chunk: None,
            events: Vec::new(),
        }
    }

    /// `nano-USD` as the `double` USD value spans and metrics carry.
    pub fn usd(nano: NanoUsd) -> f64 {
        nano as f64 / 1e9
    }
}
