//! The contract as standard documents, generated from this crate's types (feature `docs`):
//!
//! - [`openapi`]: OpenAPI 3.1 for the HTTP API. Its schemas are the JSON Schemas (2020-12,
//!   OpenAPI 3.1's own dialect) that `schemars` derives from [`crate::api`]; its paths are
//!   [`OPERATIONS`], written with the [`crate::routes`] constants the services route by.
//! - [`asyncapi`]: AsyncAPI 3.0 for the events: one channel per subject of
//!   [`crate::events::CATALOGUE`], a `send` operation for its publisher and a `receive`
//!   operation per consumer, each message's payload the schema of its event type.
//! - [`event_flow_mermaid`]: the same publishers and consumers as a Mermaid diagram for the
//!   README.
//!
//! `docs/openapi.json`, `docs/asyncapi.json` and the README's diagram are written by
//! `GITTIX_UPDATE_DOCS=1 cargo test -p contract docs`; the same test fails when one of them
//! is not what the code generates.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::api::{
    Credentials, CurrentUser, ErrorBody, NewOrder, NewPayment, Order, Payment, SignedOut, Ticket,
    TicketForm, User,
};
use crate::events::{CATALOGUE, EventInfo};
use crate::money::{MAX_PRICE_CENTS, Price, PriceText};
use crate::routes;
use crate::timestamp::Timestamp;

/// A price's schema (docs/spec.md §3), as the API writes it or reads it.
fn price_schema(description: &str) -> Schema {
    json_schema!({
        "description": description,
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": MAX_PRICE_CENTS / 100,
        "multipleOf": 0.01
    })
}

impl JsonSchema for Price {
    fn schema_name() -> Cow<'static, str> {
        "Price".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        price_schema("An amount in currency units (USD) with at most two decimals, e.g. 10.5.")
    }
}

impl JsonSchema for PriceText {
    fn schema_name() -> Cow<'static, str> {
        "PriceInput".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A price as entered: a JSON number in currency units, at most two decimals, above 0 and at most 1000000, or a string holding such a number exactly as JSON writes it (\"20.00\"). Anything else is answered with 400 and the price field's message.",
            "anyOf": [
                price_schema("The price as a number."),
                {
                    "description": "The price as text.",
                    "type": "string",
                    "pattern": "^[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$"
                }
            ]
        })
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An RFC 3339 time in UTC, e.g. 2027-01-15T08:00:00.123Z.",
            "type": "string",
            "format": "date-time"
        })
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    SignedIn,
    /// Signed in as the owner of the resource.
    Owner,
}

/// A JSON body: the schema of its Rust type.
pub type BodySchema = fn(&mut SchemaGenerator) -> Schema;

fn body<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One operation of the HTTP API (docs/spec.md §4–§7).
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub request: Option<BodySchema>,
    /// The success status, its description and its body (none for 204).
    pub success: (u16, &'static str, Option<BodySchema>),
    /// The error statuses particular to it, with when they happen (docs/spec.md); every
    /// operation can also answer those of §2 that apply.
    pub errors: &'static [(u16, &'static str)],
    /// Whether it sets or clears the session cookie.
    pub sets_cookie: bool,
}

