//! The HTTP API's paths (docs/spec.md §4–§7). Patterns with `{id}` are the services'
//! router patterns; [`ticket`] and [`order`] fill them in for callers.

use crate::{OrderId, TicketId};

/// The auth service's prefix (§4).
pub const USERS: &str = "/api/users";
pub const SIGN_UP: &str = "/api/users/signup";
pub const SIGN_IN: &str = "/api/users/signin";
pub const SIGN_OUT: &str = "/api/users/signout";
pub const CURRENT_USER: &str = "/api/users/currentuser";

/// The tickets service's prefix and collection (§5).
pub const TICKETS: &str = "/api/tickets";
pub const TICKET: &str = "/api/tickets/{id}";

/// The orders service's prefix and collection (§6).
pub const ORDERS: &str = "/api/orders";
pub const ORDER: &str = "/api/orders/{id}";

/// The payments service's prefix and collection (§7).
pub const PAYMENTS: &str = "/api/payments";

/// The path of one ticket.
pub fn ticket(id: &TicketId) -> String {
    TICKET.replace("{id}", id.as_str())
}

/// The path of one order.
pub fn order(id: &OrderId) -> String {
    ORDER.replace("{id}", id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_sits_under_its_service_prefix() {
        for path in [SIGN_UP, SIGN_IN, SIGN_OUT, CURRENT_USER] {
            assert!(path.starts_with(&format!("{USERS}/")), "{path}");
        }
        assert!(TICKET.starts_with(&format!("{TICKETS}/")));
        assert!(ORDER.starts_with(&format!("{ORDERS}/")));
        assert_eq!(ticket(&"t1".into()), "/api/tickets/t1");
        assert_eq!(order(&"o1".into()), "/api/orders/o1");
    }
}
