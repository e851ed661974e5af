//! Security basics, checked through the ingress: session cookie flags, sign-in throttling
//! per account and per client address, passwords never in the logs, and authorization on
//! every owned resource (each route × owner, another user, anonymous).

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
            .send(Method::POST, "/api/tickets", None, Some(new_ticket))
            .await
            .0,
        401
    );
    let new_order = json!({"ticketId": id_of(&ticket)});
    assert_eq!(
        system
            .send(Method::POST, "/api/orders", None, Some(new_order))
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
        system.send(Method::GET, "/api/orders", None, None).await.0,
        401
    );
    let (_, theirs) = system
        .send(Method::GET, "/api/orders", Some(&other), None)
        .await;
    assert_eq!(
        theirs,
        json!([]),
        "another user sees none of the owner's orders"
    );
    let (_, mine) = system
        .send(Method::GET, "/api/orders", Some(&owner), None)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);

    let pay = json!({"orderId": id_of(&order), "token": "tok_visa"});
    let paid = system.pay_when_replicated(&other, &id_of(&order)).await;
    assert_eq!(paid.0, 401, "another user cannot pay for it");
    assert_eq!(
        system
            .send(Method::POST, "/api/payments", None, Some(pay))
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
        .send(Method::GET, "/api/users/currentuser", None, None)
        .await;
    assert_eq!(anonymous, json!({"currentUser": null}));
}
