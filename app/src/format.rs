//! How the pages show what the services send (the types are the services' own, from the
//! `contract` crate): prices in dollars, statuses and cancel reasons in words, and the time
//! left to pay.

use contract::{CancelReason, Price, TicketStatus};

/// A price as the pages show it: `$10.50`.
pub fn dollars(price: Price) -> String {
    format!("${price}")
}

/// A ticket status in words.
pub fn ticket_status(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Available => "Available",
        TicketStatus::Reserved => "Reserved",
        TicketStatus::Sold => "Sold",
    }
}

/// Why an order was cancelled, as its buyer reads it.
pub fn cancel_explanation(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::Expired => "The time to pay ran out.",
        CancelReason::Buyer => "You cancelled this order.",
        CancelReason::PriceChanged => {
            "The seller changed this ticket just as you ordered it, so your order was cancelled and you were not charged."
        }
        CancelReason::TicketUnavailable => "Someone else got this ticket first.",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn price(cents: i64) -> Price {
        Price::from_cents(cents).unwrap()
    }

    #[test]
    fn prices_show_in_dollars_with_two_decimals() {
        assert_eq!(dollars(price(1050)), "$10.50");
        assert_eq!(dollars(price(7)), "$0.07");
        assert_eq!(dollars(price(100)), "$1.00");
        assert_eq!(price(100).to_string(), "1.00");
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
}
