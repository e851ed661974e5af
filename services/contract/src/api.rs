//! Every request and response body of the HTTP API (docs/spec.md §2–§7), with the field
//! names of the wire. The services write the responses from these types and the web app
//! reads them; the app writes the requests.
//!
//! The services read a request's fields one by one (`common::extract::Field`) rather than
//! through these types, so that a field of the wrong type is answered with that field's own
//! message instead of one error for the whole body; their tests send these types.

use serde::{Deserialize, Serialize};

use crate::{
    CancelReason, OrderId, OrderStatus, PaymentId, Price, PriceText, TicketId, TicketStatus,
    Timestamp, UserId,
};

/// The body of every error answer (§2): `{"errors": [{"message", "field"?}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

impl ErrorBody {
    /// One message that belongs to no field.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            errors: vec![ErrorItem {
                message: message.into(),
                field: None,
            }],
        }
    }
}

/// One entry of [`ErrorBody`]; `field` is present only for validation errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct ErrorItem {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /api/users/signup` and `POST /api/users/signin` (§4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// The user a sign-up or sign-in answers with (§4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct User {
    pub id: UserId,
    pub email: String,
}

/// The session's claims, as `GET /api/users/currentuser` shows them (§3, §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct SessionUser {
    pub id: UserId,
    pub email: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

/// `GET /api/users/currentuser` (§4): `null` when signed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurrentUser {
    pub current_user: Option<SessionUser>,
}

/// `POST /api/users/signout` answers `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct SignedOut {}

/// `POST /api/tickets` and `PUT /api/tickets/:id` (§5): the form's fields as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct TicketForm {
    pub title: String,
    pub price: PriceText,
}

/// A ticket (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: TicketId,
    pub title: String,
    pub price: Price,
    pub user_id: UserId,
    pub version: u64,
    pub status: TicketStatus,
    /// The order holding it, while reserved or sold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
}

/// `POST /api/orders` (§6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewOrder {
    pub ticket_id: TicketId,
}

/// The ticket as an order priced it (§6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
pub struct OrderTicket {
    pub id: TicketId,
    pub title: String,
    pub price: Price,
    pub version: u64,
}

/// An order (§6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    /// When an unpaid order is cancelled, to the millisecond.
    pub expires_at: Timestamp,
    pub version: u64,
    pub ticket: OrderTicket,
    /// Why it was cancelled, on a cancelled order only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
}

/// `POST /api/payments` (§7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewPayment {
    pub order_id: OrderId,
    /// The payment provider's card token (`tok_visa` in the sandbox).
    pub token: String,
}

/// A payment (§7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// The provider's charge id.
    pub stripe_id: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn price(cents: i64) -> Price {
        Price::from_cents(cents).unwrap()
    }

    /// `value` is what `body` serialises to, and reads back as `body`.
    fn wire<T>(body: &T, value: serde_json::Value)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(body).unwrap(), value);
        assert_eq!(&serde_json::from_value::<T>(value).unwrap(), body);
    }

    #[test]
    fn auth_bodies_use_the_spec_field_names() {
        wire(
            &Credentials {
                email: "a@b.co".into(),
                password: "secret".into(),
            },
            json!({"email": "a@b.co", "password": "secret"}),
        );
        wire(
            &CurrentUser {
                current_user: Some(SessionUser {
                    id: "u1".into(),
                    email: "a@b.co".into(),
                    iat: 1,
                    exp: 2,
                }),
            },
            json!({"currentUser": {"id": "u1", "email": "a@b.co", "iat": 1, "exp": 2}}),
        );
        wire(
            &CurrentUser { current_user: None },
            json!({"currentUser": null}),
        );
        wire(&SignedOut {}, json!({}));
    }

    #[test]
    fn ticket_bodies_use_the_spec_field_names() {
        let mut ticket = Ticket {
            id: "t1".into(),
            title: "Concert".into(),
            price: price(1999),
            user_id: "u1".into(),
            version: 0,
            status: TicketStatus::Available,
            order_id: None,
        };
        wire(
            &ticket,
            json!({"id": "t1", "title": "Concert", "price": 19.99, "userId": "u1",
                   "version": 0, "status": "available"}),
        );
        ticket.status = TicketStatus::Reserved;
        ticket.order_id = Some("o1".into());
        assert_eq!(serde_json::to_value(&ticket).unwrap()["orderId"], "o1");
        assert_eq!(
            serde_json::to_value(TicketForm {
                title: "Concert".into(),
                price: PriceText::new("10.50"),
            })
            .unwrap(),
            json!({"title": "Concert", "price": 10.5})
        );
    }

    #[test]
    fn order_and_payment_bodies_use_the_spec_field_names() {
        wire(
            &NewOrder {
                ticket_id: "t1".into(),
            },
            json!({"ticketId": "t1"}),
        );
        let order = Order {
            id: "o1".into(),
            user_id: "u1".into(),
            status: OrderStatus::Cancelled,
            expires_at: Timestamp::new("2027-01-15T08:00:00.25Z"),
            version: 1,
            ticket: OrderTicket {
                id: "t1".into(),
                title: "Concert".into(),
                price: price(1050),
                version: 2,
            },
            cancel_reason: Some(CancelReason::PriceChanged),
        };
        wire(
            &order,
            json!({"id": "o1", "userId": "u1", "status": "cancelled",
                   "expiresAt": "2027-01-15T08:00:00.25Z", "version": 1,
                   "ticket": {"id": "t1", "title": "Concert", "price": 10.5, "version": 2},
                   "cancelReason": "price_changed"}),
        );
        wire(
            &NewPayment {
                order_id: "o1".into(),
                token: "tok_visa".into(),
            },
            json!({"orderId": "o1", "token": "tok_visa"}),
        );
        wire(
            &Payment {
                id: "p1".into(),
                order_id: "o1".into(),
                stripe_id: "ch_1".into(),
            },
            json!({"id": "p1", "orderId": "o1", "stripeId": "ch_1"}),
        );
    }

    #[test]
    fn errors_name_their_field_only_when_they_have_one() {
        wire(
            &ErrorBody::message("Not Found"),
            json!({"errors": [{"message": "Not Found"}]}),
        );
        wire(
            &ErrorBody {
                errors: vec![ErrorItem {
                    message: "Title is required".into(),
                    field: Some("title".into()),
                }],
            },
            json!({"errors": [{"message": "Title is required", "field": "title"}]}),
        );
    }
}
