//! Points in time on the wire: RFC 3339 text in UTC, as `time` writes it
//! (`2027-01-15T08:00:00.123Z`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An RFC 3339 timestamp, kept as the text that crossed the wire. The browser reads it with
/// [`Timestamp::unix_ms`], written out here rather than taken from `time`, whose parser
/// would add to every page's WebAssembly; the services make one from an
/// [`OffsetDateTime`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Milliseconds since the Unix epoch; `None` if the text is not an RFC 3339 timestamp.
    pub fn unix_ms(&self) -> Option<i64> {
        rfc3339_ms(&self.0)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        // Formatting a valid date as RFC 3339 fails only for years outside 0..=9999.
        Self(at.format(&Rfc3339).unwrap_or_default())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp as the services write it
/// (`2027-01-15T08:00:00.123456789Z`, or with a `+hh:mm` offset); `None` for anything else.
fn rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let separators = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    if !separators {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let kept = (i - start).min(3);
        millis = number(start, start + kept)? * 10_i64.pow(3 - kept as u32);
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let minutes = number(i + 1, i + 3)? * 60 + number(i + 4, i + 6)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    // Days since the epoch of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_time_reads_back_to_the_millisecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_250_000_000).unwrap();
        let stamp = Timestamp::from(at);
        assert_eq!(stamp.as_str(), "2027-01-15T08:00:00.25Z");
        assert_eq!(stamp.unix_ms(), Some(1_800_000_000_250));
        assert_eq!(
            serde_json::to_string(&stamp).unwrap(),
            r#""2027-01-15T08:00:00.25Z""#
        );
    }

    #[test]
    fn timestamps_read_as_the_time_crate_reads_them() {
        for text in [
            "2027-01-15T08:00:00Z",
            "2027-01-15T08:00:00.250Z",
            "2026-12-02T15:04:05.123456789Z",
            "2024-02-29T23:59:59.9Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "2000-03-01T00:00:00+02:30",
            "2099-12-31T10:00:00.5-07:00",
        ] {
            let expected = time::OffsetDateTime::parse(text, &Rfc3339).unwrap();
            let expected = (expected.unix_timestamp_nanos() / 1_000_000) as i64;
            assert_eq!(rfc3339_ms(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_timestamp_reads_as_none() {
        for text in [
            "",
            "2027-01-15",
            "2027-01-15T08:00:00",
            "2027-01-15 08:00:00Z",
            "2027-13-15T08:00:00Z",
            "2027-01-15T24:00:00Z",
            "2027-01-15T08:00:00.Z",
            "2027-01-15T08:00:00Zjunk",
            "2027-01-15T08:00:00+0200",
            "2027-0a-15T08:00:00Z",
            "2027-01-15T08:00:00é",
        ] {
            assert_eq!(rfc3339_ms(text), None, "{text:?}");
        }
    }
}
