//! Where rate-limit state lives, behind one trait: in process now, fleet-wide (Redis) later.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// What a limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    Requests,
    Tokens,
}

impl LimitKind {
    pub fn unit(self) -> &'static str {
        match self {
            LimitKind::Requests => "requests",
            LimitKind::Tokens => "tokens",
        }
    }
}

/// One counter: a rule's request or token limit for one scope value set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub rule_id: Arc<str>,
    pub kind: LimitKind,
    pub per_minute: NonZeroU32,
    /// The scope's values (`team=search`, `global`): each distinct value set counts apart.
    pub scope: Arc<str>,
}

/// One limit a call is checked against.
#[derive(Clone, Copy, Debug)]
pub struct LimitRequest<'a> {
    pub bucket: &'a Bucket,
    /// 1 for a request limit; the estimated tokens for a token limit (0: nothing to take, but
    /// the remaining capacity is still reported). More than `per_minute` is taken as
    /// `per_minute`: a call larger than a whole minute's allowance passes when the bucket is
    /// full instead of never.
    pub cells: u64,
    /// `enforcement: block`. A refused `warn` limit does not stop the others from taking.
    pub enforced: bool,
}

/// The answer for one limit, in request order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitOutcome {
    /// The cells fit; `taken` were taken unless an enforced limit refused the call, in which
    /// case nothing was taken anywhere. `remaining` is what is left after this call.
    Admitted { taken: u64, remaining: u64 },
    /// The cells do not fit now; nothing was taken from this limit.
    Refused { retry_after: Duration },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// The shared store cannot be reached now; `ledger.on_unavailable` decides.
    #[error("rate-limit store unavailable: {0}")]
    Unavailable(String),
}

/// Rate-limit state. One `acquire` per call decides every limit in scope at once, so a call
/// refused by one limit never uses up another (a Redis implementation does this in one script).
#[async_trait]
pub trait RateLimitBackend: Send + Sync + std::fmt::Debug {
    /// Checks every limit; if every enforced limit admits, takes the cells from each limit that
    /// admits, else takes nothing anywhere. Outcomes are in request order.
    async fn acquire(
        &self,
        requests: &[LimitRequest<'_>],
    ) -> Result<Vec<LimitOutcome>, RateLimitError>;

    /// Corrects a bucket after the call: positive `delta` takes more (never refused, the bucket
    /// may go into debt), negative gives cells back.
    async fn adjust(&self, bucket: &Bucket, delta: i64) -> Result<(), RateLimitError>;
}