/// Every operation of the API, in the order of docs/spec.md.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "post",
        path: routes::SIGN_UP,
        id: "signUp",
        tag: "auth",
        summary: "Create an account and sign in",
        access: Access::Anyone,
        request: Some(body::<Credentials>),
        success: (
            201,
            "The new user; the session cookie is set",
            Some(body::<User>),
        ),
        errors: &[
            (400, "Invalid email or password, or the email is in use"),
            (429, "Too many sign-ups from this address"),
            (503, "The password hasher is saturated"),
        ],
        sets_cookie: true,
    },
    Operation {
        method: "post",
        path: routes::SIGN_IN,
        id: "signIn",
        tag: "auth",
        summary: "Sign in",
        access: Access::Anyone,
        request: Some(body::<Credentials>),
        success: (
            200,
            "The user; the session cookie is set",
            Some(body::<User>),
        ),
        errors: &[
            (400, "Invalid email, no password, or invalid credentials"),
            (
                429,
                "Too many failed sign-ins for the account or the address",
            ),
            (503, "The password hasher is saturated"),
        ],
        sets_cookie: true,
    },
    Operation {
        method: "post",
        path: routes::SIGN_OUT,
        id: "signOut",
        tag: "auth",
        summary: "Sign out",
        access: Access::Anyone,
        request: None,
        success: (
            200,
            "Signed out; the session cookie is cleared",
            Some(body::<SignedOut>),
        ),
        errors: &[],
        sets_cookie: true,
    },
    Operation {
        method: "get",
        path: routes::CURRENT_USER,
        id: "currentUser",
        tag: "auth",
        summary: "The signed-in user, or null",
        access: Access::Anyone,
        request: None,
        success: (200, "The session's user", Some(body::<CurrentUser>)),
        errors: &[],
        sets_cookie: false,
    },
    Operation {
        method: "post",
        path: routes::TICKETS,
        id: "createTicket",
        tag: "tickets",
        summary: "List a ticket for sale",
        access: Access::SignedIn,
        request: Some(body::<TicketForm>),
        success: (
            201,
            "The new ticket, version 0, available",
            Some(body::<Ticket>),
        ),
        errors: &[
            (400, "Invalid title or price"),
            (429, "Too many listings in the last hour"),
        ],
        sets_cookie: false,
    },
    Operation {
        method: "get",
        path: routes::TICKETS,
        id: "listTickets",
        tag: "tickets",
        summary: "The tickets available to buy, newest first",
        access: Access::Anyone,
        request: None,
        success: (200, "The available tickets", Some(body::<Vec<Ticket>>)),
        errors: &[],
        sets_cookie: false,
    },
    Operation {
        method: "get",
        path: routes::TICKET,
        id: "getTicket",
        tag: "tickets",
        summary: "One ticket, whatever its status",
        access: Access::Anyone,
        request: None,
        success: (200, "The ticket", Some(body::<Ticket>)),
        errors: &[(404, "No such ticket")],
        sets_cookie: false,
    },
    Operation {
        method: "put",
        path: routes::TICKET,
        id: "updateTicket",
        tag: "tickets",
        summary: "Edit an unlocked ticket's title and price",
        access: Access::Owner,
        request: Some(body::<TicketForm>),
        success: (200, "The ticket, version + 1", Some(body::<Ticket>)),
        errors: &[
            (
                400,
                "Invalid title or price, or the ticket is reserved or sold",
            ),
            (404, "No such ticket"),
            (409, "The ticket changed while saving"),
        ],
        sets_cookie: false,
    },
    Operation {
        method: "post",
        path: routes::ORDERS,
        id: "createOrder",
        tag: "orders",
        summary: "Reserve a ticket for 15 minutes",
        access: Access::SignedIn,
        request: Some(body::<NewOrder>),
        success: (201, "The new order, created", Some(body::<Order>)),
        errors: &[
            (
                400,
                "No ticket id, the buyer's own ticket, or the ticket is reserved",
            ),
            (404, "No such ticket"),
            (429, "Too many open orders"),
        ],
        sets_cookie: false,
    },
    Operation {
        method: "get",
        path: routes::ORDERS,
        id: "listOrders",
        tag: "orders",
        summary: "The caller's orders, oldest first",
        access: Access::SignedIn,
        request: None,
        success: (200, "The orders", Some(body::<Vec<Order>>)),
        errors: &[],
        sets_cookie: false,
    },
    Operation {
        method: "get",
        path: routes::ORDER,
        id: "getOrder",
        tag: "orders",
        summary: "One of the caller's orders",
        access: Access::Owner,
        request: None,
        success: (200, "The order", Some(body::<Order>)),
        errors: &[(404, "No such order")],
        sets_cookie: false,
    },
    Operation {
        method: "delete",
        path: routes::ORDER,
        id: "cancelOrder",
        tag: "orders",
        summary: "Cancel an open order",
        access: Access::Owner,
        request: None,
        success: (204, "Cancelled, with reason buyer", None),
        errors: &[(400, "The order is complete"), (404, "No such order")],
        sets_cookie: false,
    },
    Operation {
        method: "post",
        path: routes::PAYMENTS,
        id: "pay",
        tag: "payments",
        summary: "Pay for an open order (one charge, however often it is sent)",
        access: Access::Owner,
        request: Some(body::<NewPayment>),
        success: (201, "Charged and recorded", Some(body::<Payment>)),
        errors: &[
            (
                400,
                "Missing fields, a cancelled or paid order, or the card refused",
            ),
            (404, "No such order"),
            (409, "Another request's attempt is still with the provider"),
            (
                502,
                "The payment provider did not answer; not charged twice",
            ),
        ],
        sets_cookie: false,
    },
];

/// The JSON Schema generator both documents use: 2020-12, definitions in `path`.
fn generator(path: &str) -> SchemaGenerator {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = path.to_owned().into();
    settings.meta_schema = None;
    settings.into_generator()
}

fn schema_value(schema: Schema) -> Value {
    schema.to_value()
}

