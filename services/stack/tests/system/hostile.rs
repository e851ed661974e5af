//! Hostile input against every route through the ingress: malformed and truncated JSON,
//! wrong types, huge bodies, very long strings, unicode edge cases, invalid and unknown ids,
//! forged, expired and tampered cookies. Every answer is below 500, every error is in the
//! common shape with nothing internal in it, and nothing changes in any database. The
//! requests are generated (proptest), besides a few hand-picked ones.

use std::collections::BTreeMap;

use common::contract::routes;
use common::session::Claims;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Every route, with `{id}` where an id goes.
const ROUTES: &[(&str, &str)] = &[
    ("POST", routes::SIGN_UP),
    ("POST", routes::SIGN_IN),
    ("POST", routes::SIGN_OUT),
    ("GET", routes::CURRENT_USER),
    ("POST", routes::TICKETS),
    ("GET", routes::TICKETS),
    ("GET", "/api/tickets/{id}"),
    ("PUT", "/api/tickets/{id}"),
    ("POST", routes::ORDERS),
    ("GET", routes::ORDERS),
    ("GET", "/api/orders/{id}"),
    ("DELETE", "/api/orders/{id}"),
    ("POST", routes::PAYMENTS),
];

/// Text no error body may contain: stack traces, source paths, database internals.
const INTERNALS: &[&str] = &[
    "panicked",
    "backtrace",
    ".rs:",
    "src/",
    "surrealdb",
    "SurrealQL",
    "thread '",
    "Error {",
    "nats",
    "RecordId",
    "at line",
];

/// Every table of every service, as JSON, to compare before and after.
async fn snapshot(system: &System) -> BTreeMap<String, Vec<Value>> {
    let tables: &[(&str, &[&str])] = &[
        ("auth", &["user", "outbox"]),
        ("tickets", &["ticket", "ticket_order", "outbox"]),
        ("orders", &["orders", "ticket", "ticket_hold", "outbox"]),
        (
            "payments",
            &[
                "orders",
                "payment",
                "payment_claim",
                "payment_attempt",
                "sandbox_charge",
                "outbox",
            ],
        ),
        ("expiration", &["expiration", "outbox"]),
    ];
    let mut all = BTreeMap::new();
    for (service, tables) in tables {
        let db = system.database(service).await;
        for table in *tables {
            let rows: Vec<Value> = db
                .query(format!("SELECT * FROM {table} ORDER BY id"))
                .await
                .unwrap()
                .take(0)
                .unwrap();
            all.insert(format!("{service}.{table}"), rows);
        }
    }
    all
}

/// Checks one answer; returns why it is wrong, if it is.
fn judge(method: &str, status: u16, body: &str) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("a {status}: {body}"));
    }
    if status >= 400 {
        let parsed: Value =
            serde_json::from_str(body).map_err(|_| format!("{status} not JSON: {body}"))?;
        let errors = parsed["errors"]
            .as_array()
            .ok_or(format!("{status} without errors: {body}"))?;
        if errors.is_empty() || errors.iter().any(|e| !e["message"].is_string()) {
            return Err(format!("{status} not in the common shape: {body}"));
        }
        let lower = body.to_lowercase();
        if let Some(leak) = INTERNALS.iter().find(|i| lower.contains(&i.to_lowercase())) {
            return Err(format!("{status} shows {leak:?}: {body}"));
        }
    } else if !(method == "GET" || body == "{}") {
        // Only reads (and sign-out, which answers {}) may succeed on hostile input.
        return Err(format!("{method} succeeded with {status}: {body}"));
    }
    Ok(())
}

fn strange_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\PC]{0,64}",
        Just("\u{202E}evil\u{200B}\u{FEFF}".to_owned()),
        Just("😀🎫👩‍👩‍👧‍👦".repeat(50)),
        Just("\u{0000}".to_owned()),
        Just("a".repeat(100_000)),
        Just("'; DROP TABLE ticket; --".to_owned()),
        Just("ticket:⟨x⟩".to_owned()),
        Just("../../etc/passwd".to_owned()),
    ]
}

fn strange_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        strange_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("title".to_owned()),
                    Just("price".to_owned()),
                    Just("ticketId".to_owned()),
                    Just("orderId".to_owned()),
                    Just("token".to_owned()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Truncated(Value, usize),
    Bytes(Vec<u8>),
    Empty,
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => strange_json().prop_map(Body::Json),
        2 => (strange_json(), any::<usize>()).prop_map(|(v, cut)| Body::Truncated(v, cut)),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Body::Bytes),
        1 => Just(Body::Empty),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    Garbage,
    Forged,
    Expired,
    Tampered,
    SignedIn,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        Just(Who::Anonymous),
        Just(Who::Garbage),
        Just(Who::Forged),
        Just(Who::Expired),
        Just(Who::Tampered),
        Just(Who::SignedIn),
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(common::db::new_id()),
        "[0-9a-z]{26}",
        "[ -~]{1,40}",
        strange_text(),
    ]
    .prop_map(|id| {
        // As a path segment: percent-encode everything but unreserved characters.
        id.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    })
    .prop_map(|id| id.chars().take(3000).collect::<String>())
    .prop_filter("a path segment", |id| {
        !id.is_empty() && id != "." && id != ".." && !id.ends_with('%')
    })
}

