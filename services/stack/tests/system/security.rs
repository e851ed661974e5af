//! Security basics, checked through the ingress: session cookie flags, sign-in throttling
//! per account and per client address, passwords never in the logs, and authorization on
//! every owned resource (each route × owner, another user, anonymous).

use common::contract::routes;
use common::testing::eventually;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn signup(system: &System, email: &str, password: &str) -> reqwest::Response {
    system
        .client
        .post(format!("{}/api/users/signup", system.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn signin_from(system: &System, address: &str, email: &str, password: &str) -> u16 {
    system
        .client
        .post(format!("{}/api/users/signin", system.url))
        // The ingress believes X-Forwarded-For from a trusted proxy (here: localhost).
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_http_only_lax_and_secure_when_configured() {
    let system = System::start(&[("COOKIE_SECURE", "true")]).await;
    let response = signup(&system, "flags@example.com", "secret1").await;
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Secure",
        "Max-Age=86400",
    ] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ins_are_throttled_per_account_and_per_client_address() {
    let system = System::start(&[
        ("SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3"),
        ("SIGNIN_MAX_FAILURES_PER_ADDRESS", "5"),
    ])
    .await;
    assert_eq!(
        signup(&system, "victim@example.com", "secret1")
            .await
            .status(),
        201
    );
    assert_eq!(
        signup(&system, "bystander@example.com", "secret1")
            .await
            .status(),
        201
    );

    // One account, guessed from three addresses: throttled after three failures.
    for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(
            signin_from(&system, address, "victim@example.com", "guess").await,
            400
        );
    }
    assert_eq!(
        signin_from(&system, "198.51.100.4", "victim@example.com", "secret1").await,
        429
    );

    // One address guessing many accounts: throttled after five failures, others are not.
    for i in 0..5 {
        let status = signin_from(
            &system,
            "203.0.113.7",
            &format!("nobody{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(status, 400);
    }
    assert_eq!(
        signin_from(&system, "203.0.113.7", "bystander@example.com", "secret1").await,
        429
    );
    assert_eq!(
        signin_from(&system, "203.0.113.8", "bystander@example.com", "secret1").await,
        200
    );

    let response = system
        .client
        .post(format!("{}/api/users/signin", system.url))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": "bystander@example.com", "password": "secret1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": [{"message": "Too many sign-in attempts, try again later"}]})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_never_reach_the_logs() {
    let system = System::start(&[("RUST_LOG", "debug")]).await;
    let password = "Zq9-Pw-never-logged";
    let wrong = "Xk7-wrong-never-logged";
    assert_eq!(
        signup(&system, "logs@example.com", password).await.status(),
        201
    );
    assert_eq!(
        signin_from(&system, "192.0.2.1", "logs@example.com", wrong).await,
        400
    );
    assert_eq!(
        signin_from(&system, "192.0.2.1", "logs@example.com", password).await,
        200
    );
    // Give the processes a moment to write what they log about these requests.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let logs = system.data_dir().join("logs");
    let mut read = 0;
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        read += text.len();
        assert!(
            !text.contains(password) && !text.contains(wrong),
            "a password in {}",
            path.display()
        );
    }
    assert!(read > 0, "the services wrote logs");
}

/// Each owned route as the owner, another user and anonymous.
#[tokio::test(flavor = "multi_thread")]
async fn every_owned_resource_checks_its_owner() {
    let system = System::start(&[]).await;
    let (owner, other) = (system.user(), system.user());
    let seller = system.user();

    // Tickets: only the seller edits.
    let ticket = system.list_ticket(&seller, "Matrix", 10.0).await;
    let ticket_path = format!("/api/tickets/{}", id_of(&ticket));
    let edit = json!({"title": "Matrix", "price": 11});
    assert_eq!(
        system
            .send(Method::PUT, &ticket_path, None, Some(edit.clone()))
            .await
            .0,
        401
    );
    assert_eq!(
        system
            .send(Method::PUT, &ticket_path, Some(&other), Some(edit.clone()))
            .await
            .0,
        401
    );
    assert_eq!(
        system
            .send(Method::PUT, &ticket_path, Some(&seller), Some(edit))
            .await
            .0,
        200
    );

    // Creating needs a user.
    let new_ticket = json!({"title": "x", "price": 1});
    assert_eq!(
        system
            .send(Method::POST, routes::TICKETS, None, Some(new_ticket))
            .await
            .0,
        401
    );
    let new_order = json!({"ticketId": id_of(&ticket)});
    assert_eq!(
        system
            .send(Method::POST, routes::ORDERS, None, Some(new_order))
            .await
            .0,
        401
    );

    // Orders: only the buyer reads, pays for and cancels.
    let (status, order) = system.order_when_replicated(&owner, &id_of(&ticket)).await;
    assert_eq!(status, 201);
    let order_path = format!("/api/orders/{}", id_of(&order));
    assert_eq!(
        system.send(Method::GET, &order_path, None, None).await.0,
        401
    );
    assert_eq!(
        system
            .send(Method::GET, &order_path, Some(&other), None)
            .await
            .0,
        401
    );
    assert_eq!(
        system
            .send(Method::GET, &order_path, Some(&owner), None)
            .await
            .0,
        200
    );

    assert_eq!(
        system.send(Method::GET, routes::ORDERS, None, None).await.0,
        401
    );
    let (_, theirs) = system
        .send(Method::GET, routes::ORDERS, Some(&other), None)
        .await;
    assert_eq!(
        theirs,
        json!([]),
        "another user sees none of the owner's orders"
    );
    let (_, mine) = system
        .send(Method::GET, routes::ORDERS, Some(&owner), None)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);

    let pay = json!({"orderId": id_of(&order), "token": "tok_visa"});
    let paid = system.pay_when_replicated(&other, &id_of(&order)).await;
    assert_eq!(paid.0, 401, "another user cannot pay for it");
    assert_eq!(
        system
            .send(Method::POST, routes::PAYMENTS, None, Some(pay))
            .await
            .0,
        401
    );

    assert_eq!(
        system.send(Method::DELETE, &order_path, None, None).await.0,
        401
    );
    assert_eq!(
        system
            .send(Method::DELETE, &order_path, Some(&other), None)
            .await
            .0,
        401
    );
    assert_eq!(
        system.order(&owner, &id_of(&order)).await["status"],
        "created",
        "unchanged"
    );
    assert_eq!(
        system
            .send(Method::DELETE, &order_path, Some(&owner), None)
            .await
            .0,
        204
    );

    // The current user is whoever the cookie says, and nobody without one.
    let (_, anonymous) = system
        .send(Method::GET, routes::CURRENT_USER, None, None)
        .await;
    assert_eq!(anonymous, json!({"currentUser": null}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_cannot_forge_another_services_event() {
    use common::bus::Bus;
    use common::events::{Event, PaymentCreated, STREAM};

    let system = System::start(&[]).await;
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "Forgery", 40.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201, "{order}");
    let order_id = id_of(&order);

    // Anything holding the orders service's NATS credentials tries to mark the order paid.
    let orders = system
        .stack
        .nats_user("orders")
        .expect("the stack's NATS users");
    let forger = Bus::connect_as(system.stack.nats_url(), "forger", Some(&orders), 1)
        .await
        .unwrap();
    let forged = PaymentCreated {
        id: "forged".into(),
        order_id: order_id.clone(),
        stripe_id: "ch_forged".into(),
    };
    let published = forger.publish("forged-payment", &forged).await;
    assert!(
        published.is_err(),
        "NATS stored a forged {}",
        PaymentCreated::NAME
    );

    let admin = system.bus().await;
    let stored = admin
        .jetstream()
        .get_stream(STREAM)
        .await
        .unwrap()
        .get_last_raw_message_by_subject(PaymentCreated::SUBJECT)
        .await;
    assert!(stored.is_err(), "a payment event is in the stream");

    // The payments service, under its own user, still can.
    let (status, body) = system.pay_when_replicated(&buyer, &order_id).await;
    assert_eq!(status, 201, "{body}");
    eventually("the paid order is complete", || async {
        (system.order(&buyer, &order_id).await["status"] == "complete").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_cannot_reach_another_services_database() {
    let system = System::start_on_server(&[]).await;
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "Private", 10.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201, "{order}");
    let tickets = system.database("tickets").await;
    // What the tickets service alone keeps: which order holds which ticket.
    let snapshot = || async {
        let rows: Vec<Value> = tickets
            .query("SELECT * FROM ticket_order")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        let listed: Vec<Value> = tickets
            .query("SELECT * FROM ticket")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        (rows, listed)
    };
    let before = eventually("tickets recorded the order", || async {
        let (held, listed) = snapshot().await;
        (held.len() == 1).then_some((held, listed))
    })
    .await;

    // The orders service's user works in its own database…
    let orders = system.stack.surreal_service("orders").unwrap();
    let db = common::db::connect(&orders).await.expect("orders signs in");
    db.query("SELECT * FROM ticket")
        .await
        .unwrap()
        .check()
        .expect("orders reads its own replica");

    // …and nowhere else: not by switching databases, not by signing in to another one.
    let read = db.query("USE DB tickets; SELECT * FROM ticket_order").await;
    let rows: Vec<Value> = match read {
        Ok(mut response) => response.take(1).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    assert!(rows.is_empty(), "orders read tickets' database: {rows:?}");
    let _ = db
        .query(
            "USE DB tickets; DELETE ticket_order; \
             CREATE ticket SET title = 'Forged', price = 1, user_id = 'x', version = 0",
        )
        .await;
    let mut elsewhere = orders.clone();
    elsewhere.database = "tickets".into();
    assert!(common::db::connect(&elsewhere).await.is_err());

    assert_eq!(snapshot().await, before, "orders changed tickets' database");
}

/// The most memory `pid` has had resident so far, in bytes (`VmHWM`).
fn peak_resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_sign_ups_stays_within_the_auth_services_memory() {
    const MIB: u64 = 1024 * 1024;
    // At the default cost one hash holds 32 MiB (128 · r · N); two may run at once.
    let mut system = System::start(&[
        ("SCRYPT_LOG_N", "15"),
        ("PASSWORD_HASH_CONCURRENCY", "2"),
        ("SIGNUP_MAX_PER_ADDRESS", "1000"),
    ])
    .await;
    let pid = system.stack.instances("auth")[0].pid().expect("auth runs");
    let before = peak_resident(pid);

    let burst = (0..40).map(|n| {
        let system = &system;
        async move {
            let email = format!("burst-{n}-{}@example.com", common::db::new_id());
            signup(system, &email, "secret12").await.status().as_u16()
        }
    });
    let statuses = futures::future::join_all(burst).await;
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");

    // Unbounded, forty hashes at once would hold 1.25 GiB; bounded, two hold 64 MiB, plus
    // what the allocator and the requests keep.
    let grown = peak_resident(pid) - before;
    assert!(
        grown < 2 * 32 * MIB + 64 * MIB,
        "the auth service grew by {} MiB during the burst",
        grown / MIB
    );
}
