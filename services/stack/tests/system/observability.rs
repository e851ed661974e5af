//! What an operator sees of one purchase: every process's Prometheus metrics (names and exact
//! values), and with `GITTIX_TRACE=stdout` one trace per request that follows its events
//! through every service.

use std::collections::{BTreeMap, HashMap};

use common::contract::routes;
use common::telemetry::metrics as names;
use common::testing::eventually;
use serde_json::json;

use crate::helpers::*;

/// One series of a scrape: its name and labels.
#[derive(Debug)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The series of a Prometheus text scrape.
fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect();
            Some(Series {
                name: name.to_owned(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// Every process's scrape, by process name.
async fn scrape(system: &System) -> HashMap<String, Vec<Series>> {
    let mut scrapes = HashMap::new();
    for (process, url) in system.stack.metrics_urls() {
        let response = system
            .client
            .get(&url)
            .send()
            .await
            .expect("metrics answer");
        assert_eq!(response.status(), 200, "{url}");
        let text = response.text().await.unwrap();
        scrapes.insert(process, parse(&text));
    }
    scrapes
}

/// The sum of `name` over the series of `process` that carry `labels`.
fn value(
    scrapes: &HashMap<String, Vec<Series>>,
    process: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    scrapes
        .get(process)
        .unwrap_or_else(|| panic!("no metrics from {process}"))
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// A process, a metric, the labels its series must carry, and the value they sum to.
type Expected = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    f64,
);

/// Lists a ticket, orders it and pays for it; returns the order id once it is complete.
async fn purchase(system: &System) -> String {
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "Observed", 42.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201, "{order}");
    let order_id = id_of(&order);
    system.until_payments_has_order(&order_id).await;
    let (status, payment) = system
        .send(
            reqwest::Method::POST,
            routes::PAYMENTS,
            Some(&buyer),
            Some(json!({"orderId": order_id, "token": "tok_visa"})),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    eventually("the order complete and its ticket sold", || async {
        let order = system.order(&buyer, &order_id).await;
        let ticket = system.ticket(&id_of(&ticket)).await;
        (order["status"] == "complete" && ticket["status"] == "sold").then_some(())
    })
    .await;
    order_id
}

#[tokio::test]
async fn a_purchase_shows_in_every_process_metrics() {
    let system = System::start(&[]).await;
    purchase(&system).await;

    // The expected values, once every event has been handled and sampled.
    let expected: &[Expected] = &[
        // Requests, by route pattern and status.
        (
            "tickets",
            names::HTTP_REQUESTS,
            &[
                ("method", "POST"),
                ("route", "/api/tickets"),
                ("status", "201"),
            ],
            1.0,
        ),
        (
            "orders",
            names::HTTP_REQUESTS,
            &[
                ("method", "POST"),
                ("route", "/api/orders"),
                ("status", "201"),
            ],
            1.0,
        ),
        (
            "payments",
            names::HTTP_REQUESTS,
            &[
                ("method", "POST"),
                ("route", "/api/payments"),
                ("status", "201"),
            ],
            1.0,
        ),
        (
            "payments",
            names::HTTP_DURATION_COUNT,
            &[("method", "POST"), ("route", "/api/payments")],
            1.0,
        ),
        (
            "ingress",
            names::HTTP_REQUESTS,
            &[("method", "POST"), ("route", "payments"), ("status", "201")],
            1.0,
        ),
        // Events published, each once.
        (
            "tickets",
            names::EVENTS_PUBLISHED,
            &[("subject", "events.ticket.created")],
            1.0,
        ),
        (
            "tickets",
            names::EVENTS_PUBLISHED,
            &[("subject", "events.ticket.updated")],
            2.0,
        ),
        (
            "orders",
            names::EVENTS_PUBLISHED,
            &[("subject", "events.order.created")],
            1.0,
        ),
        (
            "orders",
            names::EVENTS_PUBLISHED,
            &[("subject", "events.order.completed")],
            1.0,
        ),
        (
            "payments",
            names::EVENTS_PUBLISHED,
            &[("subject", "events.payment.created")],
            1.0,
        ),
        // Handled by each consumer.
        (
            "orders",
            names::EVENTS_HANDLED,
            &[("consumer", "orders-ticket-created"), ("outcome", "done")],
            1.0,
        ),
        (
            "orders",
            names::EVENTS_HANDLED,
            &[("consumer", "orders-payment-created"), ("outcome", "done")],
            1.0,
        ),
        (
            "tickets",
            names::EVENTS_HANDLED,
            &[("consumer", "tickets-order-created"), ("outcome", "done")],
            1.0,
        ),
        (
            "tickets",
            names::EVENTS_HANDLED,
            &[("consumer", "tickets-order-completed"), ("outcome", "done")],
            1.0,
        ),
        (
            "payments",
            names::EVENTS_HANDLED,
            &[("consumer", "payments-order-created"), ("outcome", "done")],
            1.0,
        ),
        (
            "expiration",
            names::EVENTS_HANDLED,
            &[
                ("consumer", "expiration-order-created"),
                ("outcome", "done"),
            ],
            1.0,
        ),
        (
            "expiration",
            names::EVENTS_HANDLED,
            &[
                ("consumer", "expiration-order-completed"),
                ("outcome", "done"),
            ],
            1.0,
        ),
        ("expiration", names::EVENTS_SET_ASIDE, &[], 0.0),
        // Gauges sampled at the scrape: nothing left behind.
        (
            "orders",
            names::CONSUMER_PENDING,
            &[("consumer", "orders-payment-created")],
            0.0,
        ),
        (
            "tickets",
            names::CONSUMER_ACK_PENDING,
            &[("consumer", "tickets-order-completed")],
            0.0,
        ),
        ("orders", names::OUTBOX_BACKLOG, &[], 0.0),
        ("expiration", names::EXPIRATIONS_PENDING, &[], 0.0),
        (
            "payments",
            names::PAYMENT_ATTEMPTS,
            &[("state", "charged")],
            1.0,
        ),
        (
            "payments",
            names::PAYMENT_ATTEMPTS,
            &[("state", "unknown")],
            0.0,
        ),
        ("payments", names::DEAD_LETTERS, &[], 0.0),
    ];
    let scrapes = eventually(
        "the purchase's counts in every process's metrics",
        || async {
            let scrapes = scrape(&system).await;
            expected
                .iter()
                .all(|(process, name, labels, want)| {
                    value(&scrapes, process, name, labels) == *want
                })
                .then_some(scrapes)
        },
    )
    .await;

    // Every gauge the purchase involves is present (a gauge at 0 still is a series).
    for (process, name) in [
        ("orders", names::CONSUMER_PENDING),
        ("tickets", names::OUTBOX_BACKLOG),
        ("expiration", names::EXPIRATIONS_PENDING),
        ("payments", names::PAYMENT_ATTEMPTS),
        ("auth", names::DEAD_LETTERS),
    ] {
        assert!(
            scrapes[process].iter().any(|s| s.name == name),
            "{process} has no {name}"
        );
    }
    // Every series names its process, and no route label is a raw path with an id in it.
    for (process, series) in &scrapes {
        for s in series {
            assert_eq!(
                s.labels.get("process"),
                Some(process.split('-').next().unwrap().to_owned()).as_ref(),
                "{s:?}"
            );
            if let Some(route) = s.labels.get("route") {
                assert!(
                    !route.split('/').any(|segment| segment.len() == 26),
                    "a raw id in a route label: {s:?}"
                );
            }
        }
    }
}

/// A span line of `GITTIX_TRACE=stdout`.
#[derive(Debug, Clone)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    process: String,
    name: String,
}

fn logged_spans(system: &System) -> Vec<Span> {
    let logs = system.data_dir().join("logs");
    let mut spans = Vec::new();
    for entry in std::fs::read_dir(&logs).expect("the log folder") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        for line in text.lines().filter(|l| l.starts_with("trace=")) {
            let field = |key: &str| {
                let start = line.find(&format!("{key}="))? + key.len() + 1;
                let rest = &line[start..];
                Some(if let Some(quoted) = rest.strip_prefix('"') {
                    quoted[..quoted.find('"')?].to_owned()
                } else {
                    rest.split(' ').next()?.to_owned()
                })
            };
            spans.push(Span {
                trace: field("trace").unwrap(),
                id: field("span").unwrap(),
                parent: field("parent").unwrap(),
                process: field("process").unwrap(),
                name: field("name").unwrap(),
            });
        }
    }
    spans
}

/// Whether `span` descends from `ancestor` through the spans of its trace.
fn descends(spans: &[Span], span: &Span, ancestor: &Span) -> bool {
    let mut current = span.clone();
    for _ in 0..32 {
        if current.parent == ancestor.id {
            return true;
        }
        match spans.iter().find(|s| s.id == current.parent) {
            Some(parent) => current = parent.clone(),
            None => return false,
        }
    }
    false
}

#[tokio::test]
async fn with_gittix_trace_each_request_is_one_trace_through_the_services_and_their_events() {
    let system = System::start(&[("GITTIX_TRACE", "stdout")]).await;
    purchase(&system).await;

    // The order request: ingress → orders → order:created → tickets, payments, expiration.
    let find = |spans: &[Span], process: &str, name: &str| {
        spans
            .iter()
            .find(|s| s.process == process && s.name == name)
            .cloned()
    };
    let (spans, placed) = eventually("the order's spans in every service", || async {
        let spans = logged_spans(&system);
        let placed = find(&spans, "ingress", "POST orders")?;
        for (process, name) in [
            ("orders", "POST /api/orders"),
            ("tickets", "tickets receive order:created"),
            ("payments", "payments receive order:created"),
            ("expiration", "expiration receive order:created"),
        ] {
            find(&spans, process, name)?;
        }
        Some((spans, placed))
    })
    .await;
    for (process, name) in [
        ("orders", "POST /api/orders"),
        ("tickets", "tickets receive order:created"),
        ("payments", "payments receive order:created"),
        ("expiration", "expiration receive order:created"),
    ] {
        let span = find(&spans, process, name).unwrap();
        assert_eq!(span.trace, placed.trace, "{span:?} is in the order's trace");
        assert!(
            descends(&spans, &span, &placed),
            "{span:?} descends from {placed:?}"
        );
    }

    // The payment: ingress → payments → payment:created → orders → order:completed → tickets,
    // expiration, and back to payments.
    let (spans, paid) = eventually("the payment's spans", || async {
        let spans = logged_spans(&system);
        let paid = find(&spans, "ingress", "POST payments")?;
        find(&spans, "tickets", "tickets receive order:completed")?;
        find(&spans, "expiration", "expiration receive order:completed")?;
        Some((spans, paid))
    })
    .await;
    for (process, name) in [
        ("payments", "POST /api/payments"),
        ("orders", "orders receive payment:created"),
        ("tickets", "tickets receive order:completed"),
        ("expiration", "expiration receive order:completed"),
        ("payments", "payments receive order:completed"),
    ] {
        let span = find(&spans, process, name)
            .unwrap_or_else(|| panic!("no span {name:?} from {process}"));
        assert_eq!(span.trace, paid.trace, "{span:?} is in the payment's trace");
        assert!(
            descends(&spans, &span, &paid),
            "{span:?} descends from {paid:?}"
        );
    }
    assert_ne!(placed.trace, paid.trace, "two requests, two traces");
}

/// What an OTLP/HTTP collector stand-in received: each export's path, content type and body.
type Exports = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A collector stand-in that records every export and answers 200; its address.
async fn collector(exports: Exports) -> String {
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: bytes::Bytes| {
            let exports = exports.clone();
            async move {
                let content_type = headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                exports
                    .lock()
                    .unwrap()
                    .push((uri.path().to_owned(), content_type, body.to_vec()));
                axum::http::StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn with_an_otlp_endpoint_every_service_exports_its_spans_there() {
    let exports = Exports::default();
    let endpoint = collector(exports.clone()).await;
    let system = System::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]).await;
    purchase(&system).await;

    // The batch exporter sends within its schedule delay (5 s by default).
    eventually("spans from every service at the collector", || async {
        let exports = exports.lock().unwrap();
        [
            "auth",
            "tickets",
            "orders",
            "payments",
            "expiration",
            "ingress",
        ]
        .iter()
        .all(|service| {
            exports.iter().any(|(path, content_type, body)| {
                path == "/v1/traces"
                    && content_type == "application/x-protobuf"
                    && contains(body, service.as_bytes())
            })
        })
        .then_some(())
    })
    .await;
    let exports = exports.lock().unwrap();
    assert!(
        exports.iter().all(|(path, _, _)| path == "/v1/traces"),
        "only traces are exported: {:?}",
        exports.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
}

/// Whether `needle` occurs in `haystack` (a protobuf message holds the service's name as
/// its `service.name` resource attribute, in plain bytes).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
