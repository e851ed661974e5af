//! Orders: the record, its status changes and its JSON.

use common::contract::api;
use common::events::{CancelReason, OrderStatus};
use common::money::Price;
use time::OffsetDateTime;

/// The ticket as the order saw it when it was priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedTicket {
    pub id: String,
    pub title: String,
    pub price: Price,
    pub version: u64,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    pub expires_at: OffsetDateTime,
    pub version: u64,
    pub ticket: PricedTicket,
    pub cancel_reason: Option<CancelReason>,
}

impl Order {
    /// The order cancelled for `reason`, one version on.
    pub fn cancelled(self, reason: CancelReason) -> Self {
        Self {
            status: OrderStatus::Cancelled,
            cancel_reason: Some(reason),
            version: self.version + 1,
            ..self
        }
    }

    /// The order paid, one version on.
    pub fn completed(self) -> Self {
        Self {
            status: OrderStatus::Complete,
            version: self.version + 1,
            ..self
        }
    }
}

/// The order's JSON (docs/spec.md §6).
impl From<Order> for api::Order {
    fn from(order: Order) -> Self {
        Self {
            id: order.id.into(),
            user_id: order.user_id.into(),
            status: order.status,
            expires_at: order.expires_at.into(),
            version: order.version,
            ticket: api::OrderTicket {
                id: order.ticket.id.into(),
                title: order.ticket.title,
                price: order.ticket.price,
                version: order.ticket.version,
            },
            cancel_reason: order.cancel_reason,
        }
    }
}

/// `now` + `window`, to the millisecond, in UTC.
pub fn expiry(now: OffsetDateTime, window: std::time::Duration) -> OffsetDateTime {
    let at = now + window;
    at.replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Order {
        Order {
            id: "o1".into(),
            user_id: "u1".into(),
            status: OrderStatus::Created,
            expires_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            version: 0,
            ticket: PricedTicket {
                id: "t1".into(),
                title: "Concert".into(),
                price: Price::from_cents(1050).unwrap(),
                version: 3,
            },
            cancel_reason: None,
        }
    }

    #[test]
    fn changes_bump_the_version() {
        let cancelled = order().cancelled(CancelReason::Expired);
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(cancelled.cancel_reason, Some(CancelReason::Expired));
        assert_eq!(cancelled.version, 1);
        assert_eq!(order().completed().version, 1);
    }

    #[test]
    fn the_json_uses_the_spec_names() {
        assert_eq!(
            serde_json::to_value(api::Order::from(order())).unwrap(),
            json!({"id": "o1", "userId": "u1", "status": "created",
                   "expiresAt": "2027-01-15T08:00:00Z", "version": 0,
                   "ticket": {"id": "t1", "title": "Concert", "price": 10.5, "version": 3}})
        );
        let cancelled = serde_json::to_value(api::Order::from(
            order().cancelled(CancelReason::PriceChanged),
        ))
        .unwrap();
        assert_eq!(cancelled["cancelReason"], "price_changed");
        assert_eq!(cancelled["status"], "cancelled");
    }

    #[test]
    fn expiry_is_to_the_millisecond() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap();
        let at = expiry(now, std::time::Duration::from_secs(900));
        assert_eq!(at.unix_timestamp(), 1_800_000_900);
        assert_eq!(at.nanosecond(), 123_000_000);
    }
}
