//! Watching a stream as it passes: the running cost against a partial (`cut_stream`)
//! reservation, so a stream is ended cleanly when its budget runs dry.

use crate::gateway::{Gateway, Generation};
use crate::governance::admit::Admitted;
use crate::provider::dispatch::ResponseMeter;
use crate::record::NanoUsd;

/// While streaming, output tokens are estimated at this many characters each (English text
/// averages about four); the call settles on the provider's real usage afterwards.
const CHARS_PER_TOKEN_ESTIMATE: u64 = 3;
/// Check the running cost every this many new characters of completion.
const CHECK_EVERY_CHARS: usize = 256;
/// Grow a reservation by at least the cost of this many output tokens at a time.
const EXTEND_STEP_TOKENS: u64 = 512;

/// Why the gateway ended a stream early (`genops.stream.terminated`).
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";
/// A response content rule blocked the completion.
pub const POLICY: &str = "policy";

pub struct StreamGuard {
    last_checked_chars: usize,
}

impl StreamGuard {
    /// A guard only when the call streams under a partial reservation.
    pub fn for_call(admitted: Option<&Admitted>) -> Option<StreamGuard> {
        let partial = admitted
            .and_then(|a| a.budget.as_ref())
            .is_some_and(|b| b.is_partial());
        partial.then_some(StreamGuard {
            last_checked_chars: 0,
        })
    }

    /// `Some(reason)` when the stream must end now.
    pub async fn check(
        &mut self,
        gateway: &Gateway,
        generation: &Generation,
        admitted: &mut Admitted,
        meter: &ResponseMeter,
    ) -> Option<&'static str> {
        let chars = meter.output_chars();
        if chars < self.last_checked_chars + CHECK_EVERY_CHARS {
            return None;
        }
        self.last_checked_chars = chars;
        let price = admitted.price.clone()?;
        let admission = admitted.budget.as_mut()?;
        let input_tokens = meter
            .facts()
            .usage
            .input_tokens
            .unwrap_or(admitted.input_estimate);
        let output_tokens = (chars as u64).div_ceil(CHARS_PER_TOKEN_ESTIMATE);
        let running: NanoUsd = price.reservation(input_tokens, output_tokens);
        let reserved = admission.reserved();
        if running <= reserved {
            return None;
        }
        let step = price.reservation(0, EXTEND_STEP_TOKENS);
        let extra = (running - reserved).max(step);
        match generation
            .budgets
            .extend(gateway.ledger.as_ref(), admission, extra)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(BUDGET_EXHAUSTED),
            // The store is down: keep serving what was admitted rather than cut blind.
            Err(_) => None,
        }
    }
}
