//! Times on the command line: `7d`, `24h`, `30m`, `now`, a date or an RFC 3339 time.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// `7d` ago, `now`, `2026-11-01` (midnight UTC) or `2026-11-01T12:00:00Z`.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(ago) = relative(text) {
        return ago
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(|| format!("'{text}' reaches too far back"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "'{text}' is not a time: use 30m, 24h, 7d, 2w, now, 2026-11-01 or 2026-11-01T00:00:00Z"
    ))
}

/// `Some(None)`: relative but out of range.
fn relative(text: &str) -> Option<Option<Duration>> {
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    Some(match unit {
        's' => Duration::try_seconds(n),
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        'w' => Duration::try_weeks(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse("2026-11-21T12:00:00Z", Utc::now()).unwrap()
    }

    #[test]
    fn relative_and_absolute_times() {
        let at = |s: &str| parse(s, now()).unwrap().to_rfc3339();
        assert_eq!(at("7d"), "2026-11-14T12:00:00+00:00");
        assert_eq!(at("24h"), "2026-11-20T12:00:00+00:00");
        assert_eq!(at("30m"), "2026-11-21T11:30:00+00:00");
        assert_eq!(at("1w"), "2026-11-14T12:00:00+00:00");
        assert_eq!(at("now"), "2026-11-21T12:00:00+00:00");
        assert_eq!(at("2026-11-01"), "2026-11-01T00:00:00+00:00");
        assert_eq!(at("2026-11-01T01:00:00+01:00"), "2026-11-01T00:00:00+00:00");
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["", "7", "d", "7y", "yesterday", "2026-13-01"] {
            assert!(parse(bad, now()).is_err(), "{bad}");
        }
    }
}