#[test]
fn hostile_requests_get_4xx_in_the_common_shape_and_change_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let system = runtime.block_on(System::start_on_server(&[
        ("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "1000000"),
        ("SIGNIN_MAX_FAILURES_PER_ADDRESS", "1000000"),
    ]));
    let signed_in = system.user();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cookie_for = |who: Who| -> Option<String> {
        let claims = Claims {
            id: "u1".into(),
            email: "u1@example.com".into(),
            iat: now,
            exp: now + 3600,
        };
        match who {
            Who::Anonymous => None,
            Who::Garbage => Some("session=not.a.token".into()),
            Who::Forged => Some(format!(
                "session={}",
                common::session::SessionKeys::new(
                    b"some-other-secret-key",
                    std::time::Duration::from_secs(60),
                    false
                )
                .mint_claims(&claims)
            )),
            Who::Expired => Some(format!(
                "session={}",
                system.token_with(&Claims {
                    iat: now - 7200,
                    exp: now - 60,
                    ..claims
                })
            )),
            Who::Tampered => {
                let token = system.token_with(&claims);
                let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
                parts[1] = parts[1].chars().rev().collect();
                Some(format!("session={}", parts.join(".")))
            }
            Who::SignedIn => Some(signed_in.cookie.clone()),
        }
    };
    let before = runtime.block_on(snapshot(&system));

    let mut config = ProptestConfig::with_cases(300);
    config.failure_persistence = None;
    proptest!(config, |(route in 0..ROUTES.len(), id in id(), body in body(), who in who())| {
        let (method, template) = ROUTES[route];
        let path = template.replace("{id}", &id);
        let (bytes, json_type) = match &body {
            Body::Json(value) => (serde_json::to_vec(value).unwrap(), true),
            Body::Truncated(value, cut) => {
                let full = serde_json::to_vec(value).unwrap();
                let cut = cut % full.len().max(1);
                (full[..cut].to_vec(), true)
            }
            Body::Bytes(bytes) => (bytes.clone(), false),
            Body::Empty => (Vec::new(), true),
        };
        let (status, text) = runtime.block_on(async {
            let mut request = system
                .client
                .request(method.parse::<Method>().unwrap(), format!("{}{path}", system.url))
                .body(bytes);
            if json_type {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            if let Some(cookie) = cookie_for(who) {
                request = request.header(reqwest::header::COOKIE, cookie);
            }
            let response = request.send().await.expect("the ingress answers");
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        });
        if let Err(why) = judge(method, status, &text) {
            prop_assert!(false, "{method} {path} as {who:?} with {body:?}: {why}");
        }
    });

    let after = runtime.block_on(snapshot(&system));
    for (table, rows) in &before {
        assert_eq!(&after[table], rows, "{table} changed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_and_malformed_bodies_are_refused_in_the_common_shape() {
    let system = System::start(&[]).await;
    let user = system.user();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (routes::TICKETS, vec![b'{'; 2 * 1024 * 1024], 413),
        (
            routes::TICKETS,
            serde_json::to_vec(&json!({"title": "a".repeat(1024 * 1024), "price": 1})).unwrap(),
            413,
        ),
        (
            routes::TICKETS,
            br#"{"title": "x", "price": 1"#.to_vec(),
            400,
        ),
        (
            routes::TICKETS,
            br#"{"title": "x", "price": NaN}"#.to_vec(),
            400,
        ),
        (
            routes::TICKETS,
            br#"{"title": "x", "price": 1e999}"#.to_vec(),
            400,
        ),
        (
            routes::ORDERS,
            br#"{"ticketId": {"$ne": null}}"#.to_vec(),
            400,
        ),
        (routes::PAYMENTS, br#"["orderId", "token"]"#.to_vec(), 400),
        (routes::SIGN_UP, b"\xff\xfe\xfd".to_vec(), 400),
    ];
    for (path, body, expected) in cases {
        let response = system
            .client
            .post(format!("{}{path}", system.url))
            .header(reqwest::header::COOKIE, &user.cookie)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, expected, "{path}: {text}");
        judge("POST", status, &text).unwrap();
    }
}
