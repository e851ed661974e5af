//! The statuses and reasons that events and API bodies carry, spelled as docs/spec.md
//! spells them.

use serde::{Deserialize, Serialize};

/// Whether a ticket can be bought (docs/spec.md §5): reserved while an open order holds it,
/// sold once that order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Available,
    Reserved,
    Sold,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Reserved => "reserved",
            Self::Sold => "sold",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Available, Self::Reserved, Self::Sold]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Order statuses (docs/spec.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        for status in [
            TicketStatus::Available,
            TicketStatus::Reserved,
            TicketStatus::Sold,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
        }
    }
}
