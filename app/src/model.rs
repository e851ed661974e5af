//! What the pages show, as the services describe it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in cents; shown with two decimals (`$10.50`). In JSON it is a number
/// of currency units with at most two decimals, as the services write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    /// The amount as a plain decimal, as a form field holds it (`10.50`).
    pub fn decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.decimal())
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // At most two decimals and at most a million: rounding the float is exact.
        let units = f64::deserialize(deserializer)?;
        Ok(Self((units * 100.0).round() as i64))
    }
}

/// Whether a ticket can be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Available,
    Reserved,
    Sold,
}

impl TicketStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Available => "Available",
            Self::Reserved => "Reserved",
            Self::Sold => "Sold",
        }
    }
}

/// A ticket as `/api/tickets` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: String,
    pub title: String,
    pub price: Money,
    pub user_id: String,
    pub version: u64,
    pub status: TicketStatus,
    #[serde(default)]
    pub order_id: Option<String>,
}

/// What a list of tickets for sale shows of each: `/api/tickets` sends whole tickets, but
/// the page (and the data it carries for hydration) needs only these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: String,
    pub title: String,
    pub price: Money,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    pub fn is_open(self) -> bool {
        matches!(self, Self::Created | Self::AwaitingPayment)
    }

    /// As the services spell it (`/orders` shows it as is).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Cancelled => "cancelled",
            Self::AwaitingPayment => "awaiting:payment",
            Self::Complete => "complete",
        }
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    Expired,
    Buyer,
    PriceChanged,
    TicketUnavailable,
}

impl CancelReason {
    /// What the buyer reads.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Expired => "The time to pay ran out.",
            Self::Buyer => "You cancelled this order.",
            Self::PriceChanged => {
                "The seller changed this ticket just as you ordered it, so your order was cancelled and you were not charged."
            }
            Self::TicketUnavailable => "Someone else got this ticket first.",
        }
    }
}

/// The ticket as an order priced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTicket {
    pub id: String,
    pub title: String,
    pub price: Money,
    pub version: u64,
}

/// An order as `/api/orders` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    pub expires_at: String,
    pub version: u64,
    pub ticket: OrderTicket,
    #[serde(default)]
    pub cancel_reason: Option<CancelReason>,
}

impl Order {
    /// `expiresAt` in milliseconds since the Unix epoch (0 if the service sent something
    /// that is not a timestamp).
    pub fn expires_at_ms(&self) -> i64 {
        rfc3339_ms(&self.expires_at).unwrap_or_default()
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp as the services write it
/// (`2027-01-15T08:00:00.123456789Z`, or with a `+hh:mm` offset); `None` for anything else.
///
/// Written out rather than taken from a date library: it is the only date arithmetic the
/// browser needs, and the `time` crate's parser would add to every page's WebAssembly.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
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

/// Milliseconds since the Unix epoch, on the server and in the browser alike.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

/// `m:ss` (or `h:mm:ss`) left of `remaining_ms`.
pub fn clock(remaining_ms: i64) -> String {
    let seconds = (remaining_ms.max(0) + 999) / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Whether `id` can be a record id (the services use lower-case ULIDs), so that nothing
/// else is ever put into a service path.
pub fn is_plausible_id(id: &str) -> bool {
    id.len() == 26
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// A form's price text as the JSON the services expect: a number when it reads as one,
/// the text otherwise (the service then explains what is wrong), nothing when empty.
pub fn price_json(text: &str) -> serde_json::Value {
    let text = text.trim();
    if text.is_empty() {
        return serde_json::Value::Null;
    }
    match serde_json::from_str::<serde_json::Number>(text) {
        Ok(number) => serde_json::Value::Number(number),
        Err(_) => serde_json::Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_shows_two_decimals() {
        assert_eq!(Money(1050).to_string(), "$10.50");
        assert_eq!(Money(7).to_string(), "$0.07");
        assert_eq!(Money(100).decimal(), "1.00");
    }

    #[test]
    fn prices_from_the_services_become_exact_cents() {
        let ticket: Ticket = serde_json::from_value(json!({
            "id": "t", "title": "x", "price": 19.99, "userId": "u", "version": 0, "status": "available"
        }))
        .unwrap();
        assert_eq!(ticket.price, Money(1999));
        assert_eq!(
            serde_json::to_value(&ticket).unwrap()["price"],
            json!(19.99)
        );
        let back: Ticket = serde_json::from_value(serde_json::to_value(&ticket).unwrap()).unwrap();
        assert_eq!(back, ticket);
    }

    #[test]
    fn a_summary_keeps_what_the_list_shows() {
        let summary: TicketSummary = serde_json::from_value(json!({
            "id": "t", "title": "x", "price": 5, "userId": "u", "version": 3, "status": "available"
        }))
        .unwrap();
        assert_eq!(
            summary,
            TicketSummary {
                id: "t".into(),
                title: "x".into(),
                price: Money(500)
            }
        );
    }

    #[test]
    fn form_prices_are_sent_as_numbers_when_they_are() {
        assert_eq!(price_json("10.50"), json!(10.5));
        assert_eq!(price_json(" 7 "), json!(7));
        assert_eq!(price_json("ten"), json!("ten"));
        assert_eq!(price_json(""), serde_json::Value::Null);
    }

    #[test]
    fn orders_read_the_service_json() {
        let order: Order = serde_json::from_value(json!({
            "id": "o", "userId": "u", "status": "cancelled", "expiresAt": "2027-01-15T08:00:00.250Z",
            "version": 1, "ticket": {"id": "t", "title": "x", "price": 10.5, "version": 2},
            "cancelReason": "price_changed"
        }))
        .unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(order.cancel_reason, Some(CancelReason::PriceChanged));
        assert_eq!(order.ticket.price, Money(1050));
        assert_eq!(order.expires_at_ms(), 1_800_000_000_250);
    }

    #[test]
    fn timestamps_read_as_the_time_crate_reads_them() {
        use time::format_description::well_known::Rfc3339;
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

    #[test]
    fn the_clock_rounds_up_to_whole_seconds() {
        assert_eq!(clock(900_000), "15:00");
        assert_eq!(clock(61_001), "1:02");
        assert_eq!(clock(999), "0:01");
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(-5), "0:00");
        assert_eq!(clock(3_600_000), "1:00:00");
    }

    #[test]
    fn only_plausible_ids_reach_a_service_path() {
        assert!(is_plausible_id("01m7ys4fehn1f2ngwzvjv6zscm"));
        assert!(!is_plausible_id("../../etc/passwd"));
        assert!(!is_plausible_id("01M7YS4FEHN1F2NGWZVJV6ZSCM"));
        assert!(!is_plausible_id(""));
    }
}
