//! The event catalogue (docs/spec.md §8): every domain event, its name, its subject and its typed
//! data. Services never spell a subject or a field by hand; they use these types.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::Price;
/// The statuses and reasons that events carry.
pub use crate::status::{CancelReason, OrderStatus, RejectionReason};

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
    /// `common::bus::access`).
    const PUBLISHER: &'static str;
    /// The services that consume it, each with one durable consumer shared by its
    /// instances. A service listens only to the events that name it here (`common::service`
    /// refuses any other), so this list is the event flow the documents and the README's
    /// diagram show.
    const CONSUMERS: &'static [&'static str];
}

macro_rules! catalogue {
    ($($ty:ident => $name:literal, $subject:literal, $publisher:literal -> [$($consumer:literal),*];)+) => {
        $(impl Event for $ty {
            const NAME: &'static str = $name;
            const SUBJECT: &'static str = concat!("events.", $subject);
            const PUBLISHER: &'static str = $publisher;
            const CONSUMERS: &'static [&'static str] = &[$($consumer),*];
        })+

        /// Every event name and subject, for stream set-up and documentation.
        pub const ALL: &[(&str, &str)] = &[$(($name, concat!("events.", $subject))),+];

        /// Every event subject with the service that publishes it.
        pub const PUBLISHERS: &[(&str, &str)] = &[$((concat!("events.", $subject), $publisher)),+];

        /// Every event, as the documents describe it (see [`EventInfo`]).
        pub const CATALOGUE: &[EventInfo] = &[$(EventInfo {
            name: $name,
            subject: concat!("events.", $subject),
            publisher: $publisher,
            consumers: &[$($consumer),*],
            #[cfg(feature = "docs")]
            schema: |generator| generator.subschema_for::<$ty>(),
        }),+];
    };
}

catalogue! {
    TicketCreated => "ticket:created", "ticket.created", "tickets" -> ["orders"];
    TicketUpdated => "ticket:updated", "ticket.updated", "tickets" -> ["orders"];
    OrderCreated => "order:created", "order.created", "orders" -> ["tickets", "payments", "expiration"];
    OrderCancelled => "order:cancelled", "order.cancelled", "orders" -> ["tickets", "payments", "expiration"];
    OrderCompleted => "order:completed", "order.completed", "orders" -> ["tickets", "payments", "expiration"];
    TicketReservationRejected => "ticket:reservation-rejected", "ticket.reservation-rejected", "tickets" -> ["orders"];
    ExpirationComplete => "expiration:complete", "expiration.complete", "expiration" -> ["orders"];
    PaymentCreated => "payment:created", "payment.created", "payments" -> ["orders", "payments"];
}

/// One event of the catalogue, for documents and tooling: who publishes it, who consumes it
/// and (with feature `docs`) the JSON Schema of its data.
#[derive(Clone, Copy)]
pub struct EventInfo {
    pub name: &'static str,
    pub subject: &'static str,
    pub publisher: &'static str,
    pub consumers: &'static [&'static str],
    #[cfg(feature = "docs")]
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

impl std::fmt::Debug for EventInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventInfo")
            .field("name", &self.name)
            .field("subject", &self.subject)
            .field("publisher", &self.publisher)
            .field("consumers", &self.consumers)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TicketCreated {
    pub id: String,
    pub version: u64,
    pub title: String,
    pub price: Price,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct OrderedTicket {
    pub id: String,
    pub price: Price,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub id: String,
    pub version: u64,
    pub status: OrderStatus,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "docs", schemars(with = "String", extend("format" = "date-time")))]
    pub expires_at: OffsetDateTime,
    pub ticket: OrderedTicket,
}

/// A reference to a ticket by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct TicketRef {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct OrderCancelled {
    pub id: String,
    pub version: u64,
    pub ticket: TicketRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct OrderCompleted {
    pub id: String,
    pub version: u64,
    pub ticket: TicketRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TicketReservationRejected {
    pub order_id: String,
    pub ticket_id: String,
    pub reason: RejectionReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpirationComplete {
    pub order_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
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
}
