//! The event catalogue (docs/spec.md §8): every domain event, its name, its subject and its typed
//! data. Services never spell a subject or a field by hand; they use these types.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::Price;

/// The JetStream stream that holds every domain event.
pub const STREAM: &str = "EVENTS";
/// Every event subject starts with this.
pub const SUBJECT_PREFIX: &str = "events";

/// A domain event: its wire name, its NATS subject and its JSON data.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + std::fmt::Debug + 'static {
    /// The name used in docs/spec.md §8 and in logs, e.g. `ticket:created`.
    const NAME: &'static str;
    /// The NATS subject it is published on, e.g. `events.ticket.created`.
    const SUBJECT: &'static str;
    /// The one service that publishes it; NATS refuses it from any other (see
    /// [`crate::bus::access`]).
    const PUBLISHER: &'static str;
}

macro_rules! catalogue {
    ($($ty:ident => $name:literal, $subject:literal, $publisher:literal;)+) => {
        $(impl Event for $ty {
            const NAME: &'static str = $name;
            const SUBJECT: &'static str = concat!("events.", $subject);
            const PUBLISHER: &'static str = $publisher;
        })+

        /// Every event name and subject, for stream set-up and documentation.
        pub const ALL: &[(&str, &str)] = &[$(($name, concat!("events.", $subject))),+];

        /// Every event subject with the service that publishes it.
        pub const PUBLISHERS: &[(&str, &str)] = &[$((concat!("events.", $subject), $publisher)),+];
    };
}

catalogue! {
    TicketCreated => "ticket:created", "ticket.created", "tickets";
    TicketUpdated => "ticket:updated", "ticket.updated", "tickets";
    OrderCreated => "order:created", "order.created", "orders";
    OrderCancelled => "order:cancelled", "order.cancelled", "orders";
    OrderCompleted => "order:completed", "order.completed", "orders";
    TicketReservationRejected => "ticket:reservation-rejected", "ticket.reservation-rejected", "tickets";
    ExpirationComplete => "expiration:complete", "expiration.complete", "expiration";
    PaymentCreated => "payment:created", "payment.created", "payments";
}

/// Order statuses (docs/spec.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Cancelled => "cancelled",
            Self::AwaitingPayment => "awaiting:payment",
            Self::Complete => "complete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Cancelled,
            Self::AwaitingPayment,
            Self::Complete,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether an order in this status holds its ticket (docs/spec.md §10: reserved while
    /// created, awaiting payment or complete).
    pub fn holds_ticket(self) -> bool {
        !matches!(self, Self::Cancelled)
    }

    /// Whether the order can still be paid or cancelled by its buyer.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Created | Self::AwaitingPayment)
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    Expired,
    Buyer,
    PriceChanged,
    TicketUnavailable,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Buyer => "buyer",
            Self::PriceChanged => "price_changed",
            Self::TicketUnavailable => "ticket_unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Expired,
            Self::Buyer,
            Self::PriceChanged,
            Self::TicketUnavailable,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Why the tickets service refused to lock a ticket for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// The owner edited the title or price after the version the order was priced at.
    PriceChanged,
    /// Another order holds the ticket, or it is sold.
    TicketUnavailable,
}

