//! The budget events a call's span carries: reservation, reconciliation, alert.

use std::time::SystemTime;

use super::{Admission, BudgetAlert};
use crate::record::{CallEvent, CallRecord, EventValue, NanoUsd};

fn usd(nano: NanoUsd) -> EventValue {
    EventValue::Float(CallRecord::usd(nano))
}

/// `genops.budget.reservation`: what was held before forwarding.
pub fn reservation(admission: &Admission, time: SystemTime) -> CallEvent {
    CallEvent {
        name: "genops.budget.reservation",
        time,
        attributes: vec![
            ("genops.accounting.estimate", usd(admission.estimate)),
            ("genops.accounting.reserved", usd(admission.reserved())),
            ("genops.accounting.unit", EventValue::Str("USD".into())),
            (
                "genops.budget.count",
                EventValue::Int(i64::try_from(admission.budgets.len()).unwrap_or(i64::MAX)),
            ),
            (
                "genops.budget.partial",
                EventValue::Bool(admission.is_partial()),
            ),
        ],
    }
}

/// `genops.budget.reconciliation`: the hold against what the call really cost.
pub fn reconciliation(reserved: NanoUsd, actual: NanoUsd, time: SystemTime) -> CallEvent {
    CallEvent {
        name: "genops.budget.reconciliation",
        time,
        attributes: vec![
            ("genops.accounting.reserved", usd(reserved)),
            ("genops.accounting.actual", usd(actual)),
            (
                "genops.accounting.released",
                usd(reserved.saturating_sub(actual)),
            ),
            (
                "genops.accounting.overrun",
                usd(actual.saturating_sub(reserved)),
            ),
            ("genops.accounting.unit", EventValue::Str("USD".into())),
        ],
    }
}

impl BudgetAlert {
    /// `genops.budget.alert`: a threshold of `alert_at` crossed by this call.
    pub fn event(&self, time: SystemTime) -> CallEvent {
        CallEvent {
            name: "genops.budget.alert",
            time,
            attributes: vec![
                ("genops.budget.id", EventValue::Str(self.budget_id.clone())),
                ("genops.budget.threshold", EventValue::Float(self.threshold)),
                ("genops.budget.consumed", usd(self.consumed)),
                ("genops.budget.limit", usd(self.limit)),
                ("genops.budget.period", EventValue::Str(self.period.into())),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciliation_reports_release_and_overrun() {
        let e = reconciliation(3_000_000_000, 1_000_000_000, SystemTime::UNIX_EPOCH);
        assert_eq!(e.name, "genops.budget.reconciliation");
        let get = |k| {
            e.attributes
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            get("genops.accounting.released"),
            Some(EventValue::Float(2.0))
        );
        assert_eq!(
            get("genops.accounting.overrun"),
            Some(EventValue::Float(0.0))
        );
    }
}
