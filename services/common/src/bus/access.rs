//! Who may publish and receive what on NATS.
//!
//! Every service connects as a NATS user of its own name. That user may publish only:
//! - the events its service owns ([`crate::events::PUBLISHERS`]): the orders service cannot
//!   publish `payment:created`, so nothing but the payments service can mark an order paid;
//! - its own set-aside events (`deadletter.<service>.>`);
//! - the JetStream API calls a service makes: look up and create the two streams, create and
//!   pull from consumers of the event stream, acknowledge its deliveries.
//!
//! It receives replies only under its own inbox prefix ([`inbox_prefix`]), so it cannot read
//! another service's deliveries. The [`ADMIN`] user may do everything: the operator's tools
//! (`service dead-letters`, which replays any service's events), tests and the benchmark.
//!
//! [`accounts`] renders the `accounts` block of `nats-server`'s configuration from these
//! rules: the local stack writes it with generated passwords, the Kubernetes manifest carries
//! it with passwords from a Secret, and a deployment test checks that the two agree.

use crate::bus::DEAD_LETTER_PREFIX;
use crate::events::{PUBLISHERS, STREAM};

/// The NATS account every GitTix user belongs to (JetStream is enabled for it).
pub const ACCOUNT: &str = "GITTIX";
/// The operator's user, with every permission.
pub const ADMIN: &str = "admin";

/// The subjects a user may publish to and subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// Where replies to `user`'s requests arrive (JetStream acknowledgements, pulled events):
/// `_INBOX_<user>`. A service connects with it as its inbox prefix.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// The environment variable the NATS server reads `user`'s password from in a cluster:
/// `NATS_PASSWORD_<USER>`.
pub fn password_variable(user: &str) -> String {
    format!("NATS_PASSWORD_{}", user.to_uppercase())
}

/// What `service`'s user may do.
pub fn permissions(service: &str) -> Permissions {
    let dead_letters = crate::bus::DEAD_LETTER_STREAM;
    let mut publish: Vec<String> = PUBLISHERS
        .iter()
        .filter(|(_, publisher)| *publisher == service)
        .map(|(subject, _)| (*subject).to_owned())
        .collect();
    publish.push(format!("{DEAD_LETTER_PREFIX}.{service}.>"));
    publish.extend([
        "$JS.API.INFO".to_owned(),
        format!("$JS.API.STREAM.INFO.{STREAM}"),
        format!("$JS.API.STREAM.CREATE.{STREAM}"),
        format!("$JS.API.STREAM.INFO.{dead_letters}"),
        format!("$JS.API.STREAM.CREATE.{dead_letters}"),
        format!("$JS.API.CONSUMER.CREATE.{STREAM}.>"),
        format!("$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.>"),
        format!("$JS.API.CONSUMER.INFO.{STREAM}.>"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{STREAM}.>"),
        format!("$JS.ACK.{STREAM}.>"),
    ]);
    Permissions {
        publish,
        subscribe: vec![format!("{}.>", inbox_prefix(service))],
    }
}

/// The `accounts` block of a `nats-server` configuration: one account with JetStream, the
/// [`ADMIN`] user and one user per service with its [`permissions`]. `password` gives the
/// configuration's value for a user's password: a quoted literal, or a `$VARIABLE` the server
/// reads from its environment (see [`password_variable`]).
pub fn accounts(services: &[&str], password: impl Fn(&str) -> String) -> String {
    let quoted = |subjects: &[String]| {
        subjects
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut users = vec![format!(
        "      {{ user: {ADMIN}, password: {} }}",
        password(ADMIN)
    )];
    for service in services {
        let Permissions { publish, subscribe } = permissions(service);
        users.push(format!(
            "      {{\n        user: {service}, password: {}\n        permissions: {{\n          \
             publish: {{ allow: [{}] }}\n          subscribe: {{ allow: [{}] }}\n        }}\n      }}",
            password(service),
            quoted(&publish),
            quoted(&subscribe),
        ));
    }
    format!(
        "accounts {{\n  {ACCOUNT} {{\n    jetstream: enabled\n    users: [\n{}\n    ]\n  }}\n}}\n",
        users.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_may_publish_only_the_events_it_owns() {
        let orders = permissions("orders").publish;
        for owned in [
            "events.order.created",
            "events.order.cancelled",
            "events.order.completed",
        ] {
            assert!(orders.iter().any(|s| s == owned), "{owned}");
        }
        assert!(!orders.iter().any(|s| s.starts_with("events.payment")));
        assert!(!orders.iter().any(|s| s.starts_with("events.ticket")));
        assert!(orders.iter().any(|s| s == "deadletter.orders.>"));
        assert!(!orders.iter().any(|s| s == ">" || s == "events.>"));
    }

    #[test]
    fn every_event_has_a_publisher_among_the_services() {
        let services = ["auth", "tickets", "orders", "expiration", "payments"];
        for (subject, publisher) in PUBLISHERS {
            assert!(services.contains(publisher), "{subject} by {publisher}");
        }
    }

    #[test]
    fn the_rendered_accounts_name_each_user_with_its_password() {
        let rendered = accounts(&["payments"], |user| {
            format!("${}", password_variable(user))
        });
        assert!(rendered.contains("user: admin, password: $NATS_PASSWORD_ADMIN"));
        assert!(rendered.contains("user: payments, password: $NATS_PASSWORD_PAYMENTS"));
        assert!(rendered.contains("\"events.payment.created\""));
        assert!(rendered.contains("\"_INBOX_payments.>\""));
    }
}