impl From<RejectionReason> for CancelReason {
    fn from(reason: RejectionReason) -> Self {
        match reason {
            RejectionReason::PriceChanged => Self::PriceChanged,
            RejectionReason::TicketUnavailable => Self::TicketUnavailable,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketCreated {
    pub id: String,
    pub version: u64,
    pub title: String,
    pub price: Price,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketUpdated {
    pub id: String,
    pub version: u64,
    pub title: String,
    pub price: Price,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// The ticket as an order saw it when it was priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderedTicket {
    pub id: String,
    pub price: Price,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub id: String,
    pub version: u64,
    pub status: OrderStatus,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub ticket: OrderedTicket,
}

/// A reference to a ticket by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub id: String,
    pub version: u64,
    pub ticket: TicketRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCompleted {
    pub id: String,
    pub version: u64,
    pub ticket: TicketRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketReservationRejected {
    pub order_id: String,
    pub ticket_id: String,
    pub reason: RejectionReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationComplete {
    pub order_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreated {
    pub id: String,
    pub order_id: String,
    pub stripe_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn price(cents: i64) -> Price {
        Price::from_cents(cents).unwrap()
    }

    fn round_trip<E: Event + PartialEq>(event: &E, expected: Value) {
        let value = serde_json::to_value(event).unwrap();
        assert_eq!(value, expected, "{}", E::NAME);
        let back: E = serde_json::from_value(value).unwrap();
        assert_eq!(&back, event);
    }

    #[test]
    fn ticket_events_use_the_spec_field_names() {
        round_trip(
            &TicketCreated {
                id: "t1".into(),
                version: 0,
                title: "Concert".into(),
                price: price(1050),
                user_id: "u1".into(),
            },
            json!({"id": "t1", "version": 0, "title": "Concert", "price": 10.5, "userId": "u1"}),
        );
        round_trip(
            &TicketUpdated {
                id: "t1".into(),
                version: 2,
                title: "Concert".into(),
                price: price(2000),
                user_id: "u1".into(),
                order_id: Some("o1".into()),
            },
            json!({"id": "t1", "version": 2, "title": "Concert", "price": 20,
                   "userId": "u1", "orderId": "o1"}),
        );
        round_trip(
            &TicketUpdated {
                id: "t1".into(),
                version: 3,
                title: "Concert".into(),
                price: price(2000),
                user_id: "u1".into(),
                order_id: None,
            },
            json!({"id": "t1", "version": 3, "title": "Concert", "price": 20, "userId": "u1"}),
        );
        round_trip(
            &TicketReservationRejected {
                order_id: "o1".into(),
                ticket_id: "t1".into(),
                reason: RejectionReason::PriceChanged,
            },
            json!({"orderId": "o1", "ticketId": "t1", "reason": "price_changed"}),
        );
    }

    #[test]
    fn order_events_use_the_spec_field_names() {
        let expires_at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        round_trip(
            &OrderCreated {
                id: "o1".into(),
                version: 0,
                status: OrderStatus::Created,
                user_id: "u2".into(),
                expires_at,
                ticket: OrderedTicket {
                    id: "t1".into(),
                    price: price(1050),
                    version: 4,
                },
            },
            json!({"id": "o1", "version": 0, "status": "created", "userId": "u2",
                   "expiresAt": "2027-01-15T08:00:00Z",
                   "ticket": {"id": "t1", "price": 10.5, "version": 4}}),
        );
        round_trip(
            &OrderCancelled {
                id: "o1".into(),
                version: 1,
                ticket: TicketRef { id: "t1".into() },
            },
            json!({"id": "o1", "version": 1, "ticket": {"id": "t1"}}),
        );
        round_trip(
            &OrderCompleted {
                id: "o1".into(),
                version: 1,
                ticket: TicketRef { id: "t1".into() },
            },
            json!({"id": "o1", "version": 1, "ticket": {"id": "t1"}}),
        );
    }

    #[test]
    fn expiration_and_payment_events_use_the_spec_field_names() {
        round_trip(
            &ExpirationComplete {
                order_id: "o1".into(),
            },
            json!({"orderId": "o1"}),
        );
        round_trip(
            &PaymentCreated {
                id: "p1".into(),
                order_id: "o1".into(),
                stripe_id: "ch_1".into(),
            },
            json!({"id": "p1", "orderId": "o1", "stripeId": "ch_1"}),
        );
    }

    #[test]
    fn every_event_has_a_distinct_subject_under_the_stream_prefix() {
        let mut subjects: Vec<_> = ALL.iter().map(|(_, s)| *s).collect();
        assert_eq!(subjects.len(), 8);
        assert!(subjects.iter().all(|s| s.starts_with("events.")));
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 8);
        assert_eq!(TicketCreated::SUBJECT, "events.ticket.created");
        assert_eq!(OrderCreated::NAME, "order:created");
    }

    #[test]
    fn statuses_and_reasons_have_the_spec_spellings() {
        assert_eq!(
            serde_json::to_value(OrderStatus::AwaitingPayment).unwrap(),
            json!("awaiting:payment")
        );
        for status in ["created", "cancelled", "awaiting:payment", "complete"] {
            assert_eq!(OrderStatus::parse(status).unwrap().as_str(), status);
        }
        for reason in ["expired", "buyer", "price_changed", "ticket_unavailable"] {
            assert_eq!(CancelReason::parse(reason).unwrap().as_str(), reason);
            assert_eq!(
                serde_json::to_value(CancelReason::parse(reason).unwrap()).unwrap(),
                json!(reason)
            );
        }
    }
}
