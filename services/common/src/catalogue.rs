//! The system's processes, listed once: the backend services in start order with their
//! default ports and the API prefix the ingress routes to each, the web app that answers
//! every other path, and the ingress. The `service` executable, the local stack, the
//! ingress's route table and the NATS users all read this list; adding a service is one
//! entry here (and its crate in the executable's dispatch).

/// A backend service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub name: &'static str,
    /// The port it listens on when `PORT` is unset.
    pub default_port: u16,
    /// The path prefix of its HTTP API at the ingress, if it has one.
    pub api_prefix: Option<&'static str>,
}

pub const AUTH: Backend = Backend {
    name: "auth",
    default_port: 3001,
    api_prefix: Some(contract::routes::USERS),
};
pub const TICKETS: Backend = Backend {
    name: "tickets",
    default_port: 3002,
    api_prefix: Some(contract::routes::TICKETS),
};
pub const ORDERS: Backend = Backend {
    name: "orders",
    default_port: 3003,
    api_prefix: Some(contract::routes::ORDERS),
};
/// No public API: it only consumes and publishes events.
pub const EXPIRATION: Backend = Backend {
    name: "expiration",
    default_port: 3004,
    api_prefix: None,
};
pub const PAYMENTS: Backend = Backend {
    name: "payments",
    default_port: 3005,
    api_prefix: Some(contract::routes::PAYMENTS),
};

/// Every backend service, in start order.
pub const BACKENDS: [Backend; 5] = [AUTH, TICKETS, ORDERS, EXPIRATION, PAYMENTS];

/// Their names, in the same order.
pub const SERVICES: [&str; 5] = [
    AUTH.name,
    TICKETS.name,
    ORDERS.name,
    EXPIRATION.name,
    PAYMENTS.name,
];

/// The web app: the ingress sends it every path no API prefix claims.
pub const WEB: &str = "web";

/// The ingress, in front of everything.
pub const INGRESS: &str = "ingress";
/// The ingress's port when `PORT` is unset: the address users open.
pub const INGRESS_DEFAULT_PORT: u16 = 8080;

/// The backend service called `name`.
pub fn backend(name: &str) -> Option<Backend> {
    BACKENDS.into_iter().find(|backend| backend.name == name)
}

/// The ingress variable that lists `service`'s instances: `UPSTREAM_<SERVICE>`.
pub fn upstream_variable(service: &str) -> String {
    format!("UPSTREAM_{}", service.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports_are_distinct_and_in_start_order() {
        let names: Vec<&str> = BACKENDS.iter().map(|b| b.name).collect();
        assert_eq!(names, SERVICES);
        let mut ports: Vec<u16> = BACKENDS.iter().map(|b| b.default_port).collect();
        ports.push(INGRESS_DEFAULT_PORT);
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), BACKENDS.len() + 1);
        assert_eq!(backend("orders"), Some(ORDERS));
        assert_eq!(backend(WEB), None);
    }
}