/// The OpenAPI 3.1 document of the HTTP API.
pub fn openapi() -> Value {
    let mut generator = generator("/components/schemas");
    let error = schema_value(body::<ErrorBody>(&mut generator));
    let mut paths = Map::new();
    for operation in OPERATIONS {
        let mut responses = Map::new();
        let (status, description, success) = operation.success;
        let mut ok = json!({ "description": description });
        if let Some(schema) = success {
            ok["content"] = json!({
                "application/json": { "schema": schema_value(schema(&mut generator)) }
            });
        }
        if operation.sets_cookie {
            ok["headers"] = json!({
                "Set-Cookie": {
                    "description": "The session cookie (HttpOnly, SameSite=Lax)",
                    "schema": { "type": "string" }
                }
            });
        }
        responses.insert(status.to_string(), ok);
        let mut errors: Vec<(u16, &str)> = operation.errors.to_vec();
        if operation.access != Access::Anyone {
            errors.push((401, "Not signed in, or not the owner"));
        }
        if operation.method != "get" {
            errors.push((403, "A cross-site request"));
        }
        if operation.request.is_some() {
            errors.push((
                415,
                "The body was not sent as application/json (also 400 for invalid JSON, 413 over 1 MiB)",
            ));
        }
        errors.sort_by_key(|(status, _)| *status);
        for (status, description) in errors {
            responses.insert(
                status.to_string(),
                json!({
                    "description": description,
                    "content": { "application/json": { "schema": error.clone() } }
                }),
            );
        }
        let mut entry = json!({
            "operationId": operation.id,
            "tags": [operation.tag],
            "summary": operation.summary,
            "responses": responses,
        });
        if operation.access != Access::Anyone {
            entry["security"] = json!([{ "session": [] }]);
        }
        if let Some(request) = operation.request {
            entry["requestBody"] = json!({
                "required": true,
                "content": {
                    "application/json": { "schema": schema_value(request(&mut generator)) }
                }
            });
        }
        if operation.path.contains("{id}") {
            entry["parameters"] = json!([{
                "name": "id",
                "in": "path",
                "required": true,
                "schema": { "type": "string" }
            }]);
        }
        let item = paths
            .entry(operation.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[operation.method] = entry;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "GitTix API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HTTP API of the GitTix services behind the ingress (docs/spec.md §2–§7). Every error has the shape ErrorBody. Generated from services/contract; do not edit.",
        },
        "tags": [
            { "name": "auth" }, { "name": "tickets" }, { "name": "orders" }, { "name": "payments" }
        ],
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "session" }
            }
        }
    })
}

/// A channel or message key: `ticket:created` becomes `ticketCreated`.
fn key(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == ':' || c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The AsyncAPI 3.0 document of the events.
pub fn asyncapi() -> Value {
    let mut generator = generator("/components/schemas");
    let mut channels = Map::new();
    let mut messages = Map::new();
    let mut operations = Map::new();
    for event in CATALOGUE {
        let key = key(event.name);
        let payload = schema_value((event.schema)(&mut generator));
        messages.insert(
            key.clone(),
            json!({
                "name": event.name,
                "title": event.name,
                "contentType": "application/json",
                "headers": {
                    "type": "object",
                    "properties": {
                        "Nats-Msg-Id": {
                            "type": "string",
                            "description": "The event id; JetStream drops a second publish of it"
                        },
                        "traceparent": {
                            "type": "string",
                            "description": "W3C trace context of the change that caused the event"
                        }
                    }
                },
                "payload": payload,
            }),
        );
        channels.insert(
            key.clone(),
            json!({
                "address": event.subject,
                "description": format!("{}: published by {}, consumed by {}", event.name, event.publisher, event.consumers.join(", ")),
                "messages": { key.clone(): { "$ref": format!("#/components/messages/{key}") } }
            }),
        );
        operations.insert(
            format!("{}Publishes{}", event.publisher, upper_first(&key)),
            json!({
                "action": "send",
                "summary": format!("{} publishes {} through its outbox", event.publisher, event.name),
                "channel": { "$ref": format!("#/channels/{key}") },
                "messages": [{ "$ref": format!("#/channels/{key}/messages/{key}") }],
                "tags": [{ "name": event.publisher }]
            }),
        );
        for consumer in event.consumers {
            operations.insert(
                format!("{consumer}Receives{}", upper_first(&key)),
                json!({
                    "action": "receive",
                    "summary": format!("{consumer} consumes {} (durable consumer {consumer}-{})", event.name, event.name.replace(':', "-")),
                    "channel": { "$ref": format!("#/channels/{key}") },
                    "messages": [{ "$ref": format!("#/channels/{key}/messages/{key}") }],
                    "tags": [{ "name": consumer }]
                }),
            );
        }
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "GitTix events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("The domain events of GitTix (docs/spec.md §8) on the NATS JetStream stream {}: at-least-once, each published by one service from its transactional outbox. Generated from services/contract; do not edit.", crate::events::STREAM),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The local stack's NATS (JetStream)"
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": generator.take_definitions(true),
        }
    })
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The event flow as a Mermaid flowchart: each service a node, each event an edge from its
/// publisher to each consumer.
pub fn event_flow_mermaid() -> String {
    let mut lines = vec!["flowchart LR".to_owned()];
    let mut services: Vec<&str> = CATALOGUE
        .iter()
        .flat_map(|event: &EventInfo| {
            std::iter::once(event.publisher).chain(event.consumers.iter().copied())
        })
        .collect();
    services.sort_unstable();
    services.dedup();
    for service in &services {
        lines.push(format!("    {service}([{service}])"));
    }
    for event in CATALOGUE {
        for consumer in event.consumers {
            lines.push(format!(
                "    {} -- \"{}\" --> {consumer}",
                event.publisher, event.name
            ));
        }
    }
    lines.join("\n") + "\n"
}

