//! Budget periods on UTC calendar boundaries: where a period starts, when it resets, how long to keep it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};

use crate::config::schema::Period;

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

/// How long a store keeps a period's counters beyond its length: a call that started just
/// before a reset still settles into its own period.
const RETAIN_MARGIN_SECS: u64 = DAY as u64;

/// The config name (`monthly`), also used as `genops.budget.period`.
pub fn name(period: Period) -> &'static str {
    match period {
        Period::Hourly => "hourly",
        Period::Daily => "daily",
        Period::Weekly => "weekly",
        Period::Monthly => "monthly",
        Period::Total => "total",
    }
}

/// How the 402 message says the period ("spent this month").
pub fn phrase(period: Period) -> &'static str {
    match period {
        Period::Hourly => "this hour",
        Period::Daily => "today",
        Period::Weekly => "this week",
        Period::Monthly => "this month",
        Period::Total => "in total",
    }
}

fn utc(secs: i64) -> DateTime<Utc> {
    // Out of chrono's range only for absurd clocks; the epoch is then as good as any start.
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn midnight(date: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .timestamp()
}

/// Start of the period containing `now_ms`, in seconds since the epoch; 0 for `total`.
pub fn start(period: Period, now_ms: i64) -> i64 {
    let secs = now_ms.div_euclid(1_000);
    let now = utc(secs);
    match period {
        Period::Hourly => secs - i64::from(now.minute()) * 60 - i64::from(now.second()),
        Period::Daily => secs.div_euclid(DAY) * DAY,
        Period::Weekly => {
            let days_since_monday = i64::from(now.weekday().num_days_from_monday());
            secs.div_euclid(DAY) * DAY - days_since_monday * DAY
        }
        Period::Monthly => now
            .date_naive()
            .with_day(1)
            .map(midnight)
            .unwrap_or(secs.div_euclid(DAY) * DAY),
        Period::Total => 0,
    }
}

/// End of the period that starts at `start_secs` (the next one's start); none for `total`.
pub fn end(period: Period, start_secs: i64) -> Option<i64> {
    match period {
        Period::Hourly => Some(start_secs + HOUR),
        Period::Daily => Some(start_secs + DAY),
        Period::Weekly => Some(start_secs + 7 * DAY),
        Period::Monthly => {
            let first = utc(start_secs).date_naive();
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first + Duration::days(31));
            Some(midnight(next))
        }
        Period::Total => None,
    }
}

/// When the period starting at `start_secs` resets, as RFC 3339 in UTC (`2026-12-01T00:00:00Z`).
pub fn resets_at(period: Period, start_secs: i64) -> Option<String> {
    end(period, start_secs).map(rfc3339)
}

/// Seconds since the epoch as RFC 3339 with a `Z` suffix.
pub fn rfc3339(secs: i64) -> String {
    utc(secs).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How long a store keeps one period's counters; 0 means forever (`total`).
pub fn retain_secs(period: Period) -> u64 {
    let length = match period {
        Period::Hourly => HOUR as u64,
        Period::Daily => DAY as u64,
        Period::Weekly => 7 * DAY as u64,
        Period::Monthly => 31 * DAY as u64,
        Period::Total => return 0,
    };
    length + RETAIN_MARGIN_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc)
            .unwrap()
            .timestamp_millis()
    }

    fn start_str(period: Period, now: &str) -> String {
        rfc3339(start(period, ms(now)))
    }

    #[test]
    fn hourly_and_daily_boundaries() {
        assert_eq!(
            start_str(Period::Hourly, "2026-11-30T23:59:59.999Z"),
            "2026-11-30T23:00:00Z"
        );
        assert_eq!(
            start_str(Period::Hourly, "2026-12-01T00:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        let s = start(Period::Hourly, ms("2026-11-30T23:30:00Z"));
        assert_eq!(
            resets_at(Period::Hourly, s).unwrap(),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            start_str(Period::Daily, "2026-02-28T12:00:00Z"),
            "2026-02-28T00:00:00Z"
        );
        let s = start(Period::Daily, ms("2026-02-28T12:00:00Z"));
        assert_eq!(resets_at(Period::Daily, s).unwrap(), "2026-03-01T00:00:00Z");
    }

    #[test]
    fn weeks_start_on_iso_monday() {
        // 2026-11-29 is a Sunday: its ISO week began on Monday 2026-11-23.
        assert_eq!(
            start_str(Period::Weekly, "2026-11-29T23:59:59Z"),
            "2026-11-23T00:00:00Z"
        );
        assert_eq!(
            start_str(Period::Weekly, "2026-11-30T00:00:00Z"),
            "2026-11-30T00:00:00Z"
        );
        // A week across a year end: 2027-01-01 is a Friday.
        let s = start(Period::Weekly, ms("2027-01-01T08:00:00Z"));
        assert_eq!(rfc3339(s), "2026-12-28T00:00:00Z");
        assert_eq!(
            resets_at(Period::Weekly, s).unwrap(),
            "2027-01-04T00:00:00Z"
        );
        // The epoch was a Thursday.
        assert_eq!(
            start_str(Period::Weekly, "1970-01-01T00:00:00Z"),
            "1969-12-29T00:00:00Z"
        );
    }

    #[test]
    fn months_roll_on_the_first() {
        let s = start(Period::Monthly, ms("2026-11-30T23:59:59Z"));
        assert_eq!(rfc3339(s), "2026-11-01T00:00:00Z");
        assert_eq!(
            resets_at(Period::Monthly, s).unwrap(),
            "2026-12-01T00:00:00Z"
        );
        let s = start(Period::Monthly, ms("2026-12-31T23:00:00Z"));
        assert_eq!(
            resets_at(Period::Monthly, s).unwrap(),
            "2027-01-01T00:00:00Z"
        );
        let s = start(Period::Monthly, ms("2028-02-29T10:00:00Z"));
        assert_eq!(rfc3339(s), "2028-02-01T00:00:00Z");
        assert_eq!(
            resets_at(Period::Monthly, s).unwrap(),
            "2028-03-01T00:00:00Z"
        );
    }

    #[test]
    fn total_never_resets() {
        assert_eq!(start(Period::Total, ms("2026-11-30T23:59:59Z")), 0);
        assert_eq!(resets_at(Period::Total, 0), None);
        assert_eq!(retain_secs(Period::Total), 0);
        assert!(retain_secs(Period::Monthly) > 31 * 86_400);
    }
}
