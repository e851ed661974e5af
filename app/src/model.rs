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
    /// `expiresAt` in milliseconds since the Unix epoch.
    pub fn expires_at_ms(&self) -> i64 {
        time::OffsetDateTime::parse(
            &self.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or_default()
    }
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