/// The README's generated block, between its markers.
pub const README_START: &str = "<!-- event-flow: generated by `GITTIX_UPDATE_DOCS=1 cargo test -p contract docs`; do not edit -->";
pub const README_END: &str = "<!-- /event-flow -->";

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn repository() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Writes `text` to `path` under `GITTIX_UPDATE_DOCS=1`; otherwise fails unless the file
    /// holds exactly `text`.
    fn check_or_write(path: &Path, text: &str) {
        if std::env::var_os("GITTIX_UPDATE_DOCS").is_some() {
            std::fs::write(path, text).expect("writing the document");
            return;
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current == text,
            "{} is not what the code generates; run `GITTIX_UPDATE_DOCS=1 cargo test -p contract docs` and commit it",
            path.display()
        );
    }

    fn pretty(value: &Value) -> String {
        serde_json::to_string_pretty(value).expect("a document serialises") + "\n"
    }

    #[test]
    fn docs_openapi_and_asyncapi_are_current() {
        check_or_write(&repository().join("docs/openapi.json"), &pretty(&openapi()));
        check_or_write(
            &repository().join("docs/asyncapi.json"),
            &pretty(&asyncapi()),
        );
    }

    #[test]
    fn docs_readme_event_diagram_is_current() {
        let path = repository().join("README.md");
        let readme = std::fs::read_to_string(&path).expect("the README");
        let (before, rest) = readme
            .split_once(README_START)
            .expect("the README has the event-flow start marker");
        let (_, after) = rest
            .split_once(README_END)
            .expect("the README has the event-flow end marker");
        let block = format!("\n```mermaid\n{}```\n", event_flow_mermaid());
        check_or_write(
            &path,
            &format!("{before}{README_START}{block}{README_END}{after}"),
        );
    }

    #[test]
    fn every_operation_is_documented_once_with_its_schemas() {
        let document = openapi();
        let mut seen = std::collections::HashSet::new();
        for operation in OPERATIONS {
            assert!(
                seen.insert((operation.method, operation.path)),
                "{operation:?}"
            );
            let entry = &document["paths"][operation.path][operation.method];
            assert_eq!(entry["operationId"], operation.id);
        }
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in ["Ticket", "Order", "ErrorBody", "Price", "Credentials"] {
            assert!(schemas.contains_key(name), "schema {name} is missing");
        }
        // An order's status is one of the spec's spellings.
        assert_eq!(
            schemas["OrderStatus"]["enum"],
            json!(["created", "cancelled", "awaiting:payment", "complete"])
        );
        let order = &document["paths"][routes::ORDERS]["post"];
        assert_eq!(
            order["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Order"
        );
    }

    #[test]
    fn every_event_has_a_channel_a_publisher_and_its_consumers() {
        let document = asyncapi();
        for event in CATALOGUE {
            let key = key(event.name);
            assert_eq!(document["channels"][&key]["address"], event.subject);
            let payload = &document["components"]["messages"][&key]["payload"];
            assert!(payload.is_object(), "{} has no payload schema", event.name);
            let operations = document["operations"].as_object().unwrap();
            let receivers = operations
                .values()
                .filter(|op| {
                    op["action"] == "receive"
                        && op["channel"]["$ref"] == format!("#/channels/{key}")
                })
                .count();
            assert_eq!(receivers, event.consumers.len(), "{}", event.name);
        }
        let created = &document["components"]["schemas"]["OrderCreated"];
        assert_eq!(
            created["properties"]["expiresAt"]["format"], "date-time",
            "{created}"
        );
        let diagram = event_flow_mermaid();
        assert!(diagram.contains("    orders -- \"order:created\" --> expiration\n"));
        assert!(diagram.contains("    payments -- \"payment:created\" --> orders\n"));
    }
}
