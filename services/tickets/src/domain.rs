//! Tickets: parsed input, the stored record and its JSON.

use common::FieldError;
use common::contract::TicketStatus;
use common::contract::api;
use common::extract::{Field, field_str};
use common::money::Price;

/// The longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 120;

/// A trimmed, non-empty title of printable characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(field: &Field) -> Result<Self, FieldError> {
        let required = || FieldError::new("title", "Title is required");
        let title = field_str(field).ok_or_else(required)?.trim();
        if title.is_empty() {
            return Err(required());
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                format!("Title must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new(
                "title",
                "Title cannot contain control characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub title: String,
    pub price: Price,
    pub user_id: String,
    pub version: u64,
    /// The order holding the ticket (reserved or sold).
    pub order_id: Option<String>,
    pub sold: bool,
    /// The version of the owner's last change of title or price (0 at creation). Lock and
    /// unlock changes do not count: an order priced at a version older than this one saw a
    /// price or title that is no longer true.
    pub edit_version: u64,
}

impl Ticket {
    pub fn status(&self) -> TicketStatus {
        if self.sold {
            TicketStatus::Sold
        } else if self.order_id.is_some() {
            TicketStatus::Reserved
        } else {
            TicketStatus::Available
        }
    }

    /// Locked: reserved by an order or sold. Only an unlocked ticket can be edited or bought.
    pub fn is_locked(&self) -> bool {
        self.status() != TicketStatus::Available
    }
}

/// The ticket's JSON (docs/spec.md §5).
impl From<Ticket> for api::Ticket {
    fn from(ticket: Ticket) -> Self {
        Self {
            status: ticket.status(),
            id: ticket.id.into(),
            title: ticket.title,
            price: ticket.price,
            user_id: ticket.user_id.into(),
            version: ticket.version,
            order_id: ticket.order_id.map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn title(value: Value) -> Result<String, String> {
        Title::parse(&Some(value))
            .map(|t| t.0)
            .map_err(|e| e.message)
    }

    #[test]
    fn titles_are_trimmed() {
        assert_eq!(title(json!("  Concert  ")), Ok("Concert".into()));
        assert_eq!(
            title(json!("Ünïcödé 🎫 show")),
            Ok("Ünïcödé 🎫 show".into())
        );
    }

    #[test]
    fn empty_missing_and_non_string_titles_are_required() {
        for value in [json!(""), json!("   "), json!(null), json!(5), json!(["a"])] {
            assert_eq!(
                title(value.clone()),
                Err("Title is required".into()),
                "{value}"
            );
        }
        assert!(Title::parse(&None).is_err());
    }

    #[test]
    fn long_titles_and_control_characters_are_refused() {
        assert!(title(json!("a".repeat(MAX_TITLE_CHARS))).is_ok());
        assert_eq!(
            title(json!("a".repeat(MAX_TITLE_CHARS + 1))),
            Err("Title must be at most 120 characters".into())
        );
        assert_eq!(
            title(json!("bad\u{0}title")),
            Err("Title cannot contain control characters".into())
        );
    }

    fn ticket(order_id: Option<&str>, sold: bool) -> Ticket {
        Ticket {
            id: "t".into(),
            title: "x".into(),
            price: Price::from_cents(100).unwrap(),
            user_id: "u".into(),
            version: 0,
            order_id: order_id.map(Into::into),
            sold,
            edit_version: 0,
        }
    }

    #[test]
    fn status_follows_the_lock() {
        assert_eq!(ticket(None, false).status(), TicketStatus::Available);
        assert_eq!(ticket(Some("o"), false).status(), TicketStatus::Reserved);
        assert_eq!(ticket(Some("o"), true).status(), TicketStatus::Sold);
        assert!(ticket(Some("o"), false).is_locked());
        assert!(!ticket(None, false).is_locked());
    }

    #[test]
    fn the_json_uses_the_spec_names() {
        let body = serde_json::to_value(api::Ticket::from(ticket(Some("o1"), false))).unwrap();
        assert_eq!(
            body,
            json!({"id": "t", "title": "x", "price": 1, "userId": "u", "version": 0,
                   "status": "reserved", "orderId": "o1"})
        );
        let body = serde_json::to_value(api::Ticket::from(ticket(None, false))).unwrap();
        assert!(body.get("orderId").is_none());
    }
}
