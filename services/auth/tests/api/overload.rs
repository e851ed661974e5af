//! Bursts of sign-ups and sign-ins: hashing stays bounded, the excess is refused in the
//! common shape with a `Retry-After`, and parallel guesses verify at most the budget.

use std::time::Duration;

use auth::limits::{Limits, SignupLimits};
use auth::password::{Cost, HashLimits};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_burst_of_signups_beyond_the_hashing_bound_gets_503s_and_never_hashes_more_at_once() {
    let app = TestApp::spawn_with(TestSettings {
        // Costly enough (16 MiB, tens of milliseconds) that hashes overlap the burst, and no
        // wait for a slot.
        cost: Cost { log_n: 14 },
        hashing: HashLimits {
            concurrency: 2,
            queue_wait: Duration::ZERO,
        },
        ..TestSettings::default()
    })
    .await;
    let app = &app;
    let signups = (0..24).map(|i| async move {
        app.signup(&json!({"email": format!("burst{i}@example.com"), "password": "password"}))
            .await
    });
    let responses = futures::future::join_all(signups).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    let created = statuses.iter().filter(|s| **s == 201).count() as u64;
    for response in responses.into_iter().filter(|r| r.status() == 503) {
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(
            errors(response).await,
            [message(
                "Too many requests at once. Please try again in a moment."
            )]
        );
    }
    let stats = app.hasher.stats();
    assert_eq!(stats.hashed, created, "a refused sign-up hashes nothing");
    assert!(stats.most_at_once <= 2, "{stats:?}");
}

#[tokio::test]
async fn a_signup_refused_as_busy_does_not_use_up_the_address_budget() {
    let app = TestApp::spawn_with(TestSettings {
        cost: Cost { log_n: 14 },
        hashing: HashLimits {
            concurrency: 1,
            queue_wait: Duration::ZERO,
        },
        signup_limits: SignupLimits {
            per_address: 12,
            window: Duration::from_secs(600),
        },
        ..TestSettings::default()
    })
    .await;
    let app = &app;
    let signups = (0..12).map(|i| async move {
        app.signup(&json!({"email": format!("b{i}@example.com"), "password": "password"}))
            .await
            .status()
            .as_u16()
    });
    let statuses = futures::future::join_all(signups).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert!(created < 12, "some were refused as busy: {statuses:?}");
    // Exactly the budget left by the created ones remains.
    for i in 0..(12 - created) {
        let response = app
            .signup(&json!({"email": format!("again{i}@example.com"), "password": "password"}))
            .await;
        assert_eq!(response.status(), 201);
    }
    let over = app
        .signup(&json!({"email": "over@example.com", "password": "password"}))
        .await;
    assert_eq!(over.status(), 429);
}

#[tokio::test]
async fn signups_past_the_per_address_limit_get_429_while_other_addresses_sign_up() {
    let app = TestApp::spawn_with(TestSettings {
        signup_limits: SignupLimits {
            per_address: 3,
            window: Duration::from_secs(3600),
        },
        ..TestSettings::default()
    })
    .await;
    for i in 0..3 {
        let response = app
            .signup_from(
                "203.0.113.7",
                &json!({"email": format!("n{i}@example.com"), "password": "password"}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let response = app
        .signup_from(
            "203.0.113.7",
            &json!({"email": "n3@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(response.status(), 429);
    assert!(set_cookie(&response).is_none());
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        errors(response).await,
        [message(
            "Too many sign-ups from your network. Try again later."
        )]
    );
    // Nor does a throttled address learn which emails have accounts.
    let probe = app
        .signup_from(
            "203.0.113.7",
            &json!({"email": "n0@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(probe.status(), 429);
    let other = app
        .signup_from(
            "198.51.100.2",
            &json!({"email": "n3@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(other.status(), 201);
    assert_eq!(app.hasher.stats().hashed, 4);
}

#[tokio::test]
async fn parallel_wrong_passwords_on_one_account_verify_at_most_the_budget() {
    let app = TestApp::spawn_with_limits(Limits {
        per_account: 5,
        per_address: 1000,
        window: Duration::from_secs(60),
    })
    .await;
    app.signed_up("target@example.com").await;
    let before = app.hasher.stats().verified;
    let app = &app;
    let guesses = (0..20).map(|i| async move {
        app.signin(&json!({"email": "target@example.com", "password": format!("guess-{i}")}))
            .await
    });
    let responses = futures::future::join_all(guesses).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(app.hasher.stats().verified - before, 5, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    for response in responses.into_iter().filter(|r| r.status() == 429) {
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(
            errors(response).await,
            [message("Too many sign-in attempts, try again later")]
        );
    }
    // Even the right password now waits for the window.
    let right = app
        .signin(&json!({"email": "target@example.com", "password": "password"}))
        .await;
    assert_eq!(right.status(), 429);
}
